# iscmock as a small static image that runs as a non-root user and checks its own health.
# On a machine that reaches no registry, scripts/build-image makes local stand-ins for both FROM images.
#
# One recipe for every platform: the build stage runs on the builder's own platform and cross-compiles for
# the target, so `docker buildx build --platform linux/amd64,linux/arm64` makes both without emulation.
# BuildKit sets BUILDPLATFORM, TARGETOS and TARGETARCH; the legacy builder sets none of them, and gets the
# defaults: a build stage for linux/amd64 and a binary for the build stage's own platform.
ARG BUILDPLATFORM=linux/amd64
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev
# The same flags as scripts/release: no cgo, no paths or build id in the binary.
RUN GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-$(go env GOARCH)} CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/iscmock ./cmd/iscmock \
    && mkdir /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iscmock /iscmock
# An empty /state of nonroot's, for ISCMOCK_STATE_DIR=/state: a volume mounted there starts owned by nonroot.
COPY --from=build --chown=65532:65532 /out/state /state
USER nonroot:nonroot
EXPOSE 8080
# The address is a variable, not a flag of CMD, so that ISCMOCK_ADDR moves the server and its health check alike.
ENV ISCMOCK_ADDR=0.0.0.0:8080 ISCMOCK_LOG_FORMAT=json
# A check every 2 s, so that those who wait on "healthy" wait about that long; failures in the first 10 s do not count.
HEALTHCHECK --interval=2s --timeout=2s --start-period=10s --retries=3 CMD ["/iscmock", "health"]
ARG VERSION=dev REVISION=unknown
LABEL org.opencontainers.image.title="iscmock" \
      org.opencontainers.image.description="An in-memory emulator of SailPoint ISC's Personal Access Tokens API" \
      org.opencontainers.image.source="https://github.com/iscmock/iscmock" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/iscmock"]
CMD ["serve"]
