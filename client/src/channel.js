import { Presence } from "phoenix";
import { ChannelError, ChannelTimeoutError } from "./errors.js";

/** @typedef {"connecting" | "joined" | "reconnecting" | "closed"} ChannelStatus */

/**
 * phoenix's own traffic: join, reply, leave, close, error, and the reply events it triggers
 * (with a null event when a reset push's timer fires).
 */
const isInternal = (event) =>
  typeof event !== "string" || event.startsWith("phx_") || event.startsWith("chan_reply_");

/** A server request's ref starts with "s"; a broadcast of a channel with history carries "o<offset>". */
const isRequest = (ref) => typeof ref === "string" && ref.startsWith("s");
const offsetOf = (ref) => (typeof ref === "string" && ref.startsWith("o") ? Number(ref.slice(1)) : null);

/** Reports a handler's exception without stopping the other handlers, as DOM events do. */
const report = globalThis.reportError ?? ((error) => setTimeout(() => { throw error; }));

/**
 * One joined channel over a phoenix Channel: handlers that can answer server requests, requests as
 * promises, and a status. phoenix does the rest (rejoin with backoff, push buffering, heartbeats).
 * Made by `connection.channel(topic, params)`, which joins right away.
 */
export class ChannelBridge {
  #channel;
  #status = "connecting";
  #everJoined = false;
  #handlers = new Map(); // event → Set of handlers
  #listeners = new Set(); // onMessage listeners
  #statusListeners = new Set();
  #settleJoin;
  #left = null;
  #joinListeners = new Set();
  #presence;
  #presenceListeners = new Set();
  /** Where this client is in the channel's history: {epoch, offset}, or null (no history). */
  #position = null;

  /**
   * @param {import("phoenix").Socket} socket
   * @param {string} topic
   * @param {object} [params] join params
   */
  constructor(socket, topic, params = {}) {
    /** The channel's topic, e.g. `"room:42"`. */
    this.topic = topic;
    /** The ChannelError of a refused join, or null. */
    this.joinError = null;
    /** Resolves with the first join's response; rejects with a ChannelError if refused or closed first. */
    this.joined = new Promise((resolve, reject) => { this.#settleJoin = { resolve, reject }; });
    this.joined.catch(() => {}); // a refusal nobody awaits is still reported by status and joinError

    // The join params are read at each (re)join: a rejoin names the last offset this client saw,
    // and the server replays what it missed before anything live (see the protocol's recovery).
    const joinParams = () => (this.#position
      ? { ...params, last_offset: this.#position.offset, epoch: this.#position.epoch }
      : params);
    const channel = (this.#channel = socket.channel(topic, joinParams));
    // phoenix hands every message of the channel to this hook before its own bindings: the one
    // place that sees a push's ref, which tells a server request from an ordinary event.
    channel.onMessage = (event, payload, ref) => {
      if (!isInternal(event) && this.#status !== "closed") {
        const offset = offsetOf(ref);
        if (offset !== null && this.#position) this.#position.offset = offset;
        this.#dispatch(event, payload, isRequest(ref) ? ref : null);
      }
      return payload;
    };
    // phoenix's own Presence helper, made before the join so that it sees the first state.
    this.#presence = new Presence(channel);
    this.#presence.onSync(() => {
      const list = this.presenceList();
      for (const listener of [...this.#presenceListeners]) call(listener, list);
    });
    channel.onError(() => this.#setStatus(this.#everJoined ? "reconnecting" : "connecting"));
    channel.onClose(() => this.#setStatus("closed"));
    channel.join()
      .receive("ok", (response) => {
        this.#everJoined = true;
        this.#track(response);
        this.#settleJoin.resolve(response);
        for (const listener of [...this.#joinListeners]) call(listener, response);
        this.#setStatus("joined");
      })
      .receive("error", (response) => {
        this.joinError = new ChannelError(topic, "phx_join", response);
        this.#settleJoin.reject(this.joinError);
        this.leave(); // phoenix would retry a refused join forever
      });
  }

  /** The phoenix Channel underneath, for what this bridge does not cover. */
  get phoenixChannel() { return this.#channel; }

  /** phoenix's Presence helper for this channel (`onJoin`, `onLeave`, `list`). */
  get presence() { return this.#presence; }

  /**
   * Who is here: `[{ key, metas }]`, one entry per presence key, from the official Presence helper.
   * @returns {{key: string, metas: object[]}[]}
   */
  presenceList() {
    return this.#presence.list((key, { metas }) => ({ key, metas }));
  }

  /**
   * Calls `fn(list)` with presenceList() after every presence change the server announces.
   * @param {(list: {key: string, metas: object[]}[]) => void} fn
   * @returns {() => void} off
   */
  onPresence(fn) {
    const listener = (list) => fn(list);
    this.#presenceListeners.add(listener);
    return () => this.#presenceListeners.delete(listener);
  }

  /**
   * Calls `fn(response)` after every successful join, the first and each rejoin. For a channel
   * with history, `response.recovered === false` on a rejoin means messages were missed that
   * the server no longer keeps: reload what you show. (`true`: they were replayed as events.)
   * @param {(response: any) => void} fn
   * @returns {() => void} off
   */
  onJoin(fn) {
    const listener = (response) => fn(response);
    this.#joinListeners.add(listener);
    return () => this.#joinListeners.delete(listener);
  }

  /** {epoch, offset} of the last broadcast seen, for a channel with history; null otherwise. */
  get position() { return this.#position ? { ...this.#position } : null; }

  /** @returns {ChannelStatus} */
  get status() { return this.#status; }

  /**
   * Calls `fn(status)` on every status change.
   * @param {(status: ChannelStatus) => void} fn
   * @returns {() => void} stops the calls
   */
  onStatus(fn) {
    const listener = (status) => fn(status);
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /**
   * Calls `fn(payload)` for each `event` pushed by the server. For a server request, the first
   * handler that returns something other than undefined (a value or a Promise), or throws, answers.
   * @param {string} event
   * @param {(payload: any) => any} fn
   * @returns {() => void} off: stops the calls
   */
  on(event, fn) {
    const handler = (payload) => fn(payload); // own identity: the same fn may be added twice
    let handlers = this.#handlers.get(event);
    if (!handlers) this.#handlers.set(event, (handlers = new Set()));
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /**
   * Calls `fn(event, payload)` for every event the server pushes (not phoenix's own `phx_*`).
   * Its return value is ignored: only `on` handlers answer server requests.
   * @param {(event: string, payload: any) => void} fn
   * @returns {() => void} off
   */
  onMessage(fn) {
    const listener = (event, payload) => fn(event, payload);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Pushes an event and expects no reply. Before the join it waits in phoenix's buffer.
   * @param {string} event
   * @param {object} [payload]
   */
  emit(event, payload = {}) {
    if (this.#status === "closed") throw this.#closedError(event);
    const channel = this.#channel;
    if (channel.state === "joined" && channel.socket.isConnected()) {
      // A null ref asks for no reply (see the protocol), so no reply timer or binding lingers in
      // phoenix per push, as it would for a push that is never answered.
      channel.socket.push({ topic: this.topic, event, payload, ref: null, join_ref: channel.joinRef() }, channel);
    } else {
      channel.push(event, payload);
    }
  }

  /**
   * Pushes an event and resolves with the reply's `response`. Rejects with a ChannelError on an
   * error reply, or a ChannelTimeoutError when no reply came within `timeout` (phoenix's default
   * timeout, 10 s, unless the connection set another).
   * @param {string} event
   * @param {object} [payload]
   * @param {{timeout?: number}} [options]
   * @returns {Promise<any>}
   */
  request(event, payload = {}, { timeout = this.#channel.timeout } = {}) {
    if (this.#status === "closed") return Promise.reject(this.#closedError(event));
    return new Promise((resolve, reject) => {
      this.#channel.push(event, payload, timeout)
        .receive("ok", resolve)
        .receive("error", (response) => reject(new ChannelError(this.topic, event, response)))
        .receive("timeout", () => reject(new ChannelTimeoutError(this.topic, event, timeout)));
    });
  }

  /**
   * Leaves the channel: the status is "closed" at once, no more events are delivered, and the
   * server is told. Leaving is for good: join again with a new bridge.
   * @param {number} [timeout]
   * @returns {Promise<void>} resolves once phoenix closed the channel (it does not wait for the
   *   server's acknowledgement)
   */
  leave(timeout) {
    if (!this.#left) {
      if (this.#status === "closed") {
        // Closed by the server: a leave would only reach whatever joined the topic since.
        this.#left = Promise.resolve();
      } else {
        this.#left = new Promise((resolve) => {
          const push = this.#channel.leave(timeout);
          for (const status of ["ok", "error", "timeout"]) push.receive(status, () => resolve());
        });
        this.#setStatus("closed");
      }
    }
    return this.#left;
  }

  /** Follows the channel's history position from a join reply (see the protocol's recovery). */
  #track(response) {
    if (!response || typeof response.epoch !== "string" || typeof response.offset !== "number") return;
    const sameEpoch = this.#position?.epoch === response.epoch;
    // Recovered: the replayed broadcasts advance the offset. Otherwise start from where the
    // channel is now: what came before is not coming.
    if (!(sameEpoch && response.recovered === true))
      this.#position = { epoch: response.epoch, offset: response.offset };
  }

  #setStatus(status) {
    if (this.#status === status || this.#status === "closed") return; // closed is for good
    this.#status = status;
    if (status === "closed") {
      this.#settleJoin.reject(new ChannelError(this.topic, "phx_join", { reason: "closed" }));
    }
    for (const listener of [...this.#statusListeners]) call(listener, status);
  }

  #dispatch(event, payload, ref) {
    const handlers = [...(this.#handlers.get(event) ?? [])];
    if (ref == null) {
      for (const handler of handlers) call(handler, payload);
    } else {
      this.#answer(event, payload, ref, handlers);
    }
    for (const listener of [...this.#listeners]) call(listener, event, payload);
  }

  /** Answers the server request `ref` (Pulse's extension) with a `pulse_reply` push. */
  #answer(event, payload, ref, handlers) {
    let answer;
    for (const handler of handlers) {
      try {
        const value = handler(payload);
        if (answer === undefined && value !== undefined) answer = Promise.resolve(value);
      } catch (error) {
        if (answer === undefined) answer = Promise.reject(error);
        else report(error);
      }
    }
    // Handlers that return nothing still answer, so that the server never waits for a timeout.
    answer ??= handlers.length > 0
      ? Promise.resolve(null)
      : Promise.reject(new Error(`no handler for "${event}"`));
    answer.then(
      (response) => this.#reply(ref, "ok", response ?? null),
      (error) => this.#reply(ref, "error", { reason: error instanceof Error ? error.message : String(error) }));
  }

  #reply(ref, status, response) {
    if (this.#status !== "closed") this.#channel.push("pulse_reply", { ref, status, response });
  }

  #closedError(event) {
    return new ChannelError(this.topic, event, { reason: "closed" });
  }
}

/** Calls a handler; its exception is reported, not thrown into phoenix's message loop. */
function call(fn, ...args) {
  try {
    fn(...args);
  } catch (error) {
    report(error);
  }
}
