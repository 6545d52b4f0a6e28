// Redis processes of the test's own, on free loopback ports, each stopped by its PID: one
// redis-server (optionally persistent), a master with a replica and three sentinels, a cluster of
// three masters and three replicas. Every wait polls a condition, with a deadline.
import { spawn, execFile } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import net from "node:net";

/** A port the system has free right now (bound to 0, read back, released). */
export async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/** A fresh directory under the system's temporary one; removed by `removeDir`. */
export function tempDir(prefix = "pulse-redis-") {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `condition` (async) every `every` ms until it holds; throws after `ms`. */
export async function eventually(condition, what, ms = 10000, every = 50) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** Sends one command to the Redis (or Sentinel) on `port`; resolves with its raw RESP answer. */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.setTimeout(2000);
    socket.once("connect", () => socket.write(
      `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join("")));
    socket.on("data", (data) => {
      answer += data;
      if (complete(answer)) socket.end();
    });
    socket.once("end", () => resolve(answer));
    socket.once("close", () => resolve(answer));
    socket.once("error", reject);
    socket.once("timeout", () => { socket.destroy(); reject(new Error("redis did not answer")); });
  });
}

/** Whether `text` holds one whole RESP reply. */
function complete(text) {
  let at = 0;
  const value = () => {
    const end = text.indexOf("\r\n", at);
    if (end < 0) return false;
    const kind = text[at];
    const head = text.slice(at + 1, end);
    at = end + 2;
    if (kind === "$") {
      const length = Number(head);
      if (length < 0) return true;
      if (Buffer.byteLength(text.slice(at)) < length + 2) return false;
      at += length + 2; // ASCII answers only here
      return true;
    }
    if (kind === "*") {
      for (let i = 0; i < Number(head); ++i) if (!value()) return false;
      return true;
    }
    return true;
  };
  return value();
}

/** Whether something answers PING with PONG on `port`. */
async function answers(port) {
  try {
    return (await redisCommand(port, "PING")).startsWith("+PONG");
  } catch {
    return false;
  }
}

/**
 * Starts one redis-server process in the foreground on `port` with `args`, and resolves once it
 * answers PING. Returns { port, url, address, pid, stop(signal) }.
 */
async function startProcess(port, args, command = "redis-server") {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  let exited = false;
  child.once("exit", () => { exited = true; });
  try {
    await eventually(async () => exited || (await answers(port)), `redis on ${port} answers`, 5000, 25);
    if (exited) throw new Error(`redis-server on ${port} exited: ${stderr}`);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    port,
    pid: child.pid,
    url: `redis://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, "exit");
    },
  };
}

/**
 * Starts redis-server on a free port (or `port`, to restart one). Without `dir`, no persistence;
 * with it, an append-only file there, written through on every write (--appendfsync always), so
 * that a SIGKILL loses nothing. `args`: more arguments. Returns { port, url, pid, stop() }.
 */
export async function startRedis(port, { dir, args = [] } = {}) {
  const persistence = dir
    ? ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    : ["--save", "", "--appendonly", "no"];
  for (let attempt = 0; ; ++attempt) {
    const chosen = port ?? (await freePort());
    try {
      const redis = await startProcess(chosen, ["--port", String(chosen), "--bind", "127.0.0.1",
        ...persistence, "--loglevel", "warning", "--repl-diskless-sync-delay", "0", ...args]);
      if (dir) // the append-only file is read before it answers anything but LOADING
        await eventually(async () => /loading:0/.test(await redisCommand(chosen, "INFO", "persistence")),
          "redis loaded its data", 10000, 25);
      return redis;
    } catch (error) {
      if (port !== undefined || attempt >= 3) throw error;
      // someone took the port in between: another one
    }
  }
}

/**
 * A master, a replica and three sentinels watching it as `name` (down after 1 s). Returns
 * { master, replica, sentinels: [...], addresses: "h:p,h:p,h:p", name, stop() }.
 */
export async function startSentinels({ name = "pulse", args = [] } = {}) {
  const dir = tempDir("pulse-sentinel-");
  const started = [];
  try {
    // In the test's directory: a replica writes what its master sends it to disk.
    const master = await startRedis(undefined, { args: [...args, "--dir", dir] });
    started.push(master);
    const replica = await startRedis(undefined,
      { args: [...args, "--dir", dir, "--replicaof", "127.0.0.1", String(master.port)] });
    started.push(replica);
    await eventually(async () => /master_link_status:up/.test(await redisCommand(replica.port, "INFO", "replication")),
      "the replica follows the master");
    const sentinels = [];
    for (let i = 0; i < 3; ++i) {
      const port = await freePort();
      const config = path.join(dir, `sentinel-${port}.conf`);
      writeFileSync(config, [
        `port ${port}`, "bind 127.0.0.1", "daemonize no", `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`, ""].join("\n"));
      const sentinel = await startProcess(port, [config, "--sentinel"]);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // Sentinels find each other and the replica through the master (hello messages, ~2 s).
    await eventually(async () => {
      for (const s of sentinels) {
        const info = await redisCommand(s.port, "SENTINEL", "MASTER", name);
        // A flat array of names and values, each a bulk string.
        if (!/num-other-sentinels\r\n\$1\r\n2\r\n/.test(info) || !/num-slaves\r\n\$1\r\n1\r\n/.test(info))
          return false;
      }
      return true;
    }, "the sentinels know each other and the replica", 15000, 100);
    return {
      master, replica, sentinels, name,
      addresses: sentinels.map((s) => s.address).join(","),
      /** The master's port as the sentinels name it now. */
      async masterPort() {
        const answer = await redisCommand(sentinels[0].port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name);
        return Number(answer.split("\r\n")[4]);
      },
      async stop() {
        for (const process of started.reverse()) await process.stop("SIGKILL");
        removeDir(dir);
      },
    };
  } catch (error) {
    for (const process of started.reverse()) await process.stop("SIGKILL");
    removeDir(dir);
    throw error;
  }
}

function run(command, args) {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 30000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(" ")}: ${stderr || error.message}`)) : resolve(stdout)));
}

/** The ports of the masters and replicas of the cluster that the node on `port` sees. */
export async function clusterRoles(port) {
  const nodes = (await redisCommand(port, "CLUSTER", "NODES")).split("\n");
  const roles = { masters: [], replicas: [] };
  for (const line of nodes) {
    const fields = line.trim().split(" ");
    if (fields.length < 8 || fields[2].includes("fail")) continue;
    const nodePort = Number(fields[1].split("@")[0].split(":")[1]);
    if (fields[2].includes("master")) roles.masters.push(nodePort);
    else if (fields[2].includes("slave")) roles.replicas.push(nodePort);
  }
  return roles;
}

/**
 * Three masters and three replicas (node timeout 2 s), ready: every node sees the cluster ok and
 * three replicas. Returns { nodes: [...], seeds: "h:p,...", stop() }.
 */
export async function startCluster({ args = [] } = {}) {
  const dir = tempDir("pulse-cluster-");
  const nodes = [];
  try {
    for (let i = 0; i < 6; ++i) {
      const port = await freePort();
      // Its bus port, chosen too: Redis's default (port + 10000) is past 65535 for a port
      // above 55535, and refused.
      const bus = await freePort();
      const own = path.join(dir, String(port));
      mkdirSync(own);
      nodes.push(await startProcess(port, ["--port", String(port), "--bind", "127.0.0.1",
        "--cluster-enabled", "yes", "--cluster-port", String(bus),
        "--cluster-config-file", path.join(own, "nodes.conf"),
        "--cluster-node-timeout", "2000", "--dir", own, "--appendonly", "no", "--save", "",
        "--repl-diskless-sync-delay", "0", "--loglevel", "warning", ...args]));
    }
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => n.address),
      "--cluster-replicas", "1", "--cluster-yes"]);
    await eventually(async () => {
      for (const n of nodes) {
        if (!/cluster_state:ok/.test(await redisCommand(n.port, "CLUSTER", "INFO"))) return false;
        if ((await clusterRoles(n.port)).replicas.length !== 3) return false;
      }
      return true;
    }, "the cluster is ok, with three replicas", 20000, 100);
    return {
      nodes,
      seeds: nodes.slice(0, 3).map((n) => n.address).join(","),
      async stop() {
        for (const n of nodes) await n.stop("SIGKILL");
        removeDir(dir);
      },
    };
  } catch (error) {
    for (const n of nodes) await n.stop("SIGKILL");
    removeDir(dir);
    throw error;
  }
}
