#!/usr/bin/env bash
# Fuzzing of the token verify path (cargo-fuzz, libFuzzer, nightly): target `verdict`, which feeds
# an Authorization header value to randapi::auth::verdict (header, token syntax, alg/kid, key,
# RS256 signature, claims, scopes, groups) against the fixed key in fuzz/jwks.json.
#
#   scripts/fuzz.sh                  # CI: replay the committed corpus once (-runs=0), a few seconds
#   scripts/fuzz.sh --long 600       # fuzz for 600 s; new inputs go to fuzz/corpus-work/ (ignored)
#
# A crash leaves its input in fuzz/artifacts/verdict/ and fails the script.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init fuzz

target=verdict
case "${1:-}" in
  "" | --long) ;;
  *)
    echo "usage: $0 [--long <seconds>]" >&2
    exit 2
    ;;
esac

step "tools: nightly toolchain and cargo-fuzz"
if ! rustup toolchain list | grep -q '^nightly'; then
  note "installing the nightly toolchain (cargo-fuzz needs it for the sanitizers)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  note "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
note "$(cargo fuzz --version); $(rustc +nightly --version)"

if [[ -z "${1:-}" ]]; then
  step "replay fuzz/corpus/$target ($(find "fuzz/corpus/$target" -type f | wc -l) inputs): no panic, accepted tokens meet the policy, refusals are 400/401/403"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- -runs=0
  ok "corpus replay passed"
else
  seconds="${2:-600}"
  mkdir -p "fuzz/corpus-work/$target"
  step "fuzz $target for $seconds s (seeds: fuzz/corpus/$target; new inputs: fuzz/corpus-work/$target)"
  cargo +nightly fuzz run "$target" "fuzz/corpus-work/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=12288 -print_final_stats=1
  ok "no crash in $seconds s"
fi
