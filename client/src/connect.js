import { Socket } from "phoenix";
import { reconnectAfterMs, rejoinAfterMs } from "./backoff.js";
import { ChannelBridge } from "./channel.js";

/**
 * One phoenix Socket (one WebSocket, reconnected with jitter) and the channels joined over it.
 * `connect(url, options)` makes one and connects it.
 */
export class Connection {
  #shared = new Map(); // JSON of [topic, params] → { key, bridge, count, timer }

  /**
   * Makes the socket without connecting it: `connection.socket.connect()` does.
   * @param {string} url e.g. `"ws://127.0.0.1:8080/socket"`; phoenix appends `/websocket?vsn=2.0.0`
   * @param {object} [options] phoenix Socket options (`params`, `transport`, `timeout`, ...)
   */
  constructor(url, { reconnectAfterMs: reconnect = reconnectAfterMs, rejoinAfterMs: rejoin = rejoinAfterMs,
    ...options } = {}) {
    /** The phoenix Socket underneath. */
    this.socket = new Socket(url, { ...options, reconnectAfterMs: reconnect, rejoinAfterMs: rejoin });
  }

  /**
   * Joins `topic` with `params` and returns its bridge. Each call joins anew; a topic is joined
   * once per connection, so a second bridge on the same topic closes the first.
   * @param {string} topic
   * @param {object} [params] join params
   * @returns {ChannelBridge}
   */
  channel(topic, params = {}) {
    return new ChannelBridge(this.socket, topic, params);
  }

  /**
   * The shared bridge of `topic` joined with `params`, joined on the first acquire. Each acquire
   * needs one `release`; the last release leaves a tick later, unless the channel is acquired
   * again meanwhile, as React StrictMode does when it mounts, unmounts and mounts again.
   * @param {string} topic
   * @param {object} [params] join params (plain JSON)
   * @returns {ChannelBridge}
   */
  acquire(topic, params = {}) {
    const key = JSON.stringify([topic, params]);
    let entry = this.#shared.get(key);
    if (!entry || entry.bridge.status === "closed") {
      if (entry) clearTimeout(entry.timer);
      entry = { key, bridge: this.channel(topic, params), count: 0, timer: undefined };
      this.#shared.set(key, entry);
    }
    clearTimeout(entry.timer);
    entry.count += 1;
    return entry.bridge;
  }

  /**
   * Gives back a bridge from `acquire`.
   * @param {ChannelBridge} bridge
   */
  release(bridge) {
    const entry = [...this.#shared.values()].find((e) => e.bridge === bridge);
    if (!entry || --entry.count > 0) return; // not found: it closed and was replaced since
    entry.timer = setTimeout(() => {
      this.#shared.delete(entry.key);
      bridge.leave();
    });
  }

  /**
   * Closes the socket for good (phoenix does not reconnect it). Bridges still joined report
   * "reconnecting": they would rejoin if `connection.socket.connect()` were called again.
   * @returns {Promise<void>} resolves once the WebSocket is closed
   */
  disconnect() {
    for (const entry of this.#shared.values()) {
      if (entry.count === 0) { // a leave pending: do it now
        clearTimeout(entry.timer);
        this.#shared.delete(entry.key);
        entry.bridge.leave();
      }
    }
    return new Promise((resolve) => this.socket.disconnect(() => resolve()));
  }
}

/**
 * Opens a connection to a Pulse server. Outside browsers pass a WebSocket class as `transport`
 * (e.g. the `ws` package's): without one phoenix falls back to long-polling.
 * @param {string} url e.g. `"ws://127.0.0.1:8080/socket"`
 * @param {object} [options] phoenix Socket options; `reconnectAfterMs` and `rejoinAfterMs`
 *   default to phoenix's steps with jitter
 * @returns {Connection}
 */
export function connect(url, options) {
  const connection = new Connection(url, options);
  connection.socket.connect();
  return connection;
}
