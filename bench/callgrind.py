#!/usr/bin/env python3
"""Instructions per request (valgrind callgrind, deterministic on a noisy machine). Each build
runs under callgrind with TOKEN_CACHE_MAX_BYTES=0, three times, each ending with SIGTERM (the
dump at exit): Z = start + warm-up (100 GET /health, 100 GET / with distinct tokens);
H = Z + N GET /health; M = H + N GET / with N other distinct tokens, on one keep-alive
connection. /health = (H - Z) / N, GET / cache off = (M - H) / N.
usage: bench/miss_callgrind.py N name=path [name=path ...]   (valgrind from apt; the tokens of
bench/run.sh in $BENCH_OUT, default bench/out, at least 2 N + 100 of them)"""
import http.client, os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The JWKS and tokens of bench_tokens (bench/run.sh writes them to bench/out).
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "out"))
CG = tempfile.mkdtemp(prefix="miss-callgrind-")
n = int(sys.argv[1]); builds = [a.split("=", 1) for a in sys.argv[2:]]
tokens = [t for t in open(f"{OUT}/tokens.txt").read().split("\n") if t]
js, jwks_url = bench.serve_jwks(OUT)
def send(conn, path, token):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse(); r.read(); assert r.status == 200, r.status
def total(path):
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
def run(name, path, health, miss, tag):
    port = bench.free_port()
    env = bench.randapi_env(port, jwks_url, TOKEN_CACHE_MAX_BYTES="0")
    out = f"{CG}/{name}.{tag}"
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", path],
                         env=env, stdout=open(f"{out}.log", "wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60); conn.connect(); break
            except OSError:
                assert time.time() < deadline; time.sleep(0.3)
        for i in range(100): send(conn, "/health", tokens[0]); send(conn, "/", tokens[-1 - i])
        for i in range(health): send(conn, "/health", tokens[0])
        for i in range(miss): send(conn, "/", tokens[i])
        conn.close()
    finally:
        p.terminate(); p.wait(timeout=120)
    return total(out)
try:
    for name, path in builds:
        z = run(name, path, 0, 0, "z"); h = run(name, path, n, 0, "h"); m = run(name, path, n, n, "m")
        print(f"{name:8} instructions/request: /health {(h-z)/n:9.0f}  GET / cache off {(m-h)/n:9.0f}  above /health {(m-h-(h-z))/n:9.0f}", flush=True)
finally:
    js.terminate()
