// What Redis is asked, counted by Redis itself (INFO commandstats): a burst of broadcasts leaves
// in a few scripts, not one round trip each, and presence heartbeats read the ages of the
// topic's presence lists, never the lists themselves, while nothing changes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Presence } from "phoenix";
import { pushResult, startDemo } from "../client/support/demo_server.mjs";
import { eventually, redisCommand, startRedis } from "./redis_server.mjs";
import { connect, join } from "./stream.mjs";

let redis;
const nodes = [];
const sockets = [];

before(async () => {
  redis = await startRedis();
  for (let i = 0; i < 2; ++i) nodes.push(await startDemo({ args: ["--redis", redis.url] }));
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const node of nodes) assert.equal(await node.stop(), 0, "a node exits cleanly on SIGTERM");
  await redis.stop();
});

/** Calls of each command since the last CONFIG RESETSTAT, scripts' own calls included. */
async function calls() {
  const info = await redisCommand(redis.port, "INFO", "commandstats");
  const counts = {};
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) counts[match[1]] = Number(match[2]);
  return counts;
}

test("a burst of 300 broadcasts reaches Redis in a few scripts, and every one reaches the other " +
  "node once, in order", async (t) => {
  const { recorded } = await join(nodes[1], "room:burst", { params: { username: "reader" },
    record: "new_message", sockets });
  const { channel } = await join(nodes[0], "room:burst", { params: { username: "writer" }, sockets });
  await redisCommand(redis.port, "CONFIG", "RESETSTAT");
  for (let i = 0; i < 300; ++i) channel.push("message", { text: `m${i}` }, 10000);
  const got = await recorded.until(300, 20000);
  assert.deepEqual(got.map((m) => m.payload.text), Array.from({ length: 300 }, (_, i) => `m${i}`));
  const counted = await calls();
  const scripts = (counted.evalsha ?? 0) + (counted.eval ?? 0);
  t.diagnostic(`300 broadcasts: ${counted.publish} PUBLISH and ${counted.xadd} XADD in ${scripts} scripts`);
  assert.equal(counted.xadd, 300, "each kept broadcast is appended to the stream once");
  assert.ok(counted.publish < 100, `${counted.publish} PUBLISH for 300 broadcasts`);
});

test("presence heartbeats of an unchanged topic read no presence list (no HGETALL, no HGET)",
  async (t) => {
    const topic = "room:quiet";
    const watchers = [];
    for (const [i, node] of nodes.entries()) {
      const channel = connect(node, sockets).channel(topic, { username: `u${i}` });
      const presence = new Presence(channel); // before the join: its presence_state
      assert.equal((await pushResult(channel.join())).status, "ok");
      watchers.push(() => presence.list((name) => name).sort());
    }
    await eventually(async () => watchers.every((names) => names().join() === "u0,u1"),
      "each node sees both presences");
    await redisCommand(redis.port, "CONFIG", "RESETSTAT");
    // Heartbeats run every second on each node's channel: wait for a few of them.
    await eventually(async () => ((await calls()).zrange ?? 0) >= 4, "four heartbeats", 10000, 100);
    const counted = await calls();
    t.diagnostic(`heartbeats: ${JSON.stringify(counted)}`);
    assert.equal(counted.hgetall ?? 0, 0, "no HGETALL");
    assert.equal(counted.hget ?? 0, 0, "no HGET");
    assert.equal(counted.hset ?? 0, 0, "no list stored again");
    assert.equal(counted.publish ?? 0, 0, "nothing published");
    assert.ok(watchers.every((names) => names().join() === "u0,u1"), "presence unchanged");
  });
