#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, listening
# on loopback only, on a free port. Installs the Debian package when the binaries are missing.
#   source scripts/postgres.sh && start_test_postgres   -> exports SHEDU_TEST_POSTGRES_URL
#   stop_test_postgres
set -euo pipefail

find_postgres_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
    return 1
}

source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

install_postgres() {
    install_debian_packages postgresql
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_test_postgres() {
    local bin
    bin=$(find_postgres_bin) || { install_postgres; bin=$(find_postgres_bin); }
    PG_TEST_DIR=$(mktemp -d /tmp/shedu-pg.XXXXXX)
    PG_TEST_PORT=$(free_port)
    local run=""
    if [ "$(id -u)" -eq 0 ]; then
        # initdb refuses to run as root: the cluster belongs to the postgres user.
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$PG_TEST_DIR"
        chmod 755 "$PG_TEST_DIR"
        run="runuser -u postgres --"
    fi
    $run "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >/dev/null
    $run "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/log" -w -t 60 \
        -o "-p $PG_TEST_PORT -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" \
        start >/dev/null
    PG_TEST_BIN=$bin
    PG_TEST_RUN=$run
    export PG_TEST_DIR PG_TEST_PORT PG_TEST_BIN PG_TEST_RUN
    export SHEDU_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/postgres?sslmode=disable"
    echo "test: PostgreSQL on 127.0.0.1:$PG_TEST_PORT" >&2
}

stop_test_postgres() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
        $PG_TEST_RUN "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}
