#!/usr/bin/env python3
"""randapi's load benchmark. Run it through bench/run.sh, which builds and installs.

One run measures, with wrk (1 thread, 32 connections) on this machine's loopback, for each
randapi build given with --build NAME=PATH (the first is the reference the others are divided by):
  randapi (LOG_FORMAT=json RUST_LOG=info, request lines written to a file, METRICS_INTERVAL=1s so
  the token-cache hits and misses of each case can be read back):
    GET /health carrying the same Authorization header (it ignores it)
    GET / with one valid token
    GET / cycling through 50,000 distinct valid tokens (bench/tokens.lua)
    GET / with the token of a user drawn from Zipf(s = 1.0) over 100,000 users (bench/zipf.lua);
      the hit ratio is printed beside the ideal one: the share of requests that go to the N
      most popular users, N = the entries the cache holds at the end of the case
  randapi with the token cache off (TOKEN_CACHE_MAX_BYTES=0):
    GET /health, and GET / cycling through 50,000 tokens: every request verifies a signature
  randapi with RUST_LOG=warn (no request log lines): GET / with one token, the log's cost
then the calibration server (graceful-serve's examples/hello: the same serve loop, no auth, no
log): GET /health and GET /, with the same header; and the Express peer (bench/express,
aws-jwt-verify), same JWKS and tokens: GET /health, GET / with one token and with 50,000 tokens.
It prints req/s, p50, p99, server CPU per request (utime+stime from /proc/<pid>/stat, and each
apart: user time is the server's code, system time mostly loopback TCP), the server's peak RSS
during the case (VmHWM, reset before each case through clear_refs), each ratio to /health of the
same server, each build's req/s divided by the first build's, randapi against
hello and Express, and the time from exec to the first accepted TCP connection.

`--cache-off-only` runs just the cache-off server of each build (the miss path: its CPU above
`/health`), without hello or Express. `--rounds N` repeats everything N times, alternating the
order of the builds, and reports the medians; `--reuse-tokens` keeps the tokens of the previous run in the work directory.
`--pin` runs wrk on CPU 0 and every server on the other CPUs (taskset), as a server in production
does not share its cores with its clients; without it the scheduler places them.

Only the Python standard library is used. Everything it starts listens on 127.0.0.1 on free
ports and is stopped at the end.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
ISSUER_POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{ISSUER_POOL}"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"
CLK_TCK = os.sysconf("SC_CLK_TCK")
USERS = 100_000
CYCLE = 50_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_times(pid):
    """(utime, stime) of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    return sum(cpu_times(pid))


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def serve_jwks(directory):
    """`python3 -m http.server` on 127.0.0.1 for the JWKS in `directory`, once it accepts
    connections: (process, JWKS URL). The caller stops the process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, f"http://127.0.0.1:{port}/jwks.json"
        except OSError:
            if time.time() > deadline:
                process.kill()
                raise SystemExit("the JWKS server did not start")
            time.sleep(0.05)


def randapi_env(port, jwks_url, **extra):
    """The environment randapi runs with in every benchmark: 127.0.0.1:`port`, the bench pool's
    issuer and client, the JWKS at `jwks_url`, JSON request lines at info; `extra` overrides."""
    return dict(os.environ, **{"PORT": str(port), "HOST": "127.0.0.1", "COGNITO_ISSUER": ISSUER,
                               "COGNITO_CLIENT_IDS": CLIENT_ID, "COGNITO_JWKS_URL": jwks_url,
                               "LOG_FORMAT": "json", "RUST_LOG": "info", **extra})


# With --pin: (wrk's CPUs, the servers' CPUs), as taskset lists; None shares every CPU.
PIN = None
# The two roles --pin places, as indexes into PIN.
WRK, SERVER = 0, 1


def pinned(cmd, role):
    """`cmd` run on the CPUs --pin gives `role` (WRK or SERVER)."""
    return ["taskset", "-c", PIN[role]] + cmd if PIN else cmd


def launch(cmd, env, port, log_path, timeout=30):
    """Starts `cmd`; returns (process, ms from exec to the first accepted TCP connection).
    It must listen within `timeout` seconds."""
    log = open(log_path, "wb")
    started = time.perf_counter()
    process = subprocess.Popen(pinned(cmd, SERVER), env=env, stdout=log,
                               stderr=subprocess.STDOUT, cwd=ROOT)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return process, (time.perf_counter() - started) * 1000
        except OSError:
            time.sleep(0.0005)
        if time.perf_counter() - started > timeout:
            process.kill()
            raise SystemExit(f"{cmd[0]} did not listen within {timeout} s; see {log_path}")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(text):
    def latency(pct):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    requests = int(re.search(r"(\d+) requests in", text).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests": requests,
        "rps": rps,
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux 4.0+), so each case reports its own peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def emf_totals(log_path):
    """Sums the counters of every EMF metrics line in the server's log so far; also returns
    the gauges of the last line."""
    totals, last = {}, {}
    if log_path is None or not log_path.exists():
        return totals, last
    with open(log_path, "rb") as f:
        for raw in f:
            if b'"_aws"' not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                name = metric["Name"]
                if metric.get("Unit") == "Count" and name != "TokenCacheSize":
                    totals[name] = totals.get(name, 0) + line.get(name, 0)
                else:
                    last[name] = line.get(name)
            last["TokenCacheSize"] = line.get("TokenCacheSize")
    return totals, last


def wrk(url, pid, args, seconds, warmup, header=None, tokens=None, count=0, script="tokens.lua",
        log=None):
    cmd = pinned(["wrk", "-t1", "-c32", "--latency"], WRK)
    env = dict(os.environ)
    if header:
        cmd += ["-H", header]
    if tokens:
        cmd += ["-s", str(BENCH / script)]
        env["TOKENS_FILE"] = str(tokens)
        env["TOKENS_COUNT"] = str(count)
    peak_reset = reset_peak_rss(pid)
    if warmup:
        subprocess.run(cmd + [f"-d{warmup}s", url], env=env, check=True, capture_output=True)
    if log:
        # Let the 1 s metrics line carry the warm-up's lookups before counting.
        time.sleep(1.2)
    counted_before, _ = emf_totals(log)
    user_before, sys_before = cpu_times(pid)
    out = subprocess.run(cmd + [f"-d{seconds}s", url], env=env, check=True,
                         capture_output=True, text=True).stdout
    user_after, sys_after = cpu_times(pid)
    result = parse_wrk(out)
    per_request = 1e6 / max(result["requests"], 1)
    # User time is the server's own code; system time is mostly the loopback TCP of each
    # exchange, and it grows per request as the rate falls (fewer answers per wake-up of wrk).
    result["user_us"] = (user_after - user_before) * per_request
    result["sys_us"] = (sys_after - sys_before) * per_request
    result["cpu_us"] = result["user_us"] + result["sys_us"]
    result["cpu_s"] = (user_after - user_before) + (sys_after - sys_before)
    result["vmhwm_kib"] = status_kib(pid, "VmHWM")
    result["peak_is_per_case"] = peak_reset
    if log:
        time.sleep(1.2)
        counted_after, gauges = emf_totals(log)
        hits = counted_after.get("TokenCacheHits", 0) - counted_before.get("TokenCacheHits", 0)
        misses = (counted_after.get("TokenCacheMisses", 0)
                  - counted_before.get("TokenCacheMisses", 0))
        if hits + misses:
            result["hits"], result["misses"] = hits, misses
            result["cache_entries"] = gauges.get("TokenCacheSize")
            result["cache_bytes"] = gauges.get("TokenCacheBytes")
    if args.verbose:
        print(out, file=sys.stderr)
    return result


def zipf_top_share(top, users, s=1.0):
    """Share of Zipf(s) requests over `users` that go to the `top` most popular ones."""
    weights = [1.0 / k ** s for k in range(1, users + 1)]
    return sum(weights[:top]) / sum(weights)


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
    }


def busiest():
    out = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True,
                         text=True).stdout.splitlines()[1:6]
    return [" ".join(line.split()) for line in out]


def parse_build(text):
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH, for example glibc=target/release/randapi")
    return name, Path(path).resolve()


class Session:
    """The JWKS server, the tokens and every case measured so far, by server and case."""

    def __init__(self, args, out, jwks_url, tokens, header):
        self.args, self.out, self.jwks_url = args, out, jwks_url
        self.tokens, self.header = tokens, header
        self.children = []
        # server -> case -> one result per round
        self.rounds = {}
        self.startup_ms = {}

    def start(self, name, cmd, env, port):
        log = self.out / f"{name.replace(' ', '_').replace('/', '_')}.log"
        process, ms = launch(cmd, env, port, log)
        self.children.append(process)
        self.startup_ms.setdefault(name, []).append(ms)
        base = f"http://127.0.0.1:{port}"
        # The first request waits for the first JWKS fetch; not part of any measurement.
        subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-H", self.header, base + "/"],
                       check=True)
        return process, base, log

    def measure(self, server, process, base, cases, log=None):
        for case, kwargs in cases:
            kwargs = dict(kwargs)
            print(f"{server}: {case} ...", file=sys.stderr)
            result = wrk(base + kwargs.pop("path"), process.pid, self.args, self.args.seconds,
                         self.args.warmup, log=log, **kwargs)
            self.rounds.setdefault(server, {}).setdefault(case, []).append(result)

    def randapi(self, name, binary):
        """The whole suite against one build of randapi: three processes, as configured."""
        tokens, header = self.tokens, self.header
        for label, rust_log, extra, cases in [
            ("", "info", {}, [
                ("health", {"path": "/health", "header": header}),
                ("one token", {"path": "/", "header": header}),
                ("50,000 tokens", {"path": "/", "tokens": tokens, "count": CYCLE}),
                ("Zipf 100,000 users", {"path": "/", "tokens": tokens, "count": USERS,
                                        "script": "zipf.lua"}),
            ]),
            (" cache off", "info", {"TOKEN_CACHE_MAX_BYTES": "0"}, [
                ("health, cache off", {"path": "/health", "header": header}),
                ("50,000 tokens, cache off", {"path": "/", "tokens": tokens, "count": CYCLE}),
            ]),
            (" warn", "warn", {}, [
                ("one token, RUST_LOG=warn", {"path": "/", "header": header}),
            ]),
        ]:
            if self.args.cache_off_only and label != " cache off":
                continue
            port = free_port()
            env = randapi_env(port, self.jwks_url, RUST_LOG=rust_log, METRICS_INTERVAL="1s",
                              **extra)
            process, base, log = self.start(name + label, [str(binary)], env, port)
            self.measure(name, process, base, cases, log=log)
            if not label:
                with open(log, "rb") as f:
                    lines = sum(1 for raw in f if b'"_aws"' not in raw)
                self.rounds[name].setdefault("_log", []).append(
                    {"bytes": log.stat().st_size, "lines": lines})
            stop(process)
            log.unlink()

    def hello(self, binary):
        """graceful-serve's examples/hello: the serve loop alone, no auth, no log."""
        port = free_port()
        process, base, log = self.start("hello", [str(binary), str(port)], dict(os.environ),
                                        port)
        self.measure("hello", process, base, [
            ("health", {"path": "/health", "header": self.header}),
            ("GET /", {"path": "/", "header": self.header}),
        ])
        stop(process)
        log.unlink()

    def express(self):
        port = free_port()
        env = dict(os.environ, PORT=str(port), USER_POOL_ID=ISSUER_POOL, CLIENT_ID=CLIENT_ID,
                   JWKS_URL=self.jwks_url, NODE_ENV="production")
        process, base, _ = self.start("express", ["node", str(BENCH / "express" / "server.js")],
                                      env, port)
        self.measure("express", process, base, [
            ("health", {"path": "/health", "header": self.header}),
            ("one token", {"path": "/", "header": self.header}),
            ("50,000 tokens", {"path": "/", "tokens": self.tokens, "count": CYCLE}),
        ])
        stop(process)

    def stop_all(self):
        for child in self.children:
            stop(child)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def medians(rounds):
    """server -> case -> one result whose numbers are the medians over the rounds."""
    summary = {}
    for server, cases in rounds.items():
        for case, results in cases.items():
            merged = dict(results[-1])
            for key, value in results[-1].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    merged[key] = median([r[key] for r in results if key in r])
            merged["rounds"] = len(results)
            summary.setdefault(server, {})[case] = merged
    return summary


def main():
    global PIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per case")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per case")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat every server's cases this many times, alternating; the "
                        "tables show the median of the rounds")
    parser.add_argument("--out", default=str(BENCH / "out"), help="work directory")
    parser.add_argument("--build", action="append", type=parse_build, metavar="NAME=PATH",
                        help="a randapi build to measure; repeat for several, measured back to "
                        "back and compared with the first (default: glibc=target/release/randapi)")
    parser.add_argument("--hello", default=str(ROOT / "target" / "release" / "examples" / "hello"),
                        help="graceful-serve's hello example, the calibration server")
    parser.add_argument("--no-hello", action="store_true", help="skip the calibration server")
    parser.add_argument("--no-express", action="store_true", help="skip the Express peer")
    parser.add_argument("--cache-off-only", action="store_true",
                        help="only randapi's token-cache-off cases (the miss path), no peers")
    parser.add_argument("--pin", action="store_true",
                        help="run wrk on CPU 0 and the servers on the other CPUs (taskset), so "
                        "the load generator does not share a core with the server it measures, "
                        "as in production; needs 2 or more CPUs")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrk's output")
    parser.add_argument("--reuse-tokens", action="store_true",
                        help="keep the key and tokens already in the work directory")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    builds = args.build or [("glibc", ROOT / "target" / "release" / "randapi")]
    if len({name for name, _ in builds}) != len(builds):
        parser.error("two --build arguments have the same NAME")
    if args.pin:
        if (os.cpu_count() or 1) < 2:
            parser.error("--pin needs 2 or more CPUs")
        PIN = ("0", f"1-{os.cpu_count() - 1}")
    if args.cache_off_only:
        args.no_hello = args.no_express = True
    hello = None if args.no_hello else Path(args.hello)
    maker = ROOT / "target" / "release" / "examples" / "bench_tokens"
    for binary in [path for _, path in builds] + [maker] + ([hello] if hello else []):
        if not binary.exists():
            raise SystemExit(f"{binary} is missing: run bench/run.sh (it builds it)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run bench/run.sh (it installs it)")

    info = machine()
    info["busiest_before"] = busiest()
    info["pinned"] = {"wrk": PIN[0], "servers": PIN[1]} if PIN else None
    print(f"machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
          f"load {' '.join(info['loadavg'])}"
          + (f"; wrk on CPU {PIN[0]}, servers on CPU {PIN[1]}" if PIN else ""), file=sys.stderr)

    # A fresh key, its JWKS and 100,000 distinct access tokens (two hours of validity).
    tokens = out / "tokens.txt"
    fresh = (tokens.exists() and (out / "jwks.json").exists()
             and time.time() - tokens.stat().st_mtime < 3600
             and sum(1 for _ in open(tokens)) >= USERS)
    if not (args.reuse_tokens and fresh):
        t0 = time.perf_counter()
        subprocess.run([str(maker), str(out), str(USERS), ISSUER, CLIENT_ID], check=True)
        print(f"made {USERS:,} tokens in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    header = f"Authorization: Bearer {tokens.read_text().split(chr(10), 1)[0]}"

    jwks_server, jwks_url = serve_jwks(out)
    session = Session(args, out, jwks_url, tokens, header)
    session.children.append(jwks_server)
    try:
        for round_number in range(args.rounds):
            if args.rounds > 1:
                print(f"round {round_number + 1} of {args.rounds}", file=sys.stderr)
            # Alternate the order each round, so neither build always runs first.
            order = builds if round_number % 2 == 0 else builds[::-1]
            for name, binary in order:
                session.randapi(name, binary)
            if hello:
                session.hello(hello)
            if not args.no_express:
                session.express()
    finally:
        session.stop_all()

    info["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    results = {"machine": info, "builds": {name: str(path) for name, path in builds},
               "hello": str(hello) if hello else None, "rounds": session.rounds,
               "startup_ms": {k: median(v) for k, v in session.startup_ms.items()}}
    summary = medians(session.rounds)
    report(results, summary, [name for name, _ in builds])
    if args.json:
        Path(args.json).write_text(json.dumps(dict(results, medians=summary), indent=2))
    failed = [f"{server} {case}" for server, cases in session.rounds.items()
              for case, results in cases.items() if not case.startswith("_")
              for r in results if r["non_2xx"] or r["socket_errors"]]
    if failed:
        raise SystemExit(f"some responses were not 2xx or sockets failed: {', '.join(failed)}")


def ratio_to_health(cases, case):
    """The case's /health: "x, cache off" beside "health, cache off"; hello's GET / beside its
    /health; None when the server has no such case."""
    variant = case.split(", ", 1)[1] if ", " in case else ""
    return cases.get("health, " + variant if variant else "health")


def report(results, summary, builds):
    info = results["machine"]
    print(f"\nMachine: {info['nproc']} cores, {info['cpu']}, Linux {info['kernel']}; "
          f"{info['wrk']}; node {info['node']}")
    print(f"Load average before/after: {' '.join(info['loadavg'])} / "
          f"{' '.join(info['loadavg_after'])}")
    print("Busiest processes before: " + "; ".join(info["busiest_before"]))
    if info.get("pinned"):
        print(f"Pinned (--pin): wrk on CPU {info['pinned']['wrk']}, "
              f"servers on CPU {info['pinned']['servers']}")
    for name in builds:
        print(f"Build {name}: {results['builds'][name]}")
    if results["hello"]:
        print(f"Calibration (hello): {results['hello']}")
    rounds = max(r["rounds"] for cases in summary.values() for r in cases.values())
    if rounds > 1:
        print(f"Medians of {rounds} rounds, builds alternating.")
    print("\n| server | case | req/s | p50 ms | p99 ms | CPU µs/req | user + sys µs | peak RSS MiB "
          "| req/s ÷ /health | CPU − /health µs | user − /health µs | cache hits |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for server in builds + ["hello", "express"]:
        cases = {k: v for k, v in summary.get(server, {}).items() if not k.startswith("_")}
        for name, r in cases.items():
            health = ratio_to_health(cases, name)
            ratio = f"{r['rps'] / health['rps']:.2f}" if health and health is not r else ""
            above = health and health is not r
            extra = f"{r['cpu_us'] - health['cpu_us']:+.1f}" if above else ""
            user_extra = f"{r['user_us'] - health['user_us']:+.1f}" if above else ""
            hits = ""
            if r.get("hits") is not None and r.get("misses") is not None:
                hits = f"{100 * r['hits'] / max(r['hits'] + r['misses'], 1):.1f} %"
            print(f"| {server} | {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['cpu_us']:.1f} | {r['user_us']:.1f} + {r['sys_us']:.1f} "
                  f"| {r['vmhwm_kib'] / 1024:.1f} | {ratio} | {extra} | {user_extra} | {hits} |")

    if len(builds) > 1:
        first = builds[0]
        print(f"\nEach build's req/s ÷ {first}'s, same session:")
        print("| case | " + " | ".join(builds[1:]) + " |")
        print("| --- |" + " ---: |" * (len(builds) - 1))
        for case, reference in summary[first].items():
            if case.startswith("_"):
                continue
            cells = [f"{summary[b][case]['rps'] / reference['rps']:.2f}"
                     if case in summary.get(b, {}) else "" for b in builds[1:]]
            print(f"| {case} | " + " | ".join(cells) + " |")

    hello, express = summary.get("hello", {}), summary.get("express", {})
    print()
    for name in builds:
        r = summary[name]
        parts = []
        if "one token" not in r:
            continue
        if "GET /" in hello:
            parts.append(f"one token ÷ hello GET / {r['one token']['rps'] / hello['GET /']['rps']:.2f}")
            parts.append(f"/health ÷ hello /health {r['health']['rps'] / hello['health']['rps']:.2f}")
        if "one token" in express:
            parts.append(f"÷ Express, one token {r['one token']['rps'] / express['one token']['rps']:.1f}× "
                         f"req/s, {express['one token']['cpu_us'] / r['one token']['cpu_us']:.1f}× "
                         "less CPU per request")
        if "50,000 tokens" in express:
            parts.append(f"÷ Express, 50,000 tokens "
                         f"{r['50,000 tokens']['rps'] / express['50,000 tokens']['rps']:.1f}× req/s")
        a, b = r["one token"], r["one token, RUST_LOG=warn"]
        parts.append(f"request log {a['cpu_us'] - b['cpu_us']:.1f} µs CPU per request")
        log = r.get("_log")
        if log and log["lines"]:
            parts.append(f"{log['bytes'] / log['lines']:.0f} bytes per log line")
        zipf = r.get("Zipf 100,000 users")
        if zipf and zipf.get("cache_entries"):
            held = int(zipf["cache_entries"])
            ideal = zipf_top_share(held, USERS)
            hit = zipf["hits"] / max(zipf["hits"] + zipf["misses"], 1)
            parts.append(f"Zipf hit ratio {100 * hit:.1f} % vs ideal {100 * ideal:.1f} % "
                         f"({held:,} entries, {(zipf.get('cache_bytes') or 0) / 2**20:.1f} MiB)")
        print(f"{name}: " + "; ".join(parts))
    for server, ms in results["startup_ms"].items():
        print(f"{server}: exec to first accepted TCP connection: {ms:.1f} ms")


if __name__ == "__main__":
    main()
