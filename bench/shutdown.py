#!/usr/bin/env python3
"""Shutdown timings: the time from SIGTERM (or SIGINT) to exit, with idle and with busy
connections, and whether every request in flight got its answer. Prints figures; asserts nothing.

  cargo build --release --bin randapi --example bench_tokens
  python3 bench/shutdown.py
  RANDAPI=/path/to/other/randapi python3 bench/shutdown.py
  python3 bench/shutdown.py --busy-rounds 30   # the busy case 30 times, a lost answer is rare

Cases, each against a fresh release randapi on 127.0.0.1 with the default SHUTDOWN_DELAY (5 s)
and SHUTDOWN_GRACE (20 s) unless noted:
  idle        64 idle keep-alive connections, SIGTERM
  idle-sigint the same, SIGINT (skips the delay)
  busy        64 requests in flight (their keys arrive 8 s after SIGTERM), SIGTERM
  stuck       8 requests whose keys never arrive (REQUEST_TIMEOUT 60 s), SIGTERM: the grace ends it
Only the Python standard library is used.
"""

import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import free_port  # the helper bench.py already has

ROOT = Path(__file__).resolve().parent.parent
# RANDAPI=path/to/randapi measures another build (say, an older one) with the same cases.
RANDAPI = Path(os.environ.get("RANDAPI", ROOT / "target" / "release" / "randapi"))
MAKER = ROOT / "target" / "release" / "examples" / "bench_tokens"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_BenchPool1"
CLIENT_ID = "3n4b5urk1ft4fl3mg5e62d9ado"


class Jwks:
    """A JWKS endpoint that answers once `release_at` (a time.monotonic()) has passed."""

    def __init__(self, body):
        self.release_at = float("inf")
        jwks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                while time.monotonic() < jwks.release_at:
                    time.sleep(0.05)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"


def request(port, path, token=None):
    s = socket.create_connection(("127.0.0.1", port))
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode())
    return s


def read_answer(s, timeout=90):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                return None
            body += chunk
        return int(head.split(b" ")[1])
    except OSError:
        return None


def start(env):
    port = free_port()
    full = {"PORT": str(port), "HOST": "127.0.0.1", "LOG_FORMAT": "json", "RUST_LOG": "warn"}
    full.update(env)
    process = subprocess.Popen([str(RANDAPI)] + (["--dev"] if "COGNITO_JWKS_URL" not in env else []),
                               env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            s = request(port, "/health")
            if read_answer(s, 2) == 200:
                s.close()
                return process, port
        except OSError:
            time.sleep(0.05)
    sys.exit("randapi did not start")


def stop_and_time(process, sig):
    started = time.monotonic()
    process.send_signal(sig)
    process.wait(timeout=120)
    return time.monotonic() - started, process.returncode


def idle(sig, label):
    process, port = start({})
    held = []
    for _ in range(64):
        s = request(port, "/health")
        read_answer(s)
        held.append(s)
    elapsed, code = stop_and_time(process, sig)
    print(f"{label:12} 64 idle keep-alive connections: exit {code} after {elapsed:.2f} s")
    for s in held:
        s.close()


def busy(tokens, jwks_body, count, keys_after, env, label):
    jwks = Jwks(jwks_body)
    process, port = start({"COGNITO_ISSUER": ISSUER, "COGNITO_CLIENT_IDS": CLIENT_ID,
                           "COGNITO_JWKS_URL": jwks.url, **env})
    sockets = [request(port, "/", tokens[i]) for i in range(count)]
    time.sleep(0.5)  # the requests are read and waiting for the keys
    answers = []
    threads = [threading.Thread(target=lambda s=s: answers.append(read_answer(s))) for s in sockets]
    for t in threads:
        t.start()
    jwks.release_at = time.monotonic() + keys_after
    elapsed, code = stop_and_time(process, signal.SIGTERM)
    for t in threads:
        t.join()
    ok = sum(1 for a in answers if a == 200)
    other = sorted(set(a for a in answers if a != 200), key=str)
    print(f"{label:12} {count} requests in flight, keys after {keys_after:g} s: exit {code} after "
          f"{elapsed:.2f} s; {ok} answered 200, others {other}")
    jwks.server.shutdown()
    return ok


def main():
    # The `busy` case repeated: a lost answer was a race (3 rounds in 30 under other load).
    rounds = 1
    if len(sys.argv) == 3 and sys.argv[1] == "--busy-rounds":
        rounds = int(sys.argv[2])
    elif len(sys.argv) != 1:
        sys.exit("usage: bench/shutdown.py [--busy-rounds N]")
    for binary in (RANDAPI, MAKER):
        if not binary.exists():
            sys.exit(f"missing {binary}: cargo build --release --bin randapi --example bench_tokens")
    out = Path(tempfile.mkdtemp(prefix="randapi-shutdown-"))
    subprocess.run([str(MAKER), str(out), "64", ISSUER, CLIENT_ID], check=True,
                   stdout=subprocess.DEVNULL)
    tokens = (out / "tokens.txt").read_text().split()
    jwks_body = (out / "jwks.json").read_bytes()
    if rounds > 1:
        lost = sum(64 - busy(tokens, jwks_body, 64, 8,
                             {"REQUEST_TIMEOUT": "60s", "JWKS_FETCH_TIMEOUT": "60s"},
                             f"busy {i + 1}/{rounds}")
                   for i in range(rounds))
        print(f"busy, {rounds} rounds of 64 requests: {lost} answers lost")
        return
    idle(signal.SIGTERM, "idle")
    idle(signal.SIGINT, "idle-sigint")
    busy(tokens, jwks_body, 64, 8,
         {"REQUEST_TIMEOUT": "60s", "JWKS_FETCH_TIMEOUT": "60s"}, "busy")
    busy(tokens, jwks_body, 8, 3600,
         {"REQUEST_TIMEOUT": "60s", "JWKS_FETCH_TIMEOUT": "60s"}, "stuck")


if __name__ == "__main__":
    main()
