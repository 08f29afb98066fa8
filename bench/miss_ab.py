#!/usr/bin/env python3
"""A/B of randapi builds with the token cache off: per round, each build in turn is started
(TOKEN_CACHE_MAX_BYTES=0, LOG_FORMAT=json RUST_LOG=info, log to a file), then wrk -t1 -c32
GET /health and GET / cycling 50,000 tokens; server CPU (utime+stime) per request.
usage: bench/miss_ab.py SECONDS ROUNDS name=path [name=path ...]   (wrk from apt)"""
import os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # reuse its helpers (cpu_seconds, parse_wrk, launch, stop, free_port)

BENCH = os.path.dirname(os.path.abspath(__file__))
# The JWKS and tokens of bench_tokens (bench/run.sh writes them to bench/out).
OUT = os.environ.get("BENCH_OUT", os.path.join(BENCH, "out"))
secs, rounds = int(sys.argv[1]), int(sys.argv[2])
builds = [a.split("=", 1) for a in sys.argv[3:]]
tokens = f"{OUT}/tokens.txt"
one = open(tokens).readline().strip()
jport = bench.free_port()
js = subprocess.Popen([sys.executable, "-m", "http.server", str(jport), "--bind", "127.0.0.1",
                       "--directory", OUT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
res = {n: {"health": [], "miss": []} for n, _ in builds}
def run(url, pid, header=None, script=False):
    cmd = ["wrk", "-t1", "-c32"]
    env = dict(os.environ)
    if header: cmd += ["-H", header]
    if script:
        cmd += ["-s", os.path.join(BENCH, "tokens.lua")]; env["TOKENS_FILE"] = tokens; env["TOKENS_COUNT"] = "50000"
    subprocess.run(cmd + ["-d1s", url], env=env, check=True, capture_output=True)
    b = bench.cpu_seconds(pid)
    out = subprocess.run(cmd + [f"-d{secs}s", url], env=env, check=True, capture_output=True, text=True).stdout
    a = bench.cpu_seconds(pid)
    r = bench.parse_wrk(out)
    assert r["non_2xx"] == 0, out
    return r["rps"], (a - b) / r["requests"] * 1e6
try:
    for rnd in range(rounds):
        for name, path in builds:
            port = bench.free_port()
            env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", COGNITO_ISSUER=bench.ISSUER,
                       COGNITO_CLIENT_IDS=bench.CLIENT_ID, COGNITO_JWKS_URL=f"http://127.0.0.1:{jport}/jwks.json",
                       LOG_FORMAT="json", RUST_LOG="info", TOKEN_CACHE_MAX_BYTES="0")
            p, _ = bench.launch([path], env, port, f"{OUT}/miss-ab-{name}.log")
            base = f"http://127.0.0.1:{port}"
            subprocess.run(["curl", "-fsS", "-o", "/dev/null", "-H", f"Authorization: Bearer {one}", base + "/"], check=True)
            h = run(base + "/health", p.pid, header=f"Authorization: Bearer {one}")
            m = run(base + "/", p.pid, script=True)
            bench.stop(p); os.unlink(f"{OUT}/miss-ab-{name}.log")
            res[name]["health"].append(h); res[name]["miss"].append(m)
            print(f"round {rnd} {name:8} health {h[0]:8.0f} req/s {h[1]:6.2f} us | miss {m[0]:8.0f} req/s {m[1]:6.2f} us | above {m[1]-h[1]:6.2f} us", flush=True)
finally:
    js.terminate()
med = lambda xs: sorted(xs)[len(xs)//2]
for name, _ in builds:
    r = res[name]
    above = [m[1] - h[1] for h, m in zip(r["health"], r["miss"])]
    print(f"median {name:8} health {med([x[1] for x in r['health']]):6.2f} us  miss {med([x[1] for x in r['miss']]):6.2f} us  miss req/s {med([x[0] for x in r['miss']]):8.0f}  above /health {med(above):6.2f} us (all: {' '.join(f'{x:.1f}' for x in above)})")
