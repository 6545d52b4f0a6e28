// The rest of the Phoenix wire with the official client: binary payloads (ArrayBuffer pushes,
// replies and broadcasts mixed with JSON on one socket) and the V1 serializer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";
import { startDemo, nextCall, pushResult } from "./support/demo_server.mjs";

let demo;
const sockets = [];

function connect(options = {}) {
  const socket = new Socket(demo.url, { transport: WebSocket, ...options });
  socket.connect();
  sockets.push(socket);
  return socket;
}

/** The official client with the V1 serializer: JSON objects, as a user passes them. */
function connectV1() {
  return connect({
    vsn: "1.0.0",
    encode: (msg, callback) => callback(JSON.stringify(msg)),
    decode: (raw, callback) => callback(JSON.parse(raw)),
  });
}

const bytesOf = (buffer) => [...new Uint8Array(buffer)];

before(async () => { demo = await startDemo(); });
after(async () => {
  for (const socket of sockets) socket.disconnect();
  assert.equal(await demo.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
});

test("an ArrayBuffer push is answered with an ArrayBuffer reply", async () => {
  const channel = connect().channel("echo", {});
  assert.equal((await pushResult(channel.join())).status, "ok");
  const sent = new Uint8Array([0, 1, 2, 255, 128]).buffer;
  const reply = await pushResult(channel.push("ping", sent));
  assert.equal(reply.status, "ok");
  assert.ok(reply.response instanceof ArrayBuffer, "the reply is binary");
  assert.deepEqual(bytesOf(reply.response), [0, 1, 2, 255, 128]);
  // JSON on the same socket, right after.
  assert.deepEqual(await pushResult(channel.push("ping", { still: "json" })),
                   { status: "ok", response: { still: "json" } });
});

test("a broadcast of bytes reaches every V2 client as an ArrayBuffer, JSON ones as JSON", async () => {
  const channels = [connect(), connect()].map((s) => s.channel("bench", {}));
  for (const channel of channels) assert.equal((await pushResult(channel.join())).status, "ok");
  const heard = channels.map((channel) => {
    const got = [];
    return { got, done: nextCall((resolve) => channel.on("message", (m) => {
      got.push(m);
      if (got.length === 2) resolve();
    })) };
  });
  channels[0].push("publish", new Uint8Array([7, 8, 9]).buffer, 500);
  channels[0].push("publish", { after: "bytes" }, 500);
  await Promise.all(heard.map((h) => h.done));
  for (const { got } of heard) {
    assert.ok(got[0] instanceof ArrayBuffer);
    assert.deepEqual(bytesOf(got[0]), [7, 8, 9]);
    assert.deepEqual(got[1], { after: "bytes" });
  }
});

test("a V1 client joins, pushes, hears broadcasts and leaves", async () => {
  const v1 = connectV1().channel("bench", {});
  const v2 = connect().channel("bench", {});
  assert.equal((await pushResult(v1.join())).status, "ok");
  assert.equal((await pushResult(v2.join())).status, "ok");
  const heardV1 = nextCall((resolve) => v1.on("message", resolve));
  const heardV2 = nextCall((resolve) => v2.on("message", resolve));
  v1.push("publish", { from: "v1" }, 500);
  assert.deepEqual(await heardV1, { from: "v1" });
  assert.deepEqual(await heardV2, { from: "v1" });
  const echo = connectV1().channel("echo", {});
  assert.equal((await pushResult(echo.join())).status, "ok");
  assert.deepEqual(await pushResult(echo.push("ping", { n: 1.5 })), { status: "ok", response: { n: 1.5 } });
  const closed = nextCall((resolve) => echo.onClose(resolve));
  assert.equal((await pushResult(echo.leave())).status, "ok");
  await closed;
});

test("what a V1 client sees on the wire is Phoenix's V1, byte for byte", async () => {
  const ws = new WebSocket(`${demo.url}/websocket?vsn=1.0.0`);
  await nextCall((resolve) => ws.once("open", resolve));
  const frames = [];
  // Messages queue up as they come (two can arrive in one read); next() takes the oldest.
  const arrived = [];
  let waiting = null;
  ws.on("message", (data) => {
    arrived.push(String(data));
    if (waiting) waiting();
  });
  const next = async () => {
    if (!arrived.length) await nextCall((resolve) => { waiting = resolve; });
    waiting = null;
    return arrived.shift();
  };
  const send = (msg) => ws.send(JSON.stringify(msg));
  send({ topic: "bench", event: "phx_join", payload: {}, ref: "1", join_ref: "1" });
  frames.push(await next());
  send({ topic: "bench", event: "publish", payload: { x: 1 }, ref: "2", join_ref: "1" });
  frames.push(await next());
  send({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "3" });
  frames.push(await next());
  send({ topic: "bench", event: "phx_leave", payload: {}, ref: "4", join_ref: "1" });
  frames.push(await next(), await next());
  send({ topic: "nope:1", event: "phx_join", payload: {}, ref: "9", join_ref: "9" });
  frames.push(await next());
  ws.close();
  assert.deepEqual(frames, [
    '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"bench"}',
    '{"event":"message","payload":{"x":1},"ref":null,"topic":"bench"}',
    '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"3","topic":"phoenix"}',
    '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"4","topic":"bench"}',
    '{"event":"phx_close","payload":{},"ref":"1","topic":"bench"}',
    '{"event":"phx_reply","payload":{"response":{"reason":"unmatched topic"},"status":"error"},"ref":"9","topic":"nope:1"}',
  ]);
});

test("a socket without vsn speaks V1, as Phoenix's does; an unknown version gets 403", async () => {
  const ws = new WebSocket(`${demo.url}/websocket`);
  await nextCall((resolve) => ws.once("open", resolve));
  ws.send(JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "1" }));
  const reply = await nextCall((resolve) => ws.once("message", (data) => resolve(String(data))));
  assert.equal(reply, '{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"phoenix"}');
  ws.close();
  const refused = new WebSocket(`${demo.url}/websocket?vsn=3.0.0`);
  const status = await nextCall((resolve) => refused.once("unexpected-response", (_, res) => resolve(res.statusCode)));
  assert.equal(status, 403);
});

test("a binary message on a V1 socket is closed with a reason", async () => {
  const ws = new WebSocket(`${demo.url}/websocket?vsn=1.0.0`);
  await nextCall((resolve) => ws.once("open", resolve));
  ws.send(new Uint8Array([0, 1, 1, 5, 4, 49, 50, 98, 101, 110, 99, 104, 112, 105, 110, 103]));
  const [code, reason] = await nextCall((resolve) => ws.once("close", (c, r) => resolve([c, String(r)])));
  assert.equal(code, 1003);
  assert.match(reason, /vsn=2\.0\.0/);
});
