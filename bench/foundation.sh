#!/usr/bin/env bash
# Foundation benchmark (issue 2): cold start to a 200 from /health, idle memory, and wrk at 64
# connections with keep-alive on GET /health and an authenticated list.
#   bench/foundation.sh [seconds per wrk run, default 10]
source "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
build_release
ensure_tool wrk wrk

WORK=$(mktemp -d /tmp/shedu-bench.XXXXXX)
trap 'stop_server; rm -rf "$WORK"' EXIT
DATA="$WORK/data"
PORT=$(free_port)
HTTP_PORT=$(free_port)

# First start creates the data folder; the cold start is measured on the second.
start_server "$DATA" "$PORT"
stop_server

COLD=$(python3 - "$SHEDU" "$DATA" "$PORT" <<'PY'
import socket, ssl, subprocess, sys, time
shedu, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=f"{data}/tls/ca.pem")
best = None
for attempt in range(5):
    start = time.perf_counter()
    server = subprocess.Popen([shedu, "serve", "--data-dir", data, "--port", str(port), "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    if tls.recv(64).startswith(b"HTTP/1.1 200"):
                        break
        except OSError:
            time.sleep(0.002)
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
    server.terminate()
    server.wait()
print(f"{best:.3f}")
PY
)

start_server "$DATA" "$PORT" --http-port "$HTTP_PORT"
sleep 1
IDLE_RSS=$(rss_mb "$SERVER_PID")
TOKEN=$("$SHEDU" token create --data-dir "$DATA" --subject bench --role viewer)

wrk -t2 -c64 -d2s "https://localhost:$PORT/health" >/dev/null  # warm-up
HEALTH_TLS=$(wrk_rate -t2 -c64 -d"${DURATION}s" "https://localhost:$PORT/health")
LIST_TLS=$(wrk_rate -t2 -c64 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "https://localhost:$PORT/api/ca/v1/profiles")
HEALTH_HTTP=$(wrk_rate -t2 -c64 -d"${DURATION}s" "http://127.0.0.1:$HTTP_PORT/health")
LIST_HTTP=$(wrk_rate -t2 -c64 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/api/ca/v1/profiles")
# The same token check and router, without the database read: the ceiling of a routed request.
ROUTED_HTTP=$(wrk_rate -t2 -c64 -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/api/ca/v1/health")
LOADED_RSS=$(rss_mb "$SERVER_PID")

cat <<REPORT
Shedu foundation benchmark ($(nproc) cores, wrk -t2 -c64 -d${DURATION}s, keep-alive)
  cold start to 200 /health (existing data folder, best of 5): ${COLD} s      target < 0.5 s
  idle resident memory:                                       ${IDLE_RSS} MB    target < 60 MB
  GET /health, HTTPS:                                         ${HEALTH_TLS} req/s
  GET /health, plain HTTP listener:                           ${HEALTH_HTTP} req/s   target >= 30,000
  authenticated empty list (GET /api/ca/v1/profiles), HTTPS:  ${LIST_TLS} req/s
  authenticated empty list, plain HTTP listener:              ${LIST_HTTP} req/s   target >= 15,000
  routed request with a token, no database (ceiling):         ${ROUTED_HTTP} req/s
  resident memory after the runs:                             ${LOADED_RSS} MB
REPORT
