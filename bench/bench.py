#!/usr/bin/env python3
"""randapi's load benchmark. Run it through bench/run.sh, which builds and installs.

One run measures, with wrk (1 thread, 32 connections) on this machine's loopback:
  randapi (release build, LOG_FORMAT=json RUST_LOG=info, request lines written to a file):
    GET /health carrying the same Authorization header (it ignores it)
    GET / with one valid token
    GET / cycling through 5,000 distinct valid tokens (bench/tokens.lua)
    GET / cycling through 20,000 distinct tokens, more than the token cache holds (10,000)
    GET / with one token again, with RUST_LOG=warn (no request log lines): the log's cost
  the Express peer (bench/express, aws-jwt-verify), same JWKS and tokens:
    GET /health, GET / with one token, GET / with 5,000 distinct tokens
and prints req/s, p50, p99, server CPU per request (utime+stime from /proc/<pid>/stat), the
server's peak RSS (VmHWM) and each ratio to /health of the same server; then the time from exec
to the first accepted TCP connection.

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


def wrk(url, pid, args, seconds, warmup, header=None, tokens=None, count=0):
    cmd = ["wrk", "-t1", "-c32", "--latency"]
    env = dict(os.environ)
    if header:
        cmd += ["-H", header]
    if tokens:
        cmd += ["-s", str(BENCH / "tokens.lua")]
        env["TOKENS_FILE"] = str(tokens)
        env["TOKENS_COUNT"] = str(count)
    if warmup:
        subprocess.run(cmd + [f"-d{warmup}s", url], env=env, check=True, capture_output=True)
    before = cpu_seconds(pid)
    out = subprocess.run(cmd + [f"-d{seconds}s", url], env=env, check=True,
                         capture_output=True, text=True).stdout
    after = cpu_seconds(pid)
    result = parse_wrk(out)
    result["cpu_us"] = (after - before) / max(result["requests"], 1) * 1e6
    result["cpu_s"] = after - before
    result["vmhwm_kib"] = status_kib(pid, "VmHWM")
    if args.verbose:
        print(out, file=sys.stderr)
    return result


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
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    randapi = ROOT / "target" / "release" / "randapi"
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

    # A fresh key, its JWKS and 20,000 distinct access tokens (two hours of validity).
    tokens = out / "tokens.txt"
    t0 = time.perf_counter()
    subprocess.run([str(maker), str(out), "20000", ISSUER, CLIENT_ID], check=True)
    print(f"made 20,000 tokens in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
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

        results = {"machine": info, "randapi": {}, "express": {}, "startup_ms": {}}

        def run_randapi(rust_log, cases):
            port = free_port()
            env = dict(os.environ, PORT=str(port), HOST="127.0.0.1",
                       COGNITO_ISSUER=ISSUER, COGNITO_CLIENT_IDS=CLIENT_ID,
                       COGNITO_JWKS_URL=jwks_url, LOG_FORMAT="json", RUST_LOG=rust_log)
            log = out / f"randapi-{rust_log}.log"
            process, ms = launch([str(randapi)], env, port, log)
            children.append(process)
            base = f"http://127.0.0.1:{port}"
            # The first request waits for the first JWKS fetch; not part of any measurement.
            subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-H", header, base + "/"],
                           check=True)
            for name, kwargs in cases:
                print(f"randapi {name} ...", file=sys.stderr)
                results["randapi"][name] = wrk(base + kwargs.pop("path"), process.pid, args,
                                               args.seconds, args.warmup, **kwargs)
            with open(log, "rb") as f:
                lines = sum(1 for _ in f)
            results["randapi"]["_log_" + rust_log] = {"bytes": log.stat().st_size,
                                                      "lines": lines}
            stop(process)
            log.unlink()
            return ms

        results["startup_ms"]["randapi"] = run_randapi("info", [
            ("health", {"path": "/health", "header": header}),
            ("one token", {"path": "/", "header": header}),
            ("5,000 tokens", {"path": "/", "tokens": tokens, "count": 5000}),
            ("20,000 tokens", {"path": "/", "tokens": tokens, "count": 20000}),
        ])
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
                ("5,000 tokens", {"path": "/", "tokens": tokens, "count": 5000}),
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
    print("\n| server | case | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB "
          "| req/s ÷ /health | CPU ÷ /health |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for server in ("randapi", "express"):
        cases = {k: v for k, v in results[server].items() if not k.startswith("_")}
        health = cases.get("health")
        for name, r in cases.items():
            ratio = f"{r['rps'] / health['rps']:.2f}" if health else ""
            cpu_ratio = f"{r['cpu_us'] / health['cpu_us']:.2f}" if health else ""
            print(f"| {server} | {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['cpu_us']:.1f} | {r['vmhwm_kib'] / 1024:.1f} "
                  f"| {ratio} | {cpu_ratio} |")
    r, e = results["randapi"], results["express"]
    print()
    for name in ("one token", "5,000 tokens"):
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
