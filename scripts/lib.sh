# Shared by every script in scripts/ (sourced, not run):
#   step / ok / fail / note       what the script is doing, and how it ends
#   timings                       how long each step took (call it last)
#   lib_init NAME                 cd to the repository, a private temp dir $WORK, the cleanup trap
#   on_cleanup FUNCTION           one more thing to undo on exit (e.g. buildah containers)
#   track_pid PID                 stop this process on exit (SIGTERM, then SIGKILL after 5 s)
#   free_port                     a TCP port of 127.0.0.1 that nothing listens on right now
#   wait_http URL SECONDS         until URL answers 2xx; non-zero after SECONDS
#   wait_exit PID SECONDS         the exit status of PID, or 124 if it still runs after SECONDS
#   start_randapi NAME BIN [VAR=VALUE]... [-- ARG...]
#                                 the binary on 127.0.0.1:<free port> with that environment,
#                                 waits for /health; sets RANDAPI_PID, RANDAPI_URL, RANDAPI_LOG
#   stop_randapi PID [WAIT_PID [LABEL [LOG]]]
#                                 SIGTERM, and the process must exit 0 (graceful shutdown)
#   as_root CMD...                CMD as root (directly, or through sudo -n)
#   apt_ensure CMD:PACKAGE...     apt-get install the packages whose command is missing
#   pip_ensure NAME VERSION [SPEC] [MODULE]
#                                 pip install SPEC unless NAME is installed at VERSION
#                                 (and MODULE, when given, imports)
#   venv_new DIR                  a new, empty Python virtualenv at DIR
#   cfn_lint_ensure               cfn-lint $CFN_LINT_VERSION in its own virtualenv; sets CFN_LINT
#   dockerfile_arg NAME           the default of `ARG NAME=...` in the Dockerfile (outer single
#                                 quotes removed)
#   image_binary ARCH [MANIFEST]  builds the image's binary for ARCH (amd64|arm64) here, exactly as
#                                 the Dockerfile's builder stage does, and prints its path on
#                                 stdout (progress on stderr); MANIFEST: another Cargo.toml of the
#                                 same workspace (default: the repository's)
#   elf_static BIN                0 when BIN has no PT_INTERP and no NEEDED entry
# Everything started through track_pid/start_randapi is stopped by PID on exit, whatever the exit.

# The checks under scripts/checks/ are run as scripts; no __pycache__ is left in the repository.
export PYTHONDONTWRITEBYTECODE=1
PYTHON=${PYTHON:-python3}
LIB_NAME=${LIB_NAME:-$(basename "$0")}

_LIB_STEP="" _LIB_STEP_START=$SECONDS _LIB_TIMINGS=()
step() {
  _lib_step_done
  _LIB_STEP=$* _LIB_STEP_START=$SECONDS
  printf '\n==> %s\n' "$*"
}
_lib_step_done() {
  [[ -n "$_LIB_STEP" ]] && _LIB_TIMINGS+=("$(printf '%5ss  %s' "$((SECONDS - _LIB_STEP_START))" "$_LIB_STEP")")
  _LIB_STEP=""
}
timings() { # the time each step took, and the total
  _lib_step_done
  printf '\n==> timings\n'
  printf '%s\n' "${_LIB_TIMINGS[@]}"
  printf '%5ss  total\n' "$SECONDS"
}
ok() { printf '    ok: %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() {
  printf '    FAIL (%s): %s\n' "$LIB_NAME" "$*" >&2
  exit 1
}

lib_init() {
  LIB_NAME=$1
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cd "$ROOT" || exit 1
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/randapi-$LIB_NAME.XXXXXX")"
  trap _lib_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# One cfn-lint for every template check (container.sh, cdk.sh). 1.51.3 and later carry AWS's
# current Lambda runtime dates (nodejs20.x: creation blocked 2027-02-01, updates 2027-03-03).
CFN_LINT_VERSION=1.58.0

# A new, empty virtualenv at DIR (Debian's own python3 needs python3-venv for it).
venv_new() {
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv >/dev/null
  }
  rm -rf "$1"
  "$PYTHON" -m venv "$1"
}

# cfn-lint in a virtualenv of its own (kept under ~/.cache between runs), so the machine's Python
# keeps whatever cfn-lint it had; sets CFN_LINT to its executable.
cfn_lint_ensure() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/randapi/cfn-lint-$CFN_LINT_VERSION"
  CFN_LINT="$venv/bin/cfn-lint"
  if [[ "$("$CFN_LINT" --version 2>/dev/null)" == "cfn-lint $CFN_LINT_VERSION" ]]; then
    note "cfn-lint $CFN_LINT_VERSION already in $venv"
    return 0
  fi
  note "cfn-lint $CFN_LINT_VERSION into its own virtualenv $venv"
  venv_new "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
  [[ "$("$CFN_LINT" --version)" == "cfn-lint $CFN_LINT_VERSION" ]] || fail "cfn-lint $CFN_LINT_VERSION did not install into $venv"
}

_LIB_PIDS=()
_LIB_HOOKS=()
track_pid() { _LIB_PIDS+=("$1"); }
on_cleanup() { _LIB_HOOKS+=("$1"); }

_lib_cleanup() {
  local rc=$? pid hook
  set +e
  for pid in "${_LIB_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    wait_exit "$pid" 5 >/dev/null 2>&1
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  for hook in "${_LIB_HOOKS[@]}"; do "$hook"; done
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
  exit "$rc"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

wait_exit() { # pid seconds -> the exit status, or 124 if still running after that long
  local pid=$1 deadline=$((SECONDS + $2)) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 124
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# The one way the scripts start randapi. The environment is the caller's, minus every variable
# randapi reads (so a developer's .env exports cannot change a check), plus PORT, HOST,
# LOG_FORMAT=json, RUST_LOG=info and the VAR=VALUE arguments; arguments after `--` go to the binary.
start_randapi() {
  local name=$1 bin=$2
  shift 2
  local vars=() args=() port
  while (($#)); do
    if [[ "$1" == -- ]]; then shift; args=("$@"); break; fi
    vars+=("$1")
    shift
  done
  port=$(free_port)
  RANDAPI_LOG="$WORK/$name.log"
  env -u CORS_ALLOWED_ORIGINS -u COGNITO_USER_POOL_ID -u COGNITO_REGION -u COGNITO_CLIENT_IDS \
    -u COGNITO_ISSUER -u COGNITO_JWKS_URL -u COGNITO_REQUIRED_SCOPES -u COGNITO_REQUIRED_GROUPS \
    -u CORS_ALLOWED_HEADERS \
    PORT="$port" HOST=127.0.0.1 LOG_FORMAT=json RUST_LOG=info "${vars[@]}" \
    "$bin" "${args[@]}" >"$RANDAPI_LOG" 2>&1 &
  RANDAPI_PID=$!
  track_pid "$RANDAPI_PID"
  RANDAPI_URL="http://127.0.0.1:$port"
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null --max-time 2 "$RANDAPI_URL/health" 2>/dev/null; do
    if ! kill -0 "$RANDAPI_PID" 2>/dev/null; then
      cat "$RANDAPI_LOG" >&2
      fail "randapi ($name) exited before answering /health"
    fi
    if ((SECONDS >= deadline)); then
      cat "$RANDAPI_LOG" >&2
      fail "randapi ($name) did not answer $RANDAPI_URL/health within 30 s"
    fi
    sleep 0.1
  done
  note "randapi${args[*]:+ ${args[*]}} ($name) on $RANDAPI_URL (pid $RANDAPI_PID)"
}

# SIGTERM to PID; then WAIT_PID (default: PID; e.g. `buildah run` around the process) must exit 0
# within 30 s: randapi's graceful shutdown. LABEL names it in the messages; LOG is shown on failure.
stop_randapi() { # pid [wait_pid [label [log]]]
  local pid=$1 waited=${2:-$1} label=${3:-randapi (pid $1)} log=${4:-} rc=0 t0=$SECONDS
  kill -TERM "$pid"
  wait_exit "$waited" 30 || rc=$?
  [[ "$rc" != 124 ]] || fail "$label: still running 30 s after SIGTERM"
  if [[ "$rc" != 0 ]]; then
    [[ -n "$log" ]] && tail -5 "$log" >&2
    fail "$label: exit $rc on SIGTERM, expected 0"
  fi
  ok "$label: SIGTERM -> exit 0 in $((SECONDS - t0)) s"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

apt_ensure() { # command:package ...
  local want=() item
  for item in "$@"; do
    command -v "${item%%:*}" >/dev/null 2>&1 || want+=("${item#*:}")
  done
  ((${#want[@]})) || return 0
  note "apt-get install ${want[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${want[@]}" >/dev/null
}

pip_version() { # name -> its installed version, or nothing
  { "$PYTHON" -m pip show "$1" 2>/dev/null || true; } | sed -n 's/^Version: //p'
}

pip_ensure() { # name version [spec] [module]
  local name=$1 version=$2 spec=${3:-$1==$2} module=${4:-}
  local have
  have=$(pip_version "$name")
  if [[ "$have" == "$version" ]] && { [[ -z "$module" ]] || "$PYTHON" -c "import $module" 2>/dev/null; }; then
    note "$name $version already installed"
    return 0
  fi
  note "pip install $spec (found: ${have:-none})"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "$spec"
  # pyenv puts console scripts behind shims that exist only after a rehash.
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  hash -r
}

# ---------------------------------------------------------------------------------------------
# The container image's binary. The Dockerfile is the one recipe: its ARG lines name the Rust
# target per architecture, the cross packages and the RUSTFLAGS; its builder RUN applies them with
# the rule below, which image_binary repeats (a native build keeps cargo's defaults; a cross build
# of <cpu>-unknown-linux-gnu compiles and links with <cpu>-linux-gnu-gcc, installed when missing).
# No sourcing script needs lib_init for these functions.
_lib_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

dockerfile_arg() { # NAME -> the default value of `ARG NAME=...` in the Dockerfile
  local raw
  raw=$(sed -n "s/^ARG $1=//p" "$(_lib_root)/Dockerfile")
  [[ -n "$raw" ]] || fail "the Dockerfile has no 'ARG $1=...'"
  # A plain word, or one single-quoted string (Dockerfile word rules: literal inside '...').
  if [[ "$raw" == \'*\' ]]; then
    raw=${raw#\'}
    raw=${raw%\'}
    [[ "$raw" != *\'* ]] || fail "ARG $1: one single-quoted string expected"
  elif [[ "$raw" =~ [[:space:]\"\'\\\$] ]]; then
    fail "ARG $1: a plain word or one single-quoted string expected, found: $raw"
  fi
  printf '%s\n' "$raw"
}

image_binary() { # ARCH [MANIFEST] -> prints the path of the static binary (progress on stderr)
  local arch=$1 manifest=${2:-} root target packages gnu triple pkg items=() bin cross_env=()
  root=$(_lib_root)
  case "$arch" in
    amd64 | arm64) ;;
    *) fail "image_binary: ARCH is amd64 or arm64, not '$arch'" ;;
  esac
  target=$(dockerfile_arg "RUST_TARGET_${arch^^}") || return 1
  packages=$(dockerfile_arg "CROSS_PACKAGES_${arch^^}") || return 1
  if [[ "$target" != "$(rustc -vV | sed -n 's/^host: //p')" ]]; then
    gnu="${target%%-*}-linux-gnu"
    # The Dockerfile installs these pinned versions in its Debian bookworm builder; here the
    # host's own versions (this machine is bookworm too): the pins may not exist elsewhere.
    for pkg in $packages; do items+=("$gnu-gcc:${pkg%%=*}"); done
    apt_ensure "${items[@]}" >&2
    triple=${target//-/_}
    cross_env=("CARGO_TARGET_${triple^^}_LINKER=$gnu-gcc" "CC_$triple=$gnu-gcc" "AR_$triple=$gnu-ar")
  fi
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/$target/release/randapi"
  (
    cd "$root" &&
      env "${cross_env[@]}" RUSTFLAGS="$(dockerfile_arg IMAGE_RUSTFLAGS)" CARGO_TERM_COLOR=never \
        cargo build --release --locked --target "$target" \
        --manifest-path "${manifest:-$root/Cargo.toml}" --target-dir "${CARGO_TARGET_DIR:-$root/target}" >&2
  ) || fail "image_binary $arch: cargo build --target $target failed"
  elf_static "$bin" || fail "image_binary $arch: $bin is dynamically linked"
  printf '%s\n' "$bin"
}

# 0 when BIN is an ELF file without a program interpreter (PT_INTERP) and without NEEDED entries:
# nothing for a dynamic loader to do. Not through `readelf | grep -q`: under pipefail, grep quitting
# early can fail the pipeline and turn "dynamic" into "static".
elf_static() { # BIN
  local headers
  headers=$(readelf -hlW "$1" && readelf -dW "$1") || fail "readelf cannot read $1"
  [[ "$headers" != *INTERP* && "$headers" != *"(NEEDED)"* ]]
}
