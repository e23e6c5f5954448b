#!/usr/bin/env bash
# Helpers for scripts that run a real `shedu serve` on a throwaway data folder.
#   source scripts/lib/server.sh; start_shedu [extra serve flags...]   -> SHEDU_URL, SHEDU_DATA, SHEDU_CA, TOKEN
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHEDU_BIN=${SHEDU_BIN:-$REPO_ROOT/.build/debug/shedu}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_shedu() {
    if [ ! -x "$SHEDU_BIN" ]; then
        echo "building shedu" >&2
        (cd "$REPO_ROOT" && swift build --product shedu >&2)
    fi
    WORK=$(mktemp -d /tmp/shedu-script.XXXXXX)
    SHEDU_DATA="$WORK/data"
    SHEDU_PORT=$(free_port)
    "$SHEDU_BIN" serve --data-dir "$SHEDU_DATA" --port "$SHEDU_PORT" --log-level warning "$@" >"$WORK/server.log" 2>&1 &
    SHEDU_PID=$!
    trap stop_shedu EXIT
    SHEDU_URL="https://localhost:$SHEDU_PORT"
    SHEDU_CA="$SHEDU_DATA/tls/ca.pem"
    for _ in $(seq 1 400); do
        if [ -f "$SHEDU_CA" ] && curl -sf --cacert "$SHEDU_CA" "$SHEDU_URL/health" >/dev/null 2>&1; then break; fi
        kill -0 "$SHEDU_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; return 1; }
        sleep 0.05
    done
    TOKEN=$("$SHEDU_BIN" token create --data-dir "$SHEDU_DATA" --subject walkthrough --role admin)
    export SHEDU_URL SHEDU_DATA SHEDU_CA TOKEN WORK
}

stop_shedu() {
    if [ -n "${SHEDU_PID:-}" ] && kill -0 "$SHEDU_PID" 2>/dev/null; then
        kill -TERM "$SHEDU_PID"
        wait "$SHEDU_PID" 2>/dev/null || true
    fi
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# api METHOD PATH [JSON]: an authenticated API call; fails on an HTTP error and prints the body.
api() {
    local method=$1 path=$2 body=${3:-}
    local args=(-sS -g --fail-with-body --cacert "$SHEDU_CA" -X "$method" -H "Authorization: Bearer $TOKEN")
    [ -n "$body" ] && args+=(-H "Content-Type: application/json" -d "$body")
    curl "${args[@]}" "$SHEDU_URL$path"
}

# json_field FIELD: reads a top-level field of the JSON on stdin.
json_field() {
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

step() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "FAILED: $*" >&2; exit 1; }
