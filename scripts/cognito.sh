#!/usr/bin/env bash
# Installs what the Cognito end-to-end tests (tests/cognito_e2e.rs) need, pinned, and checks it:
#   - moto's Cognito emulator (`moto_server`, PyPI moto[server]),
#   - pycognito (the independent SRP implementation the `randapi token` arithmetic is checked against),
#   - the aws CLI (the tutorial's commands are run with it).
# Idempotent: installs only what is missing or at another version. Runs no test.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_init cognito

MOTO_VERSION=5.2.1
PYCOGNITO_VERSION=2024.5.1
AWSCLI_VERSION=1.45.11

command -v "$PYTHON" >/dev/null || fail "$PYTHON not found (Python 3 with pip is needed)"

# moto.server needs the [server] extra (flask, flask-cors): importing it checks the extra too.
pip_ensure moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" moto.server
pip_ensure pycognito "$PYCOGNITO_VERSION" "pycognito==$PYCOGNITO_VERSION" pycognito.aws_srp
if command -v aws >/dev/null 2>&1; then
  note "aws CLI present: $(aws --version 2>&1)"
else
  pip_ensure awscli "$AWSCLI_VERSION" "awscli==$AWSCLI_VERSION" awscli
fi

# Checks: each tool answers, from PATH, as the tests will call it.
hash -r
command -v moto_server >/dev/null || fail "moto_server is not on PATH after install"
ok "moto_server at $(command -v moto_server), moto $(pip_version moto)"
"$PYTHON" -c 'import pycognito.aws_srp' || fail "pycognito does not import"
ok "pycognito $(pip_version pycognito) imports"
aws --version >/dev/null 2>&1 || fail "aws CLI does not run"
ok "aws CLI $(aws --version 2>&1)"
