# randapi container image: a static glibc binary on an empty base, for x86_64 or arm64.
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
#            image's (x86_64- or aarch64-unknown-linux-gnu, statically linked): no emulation. It
#            also holds the CA bundle at /etc/ssl/certs/ca-certificates.crt;
#   runtime  is FROM scratch and copies exactly those two files.
# `buildah bud --build-context builder=<dir> --target runtime` replaces the builder with a local
# folder laid out the same way (scripts/container.sh does that, for both architectures, with a
# binary from `image_binary` in scripts/lib.sh, which reads the ARG lines below).

# BuildKit (docker buildx, CDK's asset build, deploy-time-build) sets BUILDPLATFORM. The legacy
# builder sets no platform variable and fails on an empty `--platform=`, so the default names the
# only platform it builds on.
# hadolint ignore=DL3029
FROM --platform=${BUILDPLATFORM:-linux/amd64} public.ecr.aws/docker/library/rust:1.95.0-slim-bookworm AS builder

# Why glibc and not musl (docs/deploy-with-cdk.md, "The image's binary"): the static musl build
# spent 9 % of a token-cache miss in musl's `memcpy` (rep movsq) and 3.5 % in its allocator (aws-lc's
# C allocations bypass mimalloc), and cost 1.65x the glibc build's CPU per miss. A static glibc
# build measured like the dynamic glibc one. Both are static: the runtime stage has no libc.
#
# The recipe, read by this file and by scripts/lib.sh (`image_binary`), which builds the same
# binary outside a container for scripts/container.sh and bench/run.sh. Values are plain words or
# one single-quoted string (scripts/lib.sh strips those quotes and accepts nothing else).
#   RUST_TARGET_<ARCH>     the Rust target per TARGETARCH. Native: cargo's defaults (cc, gcc).
#                          Cross: C compiler and linker `<cpu>-linux-gnu-gcc`, ar `<cpu>-linux-gnu-ar`
#                          (only then: with the host's linker named, cargo rebuilt every build
#                          script and proc macro when builds of the two targets alternated);
#   CROSS_PACKAGES_<ARCH>  what provides that gcc and the target's static libc.a when the builder's
#                          CPU is the other one (pinned to bookworm's versions);
#   IMAGE_RUSTFLAGS        +crt-static links glibc (libc.a) into the binary. getrandom 0.3 (rand's
#                          OS seed) finds glibc's getrandom() with dlsym, which a static binary
#                          cannot do, and falls back to /dev/urandom (absent in a bare container):
#                          its `linux_getrandom` backend calls getrandom() directly. RUSTFLAGS
#                          apply to the target only (`--target`), not to build scripts.
ARG RUST_TARGET_AMD64=x86_64-unknown-linux-gnu
ARG RUST_TARGET_ARM64=aarch64-unknown-linux-gnu
ARG CROSS_PACKAGES_AMD64='gcc-x86-64-linux-gnu=4:12.2.0-3 libc6-dev-amd64-cross=2.36-8cross1'
ARG CROSS_PACKAGES_ARM64='gcc-aarch64-linux-gnu=4:12.2.0-3 libc6-dev-arm64-cross=2.36-8cross1'
ARG IMAGE_RUSTFLAGS='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"'

ENV CARGO_TERM_COLOR=never

WORKDIR /build

# The whole Cargo workspace, as .dockerignore lets it through: Cargo.toml, Cargo.lock, src/ and
# crates/ (a new workspace folder is one more line there, nothing here).
COPY . .

# The image's architecture: BuildKit sets TARGETARCH from --platform. Unset (the legacy builder;
# buildah 1.28, which warns about it) means amd64: pass --build-arg TARGETARCH=arm64 there.
# glibc's libc.a carries a link-time warning: getaddrinfo in a static binary needs the NSS modules
# of the same glibc at run time (GNU ld prints it for aarch64; rust-lld, x86_64's default, skips
# such warnings; cargo shows linker output with RUSTFLAGS -W linker-messages). The image has no
# module and needs none: glibc 2.34+ builds `files` and `dns` into libc itself, so the JWKS host
# resolves through /etc/hosts and /etc/resolv.conf, which Docker and ECS put into every container
# (scripts/container.sh proves it in a bare chroot). Another NSS source (LDAP...) would not work.
ARG TARGETARCH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# $packages is a list of words: splitting it is the point (SC2086). hadolint cannot see the pins
# inside the variable (DL3008); scripts/container.sh checks that every word has one.
# hadolint ignore=SC2086,DL3008
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in \
        amd64) target=$RUST_TARGET_AMD64 packages=$CROSS_PACKAGES_AMD64 ;; \
        arm64) target=$RUST_TARGET_ARM64 packages=$CROSS_PACKAGES_ARM64 ;; \
        *) echo "TARGETARCH=${TARGETARCH}: randapi images are amd64 or arm64" >&2; exit 1 ;; \
    esac; \
    if [ "$target" != "$(rustc -vV | sed -n 's/^host: //p')" ]; then \
        gnu="${target%%-*}-linux-gnu"; \
        if ! command -v "$gnu-gcc" >/dev/null; then \
            apt-get update; \
            apt-get install -y --no-install-recommends $packages; \
            rm -rf /var/lib/apt/lists/*; \
        fi; \
        triple=${target//-/_}; \
        export "CARGO_TARGET_${triple^^}_LINKER=$gnu-gcc" "CC_$triple=$gnu-gcc" "AR_$triple=$gnu-ar"; \
    fi; \
    export RUSTFLAGS="$IMAGE_RUSTFLAGS"; \
    rustup target add "$target"; \
    cargo build --release --locked --target "$target"; \
    bin="target/$target/release/randapi"; \
    headers=$(readelf -lW "$bin"; readelf -dW "$bin"); \
    if [[ "$headers" == *INTERP* || "$headers" == *NEEDED* ]]; then \
        echo "$bin is dynamically linked" >&2; exit 1; \
    fi; \
    install -D -m 0755 "$bin" /usr/local/bin/randapi; \
    test -s /etc/ssl/certs/ca-certificates.crt

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
