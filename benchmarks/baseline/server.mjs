// The benchmarks' baseline: what a JavaScript team would hand-roll on Node and the `ws` package,
// speaking the subset of Phoenix Channels V2 that the benchmarks use, with Pulse's contracts:
//
//   - join / leave / heartbeat, as in docs/protocol.md (unmatched topics are refused);
//   - `bench`: push `publish` {...} broadcasts `message` with the same payload, no reply;
//   - `room:*` (the chat app's rooms, apps/chat/chat_room.hpp): join with {"username"}; the reply
//     holds {"history": the last 50 messages, "epoch", "offset"}; presence (`presence_state` to the
//     joiner, `presence_diff` to the room); push `message` {"text"} broadcasts `new_message`
//     {"username","text","at"} with an offset ref ("o17"), keeps the last 1,000 broadcasts, and
//     replies {"at"}; empty texts and texts over 4,000 characters get an error reply;
//   - `doc:*` (the editor app's documents, apps/editor/document_channel.hpp, in V2 binary frames):
//     push `yjs` (a y-protocols message) is relayed to the other editors as a binary broadcast,
//     updates kept (the last 1,000); `yjs_sync` is answered with the kept updates and an empty
//     sync step 2. Unlike Pulse it keeps no state of an editor's, so it asks none: no compaction,
//     no limits of its own, no awareness bookkeeping;
//   - bounds: 1 MiB inbound messages, 4 MiB queued per connection (then 1008 "slow consumer"),
//     60 s without inbound data (then 1008 "heartbeat timeout").
//
// A broadcast is serialized once into a Buffer that every subscriber's socket sends.
// Not implemented (the benchmarks do not use them): recovery on rejoin, server requests.
// Binary frames other than the editor's pushes are refused (close 1003).
//
// usage: node benchmarks/baseline/server.mjs [--bind 127.0.0.1] [--port 0]
import http from "node:http";
import crypto from "node:crypto";
import { WebSocketServer } from "ws";
import { bind, port } from "../listen-options.mjs";

const MAX_MESSAGE = 1 << 20;
const MAX_QUEUED = 4 << 20;
const IDLE_MS = 60_000;
const HISTORY_ON_JOIN = 50;
const KEPT = 1000;
const MAX_TEXT = 4000;
const MAX_USERNAME = 32;

/** topic -> { subscribers: Map<socket, join_ref>, ... } */
const channels = new Map();
const nodeRef = crypto.randomBytes(4).toString("hex");
let presenceRefs = 0;

function channelFor(topic) {
  let ch = channels.get(topic);
  if (ch) return ch;
  if (topic === "bench") ch = { kind: "bench", subscribers: new Map() };
  else if (topic.startsWith("doc:")) ch = { kind: "doc", subscribers: new Map(), kept: [] };
  else if (topic.startsWith("room:"))
    ch = {
      kind: "room",
      subscribers: new Map(),
      epoch: crypto.randomBytes(8).toString("hex"),
      offset: 0,
      history: [], // the last HISTORY_ON_JOIN messages
      kept: [], // the last KEPT broadcast frames
      presence: new Map(), // username -> [{phx_ref, online_at}]
    };
  else return null;
  channels.set(topic, ch);
  return ch;
}

function send(ws, frame, binary = false) {
  if (ws.readyState !== 1) return;
  if (ws.bufferedAmount > MAX_QUEUED) {
    ws.close(1008, "slow consumer");
    return;
  }
  ws.send(frame, { binary });
}

// V2 binary frames: a server push is [0, join_ref, topic, event] lengths then them and the
// payload; a broadcast [2, topic, event].
const SYNC_STEP2_EMPTY = Buffer.from([0, 1, 2, 0, 0]);

function binaryPush(joinRef, topic, event, payload) {
  const head = Buffer.from([0, Buffer.byteLength(joinRef), Buffer.byteLength(topic), Buffer.byteLength(event)]);
  return Buffer.concat([head, Buffer.from(joinRef + topic + event), payload]);
}

function binaryBroadcastFrom(ch, except, topic, event, payload) {
  const head = Buffer.from([2, Buffer.byteLength(topic), Buffer.byteLength(event)]);
  const frame = Buffer.concat([head, Buffer.from(topic + event), payload]);
  for (const ws of ch.subscribers.keys()) if (ws !== except) send(ws, frame, true);
  return payload;
}

function broadcast(ch, joinRef, ref, topic, event, payload) {
  const frame = Buffer.from(JSON.stringify([joinRef, ref, topic, event, payload]));
  for (const ws of ch.subscribers.keys()) send(ws, frame);
  return frame;
}

const reply = (ws, joinRef, ref, topic, status, response) =>
  ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status, response }]));

function unsubscribe(ws, topic) {
  const ch = channels.get(topic);
  if (!ch || !ch.subscribers.has(ws)) return;
  ch.subscribers.delete(ws);
  ws.topics.delete(topic);
  if (ch.kind === "room") {
    const username = ws.usernames.get(topic);
    ws.usernames.delete(topic);
    const metas = ch.presence.get(username) || [];
    const gone = metas.filter((m) => m.owner === ws);
    const left = metas.filter((m) => m.owner !== ws);
    if (left.length) ch.presence.set(username, left);
    else ch.presence.delete(username);
    if (gone.length)
      broadcast(ch, null, null, topic, "presence_diff", {
        joins: {},
        leaves: { [username]: { metas: gone.map(publicMeta) } },
      });
  }
  if (ch.subscribers.size === 0) channels.delete(topic);
}

const publicMeta = ({ phx_ref, online_at }) => ({ phx_ref, online_at });

function presenceState(ch) {
  const state = {};
  for (const [key, metas] of ch.presence) state[key] = { metas: metas.map(publicMeta) };
  return state;
}

function join(ws, joinRef, ref, topic, params) {
  const ch = channelFor(topic);
  if (!ch) return reply(ws, null, ref, topic, "error", { reason: "unmatched topic" });
  if (params === null || typeof params !== "object" || Array.isArray(params))
    return reply(ws, joinRef, ref, topic, "error", { reason: "join params must be an object" });
  const previous = ws.topics.get(topic);
  if (previous !== undefined) {
    unsubscribe(ws, topic);
    ws.send(JSON.stringify([previous, previous, topic, "phx_close", {}]));
  }
  const live = channelFor(topic); // unsubscribe may have dropped an emptied channel
  if (live.kind === "bench" || live.kind === "doc") {
    live.subscribers.set(ws, joinRef);
    ws.topics.set(topic, joinRef);
    return reply(ws, joinRef, ref, topic, "ok", {});
  }
  const given = typeof params.username === "string" ? params.username.trim() : "";
  if ([...given].length > MAX_USERNAME)
    return reply(ws, joinRef, ref, topic, "error", {
      reason: `username is longer than ${MAX_USERNAME} characters`,
    });
  const username = given || "Anonymous";
  live.subscribers.set(ws, joinRef);
  ws.topics.set(topic, joinRef);
  ws.usernames.set(topic, username);
  const meta = { phx_ref: `${nodeRef}:${++presenceRefs}`, online_at: new Date().toISOString(), owner: ws };
  reply(ws, joinRef, ref, topic, "ok", {
    history: live.history,
    epoch: live.epoch,
    offset: live.offset,
  });
  live.presence.set(username, [...(live.presence.get(username) || []), meta]);
  ws.send(JSON.stringify([joinRef, null, topic, "presence_state", presenceState(live)]));
  broadcast(live, null, null, topic, "presence_diff", {
    joins: { [username]: { metas: [publicMeta(meta)] } },
    leaves: {},
  });
}

function push(ws, joinRef, ref, topic, event, payload) {
  const current = ws.topics.get(topic);
  if (current === undefined) return reply(ws, null, ref, topic, "error", { reason: "unmatched topic" });
  if (current !== joinRef) return; // a stale subscription
  const ch = channels.get(topic);
  const answer = (status, response) => ref !== null && reply(ws, joinRef, ref, topic, status, response);
  if (ch.kind === "bench") {
    if (event === "publish") return broadcast(ch, null, null, topic, "message", payload);
    return answer("error", { reason: "unknown event", event, expected: "publish" });
  }
  if (ch.kind === "doc") return pushToDocument(ws, ch, joinRef, topic, event, payload, answer);
  if (event !== "message")
    return answer("error", { reason: "unknown event", event, expected: "message" });
  const text = payload && typeof payload === "object" ? payload.text : undefined;
  if (typeof text !== "string") return answer("error", { reason: 'message expects {"text": string}' });
  const trimmed = text.trim();
  if (!trimmed) return answer("error", { reason: "empty message" });
  if ([...trimmed].length > MAX_TEXT)
    return answer("error", { reason: `message is longer than ${MAX_TEXT} characters` });
  const at = new Date().toISOString();
  const message = { username: ws.usernames.get(topic), text: trimmed, at };
  const frame = broadcast(ch, null, `o${++ch.offset}`, topic, "new_message", message);
  ch.kept.push(frame);
  if (ch.kept.length > KEPT) ch.kept.shift();
  ch.history.push(message);
  if (ch.history.length > HISTORY_ON_JOIN) ch.history.shift();
  answer("ok", { at });
}

function pushToDocument(ws, ch, joinRef, topic, event, payload, answer) {
  if (!Buffer.isBuffer(payload)) return answer("error", { reason: "a document takes binary payloads" });
  const sync = (state) => {
    for (const update of ch.kept) send(ws, binaryPush(joinRef, topic, "yjs", update), true);
    send(ws, binaryPush(joinRef, topic, "yjs", SYNC_STEP2_EMPTY), true);
    return state;
  };
  if (event === "yjs_sync") return sync();
  if (event !== "yjs") return answer("error", { reason: "unknown event", event, expected: "yjs, yjs_sync" });
  if (payload[0] === 1) return binaryBroadcastFrom(ch, ws, topic, "yjs", payload); // awareness
  if (payload[0] !== 0) return undefined;
  if (payload[1] === 0) return sync();
  const update = payload[1] === 1 ? Buffer.concat([Buffer.from([0, 2]), payload.subarray(2)]) : payload;
  ch.kept.push(binaryBroadcastFrom(ch, ws, topic, "yjs", update));
  if (ch.kept.length > KEPT) ch.kept.shift();
  return undefined;
}

/** A V2 binary push: [0, join_ref, ref, topic, event lengths] then them and the payload. */
function onBinary(ws, data) {
  if (data.length < 5 || data[0] !== 0) return ws.close(1003, "only binary pushes are supported");
  const lengths = [data[1], data[2], data[3], data[4]];
  const fields = [];
  let at = 5;
  for (const length of lengths) {
    fields.push(data.toString("utf8", at, at + length));
    at += length;
  }
  if (at > data.length) return ws.close(1007, "a binary push shorter than its lengths");
  const [joinRef, ref, topic, event] = fields;
  push(ws, joinRef, ref, topic, event, data.subarray(at));
}

function onMessage(ws, data, isBinary) {
  ws.lastSeen = Date.now();
  if (isBinary) return onBinary(ws, data);
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return ws.close(1007, "not JSON");
  }
  if (!Array.isArray(msg) || msg.length !== 5 || typeof msg[2] !== "string" || typeof msg[3] !== "string")
    return ws.close(1007, "not a [join_ref, ref, topic, event, payload] array");
  const [joinRef, ref, topic, event, payload] = msg;
  if (topic === "phoenix" && event === "heartbeat") return reply(ws, null, ref, topic, "ok", {});
  if (event === "phx_join") return join(ws, joinRef, ref, topic, payload);
  if (event === "phx_leave") {
    const current = ws.topics.get(topic);
    reply(ws, joinRef, ref, topic, "ok", {});
    if (current !== undefined) {
      unsubscribe(ws, topic);
      ws.send(JSON.stringify([current, current, topic, "phx_close", {}]));
    }
    return;
  }
  push(ws, joinRef, ref, topic, event, payload);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE, clientTracking: true });

const server = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});

server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://localhost");
  const vsn = url.searchParams.get("vsn");
  if (url.pathname !== "/socket/websocket" || (vsn !== null && !vsn.startsWith("2."))) {
    socket.end("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nonly /socket/websocket?vsn=2.x\n");
    return;
  }
  socket.setNoDelay(true);
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.topics = new Map(); // topic -> join_ref
    ws.usernames = new Map(); // room topic -> username
    ws.lastSeen = Date.now();
    ws.on("message", (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on("close", () => {
      for (const topic of [...ws.topics.keys()]) unsubscribe(ws, topic);
    });
    ws.on("error", () => {});
  });
});

// Idle connections are closed, as Pulse does.
const idleTimer = setInterval(() => {
  const now = Date.now();
  for (const ws of wss.clients) if (now - ws.lastSeen > IDLE_MS) ws.close(1008, "heartbeat timeout");
}, 5000);

server.listen(port, bind, () => {
  process.stdout.write(`listening on http://${bind}:${server.address().port}\n`);
});

const stop = () => {
  clearInterval(idleTimer);
  for (const ws of wss.clients) ws.close(1001, "server shutting down");
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
