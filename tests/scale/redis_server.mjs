// A redis-server of the test's own, on a free loopback port, stopped by its PID.
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";

/** A port the system has free right now (bound to 0, read back, released). */
async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/** Resolves once something answers PING on `port` with PONG; rejects after `ms`. */
async function waitForPong(port, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const answered = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.setTimeout(500);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => { socket.destroy(); resolve(data.toString().startsWith("+PONG")); });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => { socket.destroy(); resolve(false); });
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts redis-server in the foreground, without persistence, on a free port (or `port`, to
 * restart one). Returns { port, url, stop() }.
 */
export async function startRedis(port) {
  for (let attempt = 0; ; ++attempt) {
    const chosen = port ?? (await freePort());
    const child = spawn("redis-server", ["--port", String(chosen), "--bind", "127.0.0.1",
      "--save", "", "--appendonly", "no", "--loglevel", "warning"], { stdio: ["ignore", "ignore", "pipe"] });
    let exited = false;
    child.once("exit", () => { exited = true; });
    try {
      await waitForPong(chosen);
      if (exited) throw new Error("exited");
    } catch (error) {
      child.kill("SIGKILL");
      if (port !== undefined || attempt >= 3) throw error;
      continue; // someone took the port in between: another one
    }
    return {
      port: chosen,
      url: `redis://127.0.0.1:${chosen}`,
      async stop(signal = "SIGTERM") {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        await once(child, "exit");
      },
    };
  }
}

/** Sends one command to the Redis on `port` and resolves with its raw RESP answer. */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.setTimeout(2000);
    socket.once("connect", () => socket.write(
      `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")));
    socket.on("data", (data) => {
      answer += data;
      socket.end();
    });
    socket.once("end", () => resolve(answer));
    socket.once("error", reject);
    socket.once("timeout", () => { socket.destroy(); reject(new Error("redis did not answer")); });
  });
}
