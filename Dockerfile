# syntax=docker/dockerfile:1
# The server as a static binary (SQLite is pure Go, no cgo) on a distroless
# base that runs as an unprivileged user. Build from the repository root:
#   docker build -t oauth2-server .
FROM golang:1.26-bookworm AS build
WORKDIR /src
# The workspace's module files first, so that the module download is cached
# until a dependency changes.
COPY go.work go.work.sum ./
COPY bench/go.mod bench/
COPY config/go.mod config/go.sum config/
COPY core/go.mod core/go.sum core/
COPY events/go.mod events/go.sum events/
COPY httpapi/go.mod httpapi/go.sum httpapi/
COPY ports/go.mod ports/
COPY ratelimit/go.mod ratelimit/go.sum ratelimit/
COPY resilience/go.mod resilience/go.sum resilience/
COPY server/go.mod server/go.sum server/
COPY storage/memory/go.mod storage/memory/
COPY storage/mongo/go.mod storage/mongo/go.sum storage/mongo/
COPY storage/sql/go.mod storage/sql/go.sum storage/sql/
COPY templates/go.mod templates/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/oauth2-server ./server/cmd/oauth2-server \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oauth2-server /usr/local/bin/oauth2-server
# An embedded SQLite database, when used, belongs on a volume here; the
# directory belongs to the user the server runs as, so a new volume does too.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
ENV OAUTH2_ADDR=:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/oauth2-server"]
CMD ["serve"]
