# randapi container image: a static musl binary on an empty base, for x86_64 or arm64.
#
# Built three ways, all with this one file:
#   - Amplify Gen1: CodeBuild aws/codebuild/standard:4.0 with the generated buildspec.yml
#     (`docker build ./.`): Docker 20.10's legacy builder, no BuildKit, x86_64;
#   - deploy/cdk and Amplify Gen2: `docker buildx build --platform linux/<arch> --target runtime`
#     in CodeBuild at deploy time (@cdklabs/deploy-time-build), or by the local engine;
#   - scripts/container.sh: `buildah bud --build-context builder=<dir>` (see below).
# So this file uses no BuildKit-only syntax (no `# syntax=`, no `RUN --mount`, no heredocs, no
# `COPY --chmod`). Bases come from ECR Public, not Docker Hub (no pull rate limit in CodeBuild).
#
# Two named stages:
#   builder  runs on the machine's own platform and cross-compiles /usr/local/bin/randapi for the
#            image's (x86_64- or aarch64-unknown-linux-musl, statically linked): no emulation. It
#            also holds the CA bundle at /etc/ssl/certs/ca-certificates.crt;
#   runtime  is FROM scratch and copies exactly those two files.
# `buildah bud --build-context builder=<dir> --target runtime` replaces the builder with a local
# folder laid out the same way (scripts/container.sh does that, for both architectures).

# BuildKit (docker buildx, CDK's asset build, deploy-time-build) sets BUILDPLATFORM. The legacy
# builder sets no platform variable and fails on an empty `--platform=`, so the default names the
# only platform it builds on.
# hadolint ignore=DL3029
FROM --platform=${BUILDPLATFORM:-linux/amd64} public.ecr.aws/docker/library/rust:1.95.0-slim-bookworm AS builder

# cargo-zigbuild compiles and links for either musl target with zig (PyPI `ziglang`), including
# the C that aws-lc-sys and mimalloc build: one toolchain for both architectures, on any host.
# scripts/container.sh reads these two versions from here and builds with the same ones.
ARG CARGO_ZIGBUILD_VERSION=0.24.1
ARG ZIGLANG_VERSION=0.17.1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv=3.11.2-1+b1 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/zig \
    && /opt/zig/bin/pip install --no-cache-dir --disable-pip-version-check \
        "cargo-zigbuild==${CARGO_ZIGBUILD_VERSION}" "ziglang==${ZIGLANG_VERSION}" \
    && rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl

ENV PATH=/opt/zig/bin:$PATH \
    CARGO_TERM_COLOR=never

WORKDIR /build

# The whole Cargo workspace, as .dockerignore lets it through: Cargo.toml, Cargo.lock and src/
# (a crates/ folder is one more `!crates` line there, nothing here).
COPY . .

# The image's architecture: BuildKit sets TARGETARCH from --platform. Unset (the legacy builder;
# buildah 1.28, which warns about it) means amd64: pass --build-arg TARGETARCH=arm64 there.
ARG TARGETARCH
RUN case "${TARGETARCH:-amd64}" in \
        amd64) target=x86_64-unknown-linux-musl ;; \
        arm64) target=aarch64-unknown-linux-musl ;; \
        *) echo "TARGETARCH=${TARGETARCH}: randapi images are amd64 or arm64" >&2; exit 1 ;; \
    esac \
    && cargo zigbuild --release --locked --target "$target" \
    && install -D -m 0755 "target/$target/release/randapi" /usr/local/bin/randapi \
    && test -s /etc/ssl/certs/ca-certificates.crt

FROM scratch AS runtime

# reqwest verifies the Cognito JWKS endpoint with rustls-platform-verifier, which reads the
# system trust store; on an empty base that is this one file, named explicitly.
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /usr/local/bin/randapi /randapi

ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PORT=3001

# Not root: any numeric uid works, the image needs no /etc/passwd.
USER 10001:10001

EXPOSE 3001

# Docker and `docker compose` use this; ECS ignores image health checks and uses the one in
# docker-compose.yml (Gen1) or the task definition (CDK), which run the same command.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/randapi", "healthcheck"]

# No shell in the image: exec form only. SIGTERM reaches randapi as PID 1, which drains and exits 0.
ENTRYPOINT ["/randapi"]
