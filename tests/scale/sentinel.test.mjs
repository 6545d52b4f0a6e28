// Redis Sentinel: a master, a replica and three sentinels of the test's own. The master is killed
// mid-stream; the sentinels promote the replica, the nodes follow them to it, and every
// subscriber on every node of a history channel still gets every message once, in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { eventually, redisCommand, startSentinels } from "./redis_server.mjs";
import { health, startStream } from "./stream.mjs";

test("the master killed mid-stream: the nodes follow the sentinels to the promoted replica, and " +
  "every subscriber on every node gets every message once, in order", async (t) => {
  const redis = await startSentinels();
  const sockets = [];
  const nodes = [];
  try {
    for (let i = 0; i < 3; ++i)
      nodes.push(await startDemo({ args: ["--redis-sentinel", redis.addresses, "--redis-master",
        redis.name, "--redis-hold-ms", "30000"] }));
    await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
      "every node found the master through the sentinels");
    const stream = await startStream(nodes, "room:sentinel", { sockets });
    stream.start();
    await stream.untilSent(30);

    const before = await redis.masterPort();
    assert.equal(before, redis.master.port);
    const killed = Date.now();
    await redis.master.stop("SIGKILL");
    await eventually(async () => (await redis.masterPort()) === redis.replica.port,
      "the sentinels promote the replica", 15000, 100);
    await eventually(async () => /role:master/.test(await redisCommand(redis.replica.port, "INFO",
      "replication")), "the replica is master");
    await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
      "every node is back, on the new master", 15000);
    t.diagnostic(`nodes back on the promoted replica ${Date.now() - killed} ms after the kill`);
    await stream.untilSent(stream.sent() + 30);
    await stream.stop();
    const total = await stream.assertExactlyOnce();
    assert.ok(total >= 60, `${total} messages`);
    t.diagnostic(`${total} messages, each once and in order on ${stream.subscribers.length} subscribers`);
  } finally {
    for (const socket of sockets) socket.disconnect();
    for (const node of nodes) assert.equal(await node.stop(), 0, "a node exits cleanly on SIGTERM");
    await redis.stop();
  }
});
