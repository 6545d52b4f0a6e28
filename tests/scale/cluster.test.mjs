// Redis Cluster: three masters and three replicas of the test's own. Each topic lives in one
// slot (its keys and its sharded pub/sub channel share a hash tag), so topics spread over the
// masters; a master killed mid-stream and a slot moved mid-stream are followed, with the same
// exactly-once assertion as with one Redis.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../client/support/demo_server.mjs";
import { eventually, redisCommand, startCluster } from "./redis_server.mjs";
import { assertGracefulStop, health, startStream } from "./stream.mjs";

let cluster;
const nodes = [];
const sockets = [];

before(async () => {
  cluster = await startCluster();
  for (let i = 0; i < 3; ++i)
    nodes.push(await startDemo({ args: ["--redis-cluster", cluster.seeds, "--redis-hold-ms", "30000"] }));
  await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
    "every node sees every slot served");
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const node of nodes) assert.equal(await node.stop(), 0, "a node exits cleanly on SIGTERM");
  await cluster.stop();
});

/** The integer in a RESP integer reply. */
const integer = (answer) => Number(answer.slice(1, answer.indexOf("\r\n")));

/** The slot of a topic's keys and channel. */
const slotOf = async (topic) => integer(await redisCommand(cluster.nodes[0].port, "CLUSTER", "KEYSLOT",
  `pulse:{${topic}}`));

/** The live masters as { port, id, slots: [[from, to], ...] }, as a live node sees them. */
async function masters() {
  const alive = cluster.nodes.find((n) => n.alive !== false);
  const text = await redisCommand(alive.port, "CLUSTER", "NODES");
  return text.split("\n").map((line) => line.trim().split(" ")).filter((f) => f.length >= 8
    && f[2].includes("master") && !f[2].includes("fail")).map((f) => ({
    id: f[0],
    port: Number(f[1].split("@")[0].split(":")[1]),
    slots: f.slice(8).filter((r) => !r.startsWith("[")).map((r) => r.split("-").map(Number))
      .map(([from, to]) => [from, to ?? from]),
  }));
}

async function ownerOf(slot) {
  return (await masters()).find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
}

/** Topics "room:<prefix><i>", one on each master. */
async function oneTopicPerMaster(prefix) {
  const byMaster = new Map();
  for (let i = 0; byMaster.size < 3 && i < 200; ++i) {
    const topic = `room:${prefix}${i}`;
    const owner = await ownerOf(await slotOf(topic));
    if (!byMaster.has(owner.port)) byMaster.set(owner.port, topic);
  }
  assert.equal(byMaster.size, 3, "a topic on each master");
  return [...byMaster.values()];
}

/** Moves `slot` with its keys from its master to `to` (a master), as redis-cli's reshard does. */
async function moveSlot(slot, to) {
  const from = await ownerOf(slot);
  await redisCommand(to.port, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", from.id);
  await redisCommand(from.port, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", to.id);
  for (;;) {
    const answer = await redisCommand(from.port, "CLUSTER", "GETKEYSINSLOT", String(slot), "100");
    const keys = answer.split("\r\n").filter((line, i) => i > 0 && i % 2 === 0 && line !== "");
    if (keys.length === 0) break;
    const migrated = await redisCommand(from.port, "MIGRATE", "127.0.0.1", String(to.port), "", "0",
      "5000", "KEYS", ...keys);
    assert.match(migrated, /^\+OK|^\+NOKEY/, `MIGRATE: ${migrated}`);
  }
  for (const master of await masters())
    await redisCommand(master.port, "CLUSTER", "SETSLOT", String(slot), "NODE", to.id);
}

test("topics spread over the three masters: every subscriber on every node gets every message " +
  "of each once, in order", async () => {
  const topics = await oneTopicPerMaster("spread");
  const streams = [];
  for (const topic of topics) streams.push(await startStream(nodes, topic, { sockets, every: 20 }));
  for (const stream of streams) stream.start();
  for (const stream of streams) await stream.untilSent(30);
  for (const stream of streams) await stream.stop();
  for (const stream of streams) assert.ok((await stream.assertExactlyOnce()) >= 30);
});

test("a slot moved to another master mid-stream (MOVED and ASK): every message once, in order",
  async () => {
    const [topic] = await oneTopicPerMaster("moved");
    const slot = await slotOf(topic);
    const stream = await startStream(nodes, topic, { sockets });
    stream.start();
    await stream.untilSent(30);
    const from = await ownerOf(slot);
    const to = (await masters()).find((m) => m.port !== from.port);
    await moveSlot(slot, to);
    assert.equal((await ownerOf(slot)).port, to.port);
    await stream.untilSent(stream.sent() + 30);
    await stream.stop();
    assert.ok((await stream.assertExactlyOnce()) >= 60);
  });

test("a node stopped gracefully mid-stream: its subscribers got everything published before " +
  "the stop began, then 1001", async (t) => {
  const [topic] = await oneTopicPerMaster("stopping");
  const stopping = await startDemo({ args: ["--redis-cluster", cluster.seeds] });
  const stream = await startStream([nodes[0], stopping], topic,
    { publishers: [nodes[0], stopping], sockets, every: 5 });
  stream.start();
  await stream.untilSent(40);
  t.diagnostic(`the node stopped ${await assertGracefulStop(stream, stopping)} ms after SIGTERM`);
});

test("a master killed mid-stream: its replica takes over, the nodes follow, and every " +
  "subscriber gets every message once, in order", async (t) => {
  const [topic] = await oneTopicPerMaster("failover");
  const slot = await slotOf(topic);
  const stream = await startStream(nodes, topic, { sockets });
  stream.start();
  await stream.untilSent(30);
  const owner = await ownerOf(slot);
  const victim = cluster.nodes.find((n) => n.port === owner.port);
  const killed = Date.now();
  await victim.stop("SIGKILL");
  victim.alive = false;
  await eventually(async () => {
    const now = await ownerOf(slot).catch(() => undefined);
    return now !== undefined && now.port !== owner.port;
  }, "a replica owns the slot", 20000, 100);
  await eventually(async () => (await Promise.all(nodes.map(health))).every((s) => s === "ok"),
    "every node sees every slot served again", 20000);
  t.diagnostic(`every slot served again ${Date.now() - killed} ms after the kill`);
  await stream.untilSent(stream.sent() + 30);
  await stream.stop();
  assert.ok((await stream.assertExactlyOnce()) >= 60);
});
