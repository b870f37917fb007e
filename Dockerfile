# syntax=docker/dockerfile:1
#
# The `mercato` image: one binary that runs any set of roles.
#
#   docker build -t mercato:local .
#   docker run --rm -p 8080:8080 -v mercato-data:/data mercato:local          # embedded, demo store
#   docker run --rm mercato:local serve --roles catalog --listen 0.0.0.0:8080 --postgres-url …
#
# Three stages: `skeleton` reduces the workspace to its manifests, `build` compiles the
# dependencies against that skeleton (a layer that survives any change to our own code) and
# then the real sources, and the runtime stage holds the binary only.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# --- skeleton: Cargo.toml/Cargo.lock plus empty targets ------------------------------------
# Copying the whole of crates/ here is cheap; what matters is that the *output* of this stage
# only changes when a manifest or the lockfile does, so the dependency layer below is reused.
FROM ${RUST_IMAGE} AS skeleton
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
# Keep each manifest and replace every target root (lib.rs, main.rs, build.rs and the
# integration tests' main.rs that the manifests name) by an empty stub; drop everything else.
# Generic on purpose: a new crate under crates/ needs no change here.
RUN set -eu; \
    find crates -type f ! -name Cargo.toml ! -path '*/src/lib.rs' ! -path '*/src/main.rs' \
      ! -name build.rs ! -path '*/tests/*/main.rs' -delete; \
    find crates -type f -name '*.rs' | while read -r f; do \
      case "$f" in */src/lib.rs|*/tests/*/main.rs) : >"$f" ;; *) echo 'fn main() {}' >"$f" ;; esac; \
    done; \
    find crates -type d -empty -delete

# --- build ----------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY --from=skeleton /src ./
# Every external crate is compiled here, once per Cargo.lock. The C compiler the image ships
# is all that SQLite (built from source by libsqlite3-sys) needs; protos are compiled by
# protox, so there is no protoc either. The image is built with the `s3` feature: Kubernetes keeps
# exports and images in a bucket (deploy/README.md).
RUN cargo build --release --locked -p mercato --features s3
COPY crates crates
COPY proto proto
# COPY keeps the files' original mtimes, which can be older than the stub build above; touch
# our sources so cargo rebuilds the workspace crates instead of linking the stubs. --offline
# proves that nothing new is fetched after the dependency layer.
RUN find crates -type f -exec touch {} + \
    && cargo build --release --locked --offline -p mercato --features s3 \
    && install -D -m 0755 target/release/mercato /out/mercato

# --- runtime --------------------------------------------------------------------------------
# debian-slim rather than distroless: compose healthchecks run `curl` inside the container
# (Kubernetes probes need nothing in the image). ca-certificates for TLS to managed
# PostgreSQL/NATS/Redis or an OTLP collector.
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mercato \
    && useradd --system --uid 10001 --gid mercato --home-dir /data --no-create-home \
         --shell /usr/sbin/nologin mercato \
    && install -d -o mercato -g mercato -m 0750 /data
COPY --from=build /out/mercato /usr/local/bin/mercato

# Embedded mode keeps its SQLite files here; distributed roles write nothing to disk, so
# Kubernetes runs them with a read-only root filesystem and no volume.
ENV MERCATO__DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /data

# Numeric, so Kubernetes' runAsNonRoot can verify it without resolving a name.
USER 10001:10001
EXPOSE 8080
# The binary is PID 1 and handles SIGTERM itself: it drains HTTP, then its outboxes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["mercato"]
CMD ["serve", "--roles", "all", "--listen", "0.0.0.0:8080", "--json-logs"]
