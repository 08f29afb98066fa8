# randapi container image: a static musl binary on an empty base.
#
# Built by Amplify's CodePipeline on CodeBuild aws/codebuild/standard:4.0 with the generated
# buildspec.yml (`docker build ./.`): Docker 20.10 with the legacy builder, no BuildKit. So this
# file uses no BuildKit-only syntax (no `# syntax=`, no `RUN --mount`, no heredocs, no
# `COPY --chmod`). Bases come from ECR Public, not Docker Hub (no pull rate limit in CodeBuild).
#
# Two named stages:
#   builder  compiles /usr/local/bin/randapi (x86_64-unknown-linux-musl, statically linked) and
#            holds the CA bundle at /etc/ssl/certs/ca-certificates.crt;
#   runtime  is FROM scratch and copies exactly those two files.
# `buildah bud --build-context builder=<dir> --target runtime` replaces the builder with a local
# folder laid out the same way (scripts/container.sh does that).

FROM public.ecr.aws/docker/library/rust:1.95.0-slim-bookworm AS builder

# aws-lc-sys (the one crypto stack, via aws-lc-rs) compiles C: musl-gcc builds it for musl.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl

ENV CC_x86_64_unknown_linux_musl=musl-gcc \
    CARGO_TERM_COLOR=never

WORKDIR /build

# Dependencies first: this layer is reused by Docker while Cargo.toml and Cargo.lock are unchanged.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --target x86_64-unknown-linux-musl \
    && rm -rf src \
        target/x86_64-unknown-linux-musl/release/randapi \
        target/x86_64-unknown-linux-musl/release/deps/randapi-* \
        target/x86_64-unknown-linux-musl/release/deps/librandapi-* \
        target/x86_64-unknown-linux-musl/release/.fingerprint/randapi-*

# The crate itself. The fingerprints of the dummy build are gone, so cargo rebuilds it whatever
# the mtimes of the copied files.
COPY src ./src
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
    && install -D -m 0755 target/x86_64-unknown-linux-musl/release/randapi /usr/local/bin/randapi \
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
# docker-compose.yml, which runs the same command.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/randapi", "healthcheck"]

# No shell in the image: exec form only. SIGTERM reaches randapi as PID 1, which drains and exits 0.
ENTRYPOINT ["/randapi"]
