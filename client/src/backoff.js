// Reconnect and rejoin schedules. phoenix's defaults are fixed steps, so when a server restarts every
// client comes back in the same millisecond; scaling each step by a random factor spreads them out.

/**
 * Wraps a schedule `(tries) => ms` so that each delay is scaled by a random factor in [0.5, 1.5).
 * @param {(tries: number) => number} schedule
 * @returns {(tries: number) => number}
 */
export function jittered(schedule) {
  return (tries) => Math.round(schedule(tries) * (0.5 + Math.random()));
}

/** phoenix's default reconnect steps, jittered: about 10 ms on the first try, 5 s from the tenth. */
export const reconnectAfterMs = jittered(
  (tries) => [10, 50, 100, 150, 200, 250, 500, 1000, 2000][tries - 1] ?? 5000);

/** phoenix's default rejoin steps, jittered: about 1 s, 2 s, 5 s, then 10 s. */
export const rejoinAfterMs = jittered((tries) => [1000, 2000, 5000][tries - 1] ?? 10000);
