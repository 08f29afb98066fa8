#!/usr/bin/env python3
"""Checks of the CloudFormation that deploy/cdk and deploy/amplify-gen2 synthesize, for
scripts/cdk.sh. Only the Python standard library.

    scripts/checks/cdk_stack.py summary TEMPLATE ARCH   the CDK app's stack, built for ARCH
    scripts/checks/cdk_stack.py gen2 OUTDIR             the Gen2 backend's templates

Each prints the lines the report quotes (resource counts, the task's platform, how the image is
built, the alarms) and fails on what the deployment must never have: a DesiredCount (every deploy
would reset the autoscaled count), a Lambda older than nodejs22.x, an image built for another
architecture than the task's, an alarm on Responses503.
"""

import collections
import glob
import json
import os
import re

from _check import check, ok, run

ARCH = {"x86_64": ("X86_64", "linux/amd64", "LINUX_CONTAINER"), "arm64": ("ARM64", "linux/arm64", "ARM_CONTAINER")}


def of(template, type_):
    return [(k, r.get("Properties", {})) for k, r in template["Resources"].items() if r["Type"] == type_]


def counts(template):
    c = collections.Counter(r["Type"] for r in template["Resources"].values())
    return f"{len(template['Resources'])} resources: " + ", ".join(f"{t.split('::', 1)[1]} {n}" for t, n in sorted(c.items()))


def lambdas(template, where):
    for name, props in of(template, "AWS::Lambda::Function"):
        runtime = props.get("Runtime", "")
        m = re.fullmatch(r"nodejs(\d+)\.x", runtime)
        check(m and int(m.group(1)) >= 22, f"{where}: Lambda {name} runs {runtime!r}, older than nodejs22.x")
        print(f"    Lambda {name}: {runtime}")


def service(template, arch, where):
    ((_, svc),) = of(template, "AWS::ECS::Service")
    check("DesiredCount" not in svc, f"{where}: the service has DesiredCount {svc.get('DesiredCount')}: every deploy would reset the scaled count")
    ((_, target),) = of(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    ((_, task),) = of(template, "AWS::ECS::TaskDefinition")
    cpu_arch, platform, build_type = ARCH[arch]
    check(task["RuntimePlatform"]["CpuArchitecture"] == cpu_arch, f"{where}: task RuntimePlatform {task['RuntimePlatform']}")
    builds = of(template, "Custom::CDKContainerImageBuild")
    check(len(builds) == 1, f"{where}: {len(builds)} deploy-time image builds")
    command = builds[0][1]["buildCommand"]
    check(f"--platform {platform} " in command and "--target runtime " in command, f"{where}: build command {command}")
    ((_, project),) = of(template, "AWS::CodeBuild::Project")
    env = project["Environment"]
    check(env["Type"] == build_type, f"{where}: CodeBuild {env['Type']} builds for {platform}")
    print(f"    ECS service: no DesiredCount; autoscaling {target['MinCapacity']}..{target['MaxCapacity']} tasks; "
          f"task {task['Cpu']} CPU / {task['Memory']} MiB, {task['RuntimePlatform']['CpuArchitecture']}")
    print(f"    image: CodeBuild {env['Type']} {env['Image']} at deploy time: {command}")
    ((_, cluster),) = of(template, "AWS::ECS::Cluster")
    check({"Name": "containerInsights", "Value": "enabled"} in cluster.get("ClusterSettings", []), f"{where}: no Container Insights")
    ((_, stage),) = of(template, "AWS::ApiGatewayV2::Stage")
    fields = sorted(json.loads(stage["AccessLogSettings"]["Format"]))
    print(f"    stage {stage['StageName']}: JSON access log with {', '.join(fields)}")


def alarms(template, where):
    found = of(template, "AWS::CloudWatch::Alarm")
    check(len(found) == 4, f"{where}: {len(found)} alarms, expected 4")
    check("Responses503" not in json.dumps(found), f"{where}: an alarm watches Responses503 (an attacker's unknown kids trip it)")
    for _, a in sorted(found, key=lambda x: str(x[1].get("AlarmName"))):
        if "Metrics" in a:
            expr = next(m["Expression"] for m in a["Metrics"] if "Expression" in m)
            names = sorted(m["MetricStat"]["Metric"]["MetricName"] for m in a["Metrics"] if "MetricStat" in m)
            what = f"{expr} over {'/'.join(names)}"
        else:
            what = f"{a['Namespace']} {a['MetricName']} {a['Statistic']}/{a['Period']}s"
        name = a.get("AlarmName")
        name = name if isinstance(name, str) else json.dumps(name)
        print(f"    alarm {name}: {what} {a['ComparisonOperator']} {a['Threshold']}, "
              f"{a.get('DatapointsToAlarm', a['EvaluationPeriods'])} of {a['EvaluationPeriods']}, missing data {a['TreatMissingData']}")


def summary(args):
    path, arch = args
    template = json.load(open(path))
    print(f"    {counts(template)}")
    service(template, arch, path)
    alarms(template, path)
    lambdas(template, path)
    ok(f"{os.path.basename(path)}: no DesiredCount, {arch} task and image build, 4 alarms, every Lambda on nodejs22.x or later")


def gen2(args):
    (out,) = args

    def load(pattern):
        (path,) = glob.glob(os.path.join(out, pattern))
        return json.load(open(path))

    root = load("amplify-randapi-ci-sandbox-*.template.json")
    auth = load("*auth*.nested.template.json")
    api = load("*randapi[0-9A-F]*.nested.template.json")
    ((_, client),) = of(auth, "AWS::Cognito::UserPoolClient")
    check(sorted(client["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"],
          f"Gen2: web client flows {client['ExplicitAuthFlows']}")
    check(not client.get("GenerateSecret"), "Gen2: web client has a secret")
    # Amplify's defaults, which docs/deploy-with-cdk.md states with the lines that turn them off.
    ((_, pool),) = of(auth, "AWS::Cognito::UserPool")
    self_sign_up = not pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly", False)
    ((_, identity),) = of(auth, "AWS::Cognito::IdentityPool")
    guests = identity.get("AllowUnauthenticatedIdentities")
    check(self_sign_up and guests is True, f"Gen2 defaults changed: self sign-up {self_sign_up}, guests {guests}; update the docs")
    print("    auth stack: self sign-up on, identity pool guests on (Amplify's defaults, documented)")
    check(not of(api, "AWS::Cognito::UserPool"), "Gen2: the randapi stack made its own pool")
    ((_, task),) = of(api, "AWS::ECS::TaskDefinition")
    env = {e["Name"]: e["Value"] for e in task["ContainerDefinitions"][0]["Environment"]}
    for name, ref in (("COGNITO_USER_POOL_ID", "UserPool"), ("COGNITO_CLIENT_IDS", "AppClient")):
        value = env[name].get("Ref", "") if isinstance(env[name], dict) else ""
        check(value.startswith("referenceto") and "auth" in value and ref in value, f"Gen2: {name} = {env[name]}")
    routes = sorted(p["RouteKey"] for _, p in of(api, "AWS::ApiGatewayV2::Route"))
    check(routes == ["GET /", "GET /{proxy+}"], f"Gen2: routes {routes}")
    print(f"    randapi stack: {counts(api)}")
    service(api, "x86_64", "Gen2 randapi stack")
    alarms(api, "Gen2 randapi stack")
    for name, t in (("root", root), ("auth", auth), ("randapi", api)):
        lambdas(t, f"Gen2 {name} stack")
    custom = json.dumps(root["Outputs"]["customOutputs"]["Value"])
    check('\\"custom\\":{\\"API\\":{\\"randapi\\":{\\"endpoint\\"' in custom, f"Gen2: customOutputs {custom[:200]}")
    ok(f"auth stack {len(auth['Resources'])} resources (web client: SRP, USER_PASSWORD, REFRESH; no secret);"
       f" randapi stack {len(api['Resources'])} resources (pool and client from the auth stack, routes {routes},"
       " image built by CodeBuild, no DesiredCount); amplify_outputs custom.API.randapi.endpoint from the API")


def main(argv):
    command, *args = argv
    {"summary": summary, "gen2": gen2}[command](args)


if __name__ == "__main__":
    run(main)
