#!/usr/bin/env bash
# Checks of the web-facing surface against a real `randapi` that only a live service can show
# (the served document, its 404 answer and its security schemes are tests/openapi.rs's job):
#   1. schemathesis (pinned, pip, in a venv) against src/openapi.json and a running randapi, three
#      times: --dev with a --dev token (the 200 and 401 answers), a required scope the token lacks
#      (403), and a JWKS endpoint that is down (503 + Retry-After); each run must really have
#      provoked those statuses (scripts/checks/api.py har-statuses). Before the first run, 17 KiB
#      of headers must get the 431 answer the document shows (schemathesis never sends that);
#   2. the Postman collection, run by newman (pinned, npm, in web/node_modules);
#   3. the browser test: the Amplify JS example in web/app (aws-amplify, bundled by esbuild; both
#      pinned, npm) in headless Debian chromium driven by playwright-core (pinned, npm), signing
#      in against moto's Cognito emulator (installed by scripts/cognito.sh) and calling randapi.
# Installs what is missing (apt chromium, pip schemathesis, npm ci in web/, moto), builds the debug
# binary, starts every randapi on a free port of 127.0.0.1 (scripts/lib.sh start_randapi; the
# browser test starts its own) and stops everything it started on exit. Idempotent; safe to run
# again.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init web

SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
SCHEMATHESIS_SEED="${SCHEMATHESIS_SEED:-20261124}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="${WEB_TOOLS_DIR:-$TARGET_DIR/web-tools}"
BIN="$TARGET_DIR/debug/randapi"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
API="$ROOT/scripts/checks/api.py"

# --- install ---------------------------------------------------------------------------------------

step "install: Debian chromium, node and npm"
apt_ensure "$CHROMIUM:chromium" node:nodejs npm:npm curl:curl
note "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"); node $(node --version), npm $(npm --version)"

step "install: schemathesis $SCHEMATHESIS_VERSION (pip, venv in $TOOLS/venv)"
ST="$TOOLS/venv/bin/schemathesis"
if [[ -x "$ST" ]] && PYTHON="$TOOLS/venv/bin/python" pip_version schemathesis | grep -qx "$SCHEMATHESIS_VERSION"; then
  note "present: schemathesis $SCHEMATHESIS_VERSION"
else
  mkdir -p "$TOOLS"
  "$PYTHON" -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  note "installed: schemathesis $SCHEMATHESIS_VERSION"
fi

step "install: npm ci in web/ (aws-amplify, esbuild, playwright-core, newman; pinned by web/package-lock.json)"
STAMP="web/node_modules/.randapi-lock"
if [[ -f "$STAMP" ]] && cmp -s web/package-lock.json "$STAMP"; then
  note "present: web/node_modules matches web/package-lock.json"
else
  (cd web && npm ci --no-audit --no-fund)
  cp web/package-lock.json "$STAMP"
fi
for package in aws-amplify esbuild playwright-core newman; do
  note "$package $(node -p "require('./web/node_modules/$package/package.json').version")"
done

step "install: moto (scripts/cognito.sh, when moto_server is missing)"
if command -v moto_server >/dev/null 2>&1; then
  note "present: $(command -v moto_server)"
else
  scripts/cognito.sh
fi

step "build: cargo build --bin randapi"
cargo build --bin randapi
[[ -x "$BIN" ]] || fail "no binary at $BIN"

# --- checks ----------------------------------------------------------------------------------------

# Runs schemathesis (all checks but those named in $ST_EXCLUDE) against $RANDAPI_URL with $TOKEN,
# then checks from its HAR report that GET / really answered each status given as an argument.
run_schemathesis() {
  local label=$1
  shift
  local har="$WORK/schemathesis-$label.har.json" exclude=()
  [[ -n "${ST_EXCLUDE:-}" ]] && exclude=(--exclude-checks "$ST_EXCLUDE")
  # The file, not the URL: loaded from a URL, schemathesis leaves out the operation that serves the
  # document (GET /openapi.json). tests/openapi.rs checks that the served copy is this file.
  # Run from $WORK so that schemathesis' cache folder (.schemathesis/) is not left in the repository.
  # Its output hides the Authorization header ([Filtered]).
  (cd "$WORK" && "$ST" run "$ROOT/src/openapi.json" \
    --url "$RANDAPI_URL" \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    "${exclude[@]}" \
    --max-examples "$SCHEMATHESIS_MAX_EXAMPLES" \
    --seed "$SCHEMATHESIS_SEED" \
    --workers 1 \
    --request-timeout 10 \
    --report har --report-har-path "$har" \
    --no-color)
  "$PYTHON" "$API" har-statuses "$har" "$@"
}

step "check: schemathesis $SCHEMATHESIS_VERSION, randapi --dev with a --dev token (200 and 401 paths)"
start_randapi schemathesis "$BIN" -- --dev
"$PYTHON" "$API" too-large "$RANDAPI_URL" src/openapi.json
TOKEN="$("$PYTHON" "$API" dev-token "$RANDAPI_URL")"
run_schemathesis dev 200 401
stop_randapi "$RANDAPI_PID"

step "check: schemathesis, randapi --dev with COGNITO_REQUIRED_SCOPES the token lacks (403 path)"
start_randapi schemathesis-403 "$BIN" COGNITO_REQUIRED_SCOPES=randapi/read -- --dev
TOKEN="$("$PYTHON" "$API" dev-token "$RANDAPI_URL")"
run_schemathesis scope 403 401
stop_randapi "$RANDAPI_PID"

step "check: schemathesis, randapi whose JWKS endpoint is down (503 + Retry-After path)"
# Cognito mode, with the keys at a loopback port where nothing listens (a port just freed), and the
# last --dev token (any well-formed RS256 token with a kid makes the server need keys).
DOWN_PORT="$(free_port)"
start_randapi schemathesis-503 "$BIN" \
  COGNITO_ISSUER="http://127.0.0.1:$DOWN_PORT/pool" \
  COGNITO_JWKS_URL="http://127.0.0.1:$DOWN_PORT/pool/.well-known/jwks.json" \
  COGNITO_CLIENT_IDS=randapi-dev-client
# Excluded here, and only here: not_a_server_error flags every 5xx, and 503 is the documented
# answer when no keys can be had; unsupported_method expects 405, but the auth layer answers before
# method routing, so an undeclared method on / also gets 503 while keys are missing (both checks
# run in full in the first run, where keys are available and the token is valid).
ST_EXCLUDE=not_a_server_error,unsupported_method run_schemathesis keys-down 503
unset TOKEN
stop_randapi "$RANDAPI_PID"

step "check: newman runs postman/randapi.postman_collection.json against randapi --dev"
start_randapi newman "$BIN" -- --dev
# `token` is left empty, as in the committed environment: the collection fetches a --dev token.
web/node_modules/.bin/newman run postman/randapi.postman_collection.json \
  --environment postman/randapi.postman_environment.json \
  --env-var "baseUrl=$RANDAPI_URL" \
  --bail \
  --color off \
  --disable-unicode
stop_randapi "$RANDAPI_PID"

step "check: the Amplify JS example: its settings, then in headless chromium (node --test web/)"
# settings.test.mjs reads the three deploy paths' outputs; browser.test.mjs starts its own moto,
# randapi servers (one per CORS setting), page server and `node web/dev.mjs`, and stops them.
(cd web && RANDAPI_BIN="$BIN" CHROMIUM_PATH="$CHROMIUM" \
  node --test --test-reporter=spec settings.test.mjs browser.test.mjs)

timings
echo "web.sh: all checks passed"
