// What operators configure: settings from a config file, the environment and the command line,
// JSON logs, and the server API (POST /api/broadcast, GET /api/channels, GET /api/presence).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Socket } from "phoenix";
import WebSocket from "ws";
import { startDemo, nextCall, pushResult } from "./support/demo_server.mjs";

let demo;
let socket;
const directory = mkdtempSync(path.join(tmpdir(), "pulse-ops-"));
const key = "ops-test-key";

before(async () => {
  const config = path.join(directory, "pulse.toml");
  // Command line over config file over environment: the log format comes from the command
  // line, the subscription limit from the file, the API key from the environment.
  writeFileSync(config, 'max-subscriptions = 2\nlog-format = "text"\n');
  demo = await startDemo({
    args: ["--config", config, "--log-format", "json"],
    env: { PULSE_API_KEY: key, PULSE_MAX_SUBSCRIPTIONS: "5", PULSE_LOG_LEVEL: "debug" },
  });
  socket = new Socket(demo.url, { transport: WebSocket });
  socket.connect();
});

after(async () => {
  socket.disconnect();
  assert.equal(await demo.stop(), 0);
  rmSync(directory, { recursive: true, force: true });
});

function api(method, route, body, token = key) {
  return fetch(`${demo.http}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

test("the config file's setting beats the environment's: two subscriptions per connection", async () => {
  const joins = [];
  const channels = ["notifications", "chat", "echo"].map((topic) => socket.channel(topic, {}));
  for (const channel of channels) joins.push(await pushResult(channel.join()));
  for (const channel of channels) channel.leave();
  assert.deepEqual(joins.map((j) => j.status), ["ok", "ok", "error"]);
  assert.match(joins[2].response.reason, /at most 2/);
});

test("with the API key from the environment, a service broadcasts through the API", async () => {
  const channel = socket.channel("room:ops", { username: "ops" });
  await pushResult(channel.join());
  const received = nextCall((done) => channel.on("new_message", done));
  assert.equal((await api("POST", "/api/broadcast", {
    channel: "room:ops", event: "new_message", payload: { username: "cron", text: "backup done" },
  }, "not-the-key")).status, 401);
  const sent = await api("POST", "/api/broadcast", {
    channel: "room:ops", event: "new_message", payload: { username: "cron", text: "backup done" },
  });
  assert.equal(sent.status, 202);
  assert.deepEqual(await received, { username: "cron", text: "backup done" });

  const listed = await (await api("GET", "/api/channels")).json();
  const room = listed.channels.find((c) => c.name === "room:ops");
  assert.equal(room?.subscribers, 1);
  const presence = await (await api("GET", "/api/presence?channel=room:ops")).json();
  assert.deepEqual(Object.keys(presence.presence), ["ops"]);
  channel.leave();
});

test("the command line's JSON log format wins: every log line is a JSON object", async () => {
  const lines = demo.stderr().split("\n").filter((line) => line.length > 0);
  assert.ok(lines.length > 0, "the server logged something");
  for (const line of lines) {
    const entry = JSON.parse(line);
    assert.equal(typeof entry.time, "string");
    assert.equal(typeof entry.message, "string");
    assert.ok(["debug", "info", "warning", "error"].includes(entry.level), entry.level);
  }
  assert.ok(lines.some((line) => JSON.parse(line).message.includes("notifications: a client subscribed")));
});
