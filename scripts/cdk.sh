#!/usr/bin/env bash
# CI for the CDK deployment (deploy/cdk) and the Amplify Gen2 entry point (deploy/amplify-gen2).
#
#   scripts/cdk.sh
#
# 1. deploy/cdk: npm ci, tsc, the aws-cdk-lib/assertions tests (node --test).
# 2. deploy/cdk: `npx cdk synth` offline: no AWS credentials, no Docker, no network lookups
#    (region given as context), writing deploy/cdk/cdk.out/; the template's Lambda runtimes are
#    listed.
# 3. cfn-lint (the version lib.sh pins, shared with container.sh) on the
#    synthesized template: no errors allowed.
# 4. deploy/amplify-gen2: npm install from the lock (which must not change) and `tsc --noEmit` of amplify/ (which imports the construct
#    from deploy/cdk/lib).
# 5. deploy/amplify-gen2: amplify/backend.ts synthesized offline the way `ampx` loads it (tsx, with
#    the backend identifier as CDK context), into a temporary folder: the randapi stack takes the
#    pool and client of Amplify's auth stack, amplify_outputs' `custom.API.randapi` is wired, and
#    cfn-lint finds no errors in the templates.
# Needs node >= 20, npm, python3 with venv. Idempotent.
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
pip_ensure cfn-lint "$CFN_LINT_VERSION"
ok "node $(node --version), npm $(npm --version), $(cfn-lint --version)"

step "1. deploy/cdk: npm ci, tsc, tests"
cd "$ROOT/deploy/cdk"
npm ci --no-audit --no-fund --loglevel=error
ok "aws-cdk-lib $(node -p 'require("aws-cdk-lib/package.json").version'), aws-cdk $(npx --no-install cdk --version | awk '{print $1}')"
npx --no-install tsc
offline node --test dist/test/

step "2. deploy/cdk: cdk synth, offline"
rm -rf cdk.out
offline npx --no-install cdk synth -c "region=$REGION" --quiet
TEMPLATE=cdk.out/Randapi.template.json
[[ -s "$TEMPLATE" ]] || fail "no $TEMPLATE"
python3 - "$TEMPLATE" <<'PY'
import collections, json, re, sys
resources = json.load(open(sys.argv[1]))["Resources"]
counts = collections.Counter(r["Type"] for r in resources.values())
print(f"    {len(resources)} resources: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
for name, r in resources.items():
    if r["Type"] == "AWS::Lambda::Function":
        runtime = r["Properties"].get("Runtime", "")
        m = re.fullmatch(r"nodejs(\d+)\.x", runtime)
        if not m or int(m.group(1)) < 22:
            sys.exit(f"    FAIL: {name} runs {runtime!r}, older than nodejs22.x")
        print(f"    Lambda {name}: {runtime}")
PY
ok "synthesized to deploy/cdk/$TEMPLATE (and the image's build context, staged under cdk.out/)"

step "3. cfn-lint $CFN_LINT_VERSION on the synthesized template"
rc=0
cfn-lint --format parseable "$TEMPLATE" >cdk.out/cfn-lint.txt || rc=$?
sed 's/^/    | /' cdk.out/cfn-lint.txt
((rc & 3)) && fail "cfn-lint found errors (exit $rc)"
ok "no errors ($(grep -c ':W' cdk.out/cfn-lint.txt || true) warnings, shown above)"

step "4. deploy/amplify-gen2: npm install from the lock, tsc --noEmit (the same construct, imported from deploy/cdk/lib)"
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

step "5. deploy/amplify-gen2: backend.ts synthesized offline as ampx loads it (tsx), then cfn-lint"
GEN2_OUT="$WORK/gen2-cdk.out"
offline env CDK_OUTDIR="$GEN2_OUT" \
  CDK_CONTEXT_JSON='{"amplify-backend-namespace":"randapi","amplify-backend-name":"ci","amplify-backend-type":"sandbox"}' \
  npx --no-install tsx amplify/backend.ts
python3 - "$GEN2_OUT" <<'PY'
import glob, json, os, re, sys
out = sys.argv[1]
def load(pattern):
    (path,) = glob.glob(os.path.join(out, pattern))
    return json.load(open(path))
def check(cond, msg):
    if not cond:
        sys.exit(f"    FAIL: Gen2: {msg}")
root = load("amplify-randapi-ci-sandbox-*.template.json")
auth = load("*auth*.nested.template.json")
api = load("*randapi[0-9A-F]*.nested.template.json")
def of(t, type_):
    return [r["Properties"] for r in t["Resources"].values() if r["Type"] == type_]
(client,) = of(auth, "AWS::Cognito::UserPoolClient")
check(sorted(client["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"],
      f"web client flows {client['ExplicitAuthFlows']}")
check(not client.get("GenerateSecret"), "web client has a secret")
check(not of(api, "AWS::Cognito::UserPool"), "the randapi stack made its own pool")
(task,) = of(api, "AWS::ECS::TaskDefinition")
env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
for name, ref in (("COGNITO_USER_POOL_ID", "UserPool"), ("COGNITO_CLIENT_IDS", "AppClient")):
    value = env[name].get("Ref", "") if isinstance(env[name], dict) else ""
    check(value.startswith("referenceto") and "auth" in value and ref in value, f"{name} = {env[name]}")
routes = sorted(r["RouteKey"] for r in of(api, "AWS::ApiGatewayV2::Route"))
check(routes == ["GET /", "GET /{proxy+}"], f"routes {routes}")
for t in (root, auth, api):
    for r in t["Resources"].values():
        if r["Type"] == "AWS::Lambda::Function":
            m = re.fullmatch(r"nodejs(\d+)\.x", r["Properties"].get("Runtime", ""))
            check(m and int(m.group(1)) >= 22, f"Lambda runtime {r['Properties'].get('Runtime')}")
custom = json.dumps(root["Outputs"]["customOutputs"]["Value"])
check('\\"custom\\":{\\"API\\":{\\"randapi\\":{\\"endpoint\\"' in custom, f"customOutputs {custom[:200]}")
print(f"    ok: auth stack {len(auth['Resources'])} resources (web client: SRP, USER_PASSWORD, REFRESH; no secret);"
      f" randapi stack {len(api['Resources'])} resources (pool and client from the auth stack, routes {routes});"
      " amplify_outputs custom.API.randapi.endpoint from the API")
PY
rc=0
cfn-lint --format parseable "$GEN2_OUT"/*.template.json >"$GEN2_OUT/cfn-lint.txt" || rc=$?
sed "s|$GEN2_OUT/||; s/^/    | /" "$GEN2_OUT/cfn-lint.txt"
((rc & 3)) && fail "cfn-lint found errors in the Gen2 templates (exit $rc)"
ok "cfn-lint: no errors in the Gen2 templates ($(grep -c ':W' "$GEN2_OUT/cfn-lint.txt" || true) warnings)"

printf '\ncdk.sh: all checks passed\n'
