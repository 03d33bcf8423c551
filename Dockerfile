# iscmock as a small static image that runs as a non-root user and checks its own health.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/iscmock ./cmd/iscmock \
    && /out/iscmock version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iscmock /iscmock
USER nonroot:nonroot
EXPOSE 8080
ENV ISCMOCK_LOG_FORMAT=json
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 CMD ["/iscmock", "health"]
ENTRYPOINT ["/iscmock"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
