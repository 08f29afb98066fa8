#!/usr/bin/env python3
"""Connection floods: the server's CPU per evicted connection at two connection caps, and what a
burst of connects does to the kernel's accept queue. Prints figures; asserts nothing.

  cargo build --release --bin randapi
  python3 bench/eviction.py                                   # caps 500 and 8,000, this build
  python3 bench/eviction.py --binary OLD --binary NEW         # builds back to back, same session
  python3 bench/eviction.py --burst 3000 --binary OLD --binary NEW

Eviction (the default): `randapi --dev` with MAX_CONNECTIONS=cap and timeouts long enough that
only the cap closes connections, and one client that holds cap + 300 idle connections (they send
nothing) and opens a new one for each the server closes. At the cap each accepted connection
closes the one idle longest, so after a warm-up the server does nothing but accept and evict.
Over --seconds: the closes the client saw (= evictions) and the server's CPU (utime + stime from
/proc/<pid>/stat); their ratio is the CPU per eviction, which must not grow with the cap.

Burst (--burst N): a fresh `randapi --dev` with default settings, N non-blocking connects fired
at once, and one `GET /health` on a new connection right behind them. Prints the kernel's
TcpExtListenOverflows before and after (`nstat -az`: the counter is the network namespace's, so
other processes' listeners count too), how long the connects took (a SYN dropped by a full queue
is retransmitted after 1 s), and the probe's latency.

Only the Python standard library (and nstat, from iproute2) is used.
"""

import argparse
import asyncio
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import cpu_seconds, free_port  # the helpers bench.py already has
from connections import start as randapi  # `randapi --dev` once it serves

ROOT = Path(__file__).resolve().parent.parent
EXTRA = 300  # idle connections held beyond the cap


def start(binary, variables):
    port = free_port()
    process = randapi(binary, port, METRICS_INTERVAL="0", **variables)
    return process, port


class Tally:
    def __init__(self):
        self.open = 0
        self.closed = 0


async def hold(port, tally, connecting, stopping):
    """One idle connection, reopened each time the server closes it."""
    while not stopping.is_set():
        async with connecting:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
        tally.open += 1
        try:
            await reader.read(1)  # b"" once the server closes it
        except OSError:
            pass
        tally.open -= 1
        if not stopping.is_set():
            tally.closed += 1
        writer.close()


async def evictions(binary, cap, seconds):
    process, port = start(binary, {"MAX_CONNECTIONS": str(cap), "HEADER_READ_TIMEOUT": "600s",
                                   "KEEPALIVE_TIMEOUT": "600s"})
    tally, stopping = Tally(), asyncio.Event()
    # Connects in flight at once: enough to keep the accept queue fed, few enough that the old
    # 128-deep queue does not turn the warm-up into SYN retransmits.
    connecting = asyncio.Semaphore(64)
    holders = [asyncio.create_task(hold(port, tally, connecting, stopping))
               for _ in range(cap + EXTRA)]
    deadline = time.monotonic() + 120
    while tally.closed < max(1000, cap // 2) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    closed0, cpu0, t0 = tally.closed, cpu_seconds(process.pid), time.monotonic()
    await asyncio.sleep(seconds)
    closed1, cpu1, t1 = tally.closed, cpu_seconds(process.pid), time.monotonic()
    stopping.set()
    for task in holders:
        task.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    process.terminate()
    process.wait(timeout=30)
    evicted = closed1 - closed0
    per = (cpu1 - cpu0) / evicted * 1e6 if evicted else float("nan")
    return evicted / (t1 - t0), per


def listen_overflows():
    out = subprocess.run(["nstat", "-az", "TcpExtListenOverflows"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("TcpExtListenOverflows"):
            return int(line.split()[1])
    sys.exit(f"nstat printed no TcpExtListenOverflows: {out}")


def probe(port, result):
    """GET /health on a new connection: its latency, from connect to the end of the answer."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            ok = s.recv(64).startswith(b"HTTP/1.1 200")
        result.append((time.monotonic() - started, ok))
    except OSError as error:
        result.append((time.monotonic() - started, error))


def burst(binary, count):
    # The default timeouts: a burst's connections send nothing and are left to the header timeout.
    process, port = start(binary, {"HEADER_READ_TIMEOUT": "10s"})
    before = listen_overflows()
    selector = selectors.DefaultSelector()
    sockets, done = [], {}
    started = time.monotonic()
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        selector.register(s, selectors.EVENT_WRITE)
        sockets.append(s)
    result = []
    prober = threading.Thread(target=probe, args=(port, result))
    prober.start()
    deadline = started + 20
    while len(done) < count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            done[key.fileobj] = time.monotonic() - started
            selector.unregister(key.fileobj)
    prober.join()
    after = listen_overflows()
    for s in sockets:
        s.close()
    process.terminate()
    process.wait(timeout=30)
    times = sorted(done.values())
    slow = sum(1 for t in times if t >= 0.9)
    latency, outcome = result[0]
    print(f"{binary}: {count} connects at once: ListenOverflows {before} -> {after} "
          f"(+{after - before}); {len(times)} connected within 20 s, {slow} of them after "
          f"0.9 s or more (SYN retransmits), last at {times[-1]:.2f} s; "
          f"GET /health behind them: {latency * 1000:.0f} ms ({outcome})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", action="append",
                        help="randapi build to measure (repeat for several; default: "
                             "target/release/randapi)")
    parser.add_argument("--caps", default="500,8000", help="comma-separated caps")
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per cap")
    parser.add_argument("--burst", type=int, help="fire this many connects instead")
    args = parser.parse_args()
    binaries = args.binary or [str(ROOT / "target" / "release" / "randapi")]
    caps = [int(c) for c in args.caps.split(",")]
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    needed = (args.burst or max(caps) + EXTRA) + 64
    if hard < needed:
        sys.exit(f"the open-file hard limit ({hard}) is too low: {needed} needed")
    print(f"load average {os.getloadavg()[0]:.2f}; net.core.somaxconn "
          f"{Path('/proc/sys/net/core/somaxconn').read_text().strip()}")
    if args.burst:
        for binary in binaries:
            burst(binary, args.burst)
        return
    print("| binary | cap | evictions/s | server CPU µs per eviction |")
    print("| --- | ---: | ---: | ---: |")
    for binary in binaries:
        for cap in caps:
            rate, per = asyncio.run(evictions(binary, cap, args.seconds))
            print(f"| {binary} | {cap:,} | {rate:,.0f} | {per:.1f} |", flush=True)


if __name__ == "__main__":
    main()
