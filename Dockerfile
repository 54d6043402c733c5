# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on a distroless base as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/klaxon ./cmd/klaxon \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/klaxon /usr/local/bin/klaxon
# The bbolt store lives on this volume: point store.path at /data/klaxon.db.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
ENV KLAXON_CONFIG=/etc/klaxon/klaxon.yaml
USER 65532:65532
# /healthz, /readyz and /metrics, when http.listen is 0.0.0.0:8080.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/klaxon"]
CMD ["run"]
