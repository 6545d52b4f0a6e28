// The editor's documents (doc:*) with real Yjs documents and y-phoenix-channel, headless: random
// concurrent edits converge through the server, and only through it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";
import * as Y from "yjs";
import { PhoenixChannelProvider } from "y-phoenix-channel";
import { startDemo } from "./support/demo_server.mjs";
import { startRedis } from "../scale/redis_server.mjs";

let demo;
let quiet; // the test build with the editor's relay switched off
let small; // a history of 32 updates: compaction all the time
const clients = [];

before(async () => {
  [demo, quiet, small] = await Promise.all([
    startDemo(),
    startDemo({ env: { PULSE_TEST_EDITOR_NO_RELAY: "1" } }),
    startDemo({ args: ["--editor-history", "32"] }),
  ]);
});
after(async () => {
  await Promise.all(clients.map((client) => client.close()));
  for (const server of [demo, quiet, small]) assert.equal(await server?.stop(), 0);
});

/**
 * A Yjs document on `doc:NAME`, as the README of y-phoenix-channel shows, with BroadcastChannel
 * off: two providers in one process would otherwise sync without any server.
 */
function editor(server, name, user) {
  // The server answers no `yjs` push (as Phoenix's own y-phoenix-channel server does), so each
  // push waits out its timeout: a short one lets the process end soon after the tests.
  const socket = new Socket(server.url, { transport: WebSocket, timeout: 3000 });
  socket.connect();
  const ydoc = new Y.Doc();
  const provider = new PhoenixChannelProvider(socket, `doc:${name}`, ydoc, { disableBc: true });
  provider.awareness.setLocalStateField("user", { name: user });
  const client = {
    ydoc,
    provider,
    text: ydoc.getText("codemirror"),
    received: 0, // yjs messages from the server
    synced: () => until(() => provider.synced, (fn) => onEvent(provider, "sync", fn), 5000, `${user} synced`),
    /** The connection goes first: a leave pushed on it would hold the process for its 10 s timeout. */
    async close() {
      await new Promise((resolve) => socket.disconnect(resolve));
      provider.destroy();
      provider.awareness.destroy(); // its timer would keep the process alive
      ydoc.destroy();
    },
  };
  const count = () => { client.received += 1; };
  const bind = () => provider.channel?.on("yjs", count);
  bind();
  clients.push(client);
  return client;
}

function onEvent(emitter, event, fn) {
  emitter.on(event, fn);
  return () => emitter.off(event, fn);
}

/** Resolves once `check()` holds, re-checked whenever `subscribe` calls back; rejects after `ms`. */
function until(check, subscribe, ms, what) {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => { stop(); reject(new Error(`${what}: not within ${ms} ms`)); }, ms);
    stop = subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

/** Resolves once every client's text is the same; rejects after `ms`. */
function converged(group, ms = 10000) {
  const same = () => group.every((c) => c.text.toString() === group[0].text.toString());
  return until(same, (fn) => {
    const offs = group.map((c) => onEvent(c.ydoc, "update", fn));
    return () => offs.forEach((off) => off());
  }, ms, "the documents converged");
}

/** A deterministic random sequence (xorshift32). */
function random(seed) {
  let x = seed;
  return (n) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

/** `count` random inserts and deletes, in bursts that leave the event loop between them. */
async function scribble(client, seed, count) {
  const next = random(seed);
  const letters = "abcdefghijklmnopqrstuvwxyz ";
  for (let done = 0; done < count; done += 10) {
    for (let k = 0; k < 10; ++k) {
      const length = client.text.length;
      if (length > 20 && next(4) === 0) {
        client.text.delete(next(length - 5), 1 + next(4));
      } else {
        let word = "";
        for (let n = 1 + next(6); n > 0; --n) word += letters[next(letters.length)];
        client.text.insert(next(length + 1), word);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("two headless editors converge on random concurrent edits, and a late one gets it all", async () => {
  const [ada, bob] = [editor(demo, "random", "ada"), editor(demo, "random", "bob")];
  await Promise.all([ada.synced(), bob.synced()]);
  await Promise.all([scribble(ada, 7, 300), scribble(bob, 11, 300)]);
  ada.text.insert(0, "[ada]");
  bob.text.insert(bob.text.length, "[bob]");
  await converged([ada, bob]);
  const text = ada.text.toString();
  assert.ok(text.includes("[ada]") && text.includes("[bob]"), text);
  assert.ok(text.length > 300);

  const late = editor(demo, "random", "cy");
  await late.synced();
  assert.equal(late.text.toString(), text, "synced means the whole document");
});

test("without the server's relay, headless editors do not converge", async () => {
  const [ada, bob] = [editor(quiet, "random", "ada"), editor(quiet, "random", "bob")];
  await Promise.all([ada.synced(), bob.synced()]);
  await Promise.all([scribble(ada, 7, 50), scribble(bob, 11, 50)]);
  await assert.rejects(converged([ada, bob], 1500), /not within 1500 ms/);
  assert.notEqual(ada.text.toString(), bob.text.toString());
});

test("a document edited far past its history still comes whole to a new editor", async () => {
  // 32 updates kept: the server asks editors for their state as it goes and keeps only the
  // last state and the updates after it.
  const [ada, bob] = [editor(small, "long", "ada"), editor(small, "long", "bob")];
  await Promise.all([ada.synced(), bob.synced()]);
  for (let round = 0; round < 10; ++round) {
    await Promise.all([scribble(ada, 100 + round, 60), scribble(bob, 200 + round, 60)]);
    await converged([ada, bob]); // edits that arrive while the log is full wait in the editor
  }
  const late = editor(small, "long", "cy");
  await late.synced();
  assert.equal(late.text.toString(), ada.text.toString());
  // A last state and at most three quarters of the history, not 1,200 updates.
  assert.ok(late.received <= 32, `the new editor got ${late.received} messages`);
});

test("an editor sees who else is editing, and not after its connection is gone", async () => {
  const ada = editor(demo, "people", "ada");
  await ada.synced();
  const bob = editor(demo, "people", "bob");
  await bob.synced();
  const names = (client) => [...client.provider.awareness.getStates().values()].map((s) => s.user?.name).sort();
  const changed = (client) => (fn) => onEvent(client.provider.awareness, "change", fn);
  await until(() => names(ada).join() === "ada,bob", changed(ada), 3000, "ada sees bob");
  await until(() => names(bob).join() === "ada,bob", changed(bob), 3000, "bob sees ada at once");
  await bob.close(); // no goodbye on the channel: the server removes Bob's cursor for the others
  await until(() => names(ada).join() === "ada", changed(ada), 3000, "bob is gone for ada");
});

test("editors on two nodes sharing Redis converge, and a new one on either gets it all", async () => {
  // A 32-update history: the nodes compact a log they share, each seeing the other's updates
  // a moment after Redis numbered them.
  const redis = await startRedis();
  const args = ["--redis", redis.url, "--editor-history", "32"];
  const nodes = await Promise.all([startDemo({ args }), startDemo({ args })]);
  try {
    const [ada, bob] = [editor(nodes[0], "shared", "ada"), editor(nodes[1], "shared", "bob")];
    await Promise.all([ada.synced(), bob.synced()]);
    for (let round = 0; round < 6; ++round) {
      await Promise.all([scribble(ada, 300 + round, 40), scribble(bob, 400 + round, 40)]);
      await converged([ada, bob]);
    }
    for (const node of nodes) {
      const late = editor(node, "shared", "cy");
      await late.synced();
      assert.equal(late.text.toString(), ada.text.toString());
    }
  } finally {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    for (const node of nodes) assert.equal(await node.stop(), 0);
    await redis.stop();
  }
});
