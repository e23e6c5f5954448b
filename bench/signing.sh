#!/usr/bin/env bash
# CSR signing benchmark (issue 3): distinct P-256 CSRs signed over HTTP by a P-256 issuing CA,
# 64 connections, every certificate committed before its response; `cfssl serve` with a SQLite
# certdb measured the same way in the same run; `openssl speed ecdsap256` as the ceiling.
#   bench/signing.sh [seconds per run, default 15]
source "$(dirname "$0")/lib.sh"
DURATION=${1:-15}
build_release
ensure_tool wrk wrk
ensure_tool cfssl golang-cfssl
ensure_tool sqlite3 sqlite3
python3 -c "import cryptography" 2>/dev/null || pip install -q cryptography

WORK=$(mktemp -d /tmp/shedu-bench-sign.XXXXXX)
CFSSL_PID=""
trap 'stop_server; [ -n "$CFSSL_PID" ] && kill $CFSSL_PID 2>/dev/null; rm -rf "$WORK"' EXIT
COUNT=$((DURATION * 12000))
echo "bench: making $COUNT distinct CSRs" >&2
python3 "$BENCH_ROOT/bench/make_csrs.py" "$COUNT" der "$WORK/csrs.der.txt"
python3 "$BENCH_ROOT/bench/make_csrs.py" "$((DURATION * 6000))" pem "$WORK/csrs.pem.txt"

# --- Shedu (embedded default: SQLite, synchronous=FULL) ---
DATA="$WORK/data"
PORT=$(free_port)
HTTP_PORT=$(free_port)
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT"
TOKEN=$("$SHEDU" token create --data-dir "$DATA" --subject bench --role operator)
API="http://127.0.0.1:$HTTP_PORT/api/ca/v1"
AUTH="Authorization: Bearer $TOKEN"
curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$API/profiles" \
    -d '{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},"extended_key_usages":["ClientAuth"]}' >/dev/null
curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$API/cas" \
    -d '{"id":"root","subject":{"common_name":"Bench Root"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"20y"}}' >/dev/null
curl -sf -H "$AUTH" -H 'Content-Type: application/json' "$API/cas" \
    -d '{"id":"issuing-ca-01","parent_id":"root","subject":{"common_name":"Bench Issuing CA"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null

run_shedu() {  # run_shedu URL
    CSR_FILE="$WORK/csrs.der.txt" BODY_PREFIX='{"csr":"' BODY_SUFFIX='","profile_id":"device-profile"}' \
        AUTHORIZATION="Bearer $TOKEN" wrk_with_cpu "$SERVER_PID" -t2 -c64 -d"${DURATION}s" -s "$BENCH_ROOT/bench/sign.lua" "$1" \
        2>>"$WORK/wrk.err"
}
run_shedu "$API/cas/issuing-ca-01/sign" >/dev/null  # warm-up (also fills the CA's caches)
read -r SHEDU_HTTP SHEDU_HTTP_CPU <<<"$(run_shedu "$API/cas/issuing-ca-01/sign")"
read -r SHEDU_HTTPS SHEDU_HTTPS_CPU <<<"$(run_shedu "https://localhost:$PORT/api/ca/v1/cas/issuing-ca-01/sign")"
ISSUED=$(curl -sf -H "$AUTH" "$API/stats/issuing-ca-01" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ACTIVE"])')
ERRORS=$(awk '/answers were not/ {n += $2} END {print n + 0}' "$WORK/wrk.err")
stop_server

# --- cfssl serve with a SQLite certdb (certdb schema of cfssl 1.2) ---
cd "$WORK"
echo '{"CN":"cfssl bench CA","key":{"algo":"ecdsa","size":256}}' | cfssl genkey -initca - 2>/dev/null | cfssljson -bare ca
sqlite3 certs.db "CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
    ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
    PRIMARY KEY(serial_number, authority_key_identifier));
  CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL,
    expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));"
echo '{"driver":"sqlite3","data_source":"'"$WORK"'/certs.db"}' > db.json
echo '{"signing":{"default":{"expiry":"8760h","usages":["digital signature","client auth"]}}}' > config.json
CFSSL_PORT=$(free_port)
run_cfssl() {  # run_cfssl [extra flags]: starts cfssl serve, measures, stops it
    cfssl serve -address 127.0.0.1 -port "$CFSSL_PORT" -ca ca.pem -ca-key ca-key.pem -config config.json "$@" \
        >"$WORK/cfssl.log" 2>&1 &
    CFSSL_PID=$!
    for _ in $(seq 1 200); do curl -s "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/info" -d '{}' >/dev/null && break; sleep 0.05; done
    CSR_FILE="$WORK/csrs.pem.txt" BODY_PREFIX='{"certificate_request":"' BODY_SUFFIX='"}' AUTHORIZATION="" \
        wrk_with_cpu "$CFSSL_PID" -t2 -c64 -d"${DURATION}s" -s "$BENCH_ROOT/bench/sign.lua" \
        "http://127.0.0.1:$CFSSL_PORT/api/v1/cfssl/sign" 2>>"$WORK/cfssl-wrk.err"
    kill "$CFSSL_PID"
    wait "$CFSSL_PID" 2>/dev/null || true
    CFSSL_PID=""
}
read -r CFSSL_DB CFSSL_DB_CPU <<<"$(run_cfssl -db-config db.json)"
CFSSL_STORED=$(sqlite3 certs.db "SELECT COUNT(*) FROM certificates")
read -r CFSSL_NODB CFSSL_NODB_CPU <<<"$(run_cfssl)"
cd - >/dev/null

OPENSSL_SIGN=$(openssl speed -seconds 5 -multi "$(nproc)" ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $(NF-1)}' | tail -1)

python3 - "$SHEDU_HTTP" "$SHEDU_HTTPS" "$CFSSL_DB" "$CFSSL_NODB" "$OPENSSL_SIGN" "$ISSUED" "$ERRORS" "$CFSSL_STORED" \
    "$SHEDU_HTTP_CPU" "$SHEDU_HTTPS_CPU" "$CFSSL_DB_CPU" "$CFSSL_NODB_CPU" "$(allocator "$SHEDU")" <<'PY'
import sys
shedu, shedu_tls, cfssl_db, cfssl_nodb, ceiling, issued, errors, cfssl_stored = sys.argv[1:9]
cpu_http, cpu_https, cpu_cfssl_db, cpu_cfssl_nodb, allocator = sys.argv[9:]
f = lambda x: float(x or 0)
print(f"CSR signing benchmark (distinct P-256 CSRs, P-256 issuing CA, wrk -t2 -c64; Shedu with {allocator})")
print(f"  {'':54} {'certificates/s':>14} {'server CPU/cert':>16}")
print(f"  {'Shedu, plain HTTP listener, SQLite (synchronous=FULL)':54} {f(shedu):14.0f} {cpu_http:>13} us   target >= 8,000/s")
print(f"  {'Shedu, HTTPS':54} {f(shedu_tls):14.0f} {cpu_https:>13} us")
print(f"  {'cfssl serve, SQLite certdb':54} {f(cfssl_db):14.0f} {cpu_cfssl_db:>13} us")
print(f"  {'cfssl serve, no database':54} {f(cfssl_nodb):14.0f} {cpu_cfssl_nodb:>13} us")
print(f"  ratio Shedu / cfssl with SQLite: {f(shedu)/max(f(cfssl_db),1):.2f}x (target >= 2x)")
print(f"  openssl speed ecdsap256 (all cores, signs only): {f(ceiling):.0f} signs/s (ceiling)")
print(f"  certificates stored by Shedu: {issued}; refused requests: {errors}; stored by cfssl: {cfssl_stored}")
PY
