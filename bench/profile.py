#!/usr/bin/env python3
"""Where a request's CPU goes: one server under wrk (1 thread, 32 connections), sampled by
`perf record --call-graph dwarf`, each sample given to the part of the request it was in.

usage: bench/profile.py BINARY [--path /] [--tokens] [--seconds 5] [--hello] [KEY=VALUE ...]

BINARY is an unstripped release build (symbols are what the parts are found by):
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --bin randapi --target-dir target/prof
--tokens cycles through the 50,000 tokens of bench/tokens.lua instead of sending one; KEY=VALUE
sets randapi's environment (TOKEN_CACHE_MAX_BYTES=0: every request a miss); --hello runs
graceful-serve's examples/hello instead (no auth, no log; build it the same way with
-p graceful-serve --example hello). The tokens and JWKS are bench/run.sh's, in bench/out.

A sample inside the signature check or the request line belongs to it; any other belongs to the
first part, from its innermost frame outwards, whose pattern one of its frames matches: a malloc
inside the CORS layer counts as CORS. The µs column shares out the CPU
per request measured during the recording; perf's own overhead is in that figure, so compare
shares, or the parts of two runs recorded the same way. Needs perf (apt linux-perf) and wrk.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

# Parts that own every sample with one of their frames anywhere in its stack, checked first: the
# signature check's own SHA-256 and mallocs are the signature's.
WHOLE_STACK_PARTS = [
    ("auth: RS256 signature (jsonwebtoken, aws-lc)", r"verify_rs256|Verifier::verify|jsonwebtoken"),
    ("log: request line (format, buffer)", r"RequestLine::log|BufWriter<W>::flush_buf"),
]
# (part, pattern), matched against frames from the innermost outwards.
PARTS = [
    ("auth: SHA-256 of the token (cache key)", r"aws_lc_0_\d+_0_SHA256|sha256_block"),
    ("auth: token cache read", r"Authenticator::cached|token_cache|quick_cache"),
    ("auth: header, parse, claims, outcome", r"cognito_auth::"),
    ("handler: random number, JSON", r"routes::random_number|Json<T> as axum_core|routes::health"),
    ("axum: router, routes, boxed services", r"axum::routing|MethodRouter|Router<S>|ErasedIntoRoute"
                                             r"|boxed_clone_sync|axum::boxed|MapIntoResponse"),
    ("layer: request timeout", r"LimitRequestTime|limit_request_time|tokio::time::timeout"),
    ("layer: header size limit", r"LimitHeaderSize|limit_header_size"),
    ("layer: CORS (tower-http)", r"tower_http::cors"),
    ("layer: Host check", r"routes::host"),
    ("layer: request log, metrics", r"access_log|LogRequest|log_request|randapi::metrics"),
    ("layer: nosniff header", r"tower_http::set_header"),
    ("layer: axum from_fn", r"axum::middleware::from_fn"),
    ("serve loop: per-request service", r"graceful_serve::service"),
    ("kernel: send (writev)", r"__GI___writev|__writev"),
    ("kernel: receive", r"__libc_recv"),
    ("hyper: parse request", r"Http1Transaction>::parse|httparse|Buffered<T,B>::parse"),
    ("hyper: encode, write", r"Http1Transaction>::encode|write_head|poll_write|poll_flush"),
    ("hyper: other", r"hyper::"),
    ("runtime: epoll, park, wake-ups", r"epoll_wait|park|futex|syscall$|wake|tokio::runtime::io"
                                       r"|tokio::runtime::time"),
    ("serve loop: other", r"graceful_serve::"),
]


def classify(script_text):
    """Sample count per part from `perf script` output."""
    whole = [(part, re.compile(pattern)) for part, pattern in WHOLE_STACK_PARTS]
    compiled = [(part, re.compile(pattern)) for part, pattern in PARTS]
    counts, stack = Counter(), []

    def close():
        if not stack:
            return
        for part, pattern in whole:
            if any(pattern.search(frame) for frame in stack):
                counts[part] += 1
                return
        for frame in stack:
            for part, pattern in compiled:
                if pattern.search(frame):
                    counts[part] += 1
                    return
        counts["other"] += 1

    for line in script_text.splitlines():
        if not line.strip():
            close()
            stack = []
        elif line[0] in " \t":
            fields = line.split(None, 1)
            stack.append(fields[1] if len(fields) > 1 else fields[0])
    close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--path", default="/")
    parser.add_argument("--tokens", action="store_true", help="50,000 distinct tokens")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--hello", action="store_true", help="BINARY is examples/hello")
    parser.add_argument("env", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args()
    out = bench.BENCH / "out"
    token = (out / "tokens.txt").read_text().split("\n", 1)[0].strip()
    jwks, jwks_url = bench.serve_jwks(out)
    port = bench.free_port()
    extra = dict(item.split("=", 1) for item in args.env)
    env = (dict(os.environ, HOST="127.0.0.1", PORT=str(port)) if args.hello
           else bench.randapi_env(port, jwks_url, **extra))
    work = tempfile.mkdtemp(prefix="profile-")
    server, _ = bench.launch([args.binary], env, port, f"{work}/server.log")
    try:
        cmd = ["wrk", "-t1", "-c32", "-H", f"Authorization: Bearer {token}"]
        wrk_env = dict(os.environ)
        if args.tokens:
            cmd += ["-s", str(bench.BENCH / "tokens.lua")]
            wrk_env.update(TOKENS_FILE=str(out / "tokens.txt"), TOKENS_COUNT=str(bench.CYCLE))
        url = f"http://127.0.0.1:{port}{args.path}"
        subprocess.run(cmd + ["-d2s", url], env=wrk_env, check=True, capture_output=True)
        before = bench.cpu_seconds(server.pid)
        load = subprocess.Popen(cmd + [f"-d{args.seconds}s", url], env=wrk_env,
                                stdout=subprocess.PIPE, text=True)
        data = f"{work}/perf.data"
        subprocess.run(["perf", "record", "-F", "499", "--call-graph", "dwarf,32768", "-o", data,
                        "-p", str(server.pid), "--", "sleep", str(max(args.seconds - 1, 1))],
                       check=True, capture_output=True)
        result = bench.parse_wrk(load.communicate()[0])
        cpu_us = (bench.cpu_seconds(server.pid) - before) / max(result["requests"], 1) * 1e6
    finally:
        bench.stop(server)
        jwks.terminate()
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym", "--no-inline"],
                            check=True, capture_output=True, text=True).stdout
    counts = classify(script)
    total = sum(counts.values())
    print(f"{args.binary} {args.path}{' (50,000 tokens)' if args.tokens else ''} "
          f"{' '.join(args.env)}: {result['rps']:,.0f} req/s, {cpu_us:.1f} µs CPU per request "
          f"while recorded, {total} samples")
    print("| part | share | µs per request |\n| --- | ---: | ---: |")
    for part, n in counts.most_common():
        print(f"| {part} | {100 * n / total:.1f} % | {cpu_us * n / total:.2f} |")


if __name__ == "__main__":
    main()
