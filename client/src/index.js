export { connect, Connection } from "./connect.js";
export { ChannelBridge } from "./channel.js";
export { ChannelError, ChannelTimeoutError } from "./errors.js";
export { jittered, reconnectAfterMs, rejoinAfterMs } from "./backoff.js";
