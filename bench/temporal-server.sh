#!/usr/bin/env bash
# Builds the production Temporal server (`go.temporal.io/server/cmd/server`) and its SQL schema
# tool once into ~/.cache/notiflow/temporal-server, from the Go module at the same version as the
# server inside the Temporal CLI we use. Nothing of it goes into this repository: the bench's
# `--temporal=postgres` mode runs this script, then sets up the schema on its own PostgreSQL and
# starts the server (bench/temporal-postgres.ts). Prints the directory holding `server` and `sql`.
# Takes several minutes the first time (less when the Go build cache holds the CLI's build).
set -euo pipefail
VERSION="${TEMPORAL_SERVER_VERSION:-v1.29.1}"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/notiflow/temporal-server"
if [[ -x "$DIR/server" && -x "$DIR/sql" && "$(cat "$DIR/version" 2>/dev/null)" == "$VERSION" ]]; then
  echo "$DIR"
  exit 0
fi
command -v go >/dev/null || { echo "Go is needed to build the Temporal server" >&2; exit 1; }
mkdir -p "$DIR"
echo "building go.temporal.io/server@$VERSION into $DIR (once)" >&2
GOBIN="$DIR" GOFLAGS=-mod=mod go install \
  "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION" >&2
echo "$VERSION" > "$DIR/version"
echo "$DIR"
