# iscmock as a small static image that runs as a non-root user and checks its own health.
# On a machine that reaches no registry, scripts/build-image makes local stand-ins for both FROM images.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iscmock ./cmd/iscmock \
    && /out/iscmock version && mkdir /out/state

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
ENTRYPOINT ["/iscmock"]
CMD ["serve"]
