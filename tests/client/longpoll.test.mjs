// The official `phoenix` client's LongPoll transport against pulse-demo, unchanged. Node 20 has no
// XMLHttpRequest: the client takes its fetch path (global fetch with an AbortController).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Socket, LongPoll } from "phoenix";
import WebSocket from "ws";
import { startDemo, nextCall, pushResult, collect } from "./support/demo_server.mjs";

let demo;
const sockets = [];

function connect(options = {}, url = demo.url) {
  const socket = new Socket(url, { transport: LongPoll, ...options });
  socket.connect();
  sockets.push(socket);
  return socket;
}

/** A sessionStorage for the client to memorize its fallback in (Node has none). */
function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

/**
 * An HTTP proxy in front of pulse-demo that forwards plain requests and refuses every WebSocket
 * upgrade, as a proxy that breaks WebSockets does. Resolves with { url, upgrades(), close() }.
 */
async function webSocketBlockingProxy() {
  let upgrades = 0;
  const proxy = http.createServer((request, response) => {
    const upstream = http.request(
      { host: demo.host, port: demo.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      });
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  proxy.on("upgrade", (request, socket) => {
    upgrades += 1;
    socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${proxy.address().port}/socket`,
    upgrades: () => upgrades,
    close: () => {
      proxy.closeAllConnections();
      return new Promise((resolve) => proxy.close(resolve));
    },
  };
}

before(async () => {
  assert.equal(typeof globalThis.XMLHttpRequest, "undefined", "the client takes its fetch path");
  demo = await startDemo();
});
after(async () => {
  for (const socket of sockets) socket.disconnect();
  assert.equal(await demo.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
});

test("over long-poll the client joins, pushes and gets its replies", async () => {
  const socket = connect();
  await nextCall((cb) => socket.onOpen(cb), 3000, "open");
  assert.equal(socket.transport, LongPoll);
  const channel = socket.channel("echo", {});
  assert.deepEqual(await pushResult(channel.join()), { status: "ok", response: {} });
  const reply = await pushResult(channel.push("ping", { n: 42, text: "héllo" }));
  assert.deepEqual(reply, { status: "ok", response: { n: 42, text: "héllo" } });
  // Pushes of one tick go in one POST, and their replies come back in order.
  const replies = await Promise.all([1, 2, 3].map((n) => pushResult(channel.push("ping", { n }))));
  assert.deepEqual(replies.map((r) => r.response.n), [1, 2, 3]);
  const nowhere = socket.channel("nowhere", {});
  const unknown = await pushResult(nowhere.join());
  assert.deepEqual(unknown, { status: "error", response: { reason: "unmatched topic" } });
  nowhere.leave(); // stops the client's rejoin attempts
});

test("a WebSocket client and a long-poll client on one topic hear each other's broadcasts", async () => {
  const polling = connect().channel("chat", {});
  const webSocket = new Socket(demo.url, { transport: WebSocket });
  webSocket.connect();
  sockets.push(webSocket);
  const streaming = webSocket.channel("chat", {});
  const heardByPolling = collect(polling, "new_message", 2);
  const heardByStreaming = collect(streaming, "new_message", 2);
  assert.equal((await pushResult(polling.join())).status, "ok");
  assert.equal((await pushResult(streaming.join())).status, "ok");
  // The seed chat does not reply to messages: a short push timeout keeps no timer alive for long.
  polling.push("message", { username: "poll", text: "from long-poll" }, 500);
  await nextCall((cb) => streaming.on("new_message", cb), 3000, "the first broadcast");
  streaming.push("message", { username: "ws", text: "from WebSocket" }, 500);
  const expected = [
    { username: "poll", text: "from long-poll" },
    { username: "ws", text: "from WebSocket" },
  ];
  assert.deepEqual(await heardByPolling, expected);
  assert.deepEqual(await heardByStreaming, expected);
});

test("with longPollFallbackMs the client falls back to long-poll when WebSockets are blocked", async () => {
  const proxy = await webSocketBlockingProxy();
  try {
    const storage = memoryStorage();
    const socket = connect({ transport: WebSocket, longPollFallbackMs: 2000, sessionStorage: storage }, proxy.url);
    await nextCall((cb) => socket.onOpen(cb), 5000, "open");
    assert.equal(socket.transport, LongPoll, "it fell back");
    assert.ok(proxy.upgrades() >= 1, "it tried a WebSocket first");
    const channel = socket.channel("echo", {});
    assert.equal((await pushResult(channel.join())).status, "ok");
    const reply = await pushResult(channel.push("ping", { through: "the proxy" }));
    assert.deepEqual(reply, { status: "ok", response: { through: "the proxy" } });
    assert.equal(storage.getItem("phx:fallback:LongPoll"), "true", "it memorized the fallback");

    // A client that memorized the fallback goes straight to long-poll.
    const before = proxy.upgrades();
    const again = connect({ transport: WebSocket, longPollFallbackMs: 2000, sessionStorage: storage }, proxy.url);
    await nextCall((cb) => again.onOpen(cb), 5000, "open");
    assert.equal(again.transport, LongPoll);
    assert.equal(proxy.upgrades(), before, "no WebSocket attempt");
    const echo = again.channel("echo", {});
    assert.equal((await pushResult(echo.join())).status, "ok");
    for (const s of [socket, again]) s.disconnect();
  } finally {
    await proxy.close();
  }
});
