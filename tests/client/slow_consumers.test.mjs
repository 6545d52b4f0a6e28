// Slow consumers: 200 clients that never read, while 200 others take a long broadcast stream.
// The readers get every message, the server's memory stays bounded, the slow ones are closed
// with 1008 ("slow consumer").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import crypto from "node:crypto";
import WebSocket from "ws";
import { startDemo } from "./support/demo_server.mjs";

const readers = 200;
const slowOnes = 200;
const messages = 1000;
const payloadBytes = 1000;
const rssBoundMiB = 150; // growth the server may show while the slow ones fill their queues

let demo;
before(async () => {
  demo = await startDemo({
    args: ["--max-queued-bytes", "131072", "--socket-send-buffer", "32768",
           "--close-timeout-ms", "30000", "--max-messages-per-second", "100000"],
    env: { ASAN_OPTIONS: "quarantine_size_mb=4:detect_leaks=1" },
  });
});
after(async () => { await demo?.stop(); });

const rssKiB = () =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${demo.process.pid}/status`, "utf8"))[1]);

/** A masked client text frame (RFC 6455), for the raw sockets. */
function textFrame(text) {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const header = payload.length < 126
    ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([header, mask, masked]);
}

/** A client that joins `bench` by hand, then stops reading: the slow consumer. */
function slowClient() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(demo.port, "127.0.0.1");
    let handshake = "";
    socket.on("error", () => {}); // the server may cut it: that is the point
    socket.once("connect", () => socket.write(
      "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\n\r\n"));
    const onData = (chunk) => {
      handshake += chunk.toString("latin1");
      if (!handshake.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (!handshake.startsWith("HTTP/1.1 101")) return reject(new Error(handshake));
      socket.write(textFrame(JSON.stringify(["1", "1", "bench", "phx_join", {}])));
      socket.pause(); // and never read again, until the test looks for the close
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** Resumes a paused raw socket and finds the server's close frame in what it reads. */
function closeCodeOf(socket, ms = 20000) {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => resolve(null), ms);
    const done = (code) => { clearTimeout(timer); socket.destroy(); resolve(code); };
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Walk the (unmasked) server frames; keep the incomplete tail.
      for (;;) {
        if (buffer.length < 2) return;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) { if (buffer.length < 4) return; length = buffer.readUInt16BE(2); offset = 4; }
        else if (length === 127) { if (buffer.length < 10) return; length = Number(buffer.readBigUInt64BE(2)); offset = 10; }
        if (buffer.length < offset + length) return;
        if ((buffer[0] & 0x0f) === 0x8) return done(buffer.readUInt16BE(offset));
        buffer = buffer.subarray(offset + length);
      }
    });
    socket.on("close", () => done("closed without a close frame"));
    socket.resume();
  });
}

test("slow consumers are closed with 1008; everyone else gets every message", async () => {
  const received = Array.from({ length: readers }, () => []);
  let windowEnd = -1;
  let windowSeen = 0;
  let windowDone = null;
  let finished = 0;
  let allFinished;
  const everyoneDone = new Promise((resolve) => { allFinished = resolve; });
  const sockets = await Promise.all(Array.from({ length: readers }, (_, i) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${demo.url}/websocket?vsn=2.0.0`);
    ws.on("message", (data) => {
      const [, , , event, payload] = JSON.parse(data);
      if (event === "phx_reply") return resolve(ws);
      if (event === "message") {
        received[i].push(payload.seq);
        if (payload.seq === windowEnd && ++windowSeen === readers) windowDone();
        if (received[i].length === messages && ++finished === readers) allFinished();
      }
    });
    ws.once("open", () => ws.send(JSON.stringify(["1", "1", "bench", "phx_join", {}])));
    ws.once("error", reject);
  })));
  const slow = await Promise.all(Array.from({ length: slowOnes }, slowClient));
  const before = rssKiB();
  let peak = before;

  // The stream, in windows of 50 that every reader acknowledges by receiving them: one process
  // reads all 200 sockets and, on a loaded machine, can leave some unread for a while; a reader
  // is then at most one window (50 KB) behind, well inside the 128 KiB bound, so the only ones
  // the server may call slow are those that never read.
  const publisher = sockets[0];
  const padding = "x".repeat(payloadBytes);
  for (let first = 0; first < messages; first += 50) {
    windowEnd = first + 49;
    windowSeen = 0;
    const got = new Promise((resolve) => { windowDone = resolve; });
    for (let seq = first; seq < first + 50; seq += 1)
      publisher.send(JSON.stringify(["1", null, "bench", "publish", { seq, padding }]));
    await got;
    peak = Math.max(peak, rssKiB());
  }
  // Every reader, every message, in order.
  await Promise.race([everyoneDone, new Promise((resolve) => setTimeout(resolve, 20000).unref())]);
  for (const [i, list] of received.entries()) {
    assert.equal(list.length, messages, `reader ${i} got ${list.length} of ${messages}`);
    assert.ok(list.every((seq, k) => seq === k), `reader ${i} got them out of order`);
  }
  const growthMiB = (peak - before) / 1024;
  assert.ok(growthMiB < rssBoundMiB, `server RSS grew by ${growthMiB.toFixed(1)} MiB`);

  const codes = await Promise.all(slow.map((socket) => closeCodeOf(socket)));
  const closedSlow = codes.filter((code) => code === 1008).length;
  assert.equal(closedSlow, slowOnes, `close codes seen: ${JSON.stringify([...new Set(codes)])}`);
  for (const ws of sockets) ws.close(1000);
  console.log(`# server RSS grew by ${growthMiB.toFixed(1)} MiB (bound ${rssBoundMiB}); ` +
              `${closedSlow} slow consumers closed with 1008`);
});
