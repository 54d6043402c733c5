# Build a static binary, then ship it alone on a distroless base as a non-root user.
#
# Base images are pinned by digest, so a rebuild gets the same bases;
# refresh them deliberately with
#   docker buildx imagetools inspect golang:1.26
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
# No "# syntax=" line: it would make BuildKit pull the docker/dockerfile
# frontend, an image not pinned here; nothing below needs more than the
# builder's own.
# Smoke test: docker build -t klaxon . && docker run --rm klaxon demo
FROM golang:1.26.5@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/klaxon ./cmd/klaxon \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/klaxon /usr/local/bin/klaxon
# The bbolt store lives on this volume, never in the (read-only) config
# mount: the default store.path, ./klaxon.db, is relative to this working
# directory.
COPY --from=build --chown=65532:65532 /out/data /var/lib/klaxon
VOLUME ["/var/lib/klaxon"]
WORKDIR /var/lib/klaxon
ENV KLAXON_CONFIG=/etc/klaxon/klaxon.yaml
USER 65532:65532
# /healthz, /readyz and /metrics, when http.listen is 0.0.0.0:8080.
EXPOSE 8080
# No shell in the image: klaxon asks its own /healthz (http.listen).
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 CMD ["/usr/local/bin/klaxon", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/klaxon"]
CMD ["run"]
