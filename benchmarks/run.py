#!/usr/bin/python3
"""Pulse's benchmark driver: Pulse against the Node `ws` baseline, same scenarios, same run.

For every point of the matrix it starts a fresh server (pinned to one core), waits for its
"listening on" line, runs pulse-loadgen (pinned to another core), stops the server by its PID,
then writes benchmarks/results/run-<date>.json, latest.md and latest.svg. With --base, a second
Pulse binary (another revision's, built by benchmarks/build-base.sh) runs every point too. The
cores scenario runs Pulse on 1, 2, 4, 8 cores (machines with 4 CPUs or more). The compression
scenario runs Pulse's fan-out with permessage-deflate off, then on (results/compression.md too).
The auth scenario runs Pulse's connect-and-join storm without authentication, then with every
client presenting an RS256 JWT. With --peer, uWebSockets.js (benchmarks/peer/uws.mjs) runs the
fan-out, latency and idle points too: the level of the fastest peer, measured in the same run.
See benchmarks/README.md.

usage: benchmarks/run.py [--full] [--only NAME]... [--out DIR] [--base PATH [--base-label REV]] [--peer]
"""
import argparse
import base64
import datetime
import html
import json
import math
import os
import platform
import re
import resource
import selectors
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The matrices. S = "max": as many connections as the fd limits allow (the load generator cuts it).
QUICK = {
    "fanout": [dict(subscribers=s, duration=4, warmup=1) for s in (1000, 10000, "max")],
    "latency": [dict(subscribers=s, duration=5, warmup=1) for s in (1000, 10000)],
    "rooms": [dict(rooms=100, members=10, duration=4, warmup=1)],
    "editor": [dict(editors=30, duration=4, warmup=1)],
    "idle": [dict(subscribers=10000, settle=1)],
}
FULL = {
    "fanout": [dict(subscribers=s, duration=10, warmup=2) for s in (1000, 5000, 10000, "max")],
    "latency": [dict(subscribers=s, duration=15, warmup=2) for s in (1000, 5000, 10000, "max")],
    "rooms": [dict(rooms=r, members=k, duration=10, warmup=2)
              for r, k in ((100, 10), (1000, 10), (50, 100))],
    "editor": [dict(editors=n, duration=10, warmup=2) for n in (10, 30)],
    "idle": [dict(subscribers=s, settle=2) for s in (1000, 10000, "max")],
}

# Cores: one hot topic's fan-out at S = 10k with Pulse on n cores (--threads n), the load generator
# on the CPUs left (as many threads as CPUs), for each n that leaves it at least n/2 + 1 of them.
CORES = [1, 2, 4, 8]
CORES_MIN_CPUS = 4
CORES_POINT = {False: dict(subscribers=10000, duration=4, warmup=1),
               True: dict(subscribers=10000, duration=10, warmup=2)}
CORES_EFFICIENCY = 0.7  # deliveries/s on n cores / (n x on one core), the goal up to n = 8

# Scale-out: the same fan-out through two Pulse nodes sharing one Redis (Pulse only), subscribers
# split evenly between them, the publisher on the first. Both nodes and Redis share the server's
# core, so the figure is the cost of going through Redis, against one node on that core.
# The same through a Redis Cluster of three masters (no replicas), and both with many topics (the
# rooms scenario's 100 rooms of 10, spread over the cluster's slots) against the matrix's one node.
TWO_NODES = [dict(subscribers=s, duration=4, warmup=1) for s in (1000, 10000)]
TWO_NODES_ROOMS = dict(rooms=100, members=10, duration=4, warmup=1)
SCALE_OUT_MASTERS = {"pulse-2-nodes": 1, "pulse-2-nodes-cluster": 3}

# Compression: Pulse's fan-out at S = 1k with a chat message of about 300 bytes of text in every
# broadcast (the bare {"seq","t"} payload is under the 128 bytes Pulse starts compressing at),
# run back to back: pulse-demo plain, then pulse-demo --compress with the load generator offering
# permessage-deflate (and inflating what comes compressed); that pair ROUNDS times, each figure
# the median of its runs. Pulse only.
COMPRESSION_POINT = {False: dict(subscribers=1000, duration=4, warmup=1, text=300),
                     True: dict(subscribers=1000, duration=10, warmup=2, text=300)}
COMPRESSION_ROUNDS = 3
# Auth: Pulse's connect-and-join storm (the idle scenario) without authentication, then with
# `--jwt-key` set and every client presenting an RS256 token (a 2048-bit key made for the run with
# the openssl command) as the `token` connect param; that pair AUTH_ROUNDS times. Pulse only.
AUTH_POINT = {False: dict(subscribers=10000, settle=1), True: dict(subscribers=10000, settle=2)}
AUTH_ROUNDS = 3

# The figures compared, where they are in a fan-out result, and which way is good.
COMPRESSION_FIGURES = [
    ("deliveries_per_s", "deliveries/s", True),
    ("p99_us", "p99 µs (saturated)", False),
    ("wire_bytes_per_delivery", "wire bytes per delivery", False),
    ("inflated_bytes_per_delivery", "bytes per delivery once inflated", None),
    ("server_cpu_pct", "server CPU %", None),
    ("server_us_per_delivery", "server CPU µs per delivery", False),
    ("loadgen_cpu_pct", "generator CPU %", None),
]

# What the issue asks of Pulse, as ratios against the baseline measured in the same run.
TARGETS = [
    # (scenario, S, figure, comparison, bound, text)
    ("fanout", 1000, "deliveries_per_s", "ratio>=", 25, ">= 25x baseline"),
    ("fanout", 10000, "deliveries_per_s", "ratio>=", 25, ">= 25x baseline"),
    ("latency", 1000, "p99_us", "ratio<=", 0.5, "<= 0.5x baseline"),
    ("idle", 10000, "rss_per_connection_bytes", "pulse<=", 4096, "<= 4096 B"),
    ("idle", 10000, "connect_join_per_s", "ratio>=", 3, ">= 3x baseline"),
]

# Against another revision of Pulse (--base), measured in the same run: no slower, no bigger.
# S None: at every S the run measured.
BASE_TARGETS = [
    ("fanout", None, "deliveries_per_s", "base>=", 0.9, ">= 0.9x base"),
    ("latency", 1000, "p99_us", "base<=", 1.1, "<= 1.1x base"),
    ("idle", None, "rss_per_connection_bytes", "base<=", 1.0, "<= 1.0x base"),
]

# The scenarios the peer (benchmarks/peer/uws.mjs: the `bench` topic alone) implements.
PEER_SCENARIOS = {"fanout", "latency", "idle"}
PEER_NAME = "uWS.js"

# The figures of each scenario shown in the table: (key, label, higher is better).
FIGURES = {
    "fanout": [("deliveries_per_s", "deliveries/s", True)],
    "latency": [("p50_us", "p50 µs", False), ("p90_us", "p90 µs", False),
                ("p99_us", "p99 µs", False), ("p999_us", "p99.9 µs", False),
                ("max_us", "max µs", False)],
    "rooms": [("deliveries_per_s", "deliveries/s", True), ("p99_us", "p99 µs", False)],
    "editor": [("deliveries_per_s", "deliveries/s", True), ("p99_us", "p99 µs", False)],
    "idle": [("rss_per_connection_bytes", "RSS B/conn", False),
             ("connect_join_per_s", "connect+join/s", True)],
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def newest(*paths):
    found = [p for p in paths if os.path.exists(p)]
    return max(found, key=os.path.getmtime) if found else None


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def git_revision(rev=None):
    """HEAD's short hash, +dirty when the tree has changes; or another revision's short hash."""
    try:
        short = subprocess.run(["git", "rev-parse", "--short", f"{rev or 'HEAD'}^{{commit}}"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        if rev:
            return short or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return short + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def base_revision(binary, label):
    """The commit a base binary was built from: build-base.sh writes it next to bin/; otherwise
    what the label names now."""
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(binary)), "revision")) as f:
            return f.read().strip()[:12]
    except OSError:
        return git_revision(label) if label else "unknown"


def node_version(node):
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None  # the cores scenario runs without Node


class Server:
    """A server process, pinned, started and awaited by its "listening on" line, stopped by PID."""

    def __init__(self, argv, cpu, name):
        self.name = name
        self.argv = ["taskset", "-c", cpu] + argv  # taskset execs: the PID is the server's
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, start_new_session=True)
        self.pid = self.proc.pid
        self.port = None
        self.stderr_tail = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        buf = b""
        while self.port is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{name} did not print 'listening on' (exit {self.proc.returncode}): "
                                   + " | ".join(self.stderr_tail[-5:]))
            if not sel.select(timeout=left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            buf += chunk
            m = re.search(rb"listening on http://[^:\s]+:(\d+)", buf)
            if m:
                self.port = int(m.group(1))
        sel.close()
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _drain_stdout(self):
        for _ in self.proc.stdout:
            pass

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.decode(errors="replace").rstrip()])[-20:]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"  {self.name} (pid {self.pid}) ignored SIGTERM for 15 s: SIGKILL")
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        return self.proc.returncode


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_command(port, *words, timeout=1):
    """One command in RESP, its reply's first bytes (enough for +PONG and CLUSTER INFO)."""
    import socket
    request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(request.encode())
        return c.recv(4096)


def await_condition(what, condition, processes, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError(what)
        time.sleep(0.05)


class Nodes:
    """Two Pulse nodes sharing Redis, all pinned to `cpu`: one redis-server, or (masters = 3) a
    Redis Cluster of three masters without replicas. The same face as Server (pid, port: the
    first node's), plus `ports` for the load generator."""

    def __init__(self, pulse_argv, cpu, masters=1):
        self.nodes, self.redis = [], []
        self.dir = tempfile.mkdtemp(prefix="pulse-bench-redis-")
        try:
            ports = [free_port() for _ in range(masters)]
            for port in ports:
                argv = ["taskset", "-c", cpu, "redis-server", "--port", str(port), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"]
                if masters > 1:  # the bus port chosen too: port + 10000 may be past 65535
                    argv += ["--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                             "--cluster-config-file",
                             os.path.join(self.dir, f"nodes-{port}.conf"), "--dir", self.dir]
                self.redis.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL,
                                                   start_new_session=True))
            for port in ports:
                await_condition("redis-server did not start",
                                lambda: redis_command(port, "PING").startswith(b"+PONG"), self.redis)
            addresses = [f"127.0.0.1:{p}" for p in ports]
            if masters > 1:
                subprocess.run(["redis-cli", "--cluster", "create", *addresses,
                                "--cluster-replicas", "0", "--cluster-yes"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
                for port in ports:
                    await_condition("the Redis Cluster did not get ok",
                                    lambda: b"cluster_state:ok" in redis_command(
                                        port, "CLUSTER", "INFO"), self.redis)
                redis = ["--redis-cluster", ",".join(addresses)]
            else:
                redis = ["--redis", f"redis://{addresses[0]}"]
            for i in range(2):
                self.nodes.append(Server(pulse_argv + redis, cpu, f"pulse-node-{i}"))
        except Exception:
            self.stop()
            raise
        self.pid, self.port = self.nodes[0].pid, self.nodes[0].port
        self.ports = ",".join(str(n.port) for n in self.nodes)
        self.argv = self.nodes[0].argv
        self.stderr_tail = self.nodes[0].stderr_tail

    def alive(self):
        return all(n.alive() for n in self.nodes) and all(r.poll() is None for r in self.redis)

    def stop(self):
        import shutil
        codes = [n.stop() for n in self.nodes]
        for r in self.redis:
            if r.poll() is None:
                r.terminate()
                r.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)
        return max(codes, default=0)


def loadgen_args(scenario, point, port, pid, label):
    args = ["--scenario", scenario, "--port", str(port), "--server-pid", str(pid), "--label", label]
    for key, value in point.items():
        if value is True:  # a flag (--compress)
            args.append("--" + key.replace("_", "-"))
        elif value is not False:
            args += ["--" + key.replace("_", "-"), str(value)]
    return args


def run_point(servers, loadgen, scenario, point, cpus):
    """Runs one point of the matrix against every server; returns their results."""
    results = []
    for name, argv in servers:
        if name == "peer" and scenario not in PEER_SCENARIOS:
            continue
        cluster = name.startswith("pulse-2-nodes")
        server = (Nodes(argv, cpus["server"], SCALE_OUT_MASTERS.get(name, 1)) if cluster
                  else Server(argv, cpus["server"], name))
        cmd = ["taskset", "-c", cpus["loadgen"], loadgen] + loadgen_args(
            scenario, point, server.port, server.pid, name)
        if cluster:
            cmd += ["--ports", server.ports]
        log(f"- {name} {scenario} {point}: server pid {server.pid}, port {server.port}")
        budget = 60 + sum(float(point.get(k, 0)) for k in ("duration", "warmup", "settle")) + 180
        started = time.monotonic()
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, cwd=ROOT, timeout=budget)
            lines = [l for l in out.stdout.decode().splitlines() if l.startswith("{")]
            result = json.loads(lines[-1]) if lines else {"error": "no result line",
                                                           "scenario": scenario, "server": name}
            result["loadgen_exit"] = out.returncode
        except subprocess.TimeoutExpired:
            result = {"error": f"load generator timed out after {budget:.0f} s", "scenario": scenario,
                      "server": name}
        result["wall_s"] = round(time.monotonic() - started, 2)
        result["server_alive_at_end"] = server.alive()
        if not result["server_alive_at_end"]:
            result["server_stderr"] = server.stderr_tail[-5:]
        result["server_command"] = " ".join(shlex.quote(a) for a in server.argv)
        result["loadgen_command"] = " ".join(shlex.quote(a) for a in cmd)
        result["point"] = point
        result["cpus"] = dict(cpus)
        server.stop()
        results.append(result)
        summary = {k: result.get(k) for k in ("subscribers", "deliveries_per_s", "p99_us",
                                               "rss_per_connection_bytes", "connect_join_per_s",
                                               "lost", "duplicated", "loadgen_cpu_pct",
                                               "server_cpu_pct", "server_core_busy_pct", "error")
                   if k in result}
        log(f"  {name}: {json.dumps(summary)}")
    return results


# The figure a repeated point's median run is chosen by, for the scenarios that repeat.
MEDIAN_BY = {"fanout": "deliveries_per_s", "latency": "p99_us", "idle": "connect_join_per_s"}


def run_repeated(servers, loadgen, scenario, point, cpus, repeats):
    """Runs the point `repeats` times over every server, interleaved, and keeps each server's
    median run by the scenario's figure (its other runs under "runs"): a closed-loop fan-out
    settles into one of a few rhythms, and a p99 or a connect storm moves with what else the
    machine did in those seconds, so one run can land far from the others."""
    figure = MEDIAN_BY[scenario]
    rounds = [run_point(servers, loadgen, scenario, point, cpus) for _ in range(repeats)]
    medians = []
    for name, _ in servers:
        runs = [r for batch in rounds for r in batch if r.get("server") == name]
        if not runs:
            continue  # the peer, on a scenario it does not implement
        ranked = sorted(runs, key=lambda r: r.get(figure) or 0)
        median = dict(ranked[len(ranked) // 2])
        median["runs"] = runs
        log(f"  {name}: median of {len(runs)}: {median.get(figure)} {figure} "
            f"(runs: {[r.get(figure) for r in runs]})")
        medians.append(median)
    return medians


def key_of(r):
    if r.get("scenario") == "rooms":
        return ("rooms", f"{r.get('rooms')}x{r.get('members')}")
    return (r.get("scenario"), r.get("subscribers"))


def pair_up(results):
    """{(scenario, S): {server: result}} over the point's own results (S as the generator used)."""
    table = {}
    for r in results:
        table.setdefault(key_of(r), {})[r.get("server")] = r
    return table


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def median(values):
    """The median of the values that are not None (the mean of the middle two for an even
    count), or None."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def clean(r):
    if any(not clean(run) for run in r.get("runs", [])):
        return False
    return (not r.get("error") and r.get("lost", 1) == 0 and r.get("duplicated", 1) == 0
            and not r.get("closes") and r.get("failed_connections", 1) == 0
            and r.get("server_alive_at_end", False) and not r.get("stalled", False))


def evaluate(results):
    """The ratios per figure, and the targets' verdicts."""
    pairs = pair_up(results)
    has_base = any(r.get("server") == "pulse-base" for r in results)
    has_peer = any(r.get("server") == "peer" for r in results)
    ratios = []
    for (scenario, s), by in pairs.items():
        p, b, base, peer = by.get("pulse"), by.get("baseline"), by.get("pulse-base"), by.get("peer")
        if not (p or b or base):
            continue  # the cores scenario's runs: a table of their own
        for key, label, higher in FIGURES.get(scenario, []):
            pv = p.get(key) if p else None
            bv = b.get(key) if b else None
            row = {"scenario": scenario, "subscribers": s, "figure": key, "label": label,
                   "pulse": pv, "baseline": bv, "ratio": ratio(pv, bv), "higher_is_better": higher}
            if has_base:
                basev = base.get(key) if base else None
                row.update({"base": basev, "pulse_per_base": ratio(pv, basev)})
            if has_peer:
                peerv = peer.get(key) if peer else None
                row.update({"peer": peerv, "peer_per_baseline": ratio(peerv, bv),
                            "pulse_per_peer": ratio(pv, peerv)})
            ratios.append(row)
    verdicts = []
    for scenario, s, key, how, bound, text in TARGETS:
        by = pairs.get((scenario, s), {})
        p, b = by.get("pulse"), by.get("baseline")
        if not p:
            continue
        pv, bv = p.get(key), (b or {}).get(key)
        if how == "pulse<=":
            value, ok = pv, pv is not None and pv <= bound
        else:
            value = ratio(pv, bv)
            ok = value is not None and (value >= bound if how == "ratio>=" else value <= bound)
        verdicts.append({"scenario": scenario, "subscribers": s, "figure": key, "target": text,
                         "value": value, "met": ok})
    for scenario, at, key, how, bound, text in BASE_TARGETS if has_base else []:
        for (sc, s), by in sorted(pairs.items(), key=lambda kv: str(kv[0])):
            p, base = by.get("pulse"), by.get("pulse-base")
            if sc != scenario or (at is not None and s != at) or not p or not base:
                continue
            value = ratio(p.get(key), base.get(key))
            ok = value is not None and (value >= bound if how == "base>=" else value <= bound)
            verdicts.append({"scenario": scenario, "subscribers": s, "figure": key, "target": text,
                             "value": value, "met": ok})
    # The base is the reference, not under test: its runs are counted here but do not fail it.
    verdicts.append({"scenario": "all", "subscribers": None, "figure": "lost, duplicated, disconnects",
                     "target": "0 in every run", "value": sum(not clean(r) for r in results),
                     "met": all(clean(r) for r in results
                                if r.get("server") == "pulse"
                                or str(r.get("server")).startswith("pulse-2-nodes")
                                or str(r.get("server")).startswith(("pulse-cores-",
                                                                    "pulse-compress-")))})
    return ratios, verdicts


def two_nodes(results):
    """Fan-out and rooms through two nodes and Redis (one server, or a cluster) against one node."""
    rows = []
    for (scenario, s), by in pair_up(results).items():
        one, two, cluster = (by.get(k) for k in ("pulse", "pulse-2-nodes", "pulse-2-nodes-cluster"))
        if scenario not in ("fanout", "rooms") or not (two or cluster):
            continue
        one_v = one.get("deliveries_per_s") if one else None
        two_v = two.get("deliveries_per_s") if two else None
        cluster_v = cluster.get("deliveries_per_s") if cluster else None
        through = [r for r in (two, cluster) if r]
        rows.append({"scenario": scenario, "subscribers": s, "one_node": one_v, "two_nodes": two_v,
                     "ratio": ratio(two_v, one_v), "cluster": cluster_v,
                     "cluster_ratio": ratio(cluster_v, one_v),
                     "lost": sum(r.get("lost", 0) for r in through),
                     "duplicated": sum(r.get("duplicated", 0) for r in through)})
    return rows


def run_compression(pulse_argv, loadgen, full, cpus):
    """Pulse's fan-out with compression off, then on (server and load generator both), that pair
    COMPRESSION_ROUNDS times: the machine's noise moves single runs by tens of per cent."""
    point = COMPRESSION_POINT[full]
    results = []
    for round_ in range(COMPRESSION_ROUNDS):
        for name, argv, pt in (("pulse-compress-off", pulse_argv, point),
                               ("pulse-compress-on", pulse_argv + ["--compress"],
                                dict(point, compress=True))):
            for r in run_point([(name, argv)], loadgen, "fanout", pt, cpus):
                r["round"] = round_ + 1
                results.append(r)
    return results


def rs256_key_and_token(directory):
    """A fresh RSA key's public PEM file in `directory`, and an RS256 token signed with the key
    (sub "bench", an hour to live), made with the openssl command."""
    key, public = os.path.join(directory, "key.pem"), os.path.join(directory, "public.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", public], check=True,
                   capture_output=True)

    def b64url(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"sub": "bench", "exp": int(time.time()) + 3600}
    signed = (b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "."
              + b64url(json.dumps(claims).encode()))
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                               input=signed.encode(), check=True, capture_output=True).stdout
    return public, signed + "." + b64url(signature)


def run_auth(pulse_argv, loadgen, full, cpus):
    """Pulse's connect-and-join storm without authentication, then with an RS256 JWT on every
    connection, that pair AUTH_ROUNDS times."""
    point = AUTH_POINT[full]
    results = []
    with tempfile.TemporaryDirectory(prefix="pulse-bench-auth-") as directory:
        public, token = rs256_key_and_token(directory)
        with_token = dict(point, path=f"/socket/websocket?vsn=2.0.0&token={token}")
        for round_ in range(AUTH_ROUNDS):
            for name, argv, pt in (("pulse-no-auth", pulse_argv, point),
                                   ("pulse-jwt-rs256", pulse_argv + ["--jwt-key", public],
                                    with_token)):
                for r in run_point([(name, argv)], loadgen, "idle", pt, cpus):
                    r["round"] = round_ + 1
                    results.append(r)
    return results


def auth(results):
    """Without against with a JWT: connect-and-join rates and the server's CPU per connection,
    medians over the rounds; None when the scenario did not run."""
    plain = [r for r in results if r.get("server") == "pulse-no-auth"]
    jwt = [r for r in results if r.get("server") == "pulse-jwt-rs256"]
    if not plain and not jwt:
        return None

    def cpu_us_per_connection(r):
        pct, rate = r.get("setup_server_cpu_pct"), r.get("connect_join_per_s")
        return pct * 1e4 / rate if pct is not None and pct >= 0 and rate else None

    rows = []
    for label, figure, higher in (("connect + join per s", lambda r: r.get("connect_join_per_s"),
                                   True),
                                  ("server CPU µs per connection", cpu_us_per_connection, False)):
        a_all, b_all = [figure(r) for r in plain], [figure(r) for r in jwt]
        a, b = median(a_all), median(b_all)
        rows.append({"label": label, "no_auth": a, "jwt": b, "jwt_per_no_auth": ratio(b, a),
                     "higher_is_better": higher, "no_auth_runs": a_all, "jwt_runs": b_all})
    refused = [r.get("failed_connections") for r in jwt]
    return {"subscribers": (jwt or plain)[-1].get("subscribers"), "rounds": len(jwt),
            "rows": rows, "failed_connections": refused,
            "clean": all(clean(r) and not r.get("failed_connections") for r in plain + jwt)}


def auth_markdown(run):
    a = run["auth"]
    lines = ["## Authentication", "",
             f"Pulse's connect-and-join storm of {fmt(a['subscribers'])} connections (the idle "
             "scenario), without authentication, then with `--jwt-key` set and every client "
             "presenting an RS256 token (2048-bit key) as its `token` connect param; that pair "
             f"{a['rounds']} time(s), each figure the median of its runs. Server CPU per "
             "connection is the server's CPU over the storm divided by the connections it took. "
             f"Every connection joined: {'yes' if a['clean'] else '**no**'}.", "",
             "| figure | no auth | RS256 JWT | JWT / no auth |", "|---|---:|---:|---:|"]
    for r in a["rows"]:
        rt = r["jwt_per_no_auth"]
        lines.append(f"| {r['label']} | {fmt(r['no_auth'])} | {fmt(r['jwt'])} | "
                     f"{'–' if rt is None else f'{rt:.2f}x'} |")
    return lines


def compression(results):
    """Off against on: each figure's median over the rounds, and on / off; None when the
    scenario did not run."""
    offs = [r for r in results if r.get("server") == "pulse-compress-off"]
    ons = [r for r in results if r.get("server") == "pulse-compress-on"]
    if not offs and not ons:
        return None
    off, on = (offs or [None])[-1], (ons or [None])[-1]

    def figure(r, key):
        if not r:
            return None
        if key == "p99_us":
            return (r.get("saturated_latency") or {}).get("p99_us")
        if key == "server_us_per_delivery":
            pct, d = r.get("server_cpu_pct"), r.get("deliveries_per_s")
            return pct * 1e4 / d if pct is not None and pct >= 0 and d else None
        v = r.get(key)
        return None if isinstance(v, (int, float)) and v < 0 else v

    rows = []
    for key, label, higher in COMPRESSION_FIGURES:
        a_all, b_all = [figure(r, key) for r in offs], [figure(r, key) for r in ons]
        a, b = median(a_all), median(b_all)
        rows.append({"figure": key, "label": label, "off": a, "on": b, "on_per_off": ratio(b, a),
                     "higher_is_better": higher, "off_runs": a_all, "on_runs": b_all,
                     "on_per_off_by_round": [ratio(y, x) for x, y in zip(a_all, b_all)]})
    return {"subscribers": (on or off).get("subscribers"),
            "point": (off or on).get("point"),
            "accepted": (on or {}).get("compress_accepted"),
            "compressed_messages": (on or {}).get("measured_compressed_messages"),
            "inflated": None if not on else
            (on.get("compressed_messages") or 0) - (on.get("inflate_cache_hits") or 0),
            "received": (on or {}).get("compressed_messages"),
            "rounds": max(len(offs), len(ons)),
            "rows": rows,
            "clean": {"off": bool(offs) and all(clean(r) for r in offs),
                      "on": bool(ons) and all(clean(r) for r in ons)}}


def compression_markdown(run):
    c = run["compression"]
    p = c.get("point") or {}
    lines = ["## Compression", "",
             f"Pulse's fan-out at S = {fmt(c['subscribers'])}, {p.get('duration')} s measured after "
             f"{p.get('warmup')} s of warm-up, every broadcast a chat message with about "
             f"{p.get('text')} bytes of text, run back to back on the same CPUs: "
             "`pulse-demo` plain, then `pulse-demo --compress` with the load generator offering "
             "permessage-deflate (`client_no_context_takeover`) and inflating what comes "
             f"compressed; that pair {c['rounds']} time(s), each figure the median of its runs "
             "(on / off per round in the last column). "
             "Wire bytes are what the generator's sockets read over the measured seconds "
             "(WebSocket headers included) per delivery. The p99 is the fan-out's own, under "
             "saturation (queueing, by design).", "",
             f"In the last round compression was agreed on {fmt(c['accepted'])} connection(s); "
             f"{fmt(c['compressed_messages'])} compressed messages received while measuring "
             f"({fmt(c['received'])} in all, {fmt(c['inflated'])} of them inflated: the others "
             "were byte for byte a broadcast the generator still had inflated, which is the same "
             "message since nothing is taken over from one message to the next). "
             "Clean (no loss, duplicate or disconnect): "
             f"off {'yes' if c['clean']['off'] else '**no**'}, "
             f"on {'yes' if c['clean']['on'] else '**no**'}.", "",
             "| figure | off | on | on / off | on / off by round |", "|---|---:|---:|---:|---:|"]
    for r in c["rows"]:
        rt = r["on_per_off"]
        rounds = ", ".join("–" if x is None else f"{x:.2f}x" for x in r["on_per_off_by_round"])
        lines.append(f"| {r['label']} | {fmt(r['off'], r['figure'])} | {fmt(r['on'], r['figure'])} "
                     f"| {'–' if rt is None else f'{rt:.2f}x'} | {rounds or '–'} |")
    return lines


def cpu_list(cpus):
    return ",".join(str(c) for c in cpus)


def cores_plan(cpus):
    """[(n, server CPUs, generator CPUs)] for each n the machine allows, and why it skips the rest
    (or the whole scenario: then the list is empty)."""
    if len(cpus) < CORES_MIN_CPUS:
        return [], (f"{len(cpus)} CPU(s) available to this process (os.sched_getaffinity); "
                    f"the cores scenario needs at least {CORES_MIN_CPUS}")
    plan, left_out = [], None
    for n in CORES:
        # The generator needs more than half a core per server core to keep up.
        if len(cpus) - n < n // 2 + 1:
            left_out = (f"n = {n} needs {n + n // 2 + 1} CPUs ({n // 2 + 1} for the load "
                        f"generator), this machine has {len(cpus)}")
            break
        plan.append((n, cpus[:n], cpus[n:]))
    return plan, left_out


def run_cores(pulse, loadgen, full, cpus):
    """One hot topic's fan-out at S = 10k, Pulse on the first n CPUs with --threads n, the load
    generator on the others with a thread per CPU. Returns the results and the plan's note."""
    plan, note = cores_plan(cpus)
    if not plan:
        log(f"cores scenario skipped: {note}")
        return [], note
    if note:
        log(f"cores scenario: {note}")
    results = []
    for n, server_cpus, gen_cpus in plan:
        point = dict(CORES_POINT[full], threads=len(gen_cpus))
        argv = [pulse, "--bind", "127.0.0.1", "--port", "0", "--threads", str(n)]
        results += run_point([(f"pulse-cores-{n}", argv)], loadgen, "fanout", point,
                             {"server": cpu_list(server_cpus), "loadgen": cpu_list(gen_cpus)})
    return results, note


def cores(results, note):
    """Per n: deliveries/s, scaling against n = 1 and efficiency; the verdicts for n > 1."""
    by_n = {int(r["server"].rsplit("-", 1)[1]): r for r in results
            if str(r.get("server")).startswith("pulse-cores-")}
    one = by_n.get(1, {}).get("deliveries_per_s")
    rows, verdicts = [], []
    for n in sorted(by_n):
        r = by_n[n]
        d = r.get("deliveries_per_s")
        server_pct = r.get("server_cpu_pct")
        rows.append({"n": n, "server_cpus": r["cpus"]["server"],
                     "loadgen_cpus": r["cpus"]["loadgen"],
                     "loadgen_threads": r.get("loadgen_threads"),
                     "subscribers": r.get("subscribers"),
                     "deliveries_per_s": d, "scaling": ratio(d, one),
                     "efficiency": ratio(d, n * one) if one else None,
                     "loadgen_cpu_pct": r.get("loadgen_cpu_pct"),
                     "loadgen_thread_cpu_max_pct": r.get("loadgen_thread_cpu_max_pct"),
                     "loadgen_bound": r.get("loadgen_bound"),
                     "server_cpu_pct_per_core": None if server_pct is None or server_pct < 0
                     else server_pct / n,
                     "lost": r.get("lost"), "duplicated": r.get("duplicated"), "clean": clean(r)})
        if n > 1:
            e = rows[-1]["efficiency"]
            verdicts.append({"scenario": "cores", "subscribers": r.get("subscribers"),
                             "figure": f"efficiency on {n} cores",
                             "target": f">= {CORES_EFFICIENCY}", "value": e,
                             "met": e is not None and e >= CORES_EFFICIENCY})
    return {"rows": rows, "note": note, "skipped": not rows}, verdicts


def fmt(v, key=""):
    if v is None:
        return "–"
    if isinstance(v, float) and key.endswith("_us"):
        return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def markdown(run):
    lines = [f"# Benchmark results ({'full' if run['full'] else 'quick'} matrix)", "",
             f"{run['date']}, `{run['command']}`, revision {run['revision']}. "
             f"Machine: {run['machine']['cpu_model']}, {run['machine']['cores']} cores, "
             f"Linux {run['machine']['kernel']}, fd limit {run['machine']['fd_limit']}. "
             f"Servers pinned to CPU {run['cpus']['server']} (Pulse with `--threads 1`), the load "
             f"generator to CPU {run['cpus']['loadgen']}. Raw results: `{run['file']}`.", "",
             "Absolute numbers move with whatever else runs on the machine; the ratios, measured "
             "back to back in the same run, are the figures to compare.", ""]
    base = run.get("base")
    if base:
        lines += [f"Base: `pulse-base` is `pulse-demo` built from revision {base['label']} "
                  f"({base['revision']}, `{base['binary']}`), run with the same flags on the same "
                  "CPU right after Pulse for every point.", ""]
    peer = run.get("peer")
    if peer:
        lines += [f"Peer: {PEER_NAME} is {peer['what']} (`{peer['server']}`), on the fan-out, "
                  "latency and idle points, run at every such point right after Pulse (and the base).", ""]
    times = lambda v: "–" if v is None else f"{v:.2f}x"
    # (heading, cell of a ratios row), the base's and the peer's only when they ran
    columns = [("Pulse", lambda r: fmt(r["pulse"], r["figure"]))]
    columns += [("base", lambda r: fmt(r.get("base"), r["figure"]))] if base else []
    columns += [(PEER_NAME, lambda r: fmt(r.get("peer"), r["figure"]))] if peer else []
    columns += [("baseline", lambda r: fmt(r["baseline"], r["figure"])),
                ("Pulse / baseline", lambda r: times(r["ratio"]))]
    columns += [("Pulse / base", lambda r: times(r.get("pulse_per_base")))] if base else []
    columns += [(f"{PEER_NAME} / baseline", lambda r: times(r.get("peer_per_baseline"))),
                (f"Pulse / {PEER_NAME}", lambda r: times(r.get("pulse_per_peer")))] if peer else []
    if run["ratios"]:  # otherwise only the cores scenario ran: its own table below
        lines += ["| scenario | S | figure | " + " | ".join(h for h, _ in columns) + " |",
                  "|---|---:|---|" + "---:|" * len(columns)]
    for r in run["ratios"]:
        cells = [r["scenario"], fmt(r["subscribers"]), r["label"]] + [cell(r) for _, cell in columns]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Targets", "", "| scenario | S | figure | target | measured | met |",
              "|---|---:|---|---|---:|:---:|"]
    for v in run["verdicts"]:
        value = v["value"]
        shown = (f"{value:.2f}x" if isinstance(value, float) and "x" in v["target"]
                 else fmt(value, v["figure"]))
        if v["scenario"] == "all":
            shown = f"{value} run(s) not clean"
        lines.append(f"| {v['scenario']} | {fmt(v['subscribers'])} | {v['figure']} | {v['target']} | "
                     f"{shown} | {'yes' if v['met'] else '**no**'} |")
    if run.get("cores"):
        c = run["cores"]
        lines += ["", "## Cores", ""]
        if c["skipped"]:
            lines += [f"The cores scenario was skipped: {c['note']}. It runs on machines with at "
                      f"least {CORES_MIN_CPUS} CPUs (`make bench-cores`, or "
                      "`benchmarks/cores.sh`)."]
        else:
            lines += ["One hot topic's fan-out at S = 10k with `pulse-demo --threads n` pinned to "
                      "the first n CPUs, the load generator on the other CPUs with one thread per "
                      f"CPU. Efficiency = deliveries/s / (n x the n = 1 figure); the goal is "
                      f">= {CORES_EFFICIENCY} up to n = 8."
                      + (f" Not run: {c['note']}." if c["note"] else ""), "",
                      "| n | server CPUs | generator CPUs (threads) | deliveries/s | scaling | "
                      "efficiency | generator CPU (busiest thread) | server CPU per core | lost "
                      "| dup |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
            pct = lambda v: "–" if v is None or v < 0 else f"{v:.0f}%"
            for r in c["rows"]:
                lines.append(
                    f"| {r['n']} | {r['server_cpus']} | {r['loadgen_cpus']} "
                    f"({fmt(r['loadgen_threads'])}) | {fmt(r['deliveries_per_s'])} | "
                    f"{times(r['scaling'])} | {fmt(r['efficiency'])} | "
                    f"{pct(r['loadgen_cpu_pct'])} ({pct(r['loadgen_thread_cpu_max_pct'])}"
                    f"{', bound' if r['loadgen_bound'] else ''}) | "
                    f"{pct(r['server_cpu_pct_per_core'])} | {fmt(r['lost'])} | "
                    f"{fmt(r['duplicated'])} |")
    if run.get("two_nodes"):
        lines += ["", "## Two nodes through Redis", "",
                  "The subscribers split evenly between two Pulse nodes, every broadcast going "
                  "through Redis and back to both nodes: one redis-server, or a Redis Cluster of "
                  "three masters (sharded pub/sub). Fan-out: the publisher on the first node; rooms: "
                  "every room's members on both nodes, the rooms' topics spread over the cluster's "
                  "slots. Nodes and Redis all run on the server's one core.",
                  "", "| scenario | S | one node, deliveries/s | two nodes + Redis | two / one | "
                  "two nodes + Cluster (3 masters) | cluster / one | lost | dup |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in run["two_nodes"]:
            lines.append(f"| {r.get('scenario', 'fanout')} | {fmt(r['subscribers'])} | "
                         f"{fmt(r['one_node'])} | {fmt(r['two_nodes'])} | {times(r['ratio'])} | "
                         f"{fmt(r.get('cluster'))} | {times(r.get('cluster_ratio'))} | "
                         f"{fmt(r['lost'])} | {fmt(r['duplicated'])} |")
    if run.get("compression"):
        lines += [""] + compression_markdown(run)
    if run.get("auth"):
        lines += [""] + auth_markdown(run)
    lines += ["", "## Every run", "",
              "| server | scenario | S | joined | lost | dup | closes | generator CPU | server CPU "
              "| server's core busy | notes |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in run["results"]:
        closes = sum((r.get("closes") or {}).values())
        notes = "; ".join(x for x in (r.get("note"), r.get("error"), r.get("first_error"),
                                      "stalled" if r.get("stalled") else "",
                                      "" if r.get("server_alive_at_end", True) else "server died")
                          if x)
        s = f"{r.get('rooms')}x{r.get('members')}" if r.get("scenario") == "rooms" else fmt(r.get("subscribers"))
        pct = lambda v: "–" if v is None or v < 0 else f"{v:.0f}%"
        lines.append(f"| {r.get('server')} | {r.get('scenario')} | {s} | {fmt(r.get('joined'))} | "
                     f"{fmt(r.get('lost'))} | {fmt(r.get('duplicated'))} | {closes} | "
                     f"{pct(r.get('loadgen_cpu_pct'))} | {pct(r.get('server_cpu_pct'))} | "
                     f"{pct(r.get('server_core_busy_pct'))} | "
                     f"{notes.replace('|', '/')} |")
    lines += ["", "Generator CPU is the load generator's own CPU time over the measured seconds, "
              "divided by its threads (100% = every one of its cores busy): below about 90%, and "
              "its busiest thread too, it was not the bottleneck. Server CPU is "
              "the server process's own time; its core's busy time adds the loopback TCP work "
              "done in softirqs on that core, and anything else that ran there.", ""]
    if run.get("plot"):
        lines += [f"![throughput and p99 against S]({os.path.basename(run['plot'])})", ""]
    return "\n".join(lines)


def plot(run, path):
    """Two log-log panels (fan-out deliveries/s and p99 against S) as an SVG written here: no
    plotting library, so a machine with only Debian's python3 draws it too."""
    names = {"pulse": "Pulse", "baseline": "Node ws baseline", "peer": PEER_NAME,
             "pulse-base": f"Pulse {(run.get('base') or {}).get('label', 'base')}"}
    styles = {"pulse": ("#1f77b4", ""), "pulse-base": ("#2ca02c", "2,3"), "peer": ("#9467bd", "8,3,2,3"),
              "baseline": ("#d62728", "6,4")}
    panel_w, panel_h, left, top, bottom = 470, 300, 80, 50, 50
    tick = lambda v: next(f"{v / unit:g}{suffix}" for unit, suffix in ((1e6, "M"), (1e3, "k"), (1, ""))
                          if v >= unit or unit == 1)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * (panel_w + left) + 40}" '
           f'height="{panel_h + top + bottom + 40}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="50%" y="20" text-anchor="middle" font-size="13">Pulse'
           + (f', {PEER_NAME}' if run.get("peer") else "") + ' and Node ws, '
           f'{html.escape(run["machine"]["cpu_model"])}, server on 1 core ({run["date"][:10]})</text>']
    drawn = False
    for i, (scenario, key, title, unit) in enumerate((
            ("fanout", "deliveries_per_s", "fan-out throughput", "deliveries/s"),
            ("latency", "p99_us", "p99 latency at 50k deliveries/s", "µs"))):
        series = {server: sorted((r["subscribers"], r[key]) for r in run["results"]
                                 if r.get("scenario") == scenario and r.get("server") == server
                                 and r.get(key) and r.get("subscribers"))
                  for server in styles}
        values = [p for points in series.values() for p in points]
        if not values:
            continue
        drawn = True
        x0, y0 = left + i * (panel_w + left + 20), top
        decades = lambda vs: (math.floor(math.log10(min(vs))), math.ceil(math.log10(max(vs))))
        (xa, xb), (ya, yb) = decades([p[0] for p in values]), decades([p[1] for p in values])
        xb, yb = max(xb, xa + 1), max(yb, ya + 1)
        px = lambda v: x0 + (math.log10(v) - xa) / (xb - xa) * panel_w
        py = lambda v: y0 + panel_h - (math.log10(v) - ya) / (yb - ya) * panel_h
        svg.append(f'<text x="{x0 + panel_w / 2}" y="{y0 - 8}" text-anchor="middle">{title}</text>')
        svg.append(f'<rect x="{x0}" y="{y0}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#444"/>')
        for d in range(xa, xb + 1):
            x = px(10 ** d)
            svg.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + panel_h}" stroke="#ddd"/>')
            svg.append(f'<text x="{x:.1f}" y="{y0 + panel_h + 16}" text-anchor="middle">{tick(10 ** d)}</text>')
        for d in range(ya, yb + 1):
            y = py(10 ** d)
            svg.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#ddd"/>')
            svg.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick(10 ** d)}</text>')
        svg.append(f'<text x="{x0 + panel_w / 2}" y="{y0 + panel_h + 36}" text-anchor="middle">'
                   'subscribers S</text>')
        svg.append(f'<text transform="translate({x0 - 62},{y0 + panel_h / 2}) rotate(-90)" '
                   f'text-anchor="middle">{unit}</text>')
        legend_x = x0
        for server, points in series.items():
            if not points:
                continue
            color, dash = styles[server]
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
            svg.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            svg += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}"/>' for x, y in points]
            ly = y0 + panel_h + 62  # the legend: one row under the panel
            svg.append(f'<line x1="{legend_x}" y1="{ly - 4}" x2="{legend_x + 24}" y2="{ly - 4}" '
                       f'stroke="{color}" stroke-width="2"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
            svg.append(f'<text x="{legend_x + 30}" y="{ly}">{html.escape(names[server])}</text>')
            legend_x += 40 + 7 * len(names[server])
    if not drawn:
        return None
    svg.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="every scenario at every size")
    parser.add_argument("--only", action="append",
                        choices=["fanout", "latency", "rooms", "editor", "idle", "two-nodes",
                                 "cores", "compression", "auth"],
                        help="run only these scenarios (repeatable)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--base", metavar="PATH",
                        help="another pulse-demo (benchmarks/build-base.sh REV builds one): "
                             "runs every point as pulse-base, right after pulse")
    parser.add_argument("--base-label", metavar="REV", help="what --base was built from")
    parser.add_argument("--peer", action="store_true",
                        help=f"{PEER_NAME} (benchmarks/peer/uws.mjs; npm ci --prefix benchmarks/peer "
                             "first) runs the fan-out, latency and idle points too")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="fan-out, latency and idle points: N interleaved runs per server, "
                             "the median kept (default 3)")
    opts = parser.parse_args()
    if opts.base and not os.access(opts.base, os.X_OK):
        sys.exit(f"--base {opts.base}: not an executable")

    bins = [os.path.join(ROOT, "build", "bin"), os.path.join(ROOT, "build", "release", "bin")]
    pulse = newest(*(os.path.join(b, "pulse-demo") for b in bins))
    loadgen = newest(*(os.path.join(b, "pulse-loadgen") for b in bins))
    if not pulse or not loadgen:
        sys.exit("build pulse-demo and pulse-loadgen first (make bench does)")
    node = subprocess.run(["which", "node"], capture_output=True, text=True).stdout.strip() or "node"
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        log("warning: one CPU only: server and load generator share it")
        cpus = {"server": str(available[0]), "loadgen": str(available[0])}
    else:
        cpus = {"server": str(available[0]), "loadgen": str(available[1])}
    pulse_flags = ["--bind", "127.0.0.1", "--port", "0", "--threads", "1"]
    servers = [("pulse", [pulse] + pulse_flags)]
    base = None
    if opts.base:
        base_path = os.path.abspath(opts.base)
        label = opts.base_label or os.path.relpath(base_path, ROOT)
        base = {"label": label, "binary": os.path.relpath(base_path, ROOT),
                "revision": base_revision(base_path, opts.base_label)}
        servers.append(("pulse-base", [base_path] + pulse_flags))
    node_server = lambda script: [node, script, "--bind", "127.0.0.1", "--port", "0"]
    peer = None
    if opts.peer:
        script = os.path.join(ROOT, "benchmarks", "peer", "uws.mjs")
        package = os.path.join(ROOT, "benchmarks", "peer", "node_modules", "uws-pack", "package.json")
        if not os.path.exists(package):
            sys.exit("--peer: install it first (npm ci --prefix benchmarks/peer; make bench PEER=1 does)")
        with open(package) as f:
            version = json.load(f)["version"]
        peer = {"what": f"uWebSockets.js {version.split('.')[0]} (npm uws-pack {version}) on Node "
                        f"{node_version(node)}", "server": os.path.relpath(script, ROOT)}
        servers.append(("peer", node_server(script)))
    servers.append(("baseline", node_server(os.path.join(ROOT, "benchmarks", "baseline", "server.mjs"))))
    matrix = FULL if opts.full else QUICK
    started = time.monotonic()
    date = datetime.datetime.now().astimezone()
    results = []
    for scenario, points in matrix.items():
        if opts.only and scenario not in opts.only:
            continue
        for point in points:
            if scenario in MEDIAN_BY and opts.repeat > 1:
                results += run_repeated(servers, loadgen, scenario, point, cpus, opts.repeat)
            else:
                results += run_point(servers, loadgen, scenario, point, cpus)
    if not opts.only or "two-nodes" in opts.only:
        scale_out = [(name, servers[0][1]) for name in SCALE_OUT_MASTERS]
        for point in TWO_NODES:
            results += run_point(scale_out, loadgen, "fanout", point, cpus)
        results += run_point(scale_out, loadgen, "rooms", TWO_NODES_ROOMS, cpus)
    if not opts.only or "compression" in opts.only:
        results += run_compression(servers[0][1], loadgen, opts.full, cpus)
    if not opts.only or "auth" in opts.only:
        results += run_auth(servers[0][1], loadgen, opts.full, cpus)
    cores_results, cores_note = [], None
    if not opts.only or "cores" in opts.only:
        cores_results, cores_note = run_cores(pulse, loadgen, opts.full, available)
        results += cores_results
    os.makedirs(opts.out, exist_ok=True)
    stamp = date.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(opts.out, f"run-{stamp}.json")
    ratios, verdicts = evaluate(results)
    cores_summary = None
    if not opts.only or "cores" in opts.only:
        cores_summary, cores_verdicts = cores(cores_results, cores_note)
        verdicts[-1:-1] = cores_verdicts  # before the all-runs verdict
    run = {
        "date": date.isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "full": opts.full,
        "revision": git_revision(),
        "machine": machine(),
        "cpus": cpus,
        "binaries": {"pulse": os.path.relpath(pulse, ROOT), "loadgen": os.path.relpath(loadgen, ROOT),
                     "node": node_version(node)},
        "base": base,
        "peer": peer,
        "duration_s": round(time.monotonic() - started, 1),
        "file": os.path.relpath(path, ROOT),
        "ratios": ratios,
        "verdicts": verdicts,
        "two_nodes": two_nodes(results),
        "cores": cores_summary,
        "compression": compression(results),
        "auth": auth(results),
        "results": results,
    }
    # A run of the compression or auth scenario alone leaves the matrix's latest.md and plot as
    # they are.
    matrix_run = not opts.only or not set(opts.only) <= {"compression", "auth"}
    run["plot"] = plot(run, os.path.join(opts.out, "latest.svg")) if matrix_run else None
    if run["plot"]:
        run["plot"] = os.path.relpath(run["plot"], ROOT)
    with open(path, "w") as f:
        json.dump(run, f, indent=1)
        f.write("\n")
    written = [run["file"]]
    table = markdown(run)
    if matrix_run:
        with open(os.path.join(opts.out, "latest.md"), "w") as f:
            f.write(table)
        written.append(os.path.relpath(os.path.join(opts.out, "latest.md"), ROOT))
    if run["compression"]:
        head = [f"# Compression: Pulse's fan-out, permessage-deflate off and on", "",
                f"{run['date']}, `{run['command']}`, revision {run['revision']}. "
                f"Machine: {run['machine']['cpu_model']}, {run['machine']['cores']} cores. "
                f"Server pinned to CPU {run['cpus']['server']} (`--threads 1`), the load generator "
                f"to CPU {run['cpus']['loadgen']}. Raw results: `{run['file']}`. The ratios, "
                "measured back to back in one run, are the figures to compare.", ""]
        path_md = os.path.join(opts.out, "compression.md")
        with open(path_md, "w") as f:
            f.write("\n".join(head + compression_markdown(run)[2:]) + "\n")
        written.append(os.path.relpath(path_md, ROOT))
    print(table)
    log(f"\nwrote {', '.join(written)}" + (f", {run['plot']}" if run["plot"] else "")
        + f" in {run['duration_s']} s")


if __name__ == "__main__":
    main()
