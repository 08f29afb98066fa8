#!/usr/bin/env python3
"""Memory per connection: randapi's RSS before and after many clients send unfinished request
heads. Prints figures; asserts nothing (the machine is shared and noisy).

  cargo build --release --bin randapi
  python3 bench/connections.py                      # 1,000 connections, 400 KB each
  python3 bench/connections.py --connections 2000 --binary path/to/randapi

Two cases, each against a fresh `randapi --dev` on 127.0.0.1:
  endless  each connection sends --head-bytes of one never-finished header (an attack):
           the server reads at most its 17 KiB buffer, answers 431 and closes.
  held     each connection sends 15 KiB of a head (just under the 16 KiB cap) and waits: the
           server must keep every one open until HEADER_READ_TIMEOUT, so this is the memory a
           connection can really pin.
For each: VmRSS before, VmRSS while the connections are open, VmHWM (peak), and the difference
per connection. Only the Python standard library is used.
"""

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import free_port, status_kib  # the helpers bench.py already has

ROOT = Path(__file__).resolve().parent.parent


def start(binary, port, **variables):
    """`binary --dev` on 127.0.0.1:`port` with long timeouts and `variables`, once it serves."""
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_FORMAT": "json",
        "RUST_LOG": "warn",
        "HEADER_READ_TIMEOUT": "120s",
        "SHUTDOWN_DELAY": "0s",
        **variables,
    }
    process = subprocess.Popen(
        [binary, "--dev"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("randapi did not start")


async def endless(port, head_bytes, closed):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ")
        chunk = b"a" * 16384
        sent = 0
        while sent < head_bytes:
            writer.write(chunk[: min(len(chunk), head_bytes - sent)])
            await asyncio.wait_for(writer.drain(), 5)
            sent += len(chunk)
    except (OSError, asyncio.TimeoutError):
        closed[0] += 1
    return writer


async def held(port, head_bytes):
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * head_bytes)
        await writer.drain()
        return writer
    except OSError:
        return None


async def run_case(name, binary, connections, head_bytes):
    port = free_port()
    process = start(binary, port)
    time.sleep(0.5)
    before = status_kib(process.pid, "VmRSS")
    closed = [0]
    if name == "endless":
        writers = await asyncio.gather(
            *(endless(port, head_bytes, closed) for _ in range(connections))
        )
    else:
        writers = await asyncio.gather(*(held(port, head_bytes) for _ in range(connections)))
    await asyncio.sleep(1.0)  # let the server read what is in its sockets
    during = status_kib(process.pid, "VmRSS")
    peak = status_kib(process.pid, "VmHWM")
    opened = sum(1 for w in writers if w is not None)
    for writer in writers:
        if writer is not None:
            writer.close()
    process.terminate()
    process.wait(timeout=30)
    added = max(during, peak) - before
    print(
        f"{name:8} {connections} connections x {head_bytes:,} B of head "
        f"({opened} opened, {closed[0]} cut off by the server): "
        f"RSS before {before / 1024:.1f} MiB, with them open {during / 1024:.1f} MiB, "
        f"peak {peak / 1024:.1f} MiB; added {added / 1024:.1f} MiB "
        f"= {added / max(connections, 1):.1f} KiB per connection"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "randapi"))
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--head-bytes", type=int, default=400_000)
    parser.add_argument("--held-bytes", type=int, default=15 * 1024)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 64:
        sys.exit(f"the open-file hard limit ({hard}) is too low for {args.connections} connections")
    print(f"binary {args.binary}")
    asyncio.run(run_case("endless", args.binary, args.connections, args.head_bytes))
    asyncio.run(run_case("held", args.binary, args.connections, args.held_bytes))


if __name__ == "__main__":
    main()
