// Presence through the official client's Presence helper, and recovery of missed messages by
// @pulse/client, against the real pulse-demo (chat rooms track presence and keep history).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Socket, Presence } from "phoenix";
import WebSocket from "ws";
import { connect } from "@pulse/client";
import { startDemo, pushResult } from "./support/demo_server.mjs";

let demo;
const cleanups = [];
before(async () => { demo = await startDemo(); });
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await demo?.stop();
});

/** Resolves once `check()` holds, re-checked whenever `subscribe` notifies; rejects after `ms`. */
function until(check, subscribe, ms = 5000, what = "condition") {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const done = () => { if (check()) { clearTimeout(timer); off(); resolve(); } };
    const timer = setTimeout(() => { off(); reject(new Error(`${what} not within ${ms} ms`)); }, ms);
    off = subscribe(done);
    done();
  });
}

/** An official phoenix client, joined to `topic` with a Presence helper that records changes. */
async function officialMember(topic, username) {
  const socket = new Socket(demo.url, { transport: WebSocket });
  socket.connect();
  cleanups.push(() => socket.disconnect());
  const channel = socket.channel(topic, { username });
  const presence = new Presence(channel);
  const seen = { joins: [], leaves: [], syncs: 0 };
  const listeners = new Set();
  presence.onJoin((key, current) => { if (!current) seen.joins.push(key); });
  presence.onLeave((key, current) => { if (current.metas.length === 0) seen.leaves.push(key); });
  presence.onSync(() => { seen.syncs += 1; listeners.forEach((fn) => fn()); });
  assert.equal((await pushResult(channel.join())).status, "ok");
  const metas = () => Object.fromEntries(presence.list((key, { metas }) => [key, metas.length]));
  const changed = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };
  return { socket, channel, presence, seen, metas, changed };
}

/** Cuts the TCP connection under a ws WebSocket, as a network drop does: no close frame. */
function cut(socket) {
  socket.conn._socket.destroy();
}

test("the official Presence helper follows joins, two tabs, leaves and vanished clients", async () => {
  const topic = "room:presence-1";
  const ada = await officialMember(topic, "ada");
  await until(() => ada.metas().ada === 1, ada.changed, 3000, "ada sees herself");

  const bob = await officialMember(topic, "bob");
  await until(() => ada.metas().bob === 1, ada.changed, 3000, "ada sees bob");
  assert.deepEqual(bob.metas(), { ada: 1, bob: 1 });

  const adaTab2 = await officialMember(topic, "ada");
  await until(() => bob.metas().ada === 2, bob.changed, 3000, "two metas for ada");
  assert.deepEqual(bob.seen.joins, ["ada", "bob"]); // ada's second tab is no new join

  cut(adaTab2.socket); // vanishes without a word
  adaTab2.socket.disconnect(); // and does not come back
  await until(() => bob.metas().ada === 1, bob.changed, 5000, "the vanished tab leaves");
  assert.deepEqual(bob.seen.leaves, []); // ada is still here, once

  await pushResult(bob.channel.leave());
  await until(() => ada.metas().bob === undefined, ada.changed, 3000, "bob leaves");
  assert.deepEqual(ada.seen.leaves, ["bob"]);
  assert.deepEqual(ada.seen.joins, ["ada", "bob"]); // in the order they happened
});

/** A @pulse/client subscriber that records every new_message text it sees. */
function subscriber(topic) {
  const connection = connect(demo.url, { transport: WebSocket });
  cleanups.push(() => connection.disconnect());
  const room = connection.channel(topic, { username: "reader" });
  const texts = [];
  const joins = [];
  const listeners = new Set();
  room.on("new_message", ({ text }) => { texts.push(text); listeners.forEach((fn) => fn()); });
  room.onJoin((response) => { joins.push(response); listeners.forEach((fn) => fn()); });
  const changed = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };
  return { connection, room, texts, joins, changed };
}

async function publisher(topic) {
  const connection = connect(demo.url, { transport: WebSocket });
  cleanups.push(() => connection.disconnect());
  const room = connection.channel(topic, { username: "writer" });
  await room.joined;
  return {
    say: (text) => room.request("message", { text }),
  };
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

test("a client cut off while messages flow gets every one, in order, once", async () => {
  const topic = "room:recovery-1";
  const reader = subscriber(topic);
  await reader.room.joined;
  const writer = await publisher(topic);
  for (let i = 1; i <= 20; i += 1) await writer.say(String(i));
  await until(() => reader.texts.length === 20, reader.changed, 3000, "the first 20");

  cut(reader.connection.socket); // phoenix notices, reconnects with backoff, rejoins
  for (let i = 21; i <= 60; i += 1) await writer.say(String(i));
  await until(() => reader.joins.length === 2, reader.changed, 5000, "the rejoin");
  assert.equal(reader.joins[1].recovered, true);
  for (let i = 61; i <= 80; i += 1) await writer.say(String(i));
  await until(() => reader.texts.length >= 80, reader.changed, 5000, "all 80");
  assert.deepEqual(reader.texts, range(1, 80));
  assert.equal(reader.room.position.offset, 80); // one offset per message, in this room
});

test("a client that missed more than the history keeps is told it did not recover", async () => {
  const topic = "room:recovery-2";
  const reader = subscriber(topic);
  await reader.room.joined;
  const writer = await publisher(topic);
  await writer.say("before");
  await until(() => reader.texts.length === 1, reader.changed, 3000, "the first message");

  await reader.connection.disconnect(); // away for a while
  const missed = 1005; // rooms keep their last 1,000 broadcasts
  await Promise.all(Array.from({ length: missed }, (_, i) => writer.say(`gap ${i}`)));
  reader.connection.socket.connect();
  await until(() => reader.joins.length === 2, reader.changed, 5000, "the rejoin");
  assert.equal(reader.joins[1].recovered, false);
  assert.equal(reader.texts.length, 1, "nothing replayed: the app reloads instead");
  await writer.say("after");
  await until(() => reader.texts.length === 2, reader.changed, 3000, "live again");
  assert.equal(reader.texts[1], "after");
});

test("after a server restart the epoch changed and the client is told so", async () => {
  const topic = "room:recovery-3";
  const reader = subscriber(topic);
  await reader.room.joined;
  const writer = await publisher(topic);
  await writer.say("one");
  await until(() => reader.texts.length === 1, reader.changed, 3000, "the first message");
  const epoch = reader.room.position.epoch;

  const port = demo.port;
  await demo.stop();
  demo = await startDemo({ port }); // the same address: clients come back by themselves
  await until(() => reader.joins.length === 2, reader.changed, 15000, "the rejoin");
  assert.equal(reader.joins[1].recovered, false);
  assert.notEqual(reader.joins[1].epoch, epoch);
  assert.equal(reader.room.position.epoch, reader.joins[1].epoch);
});
