import { createContext, createElement, useContext, useEffect, useRef, useState } from "react";
import { Connection, connect } from "./connect.js";

// phoenix resolves a path against the page: ws(s)://<location.host>/socket, when it connects.
const SAME_HOST = "/socket";

const PulseContext = createContext(null);

let defaultOptions = {};
let shared = null;

/**
 * Sets the options of the page's default connection, used by hooks outside a PulseProvider.
 * Call it once, before the first such hook mounts.
 * @param {{url?: string} & object} options `url` (default: this page's host) and phoenix Socket
 *   options such as `params` and `transport`
 */
export function configurePulse(options) {
  if (shared) throw new Error("configurePulse: the default connection is already open");
  defaultOptions = options;
}

/** The page's default connection, opened on first use. */
export function defaultConnection() {
  if (!shared) {
    const { url = SAME_HOST, ...options } = defaultOptions;
    shared = connect(url, options);
  }
  return shared;
}

/**
 * Opens one connection for the components below it, and closes it when unmounted. Its props are
 * read once, on mount.
 * @param {{url?: string, children?: any} & object} props `url` (default: this page's host) and
 *   phoenix Socket options such as `params` and `transport`
 */
export function PulseProvider({ url = SAME_HOST, children, ...options }) {
  // Made in render, as the children's effects (which join) run before this component's; it
  // connects in the effect below, so rendering alone (or on a server) opens nothing.
  const [connection] = useState(() => new Connection(url, options));
  const closing = useRef(undefined);
  useEffect(() => {
    // StrictMode unmounts and mounts again at once: a disconnect deferred by a tick is cancelled.
    clearTimeout(closing.current);
    connection.socket.connect();
    return () => { closing.current = setTimeout(() => connection.disconnect()); };
  }, [connection]);
  return createElement(PulseContext.Provider, { value: connection }, children);
}

/** The connection a hook was given, else its provider's; null means the default one. */
export function useProvidedConnection(given) {
  const provided = useContext(PulseContext);
  return given ?? provided;
}
