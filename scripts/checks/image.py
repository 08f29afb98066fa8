#!/usr/bin/env python3
"""Checks the container image that scripts/container.sh builds, from what buildah reports.

    scripts/checks/image.py size INSPECT.json OCI-LAYOUT MAX-BYTES
    scripts/checks/image.py config INSPECT.json
    scripts/checks/image.py arch INSPECT.json ARCH

`size`: the image (layer tars + config, uncompressed) is at most MAX-BYTES; prints that size and the
gzip-compressed size as pushed to a registry. Why: the image is a static binary on `scratch`; a
size over the limit means something else got into it.

`config`: the image config is what ECS and Amplify's generated task rely on: a numeric non-root
user, port 3001, the entrypoint `/randapi` with no Cmd (the task passes no command), the health
check `/randapi healthcheck`, and SSL_CERT_FILE pointing at the CA bundle that JWKS fetches use.

`arch`: the image is marked for ARCH (amd64 or arm64), as Fargate's RuntimePlatform needs.
"""

import json
import pathlib

from _check import check, ok, run


def uncompressed_bytes(inspect):
    """Layer tars + config of buildah's manifest (buildah inspect --type image)."""
    manifest = json.loads(inspect["Manifest"])
    return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]


def pushed_bytes(oci):
    """Layers + config of the first manifest of an OCI layout (what `buildah push oci:` wrote, gzip)."""
    def blob(descriptor):
        return oci / "blobs" / descriptor["digest"].replace(":", "/")
    index = json.loads((oci / "index.json").read_text())
    manifest = json.loads(blob(index["manifests"][0]).read_text())
    return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]


def check_size(inspect_path, oci, limit):
    with open(inspect_path) as f:
        size = uncompressed_bytes(json.load(f))
    gz = pushed_bytes(pathlib.Path(oci))
    print(f"    IMAGE SIZE: {size} bytes uncompressed (layer tar + config); {gz} bytes gzip-compressed as pushed to a registry")
    check(size <= int(limit), f"image is {size} bytes, over the limit of {limit} bytes")
    ok(f"at most {limit} bytes")


def check_config(inspect_path):
    with open(inspect_path) as f:
        c = json.load(f)["Docker"]["config"]

    def need(condition, message):
        check(condition, f"image config: {message}: {json.dumps(c)}")

    need(c.get("User") == "10001:10001", "User must be the numeric non-root 10001:10001")
    need(list((c.get("ExposedPorts") or {})) == ["3001/tcp"], "ExposedPorts must be 3001/tcp")
    need(c.get("Entrypoint") == ["/randapi"], "Entrypoint must be [\"/randapi\"]")
    need(not c.get("Cmd"), "no Cmd")
    need((c.get("Healthcheck") or {}).get("Test") == ["CMD", "/randapi", "healthcheck"], "Healthcheck")
    env = dict(e.split("=", 1) for e in c.get("Env") or [])
    need(env.get("SSL_CERT_FILE") == "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_FILE")
    need(env.get("PORT") == "3001", "PORT")
    ok(f"User {c['User']}, ExposedPorts {list(c['ExposedPorts'])}, Entrypoint {c['Entrypoint']}, "
       f"Healthcheck {c['Healthcheck']['Test']}, SSL_CERT_FILE and PORT set")


def check_arch(inspect_path, arch):
    """The image says which CPU it is for; ECS pulls the manifest that matches the task's."""
    with open(inspect_path) as f:
        image = json.load(f)
    found = {image["Docker"].get("architecture"), image["OCIv1"].get("architecture")}
    check(found == {arch}, f"image architecture {sorted(map(str, found))}, expected {arch}")
    ok(f"image architecture {arch} (OCI and Docker configs)")


def main(args):
    if args[:1] == ["arch"] and len(args) == 3:
        check_arch(*args[1:])
    elif args[:1] == ["size"] and len(args) == 4:
        check_size(*args[1:])
    elif args[:1] == ["config"] and len(args) == 2:
        check_config(args[1])
    else:
        check(False, "usage: image.py size INSPECT.json OCI-LAYOUT MAX-BYTES | image.py config INSPECT.json | image.py arch INSPECT.json ARCH")


if __name__ == "__main__":
    run(main)
