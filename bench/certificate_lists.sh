#!/usr/bin/env bash
# Certificate lists at scale (issue 3): 1,000,000 certificates seeded into the embedded SQLite,
# then the first and the 10,000th page, with and without a status filter, of every list endpoint.
#   bench/certificate_lists.sh [certificate count, default 1000000]
source "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000}
build_release
WORK=$(mktemp -d /tmp/shedu-bench-certs.XXXXXX)
trap 'stop_server; rm -rf "$WORK"' EXIT
DATA="$WORK/data"
PORT=$(free_port)
HTTP_PORT=$(free_port)
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT"
TOKEN=$("$SHEDU" token create --data-dir "$DATA" --subject bench --role admin)
API="http://127.0.0.1:$HTTP_PORT"
call() { curl -sf -g -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
CA_SERIAL=$(call "$API/api/ca/v1/cas" -d '{"id":"ca","subject":{"common_name":"Bench CA"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"5y"}}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial_number"])')
call "$API/api/ca/v1/certificates/$CA_SERIAL" | python3 -c 'import base64,json,sys; sys.stdout.write(base64.b64decode(json.load(sys.stdin)["certificate"]).decode())' \
    | openssl x509 -outform DER -out "$WORK/template.der"
stop_server
echo "bench: seeding $COUNT certificates" >&2
FIRST=$(python3 "$BENCH_ROOT/bench/seed_certificates.py" "$DATA/shedu.sqlite" "$COUNT" ca "$CA_SERIAL" "$WORK/template.der")
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT" --monitor-interval 1h

# bookmark FILTERS INDEX: resumes after the INDEX-th newest certificate of the filtered list
# (valid_from descending, the default order).
bookmark() {
    python3 - "$1" "$2" "$FIRST" "$COUNT" <<'PY'
import base64, json, sys
filters, index, first, count = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
position = count - 1 - index
document = {"f": filters, "s": "valid_from", "d": True, "n": 25,
            "c": {"sortValues": [first + position], "key": f"{position + 1:032x}"}}
print(base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("="))
PY
}
DEEP=$((10000 * 25))
# The seeded certificates are valid for a year from now: a window around that instant.
WINDOW_START=$(date -u -d "+11 months" +%Y-%m-%d)
WINDOW_END=$(date -u -d "+13 months" +%Y-%m-%d)
echo
echo "Certificate lists, $COUNT certificates (SQLite, release build); median of 15, time to first byte"
echo "| request | time |"
echo "|---|---|"
for entry in \
    "first page, /certificates|/api/ca/v1/certificates" \
    "10,000th page, /certificates|/api/ca/v1/certificates?bookmark=$(bookmark '[]' $DEEP)" \
    "first page, status ACTIVE|/api/ca/v1/certificates/status/ACTIVE" \
    "10,000th page, status ACTIVE|/api/ca/v1/certificates?bookmark=$(bookmark '["status[eq]ACTIVE"]' $((DEEP + 2)))" \
    "first page, status REVOKED (5%)|/api/ca/v1/certificates/status/REVOKED" \
    "first page, CA's certificates|/api/ca/v1/cas/ca/certificates" \
    "first page, filter subject.common_name|/api/ca/v1/certificates?filter=subject.common_name[eq]device-0500000" \
    "first page, filter subject_key_id|/api/ca/v1/certificates?filter=subject_key_id[eq]$(python3 -c 'import hashlib; print(hashlib.sha256((500000).to_bytes(8, "big")).hexdigest())')" \
    "first page, expiring in a window|/api/ca/v1/certificates/expiration?expires_after=$WINDOW_START&expires_before=$WINDOW_END" \
    "stats (counts by status)|/api/ca/v1/stats"; do
    printf '| %-42s | %7s ms |\n' "${entry%%|*}" "$(timed "${entry#*|}")"
done
echo "Target: any page under 20 ms"
