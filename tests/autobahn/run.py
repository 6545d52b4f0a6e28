#!/usr/bin/env python3
"""Runs the Autobahn|Testsuite (the Python 3 port's fuzzing client) against pulse-autobahn-echo.

  tests/autobahn/run.py --server build/dev/bin/pulse-autobahn-echo \\
      --autobahn ../shared/autobahn --out build/autobahn/quick --set quick

The cases are dealt round-robin into --shards shards that run in parallel, each against echo
servers of its own: one with the message limit raised for 1-7 and 9 (9.x sends up to 16 MiB),
one with --compress for 12 and 13. Every server is stopped by its PID. Passes when every case is
OK, NON-STRICT or INFORMATIONAL; UNIMPLEMENTED (a server that did not agree to deflate), FAILED
and missing verdicts fail.

Sets: "full" is every case of 1-7, 9, 12 and 13; "quick" is 1-7, 9 and the first six sizes of
each 12.x and 13.x subcategory (the larger sizes are what makes the full run long).
"""

import argparse
import collections
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
PLAIN_PATTERNS = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*"]
DEFLATE_SUBCATEGORIES = ["12.%d" % i for i in range(1, 6)] + ["13.%d" % i for i in range(1, 8)]
LARGEST_MESSAGE_BYTES = 16 * 1024 * 1024  # 9.1.6 and 9.2.6


def list_cases(autobahn, patterns):
    """The case ids the suite selects for `patterns`, in its order."""
    out = subprocess.run(["/usr/bin/python3", os.path.join(autobahn, "run.py"), "--url", "ws://x/",
                          "--out", "/tmp", "--list", "--cases", ",".join(patterns)],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if re.fullmatch(r"\d+(\.\d+)+", line)]


def deal(cases, shards):
    """Round-robin, so that each shard gets its share of the slow cases."""
    return [cases[i::shards] for i in range(shards)]


class echo_server:
    """pulse-autobahn-echo on a free port, until stop()."""

    def __init__(self, binary, flags, log_path):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen([binary, "--port", "0"] + flags, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        match = re.match(r"listening on http://([\d.]+):(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError("%s did not start: %r (see %s)" % (binary, line, log_path))
        self.url = "ws://%s:%s/socket/websocket" % match.groups()
        # Nothing more is expected on stdout; drain it so that the server never blocks on a pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def run_shard(index, groups, args, results, lock):
    """Runs each (name, flags, cases) group of one shard against a server of its own."""
    for name, flags, cases in groups:
        if not cases:
            continue
        out = os.path.join(args.out, "shard%d-%s" % (index, name))
        os.makedirs(out, exist_ok=True)
        server = None
        verdicts = {}
        try:
            server = echo_server(args.server, flags, out + "/server.log")
            with open(out + "/client.log", "w") as log:
                subprocess.run(["/usr/bin/python3", os.path.join(args.autobahn, "run.py"),
                                "--url", server.url, "--cases", ",".join(cases), "--out", out,
                                "--agent", "pulse"], stdout=log, stderr=subprocess.STDOUT,
                               timeout=900)  # a client that hangs fails its cases, not the run
            verdicts = read_verdicts(out + "/verdicts.txt")
        except Exception as e:  # reported as missing verdicts below
            print("shard %d (%s): %s" % (index, name, e), file=sys.stderr)
        finally:
            if server:
                code = server.stop()
                if code not in (0, None):
                    print("shard %d (%s): the echo server exited with %s (see %s/server.log)"
                          % (index, name, code, out), file=sys.stderr)
                    verdicts = {case: "SERVER-EXIT-%s" % code for case in cases}
        with lock:
            for case in cases:
                results[case] = verdicts.get(case, "MISSING")


def read_verdicts(path):
    verdicts = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2:
                    verdicts[fields[0]] = fields[1]
    return verdicts


def case_key(case):
    return tuple(int(part) for part in case.split("."))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="the pulse-autobahn-echo binary")
    parser.add_argument("--autobahn", required=True, help="the Autobahn port's directory")
    parser.add_argument("--out", required=True, help="directory for reports and logs")
    parser.add_argument("--set", choices=["quick", "full"], default="quick")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--cases", help="comma separated case patterns instead of the set's "
                        "(12.* and 13.* run against the --compress server)")
    args = parser.parse_args()

    if args.cases:
        patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
        deflate_patterns = [p for p in patterns if p.split(".")[0] in ("12", "13")]
        plain_patterns = [p for p in patterns if p not in deflate_patterns]
    else:
        plain_patterns = PLAIN_PATTERNS
        deflate_patterns = [sub + ".*" for sub in DEFLATE_SUBCATEGORIES]
        if args.set == "quick":
            deflate_patterns = ["%s.%d" % (sub, size) for sub in DEFLATE_SUBCATEGORIES
                                for size in range(1, 7)]
    plain = list_cases(args.autobahn, plain_patterns) if plain_patterns else []
    deflate = list_cases(args.autobahn, deflate_patterns) if deflate_patterns else []
    plain_flags = ["--max-message-bytes", str(LARGEST_MESSAGE_BYTES)]
    deflate_flags = ["--compress"]
    shards = [[("plain", plain_flags, p), ("deflate", deflate_flags, d)]
              for p, d in zip(deal(plain, args.shards), deal(deflate, args.shards))]

    print("autobahn (%s): %d cases of 1-7 and 9, %d of 12 and 13 with --compress, in %d shards"
          % (args.set, len(plain), len(deflate), args.shards), flush=True)
    started = time.monotonic()
    results, lock = {}, threading.Lock()
    threads = [threading.Thread(target=run_shard, args=(i, groups, args, results, lock))
               for i, groups in enumerate(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    by_category = collections.OrderedDict()
    failures = []
    for case in sorted(results, key=case_key):
        verdict = results[case]
        category = case.split(".")[0]
        by_category.setdefault(category, collections.Counter())[verdict] += 1
        if verdict not in PASSING:
            failures.append("%s %s" % (case, verdict))
    for category, counts in by_category.items():
        print("  %-3s %s" % (category, ", ".join("%s %d" % (v, n) for v, n in sorted(counts.items()))))
    print("%d cases, %d failed, %.0f s (reports in %s)"
          % (len(results), len(failures), time.monotonic() - started, args.out))
    for line in failures:
        print("  failed: " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
