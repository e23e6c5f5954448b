#!/usr/bin/env bash
# EST fleet simulator (issue 5): simulated devices with bootstrap certificates enroll over mutual
# TLS, through provisioning stations on kept-alive connections and each on a new connection, then
# renew; prints enrollments/s and latency percentiles. `openssl s_server` handshakes are the
# reference for the new-connection round.
#   bench/est.sh [station enrollments, default 20000] [device enrollments, default 2000]
source "$(dirname "$0")/lib.sh"
STATION_DEVICES=${1:-20000}
DEVICES=${2:-2000}
build_release
echo "bench: building the fleet simulator (.build-release)" >&2
swift_build_release shedu-fleet
WORK=$(mktemp -d /tmp/shedu-bench-est.XXXXXX)
trap 'stop_server; rm -rf "$WORK"' EXIT
DATA="$WORK/data"
PORT=$(free_port)
# Every simulated device connects from 127.0.0.1: the per-address limit on EST (2,000/s by
# default) is raised above what the simulator sends, so the run pays for it without a throttle.
start_server "$DATA" "$PORT" --rate-limit-public "${EST_BENCH_RATE_LIMIT:-1000000/2000000}"
TOKEN=$("$SHEDU" token create --data-dir "$DATA" --subject bench --role admin)
API="https://localhost:$PORT"
call() { curl -sf --cacert "$DATA/tls/ca.pem" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@" >/dev/null; }
call "$API/api/ca/v1/profiles" -d '{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},"extended_key_usages":["ClientAuth"]}'
call "$API/api/ca/v1/cas" -d '{"id":"root-ca","subject":{"common_name":"Bench Root"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"20y"}}'
call "$API/api/ca/v1/cas" -d '{"id":"issuing-ca-01","parent_id":"root-ca","subject":{"common_name":"Bench Issuing CA"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}'

fleet() {  # fleet STATION_DEVICES DEVICES: one run of the simulator (its own DMS)
    "$BENCH_ROOT/.build-release/release/shedu-fleet" --url "$API" --ca-file "$DATA/tls/ca.pem" --token "$TOKEN" \
        --station-devices "$1" --devices "$2"
}
# Two runs, so that the server's CPU per enrollment is known for each kind of connection.
CPU_START=$(cpu_seconds "$SERVER_PID")
fleet "$STATION_DEVICES" 0
CPU_STATIONS=$(cpu_seconds "$SERVER_PID")
fleet 0 "$DEVICES"
CPU_DEVICES=$(cpu_seconds "$SERVER_PID")
echo "  server CPU per enrollment: $(per_operation_us "$CPU_START" "$CPU_STATIONS" "$STATION_DEVICES") us on kept-alive" \
    "connections, $(per_operation_us "$CPU_STATIONS" "$CPU_DEVICES" $((2 * DEVICES))) us with a new TLS handshake each"
echo "  resident memory of the server after the runs: $(rss_mb "$SERVER_PID") MB"
stop_server

# The reference: full TLS handshakes per second against openssl s_server with a P-256 certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" \
    -subj /CN=localhost -days 1 2>/dev/null
S_PORT=$(free_port)
openssl s_server -quiet -accept "$S_PORT" -cert "$WORK/c.pem" -key "$WORK/k.pem" -www >/dev/null 2>&1 &
S_PID=$!
sleep 0.5
HANDSHAKES=$(openssl s_time -connect "127.0.0.1:$S_PORT" -new -time 10 2>/dev/null | awk '/connections in/ && /real/ {print $1 / $4}' | tail -1)
kill "$S_PID" 2>/dev/null || true
echo "  reference: openssl s_server, new TLS handshakes: ${HANDSHAKES:-?}/s"
echo "Targets: >= 2,000 enrollments/s on kept-alive mTLS connections, >= 500/s with a new TLS handshake each"
