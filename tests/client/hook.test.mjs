// usePulseChannel rendered by react-dom into a jsdom document, against pulse-demo. The provider's
// transport records every socket it opens and every frame it sends, so joins can be counted.
import { dom, window } from "./support/dom.mjs";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createElement as h, StrictMode, useEffect } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import WebSocket from "ws";
import { connect } from "@pulse/client";
import { usePulseChannel, PulseProvider, configurePulse, defaultConnection } from "@pulse/client/react";
import { startDemo } from "./support/demo_server.mjs";
import { recordingTransport, recorder } from "./support/helpers.mjs";

let demo;
let sender; // a plain connection, and its chat channel to broadcast on
let senderChat;
let configured = false; // whether the default connection was configured, and so opened
const mounted = new Set(); // roots a failed test left mounted, unmounted by `after`

before(async () => {
  demo = await startDemo();
  dom.reconfigure({ url: demo.http }); // the page comes from the server
  sender = connect(demo.url, { transport: WebSocket });
  senderChat = sender.channel("chat");
  await senderChat.joined;
});
after(async () => {
  try {
    for (const root of mounted) root.unmount();
    await sender?.disconnect();
    if (configured) await defaultConnection().disconnect();
  } finally {
    assert.equal(await demo?.stop(), 0, "pulse-demo exits cleanly on SIGTERM");
  }
});

/** Shows a channel's status (and join error); hands its bridge to `expose`. */
function Probe({ topic = "chat", onMessage, expose }) {
  const { channel, status, joinError } = usePulseChannel(topic, { onMessage });
  useEffect(() => { if (channel) expose?.(channel); }, [channel, expose]);
  return h("p", null, `${topic}:${status}${joinError ? `:${joinError.reason}` : ""}`);
}

/** Renders `element` into a new container, synchronously, effects included. */
function mount(element) {
  const container = window.document.createElement("div");
  window.document.body.append(container);
  const root = createRoot(container);
  mounted.add(root);
  flushSync(() => root.render(element));
  return {
    container,
    rerender: (next) => flushSync(() => root.render(next)),
    unmount: () => {
      mounted.delete(root);
      root.unmount();
    },
  };
}

/** Resolves once the container's text is `text`. */
function shows(container, text, ms = 3000) {
  return new Promise((resolve, reject) => {
    const observer = new window.MutationObserver(check);
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`shows "${container.textContent}", not "${text}", after ${ms} ms`));
    }, ms);
    function check() {
      if (container.textContent !== text) return;
      clearTimeout(timer);
      observer.disconnect();
      resolve();
    }
    observer.observe(container, { subtree: true, childList: true, characterData: true });
    check();
  });
}

/** Broadcasts `texts` on chat from the sender, in order. */
function say(...texts) {
  for (const text of texts) senderChat.emit("message", { text });
}

const texts = (calls) => calls.map(([event, payload]) => `${event}:${payload.text}`);

test("mount joins once and renders the status; unmount leaves and closes the provider's socket", async () => {
  const recording = recordingTransport();
  const onMessage = recorder();
  const view = mount(h(PulseProvider, { url: demo.url, transport: recording.transport },
    h(Probe, { onMessage })));
  assert.equal(view.container.textContent, "chat:connecting");
  await shows(view.container, "chat:joined");
  assert.equal(recording.frames("phx_join", "chat").length, 1);

  say("one", "two");
  await onMessage.until(2);
  assert.deepEqual(texts(onMessage.calls), ["new_message:one", "new_message:two"]);

  const [socket] = recording.sockets;
  const closed = once(socket, "close");
  view.unmount();
  await recording.sends("phx_leave", "chat");
  await closed;
  assert.equal(recording.sockets.length, 1);
});

test("StrictMode's double mount joins once and delivers each message once", async () => {
  const recording = recordingTransport();
  const onMessage = recorder();
  let bridge;
  const app = (...children) => h(StrictMode, null,
    h(PulseProvider, { url: demo.url, transport: recording.transport }, h(Probe, { topic: "echo" }), ...children));
  const view = mount(app());
  // Mounted on an open socket: before it opens, phoenix drops the sends of a channel left meanwhile.
  await shows(view.container, "echo:joined");
  view.rerender(app(h(Probe, { onMessage, expose: (channel) => { bridge = channel; } })));
  await shows(view.container, "echo:joinedchat:joined");
  say("once", "twice?");
  await onMessage.until(2);
  assert.deepEqual(texts(onMessage.calls), ["new_message:once", "new_message:twice?"]);
  assert.equal(recording.frames("phx_join", "chat").length, 1, "one phx_join");
  assert.equal(recording.frames("phx_leave", "chat").length, 0, "the deferred leave was cancelled");
  assert.equal(recording.sockets.length, 1, "one WebSocket");
  assert.equal(bridge.status, "joined");
  view.unmount();
  await recording.sends("phx_leave", "chat");
});

test("a new onMessage function does not rejoin, and the latest one is called", async () => {
  const recording = recordingTransport();
  const [first, second] = [recorder(), recorder()];
  const app = (onMessage) => h(PulseProvider, { url: demo.url, transport: recording.transport },
    h(Probe, { onMessage }));
  const view = mount(app(first));
  await shows(view.container, "chat:joined");
  say("to first");
  await first.until(1);
  view.rerender(app(second));
  say("to second");
  await second.until(1);
  assert.deepEqual(texts(first.calls), ["new_message:to first"]);
  assert.deepEqual(texts(second.calls), ["new_message:to second"]);
  assert.equal(recording.frames("phx_join", "chat").length, 1);
  assert.equal(recording.frames("phx_leave", "chat").length, 0);
  view.unmount();
});

test("components share the provider's connection and one join per channel", async () => {
  const recording = recordingTransport();
  const [a, b] = [recorder(), recorder()];
  const bridges = [];
  const expose = (channel) => bridges.push(channel);
  const app = (...children) => h(PulseProvider, { url: demo.url, transport: recording.transport }, ...children);
  const view = mount(app(
    h(Probe, { key: "a", onMessage: a, expose }),
    h(Probe, { key: "b", onMessage: b, expose }),
    h(Probe, { key: "echo", topic: "echo", expose })));
  await shows(view.container, "chat:joinedchat:joinedecho:joined");
  assert.equal(recording.sockets.length, 1, "one WebSocket");
  assert.equal(recording.frames("phx_join", "chat").length, 1, "one join of chat");
  assert.equal(bridges[0], bridges[1], "one bridge for chat");
  assert.deepEqual(await bridges[2].request("ping", { n: 1 }), { n: 1 }, "the returned channel works");

  say("both");
  await Promise.all([a.until(1), b.until(1)]);
  // One component goes: the other keeps the channel.
  view.rerender(app(h(Probe, { key: "b", onMessage: b, expose })));
  say("b only");
  await b.until(2);
  assert.deepEqual(texts(a.calls), ["new_message:both"]);
  assert.deepEqual(texts(b.calls), ["new_message:both", "new_message:b only"]);
  assert.equal(recording.frames("phx_leave", "chat").length, 0);
  assert.equal(view.container.textContent, "chat:joined");
  view.unmount();
});

test("without a provider, hooks share the default connection set by configurePulse", async () => {
  const recording = recordingTransport();
  configurePulse({ url: demo.url, transport: recording.transport });
  configured = true;
  const view = mount(h("div", null, h(Probe, { topic: "chat" }), h(Probe, { topic: "notifications" })));
  await shows(view.container, "chat:joinednotifications:joined");
  assert.equal(recording.sockets.length, 1);
  assert.equal(defaultConnection().socket.conn, recording.sockets[0]);
  assert.throws(() => configurePulse({ url: demo.url }), /already open/);
  view.unmount();
  await recording.sends("phx_leave", "notifications");
});

test("a provider without url connects to the page's host; a refused join renders its reason", async () => {
  const recording = recordingTransport();
  const view = mount(h(PulseProvider, { transport: recording.transport }, h(Probe, { topic: "nowhere" })));
  await shows(view.container, "nowhere:closed:unmatched topic");
  assert.equal(recording.sockets[0].url, `ws://127.0.0.1:${demo.port}/socket/websocket?vsn=2.0.0`);
  view.unmount();
});
