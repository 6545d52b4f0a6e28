// Helpers for tests of @pulse/client: a WebSocket that records what the client sends, a recorder
// of calls that can be awaited, and waiting for a bridge's status.
import WebSocket from "ws";
import { nextCall } from "./demo_server.mjs";

/** Resolves once `check()` is true, re-checked on each `subscribe`d notification; rejects after `ms`. */
function until(check, subscribe, ms, what) {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${what} not within ${ms} ms`));
    }, ms);
    unsubscribe = subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

/** A list of listeners, notified on each change. */
function notifier() {
  const listeners = new Set();
  return {
    notify: () => [...listeners].forEach((fn) => fn()),
    subscribe: (fn) => { listeners.add(fn); return () => listeners.delete(fn); },
  };
}

/**
 * A `ws` WebSocket class, to pass as `transport`, that records each socket it opens and each frame
 * sent, decoded as [join_ref, ref, topic, event, payload].
 */
export function recordingTransport() {
  const sockets = [];
  const sent = [];
  const changes = notifier();
  class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
    send(data, ...rest) {
      sent.push(JSON.parse(data));
      changes.notify();
      super.send(data, ...rest);
    }
  }
  const frames = (event, topic) => sent.filter(([, , t, e]) => e === event && (topic === undefined || t === topic));
  return {
    transport: RecordingWebSocket,
    sockets,
    sent,
    /** The frames sent of `event` (on `topic`). */
    frames,
    /** Resolves once a frame of `event` on `topic` was sent. */
    sends: (event, topic, ms = 3000) =>
      until(() => frames(event, topic).length > 0, changes.subscribe, ms, `a "${event}" on ${topic}`),
  };
}

/** A function that records its calls (argument lists), and `until(n)` resolving at the n-th. */
export function recorder() {
  const calls = [];
  const changes = notifier();
  const fn = (...args) => {
    calls.push(args);
    changes.notify();
  };
  fn.calls = calls;
  fn.until = (count, ms = 3000) => until(() => calls.length >= count, changes.subscribe, ms, `call ${count}`);
  return fn;
}

/** Resolves once the bridge's status is `status`. */
export function statusOf(bridge, status, ms = 3000) {
  if (bridge.status === status) return Promise.resolve(status);
  return nextCall((resolve) => {
    const off = bridge.onStatus((now) => {
      if (now !== status) return;
      off();
      resolve(now);
    });
  }, ms, `status "${status}"`);
}
