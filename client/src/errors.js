/**
 * The server answered with an error: a refused join, an error reply to a request, or a push to a
 * channel that is closed.
 */
export class ChannelError extends Error {
  /**
   * @param {string} topic the channel's topic
   * @param {string} event the event that failed (`phx_join` for a refused join)
   * @param {unknown} response the reply's whole `response`, e.g. `{reason: "unknown event", ...}`
   */
  constructor(topic, event, response) {
    const reason = typeof response?.reason === "string" ? response.reason : undefined;
    super(`${topic}: ${event === "phx_join" ? "join" : `"${event}"`} failed${reason ? `: ${reason}` : ""}`);
    this.name = "ChannelError";
    this.topic = topic;
    this.event = event;
    /** `response.reason` when the server gave one. */
    this.reason = reason;
    this.response = response;
  }
}

/** No reply came within the timeout. The server may still have handled the push. */
export class ChannelTimeoutError extends Error {
  /**
   * @param {string} topic the channel's topic
   * @param {string} event the event that got no reply
   * @param {number} timeout the milliseconds waited
   */
  constructor(topic, event, timeout) {
    super(`${topic}: no reply to "${event}" within ${timeout} ms`);
    this.name = "ChannelTimeoutError";
    this.topic = topic;
    this.event = event;
    this.timeout = timeout;
  }
}
