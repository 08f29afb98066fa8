#!/usr/bin/env python3
"""Checks the CloudFormation stack that Amplify's own generator makes for the container API from
this repository (scripts/amplify-synth/synth.js writes it).

Why: the repository keeps no template; Amplify generates it at every push from backend-config.json,
docker-compose.yml and the Dockerfile. This is the only place, without AWS, to see that what the
service relies on reaches the task: the Cognito pool id and web client id from the auth stack, the
compose environment, the `randapi healthcheck` health check, port 3001 open only to the VPC, and a
JWT authorizer whose audience is the web client.

    scripts/checks/amplify_stack.py TEMPLATE.json
"""

import json

from _check import check, ok, run

POOL = "authrandapiauthUserPoolId"
WEB_CLIENT = "authrandapiauthAppClientIDWeb"


def check_task(template):
    """Task size, the one container's environment, health check, port and entrypoint."""
    td = template["Resources"]["TaskDefinition"]["Properties"]
    check((td["Cpu"], td["Memory"]) == ("512", "1024"), f"generated stack: task size {td['Cpu']}/{td['Memory']}")
    check(len(td["ContainerDefinitions"]) == 1, "generated stack: one container")
    (c,) = td["ContainerDefinitions"]
    check(c["Name"] == "api", "generated stack: one container named api")
    env = {e["Name"]: e["Value"] for e in c["Environment"]}
    check(env == {"COGNITO_USER_POOL_ID": {"Ref": POOL}, "COGNITO_CLIENT_IDS": {"Ref": WEB_CLIENT},
                  "PORT": "3001", "LOG_FORMAT": "json", "RUST_LOG": "info"},
          f"generated stack: container environment {env}")
    for p in (POOL, WEB_CLIENT):
        check(p in template["Parameters"], f"generated stack: parameter {p}")
    check(c["HealthCheck"] == {"Command": ["CMD", "/randapi", "healthcheck"], "Interval": 30, "Retries": 3,
                               "StartPeriod": 10, "Timeout": 5}, f"generated stack: health check {c['HealthCheck']}")
    check(c["PortMappings"] == [{"ContainerPort": 3001, "Protocol": "tcp"}], f"generated stack: ports {c['PortMappings']}")
    check(not c.get("EntryPoint") and not c.get("Command"), "generated stack: the image's ENTRYPOINT is used as is")


def check_gateway(template):
    """The JWT authorizer's audience, the routes, and the security group of the task."""
    r = template["Resources"]
    audience = r["Authorizer"]["Properties"]["JwtConfiguration"]["Audience"]
    check(audience == [{"Ref": WEB_CLIENT}], f"generated stack: authorizer audience {audience}")
    routes = sorted(v["Properties"]["RouteKey"] for v in r.values() if v["Type"] == "AWS::ApiGatewayV2::Route")
    check(routes == ["$default", "OPTIONS /{proxy+}"], f"generated stack: routes {routes}")
    ingress = r["ServiceSG"]["Properties"]["SecurityGroupIngress"]
    check([(i["FromPort"], i["ToPort"]) for i in ingress] == [(3001, 3001)], f"generated stack: security group {ingress}")


def main(args):
    check(len(args) == 1, "usage: amplify_stack.py TEMPLATE.json")
    with open(args[0]) as f:
        template = json.load(f)
    check_task(template)
    check_gateway(template)
    ok("task 512 CPU / 1024 MiB; container api: COGNITO_USER_POOL_ID and COGNITO_CLIENT_IDS from the auth"
       " stack (environmentMap), PORT/LOG_FORMAT/RUST_LOG from compose; health check /randapi healthcheck 30s/5s/3/10s;"
       " port 3001 (SG from the VPC only); JWT authorizer audience AppClientIDWeb; routes $default, OPTIONS /{proxy+}")


if __name__ == "__main__":
    run(main)
