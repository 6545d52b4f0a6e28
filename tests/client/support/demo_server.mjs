// Starts pulse-demo on a free port for a test file, and stops it (by its PID) afterwards.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The pulse-demo binary under test: $PULSE_DEMO, or the test build's. */
export const demoBinary = process.env.PULSE_DEMO ?? path.join(root, "build/dev/bin/pulse-demo");

/**
 * Starts pulse-demo with `--port 0` (or the given port), extra `args` and `env`, and resolves once
 * it prints the address it listens on. Returns { url, port, process, stop() }.
 */
export async function startDemo({ port = 0, args = [], env = {} } = {}) {
  const child = spawn(demoBinary, ["--bind", "127.0.0.1", "--port", String(port), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  const address = await new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = stdout.match(/listening on http:\/\/([\d.]+):(\d+)/);
      if (match) resolve({ host: match[1], port: Number(match[2]) });
    });
    child.once("exit", (code) => reject(new Error(`pulse-demo exited with ${code}: ${stderr}`)));
  });
  // SIGTERM, then SIGKILL if the graceful stop has not ended within `stopMs`: a server that hangs
  // on its way out fails the test that stops it instead of holding the run. Whatever the server
  // said goes to the test's output when it did not exit with 0, so the reason travels with the
  // failure.
  const stop = async (stopMs = 30000) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), stopMs);
      await exited;
      clearTimeout(timer);
    }
    const code = child.exitCode ?? child.signalCode;
    if (code !== 0) {
      console.error(`pulse-demo (pid ${child.pid}) ended with ${code}; its stderr, last 8 KiB:\n` +
        stderr.slice(-8192));
    }
    return code;
  };
  return {
    ...address,
    url: `ws://${address.host}:${address.port}/socket`,
    http: `http://${address.host}:${address.port}`,
    process: child,
    stderr: () => stderr,
    stop,
  };
}

/** Resolves with the first value `fn` gets called with, or rejects after `ms`. */
export function nextCall(register, ms = 3000, what = "event") {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Wraps a phoenix Push in a promise of { status, response }. */
export function pushResult(push, ms = 3000) {
  return new Promise((resolve) => {
    push
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout" }));
  });
}

/** Collects `count` payloads of `event` on a phoenix channel; resolves with them, in order. */
export function collect(channel, event, count, ms = 3000) {
  const items = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`got ${items.length} of ${count} "${event}" within ${ms} ms`)), ms);
    channel.on(event, (payload) => {
      items.push(payload);
      if (items.length === count) {
        clearTimeout(timer);
        resolve(items);
      }
    });
  });
}
