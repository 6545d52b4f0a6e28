// Three pulse-demo nodes behind one Redis, with the official phoenix client: broadcasts cross
// nodes exactly once and in order, a client recovers on another node, and Redis can go away.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Presence } from "phoenix";
import { startDemo, pushResult } from "../client/support/demo_server.mjs";
import { startRedis, redisCommand } from "./redis_server.mjs";
import { connect as connectTo, recorder } from "./stream.mjs";

let redis;
const nodes = [];
const sockets = [];

before(async () => {
  redis = await startRedis();
  for (let i = 0; i < 3; ++i) nodes.push(await startDemo({ args: ["--redis", redis.url] }));
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const node of nodes) assert.equal(await node.stop(), 0, "a node exits cleanly on SIGTERM");
  await redis.stop();
});

function connect(node) {
  return connectTo(node, sockets);
}

/** Joins `topic` on `node`; `record`: an event to record from before the join (see recorder). */
async function join(node, topic, params = {}, record = undefined) {
  const channel = connect(node).channel(topic, params);
  const recorded = record ? recorder(channel, record) : undefined;
  const result = await pushResult(channel.join());
  assert.equal(result.status, "ok", `join ${topic}: ${JSON.stringify(result.response)}`);
  return { channel, reply: result.response, recorded };
}

async function health(node) {
  return (await fetch(`${node.http}/healthz`)).json();
}

async function eventually(condition, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a broadcast on any node reaches every node's subscribers once, in each publisher's order", async () => {
  const subscribers = [];
  for (const node of nodes)
    for (let i = 0; i < 2; ++i) subscribers.push(recorder((await join(node, "bench")).channel, "message"));
  const publishers = [(await join(nodes[0], "bench")).channel, (await join(nodes[1], "bench")).channel];
  const count = 100;
  for (let n = 0; n < count; ++n)
    publishers.forEach((publisher, from) => publisher.push("publish", { from, n }));
  const last = (await join(nodes[2], "bench")).channel;
  for (const subscriber of subscribers) {
    const received = (await subscriber.until(2 * count)).map((m) => m.payload);
    for (const from of [0, 1])
      assert.deepEqual(received.filter((m) => m.from === from).map((m) => m.n),
        Array.from({ length: count }, (_, n) => n), `publisher ${from}'s messages, in order`);
  }
  // Nothing twice: the next message each subscriber gets is the marker sent after them all.
  last.push("publish", { marker: true });
  for (const subscriber of subscribers) {
    const received = await subscriber.until(2 * count + 1);
    assert.deepEqual(received[2 * count].payload, { marker: true });
  }
  assert.deepEqual(await health(nodes[0]), { status: "ok" });
});

test("a node-local channel (the dashboard) stays off Redis; shared ones are on it", async () => {
  const viewer = recorder((await join(nodes[1], "dashboard")).channel, "sample");
  await join(nodes[1], "bench");
  await viewer.until(1, 5000); // the dashboard works on its node
  const channels = await redisCommand(redis.port, "PUBSUB", "CHANNELS", "pulse:*");
  assert.match(channels, /pulse:\{bench\}/);
  assert.doesNotMatch(channels, /dashboard/);
});

test("a client moved from a killed node to another recovers exactly what it missed", async () => {
  const doomed = await startDemo({ args: ["--redis", redis.url] });
  const topic = "room:moving";
  const { channel: publisher } = await join(nodes[0], topic, { username: "p" });
  const send = async (text) => assert.equal((await pushResult(publisher.push("message", { text }))).status, "ok");
  const { reply, recorded: seenBefore } = await join(doomed, topic, { username: "x" }, "new_message");
  for (let i = 1; i <= 10; ++i) await send(`m${i}`);
  const received = await seenBefore.until(10);
  assert.deepEqual(received.map((m) => m.payload.text), Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
  const lastOffset = Number(received[9].ref.slice(1));

  await doomed.stop("SIGKILL");
  for (let i = 11; i <= 20; ++i) await send(`m${i}`);

  const { reply: rejoined, recorded: seenAfter } = await join(nodes[1], topic,
    { username: "x", last_offset: lastOffset, epoch: reply.epoch }, "new_message");
  assert.equal(rejoined.recovered, true);
  assert.equal(rejoined.epoch, reply.epoch, "every node shares the topic's epoch");
  assert.deepEqual(rejoined.history.map((m) => m.text), Array.from({ length: 20 }, (_, i) => `m${i + 1}`),
    "the room's recent messages, said on other nodes, are in the join reply");
  await send("m21");
  const caughtUp = await seenAfter.until(11);
  assert.deepEqual(caughtUp.map((m) => m.payload.text), Array.from({ length: 11 }, (_, i) => `m${i + 11}`));
  assert.deepEqual(caughtUp.map((m) => Number(m.ref.slice(1))),
    Array.from({ length: 11 }, (_, i) => lastOffset + 1 + i), "offsets run on without a gap");
});

test("presence spans nodes, and a killed node's presences leave within the timeout", async () => {
  const doomed = await startDemo({ args: ["--redis", redis.url] });
  const topic = "room:presence";
  const watch = async (node) => {
    const channel = connect(node).channel(topic, { username: "watcher" });
    const presence = new Presence(channel);
    const names = () => presence.list((name) => name).filter((name) => name !== "watcher").sort();
    assert.equal((await pushResult(channel.join())).status, "ok");
    return names;
  };
  const early = await watch(nodes[2]);
  await join(nodes[0], topic, { username: "alice" });
  const { channel: bob } = await join(nodes[1], topic, { username: "bob" });
  await join(doomed, topic, { username: "carol" });
  await eventually(async () => early().join() === "alice,bob,carol", "diffs from every node");
  const late = await watch(nodes[0]); // its presence_state has everyone, from every node
  await eventually(async () => late().join() === "alice,bob,carol", "the state on join");

  bob.leave();
  await eventually(async () => early().join() === "alice,carol" && late().join() === "alice,carol",
    "bob left, on every node");
  const killedAt = Date.now();
  await doomed.stop("SIGKILL");
  await eventually(async () => early().join() === "alice" && late().join() === "alice",
    "no ghost of the killed node", 10000);
  const within = Date.now() - killedAt;
  assert.ok(within < 8000, `carol left ${within} ms after her node died`);
});

test("a short outage of a Redis without persistence: what a node broadcast meanwhile is published " +
  "once Redis is back; a channel without history says pulse_gap where it may have missed some", async () => {
  const local = recorder((await join(nodes[0], "bench")).channel, "message");
  const remote = recorder((await join(nodes[1], "bench")).channel, "message");
  const gaps = [recorder((await join(nodes[0], "bench")).channel, "pulse_gap"),
    recorder((await join(nodes[1], "bench")).channel, "pulse_gap")];
  const { channel: publisher } = await join(nodes[0], "bench");

  await redis.stop("SIGKILL");
  await eventually(async () => (await health(nodes[0])).status === "degraded", "node 0 degraded");
  assert.match(await (await fetch(`${nodes[0].http}/metrics`)).text(), /^pulse_redis_connected 0$/m);
  assert.deepEqual(await health(nodes[1]), { status: "degraded", redis: "unreachable" });
  publisher.push("publish", { during: "outage" }); // held by node 0 until Redis is back

  redis = await startRedis(redis.port);
  await eventually(async () => (await health(nodes[0])).status === "ok"
    && (await health(nodes[1])).status === "ok", "both nodes healthy again");
  assert.match(await (await fetch(`${nodes[0].http}/metrics`)).text(), /^pulse_redis_connected 1$/m);
  // Its own node's subscribers get it, once; Redis lost the topic (no persistence): a new
  // start, which every subscriber hears of.
  assert.deepEqual((await local.until(1))[0].payload, { during: "outage" });
  for (const gap of gaps) await gap.until(1);
  // The other node may have resubscribed after node 0 published it: then it had a pulse_gap.
  publisher.push("publish", { after: 1 });
  await eventually(async () => remote.seen.some((m) => m.payload.after), "the next broadcast reaches it");
  const heard = remote.seen.map((m) => m.payload);
  assert.deepEqual(heard.at(-1), { after: 1 });
  assert.ok(heard.length === 2 || gaps[1].seen.length > 0, "what node 1 missed, it was told of");
  assert.deepEqual((await local.until(2)).map((m) => m.payload), [{ during: "outage" }, { after: 1 }]);
  assert.equal(local.seen.filter((m) => m.payload.during).length, 1, "once");
});
