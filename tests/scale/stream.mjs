// What the scale tests share: clients of pulse-demo nodes with the official phoenix client, and a
// stream of chat messages (a channel with history) from a publisher on each of several nodes to
// subscribers on every node, with the exactly-once assertion every Redis deployment must pass.
import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";
import { pushResult } from "../client/support/demo_server.mjs";
import { eventually } from "./redis_server.mjs";

/** A connected phoenix Socket; `sockets` collects them for the test's end. */
export function connect(node, sockets) {
  const socket = new Socket(node.url, { transport: WebSocket, reconnectAfterMs: () => 100 });
  socket.connect();
  sockets?.push(socket);
  return socket;
}

/** Records every `event` a channel receives, with its ref; `until(n)` waits for n of them. */
export function recorder(channel, event) {
  const seen = [];
  const waiters = [];
  channel.on(event, (payload, ref) => {
    seen.push({ payload, ref });
    for (const waiter of [...waiters]) waiter();
  });
  const until = (count, ms = 10000) => new Promise((resolve, reject) => {
    const check = () => {
      if (seen.length < count) return false;
      clearTimeout(timer);
      waiters.splice(waiters.indexOf(check), 1);
      resolve(seen.slice(0, count));
      return true;
    };
    const timer = setTimeout(() => reject(new Error(`${seen.length} of ${count} "${event}"`)), ms);
    waiters.push(check);
    check();
  });
  return { seen, until };
}

/** Joins `topic` on `node`; `record`: an event to record from before the join. */
export async function join(node, topic, { params = {}, record, sockets } = {}) {
  const socket = connect(node, sockets);
  const channel = socket.channel(topic, params);
  const recorded = record ? recorder(channel, record) : undefined;
  const result = await pushResult(channel.join());
  assert.equal(result.status, "ok", `join ${topic}: ${JSON.stringify(result.response)}`);
  return { socket, channel, reply: result.response, recorded };
}

export async function health(node) {
  try {
    return (await (await fetch(`${node.http}/healthz`)).json()).status;
  } catch {
    return "down";
  }
}

/**
 * A stream of chat messages on `topic`: `subscribersPerNode` subscribers on each node, and a
 * publisher on each of `publishers` (nodes) that pushes "p<i>-<n>" every `every` ms, awaiting
 * each reply. `start()`, `sent()` (acknowledged pushes so far), `untilSent(n)`, `stop()`, and
 * `assertExactlyOnce()`.
 */
export async function startStream(nodes, topic, { publishers = nodes, subscribersPerNode = 2,
  every = 10, sockets = [] } = {}) {
  const subscribers = [];
  for (const [i, node] of nodes.entries())
    for (let k = 0; k < subscribersPerNode; ++k) {
      const { channel, socket, recorded } = await join(node, topic,
        { params: { username: `s${i}-${k}` }, record: "new_message", sockets });
      const closes = [];
      socket.onClose((event) => closes.push(event.code));
      subscribers.push({ node, messages: recorded, gaps: recorder(channel, "pulse_gap"), closes });
    }
  const senders = [];
  for (const [i, node] of publishers.entries()) {
    const { channel } = await join(node, topic, { params: { username: `p${i}` }, sockets });
    senders.push({ node, channel, name: `p${i}`, acked: [], failed: [] });
  }
  let running = false;
  let loops = [];
  const waiters = [];
  const sent = () => senders.reduce((sum, s) => sum + s.acked.length, 0);
  const loop = async (sender) => {
    for (let n = 0; running; ++n) {
      const text = `${sender.name}-${n}`;
      // Answered by the node itself, Redis or not: only a node that stops leaves one unanswered.
      const result = await pushResult(sender.channel.push("message", { text }, 6000));
      if (result.status === "ok") sender.acked.push(text);
      else sender.failed.push({ text, ...result });
      for (const waiter of [...waiters]) waiter();
      await new Promise((resolve) => setTimeout(resolve, every)); // the publishing rate
    }
  };
  return {
    subscribers,
    senders,
    sent,
    start() {
      running = true;
      loops = senders.map(loop);
    },
    /** Resolves once `count` pushes in all were acknowledged. */
    untilSent(count, ms = 20000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (sent() < count) return false;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`${sent()} of ${count} pushes acknowledged`)), ms);
        waiters.push(check);
        check();
      });
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    /**
     * Every subscriber (of `among`, all by default) got every acknowledged message exactly once,
     * all in the same order under the same offsets, which run on without a gap, and no pulse_gap.
     */
    async assertExactlyOnce({ among = subscribers, ms = 30000 } = {}) {
      const expected = new Set(senders.flatMap((s) => s.acked));
      assert.deepEqual(senders.flatMap((s) => s.failed), [], "every push was answered");
      const deadline = Date.now() + ms;
      for (const subscriber of among) {
        const have = () => new Set(subscriber.messages.seen.map((m) => m.payload.text));
        while ([...expected].some((text) => !have().has(text))) {
          if (Date.now() > deadline) {
            const missing = [...expected].filter((text) => !have().has(text));
            assert.fail(`a subscriber on ${subscriber.node.port} misses ${missing.length} of ${expected.size}: ${missing.slice(0, 10)}`);
          }
          await subscriber.messages.until(subscriber.messages.seen.length + 1, Math.max(deadline - Date.now(), 1))
            .catch(() => {});
        }
      }
      const reference = among[0].messages.seen.map((m) => m.payload.text);
      const referenceOffsets = among[0].messages.seen.map((m) => m.ref);
      assert.equal(new Set(reference).size, reference.length, "no message twice");
      for (const subscriber of among) {
        const texts = subscriber.messages.seen.map((m) => m.payload.text);
        assert.deepEqual(texts, reference,
          `a subscriber on ${subscriber.node.port} got the same messages in the same order`);
        const offsets = subscriber.messages.seen.map((m) => Number(m.ref.slice(1)));
        offsets.forEach((offset, i) => i === 0 || assert.equal(offset, offsets[i - 1] + 1,
          `offsets run on without a gap (${offsets[i - 1]} then ${offset})`));
        assert.deepEqual(subscriber.messages.seen.map((m) => m.ref), referenceOffsets,
          "each message under the same offset on every node");
        assert.deepEqual(subscriber.gaps.seen, [], "no pulse_gap");
      }
      for (const sender of senders) {
        const mine = reference.filter((text) => text.startsWith(`${sender.name}-`));
        assert.deepEqual(mine, sender.acked, `${sender.name}'s messages, in the order it sent them`);
      }
      return reference.length;
    },
  };
}

/**
 * Stops `node` (one of the stream's, running) with SIGTERM mid-stream and asserts what a graceful
 * stop owes its subscribers: every message acknowledged before the stop began, once, then 1001.
 * Stops the stream too. Returns how long the stop took, in ms.
 */
export async function assertGracefulStop(stream, node) {
  const before = new Set(stream.senders.flatMap((s) => s.acked));
  const stopped = Date.now();
  assert.equal(await node.stop(), 0, "the node exits cleanly on SIGTERM");
  const took = Date.now() - stopped;
  await stream.stop();
  const own = stream.subscribers.filter((s) => s.node === node);
  assert.ok(own.length > 0, "the stopping node has subscribers");
  for (const subscriber of own) {
    const texts = subscriber.messages.seen.map((m) => m.payload.text);
    const missing = [...before].filter((text) => !texts.includes(text));
    assert.deepEqual(missing, [], "nothing published before the stop is missing");
    assert.equal(new Set(texts).size, texts.length, "nothing twice");
    await eventually(async () => subscriber.closes.length > 0, "the socket closed");
    assert.equal(subscriber.closes[0], 1001, "closed with 1001, going away");
  }
  return took;
}

