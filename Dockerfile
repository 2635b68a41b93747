# Builds the policyvault and graph-sim binaries into a small runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin policyvault --bin graph-sim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /app policyvault
WORKDIR /app
COPY --from=build /src/target/release/policyvault /src/target/release/graph-sim /usr/local/bin/
COPY config ./config
USER policyvault
EXPOSE 8080 8081 8090
ENTRYPOINT ["policyvault"]
CMD ["serve"]
