// The official `phoenix` client against pulse-demo, unchanged: what it does, Pulse accepts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";
import { startDemo, nextCall, pushResult, collect } from "./support/demo_server.mjs";

let demo;
const sockets = [];

function connect(options = {}) {
  const socket = new Socket(demo.url, { transport: WebSocket, ...options });
  socket.connect();
  sockets.push(socket);
  return socket;
}

before(async () => { demo = await startDemo(); });
after(async () => {
  for (const socket of sockets) socket.disconnect();
  assert.equal(await demo.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
});

test("join, then a push with a reply", async () => {
  const channel = connect().channel("echo", {});
  assert.equal((await pushResult(channel.join())).status, "ok");
  const reply = await pushResult(channel.push("ping", { n: 42, text: "héllo" }));
  assert.deepEqual(reply, { status: "ok", response: { n: 42, text: "héllo" } });
});

test("a broadcast reaches every client once", async () => {
  const channels = [connect(), connect(), connect()].map((s) => s.channel("chat", {}));
  const received = channels.map((channel) => collect(channel, "new_message", 2));
  for (const channel of channels) assert.equal((await pushResult(channel.join())).status, "ok");
  // The seed chat does not reply to messages: short push timeouts keep no timer alive for long.
  channels[0].push("message", { username: "ada", text: "to all" }, 500);
  channels[1].push("message", { text: "nameless" }, 500);
  const lists = await Promise.all(received);
  // Two publishers: either order, but the same for everyone (the channel puts them in one).
  const sorted = [...lists[0]].sort((a, b) => a.text.localeCompare(b.text));
  assert.deepEqual(sorted, [
    { username: "Anonymous", text: "nameless" },
    { username: "ada", text: "to all" },
  ]);
  for (const list of lists) assert.deepEqual(list, lists[0]);
  // Once: a round trip through the channel afterwards finds no third copy.
  const extra = [];
  channels.forEach((channel) => channel.on("new_message", (m) => extra.push(m)));
  for (const channel of channels) await pushResult(channel.push("unknown_event", {}));
  assert.deepEqual(extra, []);
});

test("a join of a topic nobody defined fails with unmatched topic", async () => {
  const channel = connect().channel("nowhere", {});
  const result = await pushResult(channel.join());
  assert.deepEqual(result, { status: "error", response: { reason: "unmatched topic" } });
  channel.leave(); // stops the client's rejoin attempts
});

test("leave is acknowledged and the channel closes", async () => {
  const channel = connect().channel("notifications", {});
  assert.equal((await pushResult(channel.join())).status, "ok");
  const closed = nextCall((cb) => channel.onClose(cb), 3000, "close");
  assert.equal((await pushResult(channel.leave())).status, "ok");
  await closed;
  assert.equal(channel.state, "closed");
});

test("heartbeats are answered", async () => {
  const socket = connect();
  await nextCall((cb) => socket.onOpen(cb), 3000, "open");
  const latency = await nextCall((cb) => socket.ping(cb), 3000, "heartbeat reply");
  assert.ok(latency >= 0);
});

test("the authToken option connects through the phoenix subprotocol", async () => {
  const channel = connect({ authToken: "secret-token" }).channel("echo", {});
  assert.equal((await pushResult(channel.join())).status, "ok");
});

test("server requests reach the client with a ref, and its answer comes back", async () => {
  const socket = connect();
  const channel = socket.channel("echo", {});
  channel.on("confirm", (payload, ref) => {
    assert.equal(payload.question, "sure?");
    channel.push("pulse_reply", { ref, status: "ok", response: { confirmed: true } });
  });
  assert.equal((await pushResult(channel.join())).status, "ok");
  const asked = nextCall((cb) => channel.on("asked", cb), 3000, "asked");
  const reply = await pushResult(channel.push("ask", {
    event: "confirm", payload: { question: "sure?" }, timeout_ms: 2000,
  }));
  assert.deepEqual(reply, { status: "ok", response: { asked: "confirm" } });
  assert.deepEqual(await asked, { status: "ok", response: { confirmed: true } });
});

test("a channel that fails reaches the client as phx_error, and the client rejoins by itself", async () => {
  const channel = connect({ rejoinAfterMs: () => 20 }).channel("echo", {});
  // The join push's "ok" hook runs on every successful join: the first, then the rejoin.
  const joins = [];
  const joined = (n) => new Promise((resolve) => joins.push({ n, resolve }));
  const first = joined(1);
  const second = joined(2);
  let count = 0;
  channel.join().receive("ok", () => {
    count += 1;
    joins.filter((j) => j.n === count).forEach((j) => j.resolve());
  });
  await first;
  const errored = nextCall((cb) => channel.onError(cb), 3000, "phx_error");
  channel.push("crash", {});
  await errored;
  await second;
  const reply = await pushResult(channel.push("ping", { alive: true }));
  assert.deepEqual(reply, { status: "ok", response: { alive: true } });
});
