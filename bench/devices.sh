#!/usr/bin/env bash
# Device Manager at fleet scale (issue 4): 1,000,000 devices seeded into the embedded SQLite, then
# list pages at several depths with and without filters, stats, one monitor pass that moves
# 100,000 devices into their renewal window, single registrations over HTTP, and memory.
#   bench/devices.sh [device count, default 1000000] [seconds of registration load, default 15]
source "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000}
DURATION=${2:-15}
build_release
ensure_tool wrk wrk
WORK=$(mktemp -d /tmp/shedu-bench-devices.XXXXXX)
trap 'stop_server; rm -rf "$WORK"' EXIT
DATA="$WORK/data"
PORT=$(free_port)
HTTP_PORT=$(free_port)

# A CA and ten DMSs through the API, then the server stops for the bulk load.
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT"
TOKEN=$("$SHEDU" token create --data-dir "$DATA" --subject bench --role admin)
API="http://127.0.0.1:$HTTP_PORT"
call() { curl -sf -g -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
call "$API/api/ca/v1/cas" -d '{"id":"ca","subject":{"common_name":"Bench CA"},"key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"5y"}}' >/dev/null
DMS_IDS=()
for i in $(seq 0 9); do
    call "$API/api/dmsmanager/v1/dms" -d '{"id":"dms-'"$i"'","settings":{"enrollment_settings":{"enrollment_ca":"ca","est_rfc7030_settings":{"auth_mode":"NO_AUTH"}},"reenrollment_settings":{"preventive_delta":"30d","critical_delta":"7d"}}}' >/dev/null
    DMS_IDS+=("dms-$i")
done
stop_server
echo "bench: seeding $COUNT devices" >&2
SEED_START=$(date +%s.%N)
FIRST=$(python3 "$BENCH_ROOT/bench/seed_devices.py" "$DATA/shedu.sqlite" "$COUNT" "${DMS_IDS[@]}")
SEED_SECONDS=$(python3 -c "import time; print(round(time.time() - $SEED_START, 1))")

# The first monitor pass runs at start: it moves the 10% whose renewal window began.
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT" --log-level info --monitor-interval 1h
for _ in $(seq 1 600); do grep -q "device windows pass" "$DATA.log" && break; sleep 0.1; done
MONITOR=$(grep "device windows pass" "$DATA.log" | head -1 | sed -E 's/.*job.changed=([0-9]+).*job.duration_ms=([0-9]+).*/\1 \2/')
stop_server
start_server "$DATA" "$PORT" --http-port "$HTTP_PORT" --monitor-interval 1h

# bookmark FILTER_JSON_LIST DEPTH_INDEX: a bookmark resuming after the device at that position of
# the filtered list (ids and instants follow from the seed's formulas).
bookmark() {
    python3 - "$1" "$2" "$FIRST" <<'PY'
import base64, json, sys
filters, index, first = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
document = {"f": filters, "s": "creation_timestamp", "d": False, "n": 25,
            "c": {"sortValues": [first + index], "key": f"dev-{index:07d}"}}
print(base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("="))
PY
}
DEEP=$((COUNT / 4))
declare -a ROWS
row() { ROWS+=("$(printf '| %-58s | %8s ms |' "$1" "$2")"); }
row "first page, no filter" "$(timed "/api/devmanager/v1/devices")"
row "page at depth $DEEP (page $((DEEP / 25))), no filter" "$(timed "/api/devmanager/v1/devices?bookmark=$(bookmark '[]' $DEEP)")"
row "first page, status ACTIVE" "$(timed "/api/devmanager/v1/devices?filter=status[eq]ACTIVE")"
row "deep page, status ACTIVE" "$(timed "/api/devmanager/v1/devices?bookmark=$(bookmark '["status[eq]ACTIVE"]' $((DEEP + 5)))")"
row "first page, status RENEWAL_WINDOW (10%)" "$(timed "/api/devmanager/v1/devices?filter=status[eq]RENEWAL_WINDOW")"
row "first page, dms_owner dms-3" "$(timed "/api/devmanager/v1/devices?filter=dms_owner[eq]dms-3")"
row "deep page, dms_owner dms-3" "$(timed "/api/devmanager/v1/devices?bookmark=$(bookmark '["dms_owner[eq]dms-3"]' $((DEEP + 3)))")"
row "first page, tag site-7 (1%)" "$(timed "/api/devmanager/v1/devices?filter=tags[contains]site-7")"
row "deep page, tag site-7" "$(timed "/api/devmanager/v1/devices?bookmark=$(bookmark '["tags[contains]site-7"]' $((DEEP + 7)))")"
row "first page, tag zone-42 (0.1%)" "$(timed "/api/devmanager/v1/devices?filter=tags[contains]zone-42")"
row "first page, tag sensor + status ACTIVE" "$(timed "/api/devmanager/v1/devices?filter=tags[contains]sensor&filter=status[eq]ACTIVE")"
row "first page, sorted by id descending" "$(timed "/api/devmanager/v1/devices?sort_by=id&sort_mode=desc")"
row "first page, metadata jsonpath (a scan until 25 match)" "$(timed "/api/devmanager/v1/devices?filter=metadata[jsonpath]\$.location%20==%20%22factory-floor-7%22")"
row "stats, all devices" "$(timed "/api/devmanager/v1/stats")"
row "stats, dms_owner dms-3" "$(timed "/api/devmanager/v1/stats?filter=dms_owner[eq]dms-3")"

# Registrations over HTTP, 64 connections, on top of the fleet.
read -r REGISTER REGISTER_CPU <<<"$(AUTHORIZATION="Bearer $TOKEN" DMS_ID=dms-1 PREFIX="reg$$" wrk_with_cpu "$SERVER_PID" \
    -t2 -c64 -d"${DURATION}s" -s "$BENCH_ROOT/bench/register.lua" "$API/api/devmanager/v1/devices" 2>"$WORK/wrk.err")"
REFUSED=$(grep -c "unexpected status" "$WORK/wrk.err" || true)
MEMORY=$(rss_mb "$SERVER_PID")
TOTAL=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/api/devmanager/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')

echo
echo "Device Manager benchmark: $COUNT devices seeded in $SEED_SECONDS s (SQLite, release build)"
echo "| measure | time |"
echo "|---|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
read -r MOVED MONITOR_MS <<<"$MONITOR"
printf '| monitor pass: %s devices into RENEWAL_WINDOW | %8s ms |\n' "${MOVED:-?}" "${MONITOR_MS:-?}"
printf '| registrations over HTTP (wrk -t2 -c64), refused %s | %8.0f /s |\n' "$REFUSED" "${REGISTER:-0}"
printf '| server CPU per registration | %8s us |\n' "${REGISTER_CPU:-?}"
printf '| resident memory after the runs | %8s MB |\n' "$MEMORY"
echo "devices now: $TOTAL. Targets: pages < 20 ms, stats < 100 ms, monitor pass of 100,000 < 5,000 ms, registrations >= 5,000/s, memory < 300 MB"
