#!/usr/bin/env bash
# randapi's load benchmark: builds what it measures, installs wrk and the Express peer's pinned
# npm packages if missing, then runs bench/bench.py. By default it measures, back to back on the
# same tokens:
#   glibc    target/release/randapi, what `cargo build --release` makes;
#   shipped  the binary the Dockerfile puts in the image, built here the same way
#            (scripts/lib.sh image_binary), so the Speed table shows what users run;
#   hello    graceful-serve's examples/hello, the serve loop with no auth and no log (the floor);
#   Express  the tutorial's peer (bench/express).
# Arguments pass through to bench.py: --seconds N, --warmup N, --rounds N, --no-express,
# --no-hello, --json FILE, -v, --reuse-tokens, --build NAME=PATH (repeatable; any --build
# replaces the two default builds).
#
#   bench/run.sh                         # the full run, about eight minutes (plus the tokens)
#   bench/run.sh --seconds 5 --rounds 2  # shorter cases, two rounds, medians
#   bench/run.sh --reuse-tokens --no-express --build before=/tmp/before/randapi --build glibc=target/release/randapi
#
# Not for CI: it takes minutes and its figures depend on what else the machine is doing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/lib.sh
source scripts/lib.sh

apt_ensure wrk:wrk curl:curl
command -v node >/dev/null || { echo "bench: node (20+) is needed for the Express peer" >&2; exit 1; }

if [ ! -d bench/express/node_modules ]; then
  echo "bench: installing the Express peer (npm ci, versions pinned in package-lock.json)"
  (cd bench/express && npm ci --no-audit --no-fund >/dev/null)
fi

echo "bench: cargo build --release --bin randapi --example bench_tokens; -p graceful-serve --example hello"
cargo build --release --quiet --bin randapi --example bench_tokens
cargo build --release --quiet -p graceful-serve --example hello

builds=()
if [[ " $* " != *" --build "* && " $* " != *" --build="* ]]; then
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) echo "bench: no image build for $(uname -m)" >&2; exit 1 ;;
  esac
  echo "bench: the image's binary for $arch (scripts/lib.sh image_binary)"
  shipped=$(image_binary "$arch")
  builds=(--build "glibc=target/release/randapi" --build "shipped=$shipped")
fi

exec python3 bench/bench.py "${builds[@]}" "$@"
