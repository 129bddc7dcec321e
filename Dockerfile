# syntax=docker/dockerfile:1

# Build stage: the same toolchain family as the runtime's glibc (Debian 12, bookworm).
ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# --locked builds exactly the dependency versions in Cargo.lock. CI runs this same command.
# ring (rustls' crypto provider) links against glibc, hence the distroless "cc" runtime.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin grafana-cloud-operator \
    && install -D -m 0755 target/release/grafana-cloud-operator /out/grafana-cloud-operator

# Runtime stage: glibc and CA certificates, no shell, no package manager, non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="grafana-cloud-operator" \
      org.opencontainers.image.description="Kubernetes operator for Grafana Cloud stacks and API keys" \
      org.opencontainers.image.source="https://github.com/grafana-cloud-operator/grafana-cloud-operator" \
      org.opencontainers.image.url="https://github.com/grafana-cloud-operator/grafana-cloud-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/grafana-cloud-operator /usr/local/bin/grafana-cloud-operator
# 65532 is distroless' "nonroot" user; numeric so that runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/grafana-cloud-operator"]
CMD ["run"]
