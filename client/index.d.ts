// Types of @pulse/client (hand-written; the package is plain JavaScript).
//
// Typed by a server's own declarations: `pulse-demo --emit-types channels.d.ts` writes an
// interface `Channels` (one entry per topic pattern: its topic type, join params, the events it
// takes with their payloads and replies, the events it sends), and
//   const connection = connect<Channels>(url);
//   const room = connection.channel("room:42", { username: "ada" });
//   room.on("new_message", (m) => m.text);               // m: { username, text, at }
//   const { at } = await room.request("message", { text: "hi" });
// checks every event name, payload and reply against the server. Without the type argument
// everything is untyped, as before.

/** One channel as `--emit-types` describes it. */
export interface ChannelSpec {
  topic: string;
  join: unknown;
  in: Record<string, { payload: unknown; reply: unknown }>;
  out: Record<string, unknown>;
}

/** A channel nothing is known of: any event, any payload. */
export interface AnyChannel {
  topic: string;
  join: Record<string, unknown>;
  in: Record<string, { payload: any; reply: any }>;
  out: Record<string, any>;
}

/** A server nothing is known of. */
export type AnyChannels = Record<string, AnyChannel>;

/** The entry of `C` whose topic type `T` belongs to ("room:42" -> "room:*"). */
export type KeyOfTopic<C, T extends string> = {
  [K in keyof C]: C[K] extends { topic: infer P } ? (T extends P ? K : never) : never;
}[keyof C];

/** The channel `C` declares for the topic `T` (AnyChannel when none does). */
export type ChannelOf<C, T extends string> = [KeyOfTopic<C, T>] extends [never]
  ? AnyChannel
  : C[KeyOfTopic<C, T>] extends ChannelSpec ? C[KeyOfTopic<C, T>] : AnyChannel;

/** Events a channel takes, and sends. */
export type InEvent<S extends ChannelSpec> = keyof S["in"] & string;
export type OutEvent<S extends ChannelSpec> = keyof S["out"] & string;
export type PayloadOf<S extends ChannelSpec, E extends InEvent<S>> = S["in"][E]["payload"];
export type ReplyOf<S extends ChannelSpec, E extends InEvent<S>> = S["in"][E]["reply"];

/** What a channel sends, as [event, payload] pairs: checking `event` narrows `payload`. */
export type MessageOf<S extends ChannelSpec> = {
  [E in OutEvent<S>]: [event: E, payload: S["out"][E]];
}[OutEvent<S>];

/** Where a channel stands: joining the first time, joined, rejoining after a loss, or closed for good. */
export type ChannelStatus = "connecting" | "joined" | "reconnecting" | "closed";

/** The phoenix Socket underneath a connection (install @types/phoenix for its full type). */
export interface PhoenixSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number, reason?: string): void;
  isConnected(): boolean;
  connectionState(): "connecting" | "open" | "closing" | "closed";
  onOpen(callback: () => void): string;
  onClose(callback: (event: unknown) => void): string;
  onError(callback: (error: unknown) => void): string;
  off(refs: string[]): void;
  reconnectAfterMs(tries: number): number;
  rejoinAfterMs(tries: number): number;
  [key: string]: any;
}

/** The phoenix Channel underneath a bridge (install @types/phoenix for its full type). */
export interface PhoenixChannel {
  readonly topic: string;
  state: "closed" | "errored" | "joined" | "joining" | "leaving";
  [key: string]: any;
}

/** Options of `connect`: phoenix Socket options, with jittered reconnect and rejoin schedules. */
export interface ConnectOptions {
  /** Sent with the connection, e.g. `{ token }`. */
  params?: Record<string, unknown> | (() => Record<string, unknown>);
  /** A WebSocket class. Browsers have one; in Node pass the `ws` package's `WebSocket`. */
  transport?: new (url: string, protocols?: string | string[]) => unknown;
  /** Delay before reconnect try `tries` (from 1). Default: phoenix's steps, each × [0.5, 1.5). */
  reconnectAfterMs?: (tries: number) => number;
  /** Delay before rejoin try `tries` (from 1). Default: phoenix's steps, each × [0.5, 1.5). */
  rejoinAfterMs?: (tries: number) => number;
  /** Default timeout of requests, joins and leaves, in ms (phoenix's default: 10000). */
  timeout?: number;
  heartbeatIntervalMs?: number;
  authToken?: string;
  [option: string]: unknown;
}

/**
 * Opens a connection (one WebSocket) to a Pulse server, e.g. `connect("ws://127.0.0.1:8080/socket")`;
 * `connect<Channels>(...)` with a server's generated types checks every channel against them.
 */
export function connect<C = AnyChannels>(url: string, options?: ConnectOptions): Connection<C>;

/** One phoenix Socket and the channels joined over it. */
export class Connection<C = AnyChannels> {
  /** Makes the socket without connecting it; `connection.socket.connect()` does. */
  constructor(url: string, options?: ConnectOptions);
  /** The phoenix Socket underneath. */
  readonly socket: PhoenixSocket;
  /** Joins `topic` and returns a new bridge; a second bridge on the same topic closes the first. */
  channel<T extends string>(topic: T, params?: ChannelOf<C, T>["join"]): ChannelBridge<ChannelOf<C, T>>;
  /**
   * The shared bridge of `topic` with `params` (joined on the first acquire). Each acquire needs a
   * `release`; the last release leaves a tick later unless the channel is acquired again meanwhile.
   */
  acquire<T extends string>(topic: T, params?: ChannelOf<C, T>["join"]): ChannelBridge<ChannelOf<C, T>>;
  /** Gives back a bridge from `acquire`. */
  release(bridge: ChannelBridge<any>): void;
  /** Closes the socket for good; resolves once the WebSocket is closed. */
  disconnect(): Promise<void>;
}

/** One presence key and its metas (one per connection that tracks it, each with a `phx_ref`). */
export interface PresenceEntry {
  key: string;
  metas: Array<{ phx_ref: string; [field: string]: unknown }>;
}

/** A handler of server events. For a server request, what it returns (or its Promise's value) answers. */
export type EventHandler = (payload: any) => unknown;

/** A channel joined over a connection; `S` is what the server declares of it. */
export class ChannelBridge<S extends ChannelSpec = AnyChannel> {
  private constructor();
  readonly topic: string;
  /** The current status; `onStatus` tells each change. */
  readonly status: ChannelStatus;
  /** The ChannelError of a refused join, or null. */
  readonly joinError: ChannelError | null;
  /** Resolves with the first join's response; rejects with a ChannelError if refused (or closed first). */
  readonly joined: Promise<any>;
  /** The phoenix Channel underneath. */
  readonly phoenixChannel: PhoenixChannel;
  /** phoenix's Presence helper for this channel (made before the join: it sees the first state). */
  readonly presence: any;
  /** Who is here, one entry per presence key. */
  presenceList(): PresenceEntry[];
  /** Calls `fn(presenceList())` after every presence change; returns off. */
  onPresence(fn: (list: PresenceEntry[]) => void): () => void;
  /**
   * Calls `fn(response)` after every successful join (the first and each rejoin); returns off. On
   * a channel with history, `response.recovered === false` after a rejoin means messages were
   * missed that the server no longer keeps: reload what you show. With `true` they were replayed
   * as ordinary events, before anything live.
   */
  onJoin(fn: (response: any) => void): () => void;
  /** For a channel with history: the epoch and offset of the last broadcast seen; else null. */
  readonly position: { epoch: string; offset: number } | null;
  /** Calls `fn` on every status change; returns a function that stops it. */
  onStatus(fn: (status: ChannelStatus) => void): () => void;
  /**
   * Calls `fn(payload)` for each `event` the server pushes; returns off. For a server request the
   * first handler returning other than undefined answers: its value, or its Promise's, is the
   * response ("ok"); a throw or a rejection answers "error" with `{ reason: error.message }`.
   */
  on<E extends OutEvent<S>>(event: E, fn: (payload: S["out"][E]) => unknown): () => void;
  /** Calls `fn(event, payload)` for every event the server pushes (not phoenix's `phx_*`); returns off. */
  onMessage(fn: (...message: MessageOf<S>) => void): () => void;
  /** Pushes an event, expecting no reply. Throws a ChannelError if the channel is closed. */
  emit<E extends InEvent<S>>(event: E, payload?: PayloadOf<S, E>): void;
  /**
   * Pushes an event; resolves with the reply's response. Rejects with a ChannelError on an error
   * reply (or a closed channel), a ChannelTimeoutError without a reply within `timeout` ms.
   */
  request<E extends InEvent<S>>(event: E, payload?: PayloadOf<S, E>,
                                options?: { timeout?: number }): Promise<ReplyOf<S, E>>;
  /** Leaves for good: the status is "closed" at once. Resolves once phoenix closed the channel. */
  leave(timeout?: number): Promise<void>;
}

/** The server answered with an error (refused join, error reply), or the channel is closed. */
export class ChannelError extends Error {
  constructor(topic: string, event: string, response: unknown);
  readonly name: "ChannelError";
  readonly topic: string;
  /** The event that failed; `"phx_join"` for a join. */
  readonly event: string;
  /** `response.reason`, when the server gave one (`"closed"` for a closed channel). */
  readonly reason: string | undefined;
  /** The reply's whole response. */
  readonly response: any;
}

/** No reply within the timeout. */
export class ChannelTimeoutError extends Error {
  constructor(topic: string, event: string, timeout: number);
  readonly name: "ChannelTimeoutError";
  readonly topic: string;
  readonly event: string;
  /** The milliseconds waited. */
  readonly timeout: number;
}

/** Wraps a schedule so that each delay is scaled by a random factor in [0.5, 1.5). */
export function jittered(schedule: (tries: number) => number): (tries: number) => number;
/** phoenix's reconnect steps (10 ms, 50 ms, ... 5 s), jittered. */
export function reconnectAfterMs(tries: number): number;
/** phoenix's rejoin steps (1 s, 2 s, 5 s, 10 s), jittered. */
export function rejoinAfterMs(tries: number): number;
