#!/usr/bin/env python3
"""Instructions per request under valgrind's callgrind: deterministic where wall-clock figures
are not (this machine is shared and noisy). Every run ends with SIGTERM (callgrind dumps at exit)
and sends its requests on one keep-alive connection; a run's count minus that of a shorter run
leaves the requests alone, without start-up and exit.

For each randapi build (name=path), with the token cache on and then off (TOKEN_CACHE_MAX_BYTES=0):
  Z = start + warm-up (100 GET /health, 100 GET / with distinct tokens); H = Z + N GET /health;
  then with the cache on, T = H + N GET / with one token (a cache hit), and with it off,
  M = H + N GET / with N other distinct tokens (every one verifies a signature).
  /health = (H - Z) / N, one token = (T - H) / N, GET / cache off = (M - H) / N.
With --hello PATH, graceful-serve's hello example (the same serve loop, no auth, no log):
  Z = start + 100 GET /; G = Z + N GET /; hello GET / = (G - Z) / N.
With --verdict PATH, an unstripped verify_cost example: the whole verification of a miss alone
(`cognito_auth::verdict`, no server), to set beside each build's "above /health" with the cache
off: verify_cost runs two rounds of `verdict` only, callgrind counts the instructions inside
`verdict` (--toggle-collect), divided by the calls (two printed batches). N does not apply.

usage: bench/callgrind.py N [name=path ...] [--hello PATH] [--verdict PATH]
(valgrind from apt; the tokens of bench/run.sh in $BENCH_OUT, default bench/out, at least
2 N + 100 of them)"""
import argparse, http.client, os, re, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The JWKS and tokens of bench_tokens (bench/run.sh writes them to bench/out).
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "out"))
CG = tempfile.mkdtemp(prefix="callgrind-")


def send(conn, path, token):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = conn.getresponse(); r.read(); assert r.status == 200, (path, r.status)


def total(path):
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])


def run(tag, path, env, requests):
    """Instructions of one run of `path` that answers `requests`, a list of (path, token)."""
    port = bench.free_port()
    env = dict(env, PORT=str(port))
    out = f"{CG}/{tag}"
    # launch's probe connection is made in every run alike, so the differences cancel it.
    p, _ = bench.launch(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                         os.path.abspath(path)], env, port, f"{out}.log", timeout=120)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for request in requests:
            send(conn, *request)
        conn.close()
    finally:
        p.terminate(); p.wait(timeout=120)
    return total(out)


def verdict_instructions(path):
    """Instructions of one `cognito_auth::verdict` call: callgrind counts only inside it.

    (A difference of two runs does not work here: verify_cost generates an RSA key at start,
    whose prime search costs a different number of instructions every run.)"""
    rounds, out = 2, f"{CG}/verdict"
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                           "--toggle-collect=cognito_auth::verifier::verdict",
                           path, str(rounds), "verdict"],
                          capture_output=True, text=True, check=True, timeout=600)
    batch = int(re.search(r"batches of (\d+)", done.stdout).group(1))
    inside = total(out)
    if not inside:
        raise SystemExit(f"{path}: no instructions inside cognito_auth::verifier::verdict; it "
                         "needs symbols (CARGO_PROFILE_RELEASE_STRIP=false)")
    return inside / (rounds * batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="requests per measured step")
    parser.add_argument("builds", nargs="*", metavar="name=path")
    parser.add_argument("--hello", help="graceful-serve's examples/hello, the calibration server")
    parser.add_argument("--verdict", help="an unstripped verify_cost example: instructions of the "
                        "whole verification alone")
    args = parser.parse_args()
    if not (args.builds or args.hello or args.verdict):
        parser.error("nothing to count: give a build, --hello or --verdict")
    if args.verdict:
        print(f"{'verdict':8} instructions/call: {verdict_instructions(args.verdict):9.0f} "
              "(the whole verification, no server)", flush=True)
    if not (args.builds or args.hello):
        return
    n = args.n
    tokens = [t for t in open(f"{OUT}/tokens.txt").read().split("\n") if t]
    if len(tokens) < 2 * n + 100:
        raise SystemExit(f"{OUT}/tokens.txt has {len(tokens)} tokens; {2 * n + 100} needed")
    js, jwks_url = bench.serve_jwks(OUT)
    warm = [r for i in range(100) for r in (("/health", tokens[0]), ("/", tokens[-1 - i]))]
    health = [("/health", tokens[0])] * n
    try:
        if args.hello:
            hello_env = dict(os.environ, HOST="127.0.0.1")
            z = run("hello.z", args.hello, hello_env, [("/", tokens[0])] * 100)
            g = run("hello.g", args.hello, hello_env, [("/", tokens[0])] * (100 + n))
            print(f"{'hello':8} instructions/request: GET / {(g - z) / n:9.0f}", flush=True)
        for name, path in (b.split("=", 1) for b in args.builds):
            on = bench.randapi_env(0, jwks_url)
            off = bench.randapi_env(0, jwks_url, TOKEN_CACHE_MAX_BYTES="0")
            z = run(f"{name}.z", path, on, warm)
            h = run(f"{name}.h", path, on, warm + health)
            t = run(f"{name}.t", path, on, warm + health + [("/", tokens[0])] * n)
            zo = run(f"{name}.zo", path, off, warm)
            ho = run(f"{name}.ho", path, off, warm + health)
            m = run(f"{name}.m", path, off, warm + health + [("/", tokens[i]) for i in range(n)])
            print(f"{name:8} instructions/request: /health {(h - z) / n:9.0f}  "
                  f"one token {(t - h) / n:9.0f}  /health cache off {(ho - zo) / n:9.0f}  "
                  f"GET / cache off {(m - ho) / n:9.0f}  above /health {(m - ho - (ho - zo)) / n:9.0f}",
                  flush=True)
    finally:
        js.terminate()


if __name__ == "__main__":
    main()
