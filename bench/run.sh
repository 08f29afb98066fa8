#!/usr/bin/env bash
# randapi's load benchmark: builds the release binary and the token maker, installs wrk and the
# Express peer's pinned npm packages if missing, then runs bench/bench.py (arguments pass
# through: --seconds N, --warmup N, --no-express, --json FILE, -v, --randapi PATH,
# --reuse-tokens).
#
#   bench/run.sh                 # the full run, about four minutes (plus signing 100,000 tokens)
#   bench/run.sh --seconds 5     # shorter
#   bench/run.sh --reuse-tokens --no-express --randapi /tmp/before/randapi   # another build
#
# Not for CI: it takes minutes and its figures depend on what else the machine is doing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (apt)"
  apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
command -v curl >/dev/null || apt-get install -y curl >/dev/null
command -v node >/dev/null || { echo "bench: node (20+) is needed for the Express peer" >&2; exit 1; }

if [ ! -d bench/express/node_modules ]; then
  echo "bench: installing the Express peer (npm ci, versions pinned in package-lock.json)"
  (cd bench/express && npm ci --no-audit --no-fund >/dev/null)
fi

echo "bench: cargo build --release --bin randapi --example bench_tokens"
cargo build --release --quiet --bin randapi --example bench_tokens

exec python3 bench/bench.py "$@"
