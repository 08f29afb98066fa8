#!/usr/bin/env bash
# Installs what the Cognito end-to-end tests (tests/cognito_e2e.rs) need, pinned, and checks it:
#   - moto's Cognito emulator (`moto_server`, PyPI moto[server]),
#   - pycognito (the independent SRP implementation the `randapi token` arithmetic is checked against),
#   - the aws CLI (the tutorial's commands are run with it).
# Idempotent: installs only what is missing or at another version. Runs no test.
set -euo pipefail

MOTO_VERSION=5.2.1
PYCOGNITO_VERSION=2024.5.1
AWSCLI_VERSION=1.45.11

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "cognito.sh: $PYTHON not found (Python 3 with pip is needed)" >&2; exit 1; }

installed_version() {
    { "$PYTHON" -m pip show "$1" 2>/dev/null || true; } | sed -n 's/^Version: //p'
}

ensure_pip_package() {
    local name=$1 version=$2 spec=$3 module=$4
    local have
    have=$(installed_version "$name")
    if [[ "$have" == "$version" ]] && "$PYTHON" -c "import $module" 2>/dev/null; then
        echo "cognito.sh: $name $version already installed"
    else
        echo "cognito.sh: installing $spec (found: ${have:-none})"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "$spec"
    fi
}

# moto.server needs the [server] extra (flask, flask-cors): importing it checks the extra too.
ensure_pip_package moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" moto.server
ensure_pip_package pycognito "$PYCOGNITO_VERSION" "pycognito==$PYCOGNITO_VERSION" pycognito.aws_srp

if command -v aws >/dev/null 2>&1; then
    echo "cognito.sh: aws CLI present: $(aws --version 2>&1)"
else
    ensure_pip_package awscli "$AWSCLI_VERSION" "awscli==$AWSCLI_VERSION" awscli
fi

# Checks: each tool answers, from PATH, as the tests will call it.
hash -r
command -v moto_server >/dev/null || { echo "cognito.sh: moto_server is not on PATH after install" >&2; exit 1; }
echo "cognito.sh: moto_server at $(command -v moto_server), moto $(installed_version moto)"
"$PYTHON" -c 'import pycognito.aws_srp' || { echo "cognito.sh: pycognito does not import" >&2; exit 1; }
echo "cognito.sh: pycognito $(installed_version pycognito) imports"
aws --version >/dev/null 2>&1 || { echo "cognito.sh: aws CLI does not run" >&2; exit 1; }
echo "cognito.sh: aws CLI $(aws --version 2>&1)"
