// Types of @pulse/client/react (hand-written; the package is plain JavaScript).
import type { ReactNode } from "react";
import type {
  AnyChannel, AnyChannels, ChannelBridge, ChannelError, ChannelSpec, ChannelStatus, ConnectOptions,
  Connection, MessageOf, PresenceEntry,
} from "./index.js";

export interface UsePulseChannelOptions<S extends ChannelSpec = AnyChannel> {
  /**
   * Called with every event the server pushes on the channel; the latest function is used. With
   * a typed channel, checking `event` narrows `payload`.
   */
  onMessage?: (...message: MessageOf<S>) => void;
  /** Join params (plain JSON); other params join anew. */
  params?: S["join"];
  /** The connection to use, instead of the PulseProvider's or the default one. */
  connection?: Connection<any>;
  /** Also follow presence: re-render on presence changes and return `presence`. */
  presence?: boolean;
}

export interface PulseChannelState<S extends ChannelSpec = AnyChannel> {
  /** The channel's bridge; null until the component's effect joined it (first render). */
  channel: ChannelBridge<S> | null;
  /** The bridge's status ("connecting" while there is no bridge yet). */
  status: ChannelStatus;
  /** The ChannelError of a refused join, or null. */
  joinError: ChannelError | null;
  /** Who is here (with `presence: true`; otherwise always empty). */
  presence: PresenceEntry[];
}

/**
 * Joins `topic` while the component is mounted; re-renders on status changes. With a server's
 * generated types: `usePulseChannel<Channels, "room:*">("room:42", { onMessage })`.
 */
export function usePulseChannel<
  C extends Record<string, ChannelSpec> = AnyChannels,
  K extends keyof C & string = keyof C & string,
>(topic: C[K]["topic"], options?: UsePulseChannelOptions<C[K]>): PulseChannelState<C[K]>;

export interface PulseProviderProps extends ConnectOptions {
  /** Default: `ws(s)://<this page's host>/socket`. */
  url?: string;
  children?: ReactNode;
}

/** Opens one connection for the components below it; closes it when unmounted. Props are read once. */
export function PulseProvider(props: PulseProviderProps): ReactNode;

/** Options of the default connection, used outside any PulseProvider. Call before it is first used. */
export function configurePulse(options: ConnectOptions & { url?: string }): void;

/** The page's default connection, opened on first use. */
export function defaultConnection(): Connection;
