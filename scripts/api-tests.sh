#!/usr/bin/env bash
# Runs the black-box API tests (tests/api): the HTTP contract, every verification step, the JWKS
# cache and its fault handling, signals and exit codes of the real binary, --dev, uniformity.
# Usage: scripts/api-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "==> installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

echo "==> black-box API tests (cargo nextest run --test api)"
cargo nextest run --test api --no-fail-fast
