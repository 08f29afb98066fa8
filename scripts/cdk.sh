#!/usr/bin/env bash
# CI for the CDK deployment (deploy/cdk) and the Amplify Gen2 entry point (deploy/amplify-gen2).
#
#   scripts/cdk.sh
#
# 1. deploy/cdk: npm ci, tsc, the aws-cdk-lib/assertions tests (node --test): one test or more for
#    each property docs/deploy-with-cdk.md states, cdk-nag's AwsSolutions pack with no finding left
#    unacknowledged (for the default app, arm64, a local build with alarm e-mail, a ready image), and
#    the parts of `npm run deploy` that need no AWS account.
# 2. deploy/cdk: `npx cdk synth` offline (no AWS credentials, no Docker, no network lookups; region
#    given as context), for x86_64 and for `-c architecture=arm64`: the synth itself fails on a
#    cdk-nag finding; scripts/checks/cdk_stack.py prints what the report quotes and fails on a
#    DesiredCount, a Lambda older than nodejs22.x, or an image built for the wrong architecture.
# 3. cfn-lint (the version lib.sh pins, in its own virtualenv) on both templates: no errors.
# 4. `npm run deploy` with no credentials: it must stop at the first AWS call with a clear message,
#    and say how long that took.
# 5. deploy/amplify-gen2: npm install from the lock (which must not change) and `tsc --noEmit` of
#    amplify/ (which imports the construct from deploy/cdk/lib).
# 6. deploy/amplify-gen2: amplify/backend.ts synthesized offline the way `ampx` loads it (tsx, with
#    the backend identifier as CDK context), into a temporary folder, with cdk-nag on the randapi
#    stack: the stack takes the pool and client of Amplify's auth stack, builds its image in
#    CodeBuild, has no DesiredCount, amplify_outputs' `custom.API.randapi` is wired, Amplify's
#    auth defaults are the documented ones, and cfn-lint finds no errors in the templates.
# Needs node >= 20, npm, python3 with venv, the aws CLI (scripts/cognito.sh installs it). Idempotent.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init cdk
REGION=eu-west-1

# No credentials, no profile, no instance metadata: whatever would call AWS fails loudly.
offline() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
    -u AWS_DEFAULT_PROFILE -u CDK_DEFAULT_ACCOUNT -u CDK_DEFAULT_REGION \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
    CDK_DISABLE_VERSION_CHECK=1 "$@"
}

GEN2_LOCK="$WORK/amplify-gen2.package-lock.json"

step "0. tools"
command -v node >/dev/null || fail "node is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || fail "node $(node --version): aws-cdk-lib needs node >= 20"
cfn_lint_ensure
command -v aws >/dev/null || fail "the aws CLI is not installed (scripts/cognito.sh installs it): step 4 runs npm run deploy"
ok "node $(node --version), npm $(npm --version), $("$CFN_LINT" --version), $(aws --version 2>&1 | awk '{print $1}')"

step "1. deploy/cdk: npm ci, tsc, tests"
cd "$ROOT/deploy/cdk"
npm ci --no-audit --no-fund --loglevel=error
ok "aws-cdk-lib $(node -p 'require("aws-cdk-lib/package.json").version'), aws-cdk $(npx --no-install cdk --version | awk '{print $1}'), cdk-nag $(node -p 'require("cdk-nag/package.json").version'), @cdklabs/deploy-time-build $(node -p 'require("@cdklabs/deploy-time-build/package.json").version')"
npx --no-install tsc
offline node --test dist/test/

step "2. deploy/cdk: cdk synth offline, x86_64 and arm64 (cdk-nag runs in the synth)"
rm -rf cdk.out
for arch in x86_64 arm64; do
  out=cdk.out
  [[ "$arch" == x86_64 ]] || out="$WORK/cdk.out.$arch"
  offline npx --no-install cdk synth -c "region=$REGION" -c "architecture=$arch" --output "$out" --quiet
  note "npx cdk synth -c region=$REGION -c architecture=$arch:"
  "$PYTHON" "$ROOT/scripts/checks/cdk_stack.py" summary "$out/Randapi.template.json" "$arch"
done
ok "synthesized to deploy/cdk/cdk.out/ (and the image's build context, staged there); cdk-nag: no finding left unacknowledged"

step "3. cfn-lint $CFN_LINT_VERSION on both templates"
rc=0
"$CFN_LINT" --format parseable cdk.out/Randapi.template.json "$WORK/cdk.out.arm64/Randapi.template.json" >"$WORK/cfn-lint.txt" || rc=$?
sed "s|$WORK/||; s/^/    | /" "$WORK/cfn-lint.txt"
((rc & 3)) && fail "cfn-lint found errors (exit $rc)"
ok "no errors ($(grep -c ':W' "$WORK/cfn-lint.txt" || true) warnings, shown above)"

step "4. npm run deploy without credentials: stops at the first AWS call, with the reason"
t0=$(date +%s%N)
rc=0
offline env -u CI npm run --silent deploy -- -c "region=$REGION" >"$WORK/deploy.out" 2>&1 || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
sed 's/^/    | /' "$WORK/deploy.out"
((rc != 0)) || fail "npm run deploy exited 0 with no credentials"
grep -q '^npm run deploy: AWS did not say who you are, so nothing was deployed: Unable to locate credentials' "$WORK/deploy.out" ||
  fail "npm run deploy did not name the missing credentials"
ok "exit $rc after $ms ms (tsc included): nothing deployed, the reason named"

step "5. deploy/amplify-gen2: npm install from the lock, tsc --noEmit (the same construct, imported from deploy/cdk/lib)"
cd "$ROOT/deploy/amplify-gen2"
# Not `npm ci`: it refuses this lock (npm 10 and 11 alike) because packages bundled inside
# @aws-amplify/data-construct and @aws-amplify/graphql-api-construct declare dependencies their
# bundles do not satisfy (e.g. @aws-cdk/toolkit-lib@1.19.0, @opentelemetry/core@2.0.0), and
# `npm install` never records those. So: `npm install` from the committed lock, which must come
# out unchanged.
cp package-lock.json "$GEN2_LOCK"
npm install --no-audit --no-fund --loglevel=error
cmp -s package-lock.json "$GEN2_LOCK" || {
  diff <(python3 -m json.tool "$GEN2_LOCK") <(python3 -m json.tool package-lock.json) | head -40
  cp "$GEN2_LOCK" package-lock.json
  fail "npm install changed deploy/amplify-gen2/package-lock.json (restored): update and commit it deliberately"
}
ok "npm install kept package-lock.json as committed"
ok "@aws-amplify/backend $(node -p 'require("./node_modules/@aws-amplify/backend/package.json").version'), @aws-amplify/backend-cli $(node -p 'require("./node_modules/@aws-amplify/backend-cli/package.json").version'), aws-cdk-lib $(node -p 'require("aws-cdk-lib/package.json").version')"
npx --no-install tsc --noEmit -p amplify
ok "amplify/backend.ts type-checks"

step "6. deploy/amplify-gen2: backend.ts synthesized offline as ampx loads it (tsx), cdk-nag on the randapi stack, then cfn-lint"
GEN2_OUT="$WORK/gen2-cdk.out"
offline env CDK_OUTDIR="$GEN2_OUT" \
  CDK_CONTEXT_JSON='{"amplify-backend-namespace":"randapi","amplify-backend-name":"ci","amplify-backend-type":"sandbox"}' \
  npx --no-install tsx amplify/backend.ts
"$PYTHON" "$ROOT/scripts/checks/cdk_stack.py" gen2 "$GEN2_OUT"
rc=0
"$CFN_LINT" --format parseable "$GEN2_OUT"/*.template.json >"$GEN2_OUT/cfn-lint.txt" || rc=$?
sed "s|$GEN2_OUT/||; s/^/    | /" "$GEN2_OUT/cfn-lint.txt"
((rc & 3)) && fail "cfn-lint found errors in the Gen2 templates (exit $rc)"
ok "cfn-lint: no errors in the Gen2 templates ($(grep -c ':W' "$GEN2_OUT/cfn-lint.txt" || true) warnings)"

timings
printf '\ncdk.sh: all checks passed\n'
