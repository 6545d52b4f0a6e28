import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { defaultConnection, useProvidedConnection } from "./provider.js";

const noone = Object.freeze([]);

/**
 * Joins `topic` while the component is mounted, and re-renders it when the channel's status
 * changes. Components that use the same topic and params on one connection share one join.
 * @param {string} topic
 * With `presence: true`, it also re-renders on presence changes and returns who is here.
 * @param {{onMessage?: (event: string, payload: any) => void, params?: object,
 *   connection?: import("./connect.js").Connection, presence?: boolean}} [options]
 * @returns {{channel: import("./channel.js").ChannelBridge | null,
 *   status: import("./channel.js").ChannelStatus, joinError: Error | null,
 *   presence: {key: string, metas: object[]}[]}}
 *   `channel` is null until the effect joined (first render); `presence` is [] unless asked for
 */
export function usePulseChannel(topic, { onMessage, params, connection, presence = false } = {}) {
  const given = useProvidedConnection(connection);
  const key = JSON.stringify([topic, params ?? {}]);

  // The latest callback, so that a new function on each render does not resubscribe.
  const latest = useRef(onMessage);
  useEffect(() => { latest.current = onMessage; });

  const [held, setHeld] = useState(null); // { given, key, bridge }
  useEffect(() => {
    const conn = given ?? defaultConnection(); // opened here, not in a render
    const [name, joinParams] = JSON.parse(key);
    const bridge = conn.acquire(name, joinParams);
    const off = bridge.onMessage((event, payload) => latest.current?.(event, payload));
    setHeld({ given, key, bridge });
    return () => {
      off();
      conn.release(bridge);
    };
  }, [given, key]);

  // Until the effect ran for this topic, there is no bridge to return (nor a stale one).
  const channel = held && held.given === given && held.key === key ? held.bridge : null;
  const subscribe = useCallback((notify) => (channel ? channel.onStatus(notify) : () => {}), [channel]);
  const status = useSyncExternalStore(subscribe, () => channel?.status ?? "connecting", () => "connecting");

  const [present, setPresent] = useState(noone);
  useEffect(() => {
    if (!presence || !channel) return undefined;
    setPresent(channel.presenceList());
    return channel.onPresence(setPresent);
  }, [presence, channel]);
  return { channel, status, joinError: channel?.joinError ?? null, presence: presence ? present : noone };
}
