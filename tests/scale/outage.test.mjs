// Nothing lost: Redis killed mid-stream and restarted from its append-only file, and a node
// stopped gracefully mid-stream. Three pulse-demo nodes, a chat room (a channel with history),
// a publisher on each node, two subscribers on each node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { eventually, removeDir, startRedis, tempDir } from "./redis_server.mjs";
import { health, startStream } from "./stream.mjs";

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
    const before = new Set(stream.senders.flatMap((s) => s.acked));
    const stopped = Date.now();
    assert.equal(await stopping.stop(), 0, "the node exits cleanly on SIGTERM");
    t.diagnostic(`the node stopped ${Date.now() - stopped} ms after SIGTERM`);
    await stream.stop();
    for (const subscriber of stream.subscribers.filter((s) => s.node === stopping)) {
      const texts = subscriber.messages.seen.map((m) => m.payload.text);
      const missing = [...before].filter((text) => !texts.includes(text));
      assert.deepEqual(missing, [], "nothing published before the stop is missing");
      assert.equal(new Set(texts).size, texts.length, "nothing twice");
      await eventually(async () => subscriber.closes.length > 0, "the socket closed");
      assert.equal(subscriber.closes[0], 1001, "closed with 1001, going away");
    }
  } finally {
    await stopAll(nodes, sockets);
    await redis.stop();
  }
});
