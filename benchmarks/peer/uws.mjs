// The benchmarks' peer: uWebSockets.js (uWS's C++ core, the fastest pub/sub WebSocket server we
// know of, under Node) speaking the part of the baseline's contract the fan-out, latency and idle
// scenarios use (benchmarks/baseline/server.mjs): Phoenix Channels V2 JSON on /socket/websocket,
// join / leave / heartbeat on the `bench` topic (others are refused), and push `publish` {...}
// broadcasting `message` with the same payload through uWS's own publish (its topic tree
// serializes once and batches each subscriber's messages of one event-loop turn into one write).
// Bounds as the baseline's: 1 MiB inbound messages, 4 MiB queued per connection (then closed),
// 60 s without inbound data.
//
// usage: node benchmarks/peer/uws.mjs [--bind 127.0.0.1] [--port 0]   (npm ci in benchmarks/peer)
import { App, DISABLED, us_socket_local_port } from "uws-pack";
import { bind, port } from "../listen-options.mjs";

const TOPIC = "bench";
const decoder = new TextDecoder();

const reply = (ws, joinRef, ref, topic, status, response) =>
  ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status, response }]), false);

function onMessage(app, ws, data, isBinary) {
  if (isBinary) return ws.end(1003, "only text frames are supported");
  let msg;
  try {
    msg = JSON.parse(decoder.decode(data)); // data is valid only during this call
  } catch {
    return ws.end(1007, "not JSON");
  }
  if (!Array.isArray(msg) || msg.length !== 5 || typeof msg[2] !== "string" || typeof msg[3] !== "string")
    return ws.end(1007, "not a [join_ref, ref, topic, event, payload] array");
  const [joinRef, ref, topic, event, payload] = msg;
  const state = ws.getUserData();
  if (topic === "phoenix" && event === "heartbeat") return reply(ws, null, ref, topic, "ok", {});
  if (event === "phx_join") {
    if (topic !== TOPIC) return reply(ws, null, ref, topic, "error", { reason: "unmatched topic" });
    state.joinRef = joinRef;
    ws.subscribe(TOPIC);
    return reply(ws, joinRef, ref, topic, "ok", {});
  }
  if (event === "phx_leave") {
    reply(ws, joinRef, ref, topic, "ok", {});
    if (topic === TOPIC && state.joinRef !== undefined) {
      ws.unsubscribe(TOPIC);
      ws.send(JSON.stringify([state.joinRef, state.joinRef, topic, "phx_close", {}]), false);
      state.joinRef = undefined;
    }
    return;
  }
  if (topic !== TOPIC || state.joinRef === undefined)
    return reply(ws, null, ref, topic, "error", { reason: "unmatched topic" });
  if (state.joinRef !== joinRef) return; // a stale subscription
  if (event === "publish") return app.publish(TOPIC, JSON.stringify([null, null, TOPIC, "message", payload]), false);
  if (ref !== null) reply(ws, joinRef, ref, topic, "error", { reason: "unknown event", event, expected: "publish" });
}

const app = App();
app.ws("/socket/websocket", {
  compression: DISABLED,
  maxPayloadLength: 1 << 20,
  maxBackpressure: 4 << 20,
  closeOnBackpressureLimit: true,
  idleTimeout: 60,
  sendPingsAutomatically: false,
  upgrade: (res, req, context) => {
    const vsn = new URLSearchParams(req.getQuery() || "").get("vsn");
    if (vsn !== null && !vsn.startsWith("2.")) {
      res.writeStatus("400 Bad Request").end("only /socket/websocket?vsn=2.x\n");
      return;
    }
    res.upgrade({ joinRef: undefined }, req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
  },
  message: (ws, data, isBinary) => onMessage(app, ws, data, isBinary),
});
app.any("/*", (res) => res.writeStatus("404 Not Found").end("not found\n"));

app.listen(bind, port, (token) => {
  if (!token) {
    process.stderr.write(`cannot listen on ${bind}:${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening on http://${bind}:${us_socket_local_port(token)}\n`);
});

const stop = () => {
  app.close(); // closes the listening socket and every connection
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
