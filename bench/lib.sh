#!/usr/bin/env bash
# Shared helpers for the benchmarks: a release build, a server on a temporary data folder, and
# the load generators (installed from Debian when missing).
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHEDU="$BENCH_ROOT/.build-release/release/shedu"

source "$BENCH_ROOT/scripts/lib/debian.sh"

# swift_build_release PRODUCT: the release build README.md documents, with cross-module
# optimization: Swift then specializes and inlines the dependencies' generic code (swift-asn1's
# serializer, X.509, NIO) into Shedu's. Measured: 4-7% less server CPU per signed certificate.
swift_build_release() {
    (cd "$BENCH_ROOT" && swift build -c release -Xswiftc -cross-module-optimization --scratch-path .build-release --product "$1" >&2)
}

build_release() {
    ensure_fast_allocator
    echo "bench: building release (.build-release)" >&2
    swift_build_release shedu
}

ensure_tool() {  # ensure_tool COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null 2>&1 || install_debian_packages "$2"
}

# allocator BINARY: the malloc the binary runs with.
allocator() {
    if readelf -d "$1" 2>/dev/null | grep -q 'libmimalloc'; then echo "mimalloc"; else echo "glibc malloc"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server DATA_DIR PORT [extra flags...]: starts shedu in the background, sets SERVER_PID.
start_server() {
    local data=$1 port=$2
    shift 2
    "$SHEDU" serve --data-dir "$data" --port "$port" --log-level warning "$@" >"$data.log" 2>&1 &
    SERVER_PID=$!
    wait_for_health "$data" "$port"
}

wait_for_health() {
    local data=$1 port=$2
    for _ in $(seq 1 400); do
        if [ -f "$data/tls/ca.pem" ] && curl -sf --cacert "$data/tls/ca.pem" "https://localhost:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.025
    done
    echo "bench: server did not start; log:" >&2
    cat "$data.log" >&2
    return 1
}

stop_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

# rss_mb PID: resident memory in MB.
rss_mb() {
    awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"
}

# cpu_seconds PID: the user and system CPU time the process has used so far, in seconds. Rates on
# these shared cores move with the machine's speed and the load generator's share; server CPU per
# operation does not, so the benchmarks print both.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# per_operation_us CPU_BEFORE CPU_AFTER OPERATIONS: microseconds of CPU per operation.
per_operation_us() {
    python3 -c "import sys; b, a, n = map(float, sys.argv[1:]); print(round((a - b) * 1e6 / n) if n else '?')" "$1" "$2" "$3"
}

# wrk_with_cpu PID WRK_ARGS...: runs wrk against the server PID; prints requests/s and the
# server's CPU microseconds per request. Answers other than 2xx or 3xx, which wrk counts, are
# reported on stderr as "bench: N answers were not 2xx or 3xx".
wrk_with_cpu() {
    local pid=$1 before after output refused
    shift
    before=$(cpu_seconds "$pid")
    output=$(wrk "$@")
    after=$(cpu_seconds "$pid")
    refused=$(echo "$output" | awk '/Non-2xx or 3xx responses/ {print $NF}')
    [ -z "$refused" ] || echo "bench: $refused answers were not 2xx or 3xx" >&2
    echo "$(echo "$output" | awk '/Requests\/sec/ {print $2}')" \
        "$(per_operation_us "$before" "$after" "$(echo "$output" | awk '/requests in/ {print $1}')")"
}

# wrk_rate ARGS...: runs wrk and prints requests/s.
wrk_rate() {
    wrk "$@" | awk '/Requests\/sec/ {print $2}'
}

# timed PATH: median of 15 requests' time to first byte in ms (server time plus loopback), with
# the bearer token $TOKEN against the base URL $API. An answer other than 200 measures nothing:
# it prints "failed (HTTP status)" instead, and the body to stderr.
timed() {
    local status body
    body=$(mktemp)
    status=$(curl -s -g -o "$body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$1")
    if [ "$status" != 200 ]; then
        echo "bench: GET $1: HTTP $status $(head -c 300 "$body")" >&2
        echo "failed (HTTP $status)"
        rm -f "$body"
        return 0
    fi
    # A deep page past the end would be fast and prove nothing.
    if grep -q '"list":\[\]' "$body"; then echo "bench: GET $1: an empty page" >&2; fi
    rm -f "$body"
    for _ in $(seq 1 15); do
        curl -s -g -o /dev/null -w '%{time_starttransfer}\n' -H "Authorization: Bearer $TOKEN" "$API$1"
    done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}'
}
