// Soak: connection churn (connect, join, push, leave, vanish) around steady broadcasts, for a
// bounded time, against a real pulse-demo. Passes when the steady subscribers got every broadcast
// once and in order, the server's file descriptors came back to where they started, its memory
// stayed flat after warm-up, and it logged no error.
//
//   node tests/soak/soak.mjs [--seconds 30]   (PULSE_DEMO selects the server binary)
import { setTimeout as sleep } from "node:timers/promises";
import fs from "node:fs";
import WebSocket from "ws";
import { startDemo } from "../client/support/demo_server.mjs";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1] || 30);
const steadyCount = 20;
const broadcastsPerSecond = 50;
const churnPerSecond = 40;

const demo = await startDemo({
  // A sanitizer build keeps freed memory in quarantine; keep it small so RSS means something.
  env: { ASAN_OPTIONS: "quarantine_size_mb=4:detect_leaks=1" },
});
const pid = demo.process.pid;
const fdCount = () => fs.readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const failures = [];
const fail = (message) => { failures.push(message); console.error(`FAIL: ${message}`); };

/** A raw Phoenix V2 connection: frames as arrays, refs counted, replies awaited. */
function open() {
  const ws = new WebSocket(`${demo.url}/websocket?vsn=2.0.0`);
  let ref = 0;
  const waiting = new Map();
  const client = {
    ws,
    onEvent: () => {},
    send(joinRef, topic, event, payload) {
      const r = String(++ref);
      ws.send(JSON.stringify([joinRef, r, topic, event, payload]));
      return r;
    },
    request(joinRef, topic, event, payload) {
      const r = client.send(joinRef, topic, event, payload);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(r); reject(new Error(`no reply to ${event}`)); }, 5000);
        waiting.set(r, (reply) => { clearTimeout(timer); resolve(reply); });
      });
    },
    async join(topic, params = {}) {
      const joinRef = String(ref + 1);
      const reply = await client.request(joinRef, topic, "phx_join", params);
      if (reply.status !== "ok") throw new Error(`join ${topic}: ${JSON.stringify(reply)}`);
      return joinRef;
    },
  };
  ws.on("message", (data) => {
    const [, r, , event, payload] = JSON.parse(data);
    if (event === "phx_reply" && waiting.has(r)) {
      waiting.get(r)(payload);
      waiting.delete(r);
    } else {
      client.onEvent(event, payload);
    }
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("error", reject);
  });
}

// Steady subscribers on `notifications`, checking order and completeness.
const steady = [];
for (let i = 0; i < steadyCount; i += 1) {
  const client = await open();
  const state = { client, next: 0 };
  client.onEvent = (event, payload) => {
    if (event !== "alert") return;
    const seq = Number(payload.message);
    if (seq !== state.next) fail(`steady ${i}: got ${seq}, expected ${state.next}`);
    state.next = seq + 1;
  };
  await client.join("notifications");
  steady.push(state);
}
const publisher = await open();
const publisherJoin = await publisher.join("notifications");

const baselineFds = fdCount();
const started = Date.now();
const deadline = started + seconds * 1000;
let published = 0;
let churned = 0;
let vanished = 0;
const rss = [];

async function broadcastLoop() {
  while (Date.now() < deadline) {
    publisher.send(publisherJoin, "notifications", "new_alert", { message: String(published) });
    published += 1;
    await sleep(1000 / broadcastsPerSecond);
  }
}

async function churnOnce(n) {
  const client = await open();
  const topic = `room:soak-${n % 25}`;
  const joinRef = await client.join(topic, { username: `churn${n}` });
  await client.request(joinRef, topic, "message", { text: `hello ${n}` });
  if (n % 3 === 0) {
    client.ws._socket.destroy(); // vanishes: no leave, no close frame
    vanished += 1;
  } else {
    await client.request(joinRef, topic, "phx_leave", {});
    await new Promise((resolve) => { client.ws.once("close", resolve); client.ws.close(1000); });
  }
  churned += 1;
}

async function churnLoop() {
  const running = new Set();
  let n = 0;
  while (Date.now() < deadline) {
    const task = churnOnce(n++).catch((error) => fail(`churn: ${error.message}`));
    running.add(task);
    task.finally(() => running.delete(task));
    await sleep(1000 / churnPerSecond);
  }
  await Promise.all(running);
}

async function sampleLoop() {
  while (Date.now() < deadline) {
    rss.push(rssKiB());
    await sleep(1000);
  }
}

await Promise.all([broadcastLoop(), churnLoop(), sampleLoop()]);

// Every broadcast reaches every steady subscriber.
const settle = Date.now() + 5000;
while (steady.some((s) => s.next < published) && Date.now() < settle) await sleep(20);
for (const [i, s] of steady.entries())
  if (s.next !== published) fail(`steady ${i} got ${s.next} of ${published} broadcasts`);

// File descriptors come back once the vanished clients' sockets are seen closed.
let fds = fdCount();
const fdSettle = Date.now() + 10000;
while (fds > baselineFds + 2 && Date.now() < fdSettle) {
  await sleep(50);
  fds = fdCount();
}
if (fds > baselineFds + 2) fail(`file descriptors: ${baselineFds} before, ${fds} after`);

// Memory: after the first third (warm-up), the last samples stay within 15% (and 16 MiB).
const warm = rss.slice(Math.floor(rss.length / 3));
const warmStart = Math.min(...warm.slice(0, 3));
const end = Math.max(...warm.slice(-3));
const growth = end - warmStart;
if (growth > Math.max(16 * 1024, warmStart * 0.15))
  fail(`RSS grew from ${warmStart} KiB to ${end} KiB after warm-up`);

for (const s of steady) s.client.ws.close(1000);
publisher.ws.close(1000);
const code = await demo.stop();
if (code !== 0) fail(`pulse-demo exited with ${code}`);
const errors = demo.stderr().split("\n").filter((line) => / (error|critical) /.test(line) || /ERROR: /.test(line));
if (errors.length) fail(`the server logged errors:\n${errors.slice(0, 10).join("\n")}`);

console.log(JSON.stringify({
  seconds, published, steady: steadyCount, churned, vanished,
  fds: { before: baselineFds, after: fds }, rss_kib: { after_warmup: warmStart, end },
  failures: failures.length,
}));
process.exit(failures.length ? 1 : 0);
