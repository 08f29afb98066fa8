#!/usr/bin/env python3
"""randapi's load benchmark. Run it through bench/run.sh, which builds and installs.

One run measures, with wrk (1 thread, 32 connections) on this machine's loopback:
  randapi (release build, LOG_FORMAT=json RUST_LOG=info, request lines written to a file,
  METRICS_INTERVAL=1s so the token-cache hits and misses of each case can be read back):
    GET /health carrying the same Authorization header (it ignores it)
    GET / with one valid token
    GET / cycling through 50,000 distinct valid tokens (bench/tokens.lua)
    GET / with the token of a user drawn from Zipf(s = 1.0) over 100,000 users (bench/zipf.lua);
      the hit ratio is printed beside the ideal one: the share of requests that go to the N
      most popular users, N = the entries the cache holds at the end of the case
  randapi with the token cache off (TOKEN_CACHE_MAX_BYTES=0):
    GET /health, and GET / cycling through 50,000 tokens: every request verifies a signature
  randapi with RUST_LOG=warn (no request log lines): GET / with one token, the log's cost
  the Express peer (bench/express, aws-jwt-verify), same JWKS and tokens:
    GET /health, GET / with one token, GET / with 50,000 distinct tokens
and prints req/s, p50, p99, server CPU per request (utime+stime from /proc/<pid>/stat), the
server's peak RSS during the case (VmHWM, reset before each case through clear_refs) and each
ratio to /health of the same server; then the time from exec to the first accepted TCP
connection.

`--randapi PATH` measures another build of randapi (for a before/after comparison in one
session); `--reuse-tokens` keeps the tokens of the previous run in the work directory.

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


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def launch(cmd, env, port, log_path):
    """Starts `cmd`; returns (process, ms from exec to the first accepted TCP connection)."""
    log = open(log_path, "wb")
    started = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return process, (time.perf_counter() - started) * 1000
        except OSError:
            time.sleep(0.0005)
        if time.perf_counter() - started > 30:
            process.kill()
            raise SystemExit(f"{cmd[0]} did not listen within 30 s; see {log_path}")


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
    cmd = ["wrk", "-t1", "-c32", "--latency"]
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
    before = cpu_seconds(pid)
    out = subprocess.run(cmd + [f"-d{seconds}s", url], env=env, check=True,
                         capture_output=True, text=True).stdout
    after = cpu_seconds(pid)
    result = parse_wrk(out)
    result["cpu_us"] = (after - before) / max(result["requests"], 1) * 1e6
    result["cpu_s"] = after - before
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per case")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per case")
    parser.add_argument("--out", default=str(BENCH / "out"), help="work directory")
    parser.add_argument("--no-express", action="store_true", help="skip the Express peer")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrk's output")
    parser.add_argument("--randapi", help="the randapi binary to measure "
                        "(default: target/release/randapi)")
    parser.add_argument("--reuse-tokens", action="store_true",
                        help="keep the key and tokens already in the work directory")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    randapi = Path(args.randapi).resolve() if args.randapi else ROOT / "target" / "release" / "randapi"
    maker = ROOT / "target" / "release" / "examples" / "bench_tokens"
    for binary in (randapi, maker):
        if not binary.exists():
            raise SystemExit(f"{binary} is missing: run bench/run.sh (it builds it)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run bench/run.sh (it installs it)")

    info = machine()
    info["busiest_before"] = busiest()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, kernel {info['kernel']}, "
          f"load {' '.join(info['loadavg'])}", file=sys.stderr)

    # A fresh key, its JWKS and 100,000 distinct access tokens (two hours of validity).
    tokens = out / "tokens.txt"
    fresh = (tokens.exists() and (out / "jwks.json").exists()
             and time.time() - tokens.stat().st_mtime < 3600
             and sum(1 for _ in open(tokens)) >= USERS)
    if not (args.reuse_tokens and fresh):
        t0 = time.perf_counter()
        subprocess.run([str(maker), str(out), str(USERS), ISSUER, CLIENT_ID], check=True)
        print(f"made {USERS:,} tokens in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    one_token = tokens.read_text().split("\n", 1)[0]
    header = f"Authorization: Bearer {one_token}"

    children = []
    try:
        jwks_port = free_port()
        jwks_server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(jwks_port), "--bind", "127.0.0.1",
             "--directory", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(jwks_server)
        jwks_url = f"http://127.0.0.1:{jwks_port}/jwks.json"
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", jwks_port), timeout=0.1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the JWKS server did not start")
                time.sleep(0.05)

        results = {"machine": info, "randapi": {}, "express": {}, "startup_ms": {},
                   "binary": str(randapi)}

        def run_randapi(rust_log, cases, label="", **extra_env):
            port = free_port()
            env = dict(os.environ, PORT=str(port), HOST="127.0.0.1",
                       COGNITO_ISSUER=ISSUER, COGNITO_CLIENT_IDS=CLIENT_ID,
                       COGNITO_JWKS_URL=jwks_url, LOG_FORMAT="json", RUST_LOG=rust_log,
                       METRICS_INTERVAL="1s", **extra_env)
            log = out / f"randapi-{rust_log}{label}.log"
            process, ms = launch([str(randapi)], env, port, log)
            children.append(process)
            base = f"http://127.0.0.1:{port}"
            # The first request waits for the first JWKS fetch; not part of any measurement.
            subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-H", header, base + "/"],
                           check=True)
            for name, kwargs in cases:
                print(f"randapi {name} ...", file=sys.stderr)
                results["randapi"][name] = wrk(base + kwargs.pop("path"), process.pid, args,
                                               args.seconds, args.warmup, log=log, **kwargs)
            with open(log, "rb") as f:
                lines = sum(1 for raw in f if b'"_aws"' not in raw)
            results["randapi"]["_log_" + rust_log + label] = {"bytes": log.stat().st_size,
                                                              "lines": lines}
            stop(process)
            log.unlink()
            return ms

        results["startup_ms"]["randapi"] = run_randapi("info", [
            ("health", {"path": "/health", "header": header}),
            ("one token", {"path": "/", "header": header}),
            ("50,000 tokens", {"path": "/", "tokens": tokens, "count": CYCLE}),
            ("Zipf 100,000 users", {"path": "/", "tokens": tokens, "count": USERS,
                                    "script": "zipf.lua"}),
        ])
        run_randapi("info", [
            ("health, cache off", {"path": "/health", "header": header}),
            ("50,000 tokens, cache off", {"path": "/", "tokens": tokens, "count": CYCLE}),
        ], label="-nocache", TOKEN_CACHE_MAX_BYTES="0")
        run_randapi("warn", [
            ("one token, RUST_LOG=warn", {"path": "/", "header": header}),
        ])

        if not args.no_express:
            port = free_port()
            env = dict(os.environ, PORT=str(port), USER_POOL_ID=ISSUER_POOL,
                       CLIENT_ID=CLIENT_ID, JWKS_URL=jwks_url, NODE_ENV="production")
            process, ms = launch(["node", str(BENCH / "express" / "server.js")], env, port,
                                 out / "express.log")
            children.append(process)
            results["startup_ms"]["express"] = ms
            base = f"http://127.0.0.1:{port}"
            subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-H", header, base + "/"],
                           check=True)
            for name, kwargs in [
                ("health", {"path": "/health", "header": header}),
                ("one token", {"path": "/", "header": header}),
                ("50,000 tokens", {"path": "/", "tokens": tokens, "count": CYCLE}),
            ]:
                print(f"express {name} ...", file=sys.stderr)
                results["express"][name] = wrk(base + kwargs.pop("path"), process.pid, args,
                                               args.seconds, args.warmup, **kwargs)
            stop(process)
    finally:
        for child in children:
            stop(child)

    info["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    failed = [f"{server} {name}" for server in ("randapi", "express")
              for name, r in results[server].items()
              if not name.startswith("_") and (r["non_2xx"] or r["socket_errors"])]
    if failed:
        raise SystemExit(f"some responses were not 2xx or sockets failed: {', '.join(failed)}")


def report(results):
    info = results["machine"]
    print(f"\nMachine: {info['nproc']} cores, {info['cpu']}, Linux {info['kernel']}; "
          f"{info['wrk']}; node {info['node']}")
    print(f"Load average before/after: {' '.join(info['loadavg'])} / "
          f"{' '.join(info['loadavg_after'])}")
    print("Busiest processes before: " + "; ".join(info["busiest_before"]))
    print(f"Binary: {results.get('binary', '')}")
    print("\n| server | case | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB "
          "| req/s ÷ /health | CPU − /health µs | cache hits |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for server in ("randapi", "express"):
        cases = {k: v for k, v in results[server].items() if not k.startswith("_")}
        for name, r in cases.items():
            # Each case beside /health of its own server: "x, cache off" beside
            # "health, cache off"; a server without a /health case gets no ratio.
            variant = name.split(", ", 1)[1] if ", " in name else ""
            health = cases.get("health, " + variant if variant else "health")
            ratio = f"{r['rps'] / health['rps']:.2f}" if health else ""
            extra = f"{r['cpu_us'] - health['cpu_us']:+.1f}" if health else ""
            hits = ""
            if "hits" in r:
                hits = f"{100 * r['hits'] / (r['hits'] + r['misses']):.1f} %"
            print(f"| {server} | {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['cpu_us']:.1f} | {r['vmhwm_kib'] / 1024:.1f} "
                  f"| {ratio} | {extra} | {hits} |")
    r, e = results["randapi"], results["express"]
    print()
    zipf = r.get("Zipf 100,000 users")
    if zipf and zipf.get("cache_entries"):
        held = int(zipf["cache_entries"])
        ideal = zipf_top_share(held, USERS)
        ratio = zipf["hits"] / (zipf["hits"] + zipf["misses"])
        print(f"Zipf(s=1.0) over {USERS:,} users: hit ratio {100 * ratio:.1f} % vs ideal "
              f"{100 * ideal:.1f} % (top-{held:,} share; the cache held {held:,} entries, "
              f"{(zipf.get('cache_bytes') or 0) / 2**20:.1f} MiB): "
              f"{abs(100 * (ideal - ratio)):.1f} points {'below' if ideal > ratio else 'above'} it")
    elif zipf:
        print("Zipf: no hit ratio (this build writes no metrics lines)")
    for name in ("one token", "50,000 tokens"):
        if name in r and name in e:
            print(f"randapi ÷ express, {name}: {r[name]['rps'] / e[name]['rps']:.1f}× req/s, "
                  f"{e[name]['cpu_us'] / r[name]['cpu_us']:.1f}× less CPU per request")
    if "one token" in r and "one token, RUST_LOG=warn" in r:
        a, b = r["one token"], r["one token, RUST_LOG=warn"]
        print(f"request log (LOG_FORMAT=json RUST_LOG=info vs warn), one token: "
              f"{a['cpu_us'] - b['cpu_us']:.1f} µs CPU per request, "
              f"req/s {a['rps']:,.0f} vs {b['rps']:,.0f}")
        log = r.get("_log_info")
        if log and log["lines"]:
            print(f"request log: {log['lines']:,} lines, {log['bytes'] / log['lines']:.0f} "
                  f"bytes per line on average")
    for server, ms in results["startup_ms"].items():
        print(f"{server}: exec to first accepted TCP connection: {ms:.1f} ms")


if __name__ == "__main__":
    main()
