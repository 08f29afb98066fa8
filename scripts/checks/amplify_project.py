#!/usr/bin/env python3
"""Checks that the Amplify Gen1 project files under amplify/ parse and agree with each other and
with docker-compose.yml and the Dockerfile.

Why: `amplify push` reads these files without telling what it ignored. A resource name that is not
lower-case alphanumeric, an environmentMap that does not wire the pool id and web client id into the
container, a compose file that Amplify parses as the v1 format, or a port that differs between
compose, EXPOSE and PORT each give a deployment that builds and then refuses every request or never
turns healthy. These are found here, offline, instead of after a push.

    scripts/checks/amplify_project.py [REPOSITORY]    (default: the current directory)
"""

import json
import pathlib
import re

import yaml

from _check import check, ok, run

NAME = re.compile(r"^[a-z0-9]+$")
NETWORK_ATTRIBUTES = {"ClusterName", "VpcId", "VpcCidrBlock", "SubnetIds", "VpcLinkId", "CloudMapNamespaceId"}
WEB_CLIENT_FLOWS = {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"}


def load_json_files(root):
    """Every JSON file under amplify/ (and amplify.state), parsed: {path relative to root: value}."""
    files = sorted(p for p in (root / "amplify").rglob("*")
                   if p.is_file() and (p.suffix == ".json" or p.name == "amplify.state")
                   and "node_modules" not in p.parts)
    docs = {}
    for p in files:
        try:
            docs[str(p.relative_to(root))] = json.loads(p.read_text())
        except ValueError as e:
            check(False, f"{p.relative_to(root)}: {e}")
    ok(f"{len(files)} JSON files parse: " + ", ".join(str(p.relative_to(root / 'amplify')) for p in files))
    return docs


def check_project_config(docs):
    """Containers are enabled, and Amplify's frontend SourceDir is not the crate's src/."""
    pc = docs["amplify/.config/project-config.json"]["javascript"]["config"]
    check(pc.get("ServerlessContainers") is True, "project-config: ServerlessContainers must be true")
    check(pc["SourceDir"] not in ("src", "./src", "."), "project-config: SourceDir must not be the Rust src/")


def check_backend_config(docs):
    """One container API `randapi` behind one Cognito auth resource whose ids reach the container.
    Returns the auth resource's name."""
    bc = docs["amplify/backend/backend-config.json"]
    check(list(bc["api"]) == ["randapi"], "backend-config: one api, randapi")
    check(len(bc["auth"]) == 1, "backend-config: one auth resource")
    auth = next(iter(bc["auth"]))
    check(NAME.match("randapi") and NAME.match(auth), "resource names must match ^[a-z0-9]+$")
    api = bc["api"]["randapi"]
    want = {"service": "ElasticContainer", "providerPlugin": "awscloudformation", "build": True,
            "deploymentMechanism": "FULLY_MANAGED", "imageSource": {"type": "CUSTOM"},
            "restrictAccess": True, "apiType": "REST", "authName": auth}
    for k, v in want.items():
        check(api.get(k) == v, f"backend-config api.randapi.{k} must be {v!r}, is {api.get(k)!r}")
    deps = {(d["category"], d["resourceName"]): d["attributes"] for d in api["dependsOn"]}
    check(set(deps[("", "NetworkStack")]) == NETWORK_ATTRIBUTES, "dependsOn NetworkStack attributes")
    check({"UserPoolId", "AppClientIDWeb"} <= set(deps[("auth", auth)]), "dependsOn auth: UserPoolId, AppClientIDWeb")
    env = api["environmentMap"]
    check(env == {"COGNITO_USER_POOL_ID": {"Ref": f"auth{auth}UserPoolId"},
                  "COGNITO_CLIENT_IDS": {"Ref": f"auth{auth}AppClientIDWeb"}},
          f"environmentMap must wire the pool id and the web client id of auth {auth}: {env}")
    ok(f"backend-config: api randapi (ElasticContainer, CUSTOM, FULLY_MANAGED, restricted) -> auth {auth}; "
       f"environmentMap COGNITO_USER_POOL_ID={env['COGNITO_USER_POOL_ID']}, COGNITO_CLIENT_IDS={env['COGNITO_CLIENT_IDS']}")
    return auth


def check_auth(root, docs, auth):
    """The app clients have no secret, and the web client allows SRP and USER_PASSWORD_AUTH (what
    `randapi token` and the aws CLI use), set by override.ts."""
    ci = docs[f"amplify/backend/auth/{auth}/cli-inputs.json"]["cognitoConfig"]
    check(ci["resourceName"] == auth and ci["authSelections"] == "identityPoolAndUserPool",
          "cli-inputs: resourceName/authSelections")
    check(ci["userpoolClientGenerateSecret"] is False, "cli-inputs: the app clients have no secret")
    override = (root / f"amplify/backend/auth/{auth}/override.ts").read_text()
    flows = re.search(r"userPoolClientWeb\.explicitAuthFlows\s*=\s*\[([^\]]*)\]", override)
    check(flows is not None, "override.ts must set userPoolClientWeb.explicitAuthFlows")
    got = set(re.findall(r"'([A-Z_]+)'", flows.group(1)))
    check(got == WEB_CLIENT_FLOWS, f"web client flows: {got}")
    ok(f"auth {auth}: user pool + identity pool; web client flows {sorted(got)} (override.ts)")
    check(docs["amplify/backend/api/randapi/custom-policies.json"] == [{"Action": [], "Resource": []}],
          "custom-policies.json default")


def check_compose_and_dockerfile(root):
    """docker-compose.yml is in the form Amplify parses, and its port and health check match the
    Dockerfile's; it does not set the Cognito ids (that would override environmentMap)."""
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    check("version" in compose, "docker-compose.yml needs 'version' (else Amplify parses it as the v1 format)")
    check(list(compose["services"]) == ["api"], "one compose service named api (matches the committed buildspec)")
    svc = compose["services"]["api"]
    check(svc.get("build") == ".", "api.build must be '.' (buildspec: docker build ./.)")
    check(svc["healthcheck"]["test"] == ["CMD", "/randapi", "healthcheck"], "healthcheck test")
    for k in ("interval", "timeout", "start_period"):
        check(re.fullmatch(r"\d+s", str(svc["healthcheck"][k])), f"healthcheck.{k} must be 'Ns' (Amplify parses only that)")
    cenv = svc["environment"]
    check(isinstance(cenv, dict) and cenv.get("PORT") == "3001", "compose environment PORT=3001")
    check(not {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_IDS"} & set(cenv),
          "compose environment must not set the Cognito ids: it would override environmentMap")
    check(svc["ports"] == ["3001:3001"], "compose ports 3001:3001")
    dockerfile = (root / "Dockerfile").read_text()
    check(re.search(r"^EXPOSE 3001$", dockerfile, re.M), "Dockerfile EXPOSE 3001")
    check(re.search(r"^ENV [^\n]*PORT=3001", dockerfile, re.M | re.S) or "PORT=3001" in dockerfile, "Dockerfile PORT=3001")
    ok("docker-compose.yml: service api, build '.', port 3001 = EXPOSE 3001 = PORT, healthcheck /randapi healthcheck, no Cognito ids")


def main(args):
    root = pathlib.Path(args[0] if args else ".")
    docs = load_json_files(root)
    check_project_config(docs)
    auth = check_backend_config(docs)
    check_auth(root, docs, auth)
    check_compose_and_dockerfile(root)


if __name__ == "__main__":
    run(main)
