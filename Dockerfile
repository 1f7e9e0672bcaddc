# syntax=docker/dockerfile:1
# wirelab in a container: `docker build -t wirelab .`, then
#   docker run --rm wirelab test 03-vpc-security.yaml
#   docker run --rm -v "$PWD:/work" -w /work wirelab test my-lab.yaml
# The example labs are in the image's working folder (/labs). See
# docs/packaging.md.

# Build: the official Rust image, the `dist` profile (LTO, one codegen
# unit, stripped), the lock file as committed.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked -p wirelab \
    && install -D -m 0755 target/dist/wirelab /out/wirelab

# Run: Debian slim (glibc, libgcc_s and libm are all the binary links),
# as an unprivileged user; no root, no capabilities needed.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /labs --shell /usr/sbin/nologin wirelab
COPY --from=build /out/wirelab /usr/local/bin/wirelab
COPY --chown=10001:10001 labs /labs
COPY schema /usr/share/wirelab/schema
USER 10001:10001
WORKDIR /labs
ENTRYPOINT ["wirelab"]
CMD ["--help"]
