// Nothing lost: Redis killed mid-stream and restarted from its append-only file, and a node
// stopped gracefully mid-stream. Three pulse-demo nodes, a chat room (a channel with history),
// a publisher on each node, two subscribers on each node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { eventually, removeDir, startRedis, tempDir } from "./redis_server.mjs";
import { assertGracefulStop, health, startStream } from "./stream.mjs";

async function startNodes(count, args) {
  const nodes = [];
  for (let i = 0; i < count; ++i) nodes.push(await startDemo({ args }));
  return nodes;
}

async function stopAll(nodes, sockets) {
  for (const socket of sockets) socket.disconnect();
  for (const node of nodes) assert.equal(await node.stop(), 0, "a node exits cleanly on SIGTERM");
}

test("Redis killed mid-stream and restarted from its append-only file: every subscriber on " +
  "every node gets every message once, in order", async (t) => {
  const dir = tempDir();
  let redis = await startRedis(undefined, { dir });
  const sockets = [];
  const nodes = await startNodes(3, ["--redis", redis.url, "--redis-hold-ms", "30000"]);
  try {
    const stream = await startStream(nodes, "room:aof", { sockets });
    stream.start();
    await stream.untilSent(30);

    await redis.stop("SIGKILL");
    await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "degraded"),
      "every node sees Redis gone");
    // Broadcasts go on during the outage: each node holds its own.
    await stream.untilSent(stream.sent() + 30);

    const down = Date.now();
    redis = await startRedis(redis.port, { dir });
    await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
      "every node is back on Redis");
    t.diagnostic(`every node back on Redis ${Date.now() - down} ms after its restart began`);
    await stream.untilSent(stream.sent() + 30);
    await stream.stop();
    const total = await stream.assertExactlyOnce();
    assert.ok(total >= 90, `${total} messages`);
    t.diagnostic(`${total} messages, each once and in order on ${stream.subscribers.length} subscribers`);
  } finally {
    await stopAll(nodes, sockets);
    await redis.stop();
    removeDir(dir);
  }
});

test("Redis out for longer than --redis-hold-ms: each node's subscribers get its own broadcasts " +
  "meanwhile, once, then pulse_gap, and every node's once Redis is back", async (t) => {
  const dir = tempDir();
  let redis = await startRedis(undefined, { dir });
  const sockets = [];
  const nodes = await startNodes(2, ["--redis", redis.url, "--redis-hold-ms", "300"]);
  try {
    const stream = await startStream(nodes, "room:long", { sockets });
    stream.start();
    await stream.untilSent(20);
    await redis.stop("SIGKILL");
    const killed = new Map(stream.senders.map((s) => [s, s.acked.length]));
    // Each node gives up holding after 300 ms and serves its own subscribers alone.
    const own = (subscriber) => stream.senders.find((s) => s.node === subscriber.node);
    const texts = (subscriber) => subscriber.messages.seen.map((m) => m.payload.text);
    await eventually(async () => stream.subscribers.every((subscriber) => {
      const sender = own(subscriber);
      return sender.acked.slice(killed.get(sender)).filter((x) => texts(subscriber).includes(x))
        .length >= 10;
    }), "every subscriber gets its own node's broadcasts during the outage", 20000);

    redis = await startRedis(redis.port, { dir });
    await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
      "every node is back on Redis");
    await eventually(async () => stream.subscribers.every((s) => s.gaps.seen.length > 0),
      "every subscriber hears pulse_gap");
    const back = new Map(stream.senders.map((s) => [s, s.acked.length]));
    await stream.untilSent(stream.sent() + 30);
    await stream.stop();

    const after = stream.senders.flatMap((s) => s.acked.slice(back.get(s)));
    await eventually(async () => stream.subscribers.every((subscriber) =>
      after.every((x) => texts(subscriber).includes(x))),
      "every subscriber gets every node's broadcasts once Redis is back");
    const reference = texts(stream.subscribers[0]).filter((x) => after.includes(x));
    for (const subscriber of stream.subscribers) {
      const seen = texts(subscriber);
      assert.equal(new Set(seen).size, seen.length, "no message twice");
      const missing = own(subscriber).acked.filter((x) => !seen.includes(x));
      assert.deepEqual(missing, [], "every broadcast of its own node");
      assert.deepEqual(seen.filter((x) => after.includes(x)), reference,
        "what came after the outage in the same order on every node");
    }
    t.diagnostic(`${after.length} messages after the outage on every subscriber; ` +
      `${stream.subscribers.map((s) => s.gaps.seen.length).join(",")} pulse_gap each`);
  } finally {
    await stopAll(nodes, sockets);
    await redis.stop();
    removeDir(dir);
  }
});

test("a node stopped gracefully mid-stream: its subscribers got everything published before " +
  "the stop began, then 1001", async (t) => {
  const redis = await startRedis();
  const sockets = [];
  const nodes = await startNodes(3, ["--redis", redis.url]);
  const stopping = nodes[2];
  try {
    // Publishers on the stopping node and on another; every node's subscribers listen.
    const stream = await startStream(nodes, "room:stopping",
      { publishers: [nodes[0], stopping], sockets, every: 5 });
    stream.start();
    await stream.untilSent(40);
    t.diagnostic(`the node stopped ${await assertGracefulStop(stream, stopping)} ms after SIGTERM`);
  } finally {
    await stopAll(nodes, sockets);
    await redis.stop();
  }
});
