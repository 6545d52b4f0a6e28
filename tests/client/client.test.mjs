// @pulse/client against pulse-demo: requests, handlers, server requests, status, and the jittered
// reconnect schedule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import {
  connect, Connection, ChannelError, ChannelTimeoutError, jittered, reconnectAfterMs, rejoinAfterMs,
} from "@pulse/client";
import { startDemo, nextCall, collect } from "./support/demo_server.mjs";
import { recordingTransport, recorder, statusOf } from "./support/helpers.mjs";

let demo;
const connections = [];

function open(options = {}, url = demo.url) {
  const connection = connect(url, { transport: WebSocket, ...options });
  connections.push(connection);
  return connection;
}

/** Has the echo channel ask this client `event` with `payload`; resolves with the `asked` report. */
async function ask(echo, event, payload) {
  const asked = nextCall((cb) => echo.on("asked", cb), 3000, "asked");
  assert.deepEqual(await echo.request("ask", { event, payload, timeout_ms: 2000 }), { asked: event });
  return asked;
}

before(async () => { demo = await startDemo(); });
after(async () => {
  try {
    await Promise.all(connections.map((connection) => connection.disconnect()));
  } finally {
    assert.equal(await demo?.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
  }
});

test("request resolves with the reply's response", async () => {
  const echo = open().channel("echo");
  assert.deepEqual(await echo.request("ping", { n: 42, text: "héllo" }), { n: 42, text: "héllo" });
});

test("request rejects with a ChannelError carrying the server's reason", async () => {
  const echo = open().channel("echo");
  await assert.rejects(echo.request("dance", { steps: 3 }), (error) => {
    assert.ok(error instanceof ChannelError);
    assert.ok(error instanceof Error);
    assert.equal(error.reason, "unknown event");
    assert.equal(error.response.event, "dance");
    assert.equal(error.topic, "echo");
    assert.match(error.message, /echo: "dance" failed: unknown event/);
    return true;
  });
});

test("request rejects with a ChannelTimeoutError when no reply comes", async () => {
  const chat = open().channel("chat");
  await chat.joined;
  // The seed chat broadcasts messages and never replies to them.
  await assert.rejects(chat.request("message", { text: "anyone?" }, { timeout: 150 }), (error) => {
    assert.ok(error instanceof ChannelTimeoutError);
    assert.ok(!(error instanceof ChannelError));
    assert.equal(error.timeout, 150);
    assert.match(error.message, /no reply to "message" within 150 ms/);
    return true;
  });
});

test("emit pushes with a null ref once joined, which asks for no reply", async () => {
  const recording = recordingTransport();
  const chat = open({ transport: recording.transport }).channel("chat");
  await chat.joined;
  const received = collect(chat, "new_message", 1);
  chat.emit("message", { username: "ada", text: "fire and forget" });
  assert.deepEqual(await received, [{ username: "ada", text: "fire and forget" }]);
  const [frame] = recording.frames("message", "chat");
  assert.equal(frame[1], null, "no ref");
  assert.equal(frame[0], recording.frames("phx_join", "chat")[0][1], "the join's ref");
});

test("on returns an off function that stops that handler only", async () => {
  const chat = open().channel("chat");
  await chat.joined;
  const first = recorder();
  const off = chat.on("new_message", (message) => first(message.text));
  const second = collect(chat, "new_message", 2);
  chat.emit("message", { text: "one" });
  await first.until(1);
  off();
  chat.emit("message", { text: "two" });
  // Both messages reached the second handler, in order: the first handler saw the second, if ever, by then.
  assert.deepEqual((await second).map((m) => m.text), ["one", "two"]);
  assert.deepEqual(first.calls, [["one"]]);
});

test("onMessage sees every event but phoenix's own; a request nobody handles gets an error", async () => {
  const echo = open().channel("echo");
  const seen = recorder();
  echo.onMessage(seen);
  const report = await ask(echo, "hello", { n: 1 });
  assert.deepEqual(report, { status: "error", response: { reason: 'no handler for "hello"' } });
  assert.deepEqual(seen.calls, [["hello", { n: 1 }], ["asked", report]]);
});

test("a server request is answered with what an on handler returns", async () => {
  const echo = open().channel("echo");
  const others = recorder();
  echo.on("confirm", others); // returns undefined: leaves the answer to the next handler
  echo.on("confirm", ({ question }) => ({ confirmed: question === "sure?" }));
  assert.deepEqual(await ask(echo, "confirm", { question: "sure?" }), {
    status: "ok", response: { confirmed: true },
  });
  assert.deepEqual(others.calls, [[{ question: "sure?" }]]);
});

test("a server request is answered with what a handler's Promise resolves to", async () => {
  const echo = open().channel("echo");
  echo.on("lookup", ({ id }) => new Promise((resolve) => setImmediate(() => resolve({ id, name: "ada" }))));
  assert.deepEqual(await ask(echo, "lookup", { id: 7 }), { status: "ok", response: { id: 7, name: "ada" } });
  echo.on("nothing", async () => {});
  assert.deepEqual(await ask(echo, "nothing", {}), { status: "ok", response: null });
});

test("a server request gets an error answer when the handler throws or its Promise rejects", async () => {
  const echo = open().channel("echo");
  echo.on("fail", () => { throw new Error("not today"); });
  assert.deepEqual(await ask(echo, "fail", {}), { status: "error", response: { reason: "not today" } });
  echo.on("reject", async () => { throw new Error("later, no"); });
  assert.deepEqual(await ask(echo, "reject", {}), { status: "error", response: { reason: "later, no" } });
});

test("status goes connecting, joined, then closed on leave", async () => {
  const chat = open().channel("chat");
  const seen = [chat.status];
  chat.onStatus((status) => seen.push(status));
  assert.deepEqual(await chat.joined, {});
  assert.equal(chat.status, "joined");
  await chat.leave();
  assert.deepEqual(seen, ["connecting", "joined", "closed"]);
  assert.throws(() => chat.emit("message", {}), ChannelError);
  await assert.rejects(chat.request("message", {}), (error) => error instanceof ChannelError && error.reason === "closed");
});

test("a refused join rejects joined with a ChannelError and closes", async () => {
  const nowhere = open().channel("nowhere");
  const seen = [nowhere.status];
  nowhere.onStatus((status) => seen.push(status));
  await assert.rejects(nowhere.joined, (error) => {
    assert.ok(error instanceof ChannelError);
    assert.equal(error.reason, "unmatched topic");
    assert.deepEqual(error.response, { reason: "unmatched topic" });
    return true;
  });
  assert.equal(nowhere.joinError.reason, "unmatched topic");
  assert.deepEqual(seen, ["connecting", "closed"]);
  assert.equal(nowhere.phoenixChannel.state, "closed", "phoenix does not retry the join");
});

test("a server restart: reconnecting, then joined again", async () => {
  const first = await startDemo();
  const connection = open({}, first.url);
  const echo = connection.channel("echo");
  const seen = [];
  echo.onStatus((status) => seen.push(status));
  await echo.joined;
  const lost = statusOf(echo, "reconnecting");
  assert.equal(await first.stop(), 0);
  await lost;
  const second = await startDemo({ port: first.port });
  try {
    await statusOf(echo, "joined", 10000);
    assert.deepEqual(seen, ["joined", "reconnecting", "joined"]);
    assert.deepEqual(await echo.request("ping", { back: true }), { back: true });
  } finally {
    await connection.disconnect();
    assert.equal(await second.stop(), 0);
  }
});

test("acquire shares a bridge; the last release leaves a tick later unless acquired again", async () => {
  const connection = open();
  const chat = connection.acquire("chat", { room: 1 });
  assert.equal(connection.acquire("chat", { room: 1 }), chat, "same topic and params: same bridge");
  await chat.joined;
  connection.release(chat);
  connection.release(chat);
  assert.equal(connection.acquire("chat", { room: 1 }), chat, "acquired again within the tick");
  connection.release(chat);
  await statusOf(chat, "closed");
  const again = connection.acquire("chat", { room: 1 });
  assert.notEqual(again, chat, "a closed bridge is not handed out");
  await again.joined;
  connection.release(again);
});

test("the reconnect and rejoin schedules spread phoenix's steps over [0.5, 1.5)", () => {
  const steps = [10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000, 5000];
  steps.forEach((step, i) => {
    const draws = Array.from({ length: 2000 }, () => reconnectAfterMs(i + 1));
    const [min, max] = [Math.min(...draws), Math.max(...draws)];
    assert.ok(min >= step * 0.5 && max <= step * 1.5, `try ${i + 1}: ${min}..${max} within ±50% of ${step}`);
    assert.ok(min < step * 0.6 && max > step * 1.4, `try ${i + 1}: ${min}..${max} covers the range`);
    assert.ok(new Set(draws).size > 5, `try ${i + 1}: many distinct delays`);
  });

  const random = Math.random;
  try {
    Math.random = () => 0;
    assert.deepEqual([1, 9, 10].map(reconnectAfterMs), [5, 1000, 2500]);
    assert.deepEqual([1, 3, 4].map(rejoinAfterMs), [500, 2500, 5000]);
    assert.equal(jittered(() => 40)(1), 20);
    // A connection uses them unless given its own.
    const connection = new Connection("ws://127.0.0.1:9/socket", { transport: WebSocket });
    assert.equal(connection.socket.reconnectAfterMs(1), 5);
    assert.equal(connection.socket.rejoinAfterMs(1), 500);
    const own = new Connection("ws://127.0.0.1:9/socket", { transport: WebSocket, reconnectAfterMs: () => 42 });
    assert.equal(own.socket.reconnectAfterMs(1), 42);
    Math.random = () => 0.99;
    assert.deepEqual([1, 9, 10].map(reconnectAfterMs), [15, 2980, 7450]);
  } finally {
    Math.random = random;
  }
});
