#!/usr/bin/env bash
# Runs every Bangban test on a fresh machine: installs PostgreSQL when missing, starts a throwaway
# cluster in a temporary folder, points the tests at it (PG_TEST_URL), runs the whole workspace's
# tests, and stops and removes the cluster at the end, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

if ! PGBIN=$(pg_bin); then
  log "PostgreSQL not found: installing it (apt-get install -y postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(pg_bin) || { log "PostgreSQL install failed"; exit 1; }
fi

# The browser tests drive a real headless Chromium through chromedriver, with a CJK font so that
# the Chinese pages render (and their screenshots can be read).
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
   || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  log "Chromium, chromedriver or the CJK font is missing: installing them (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
fi

PGROOT=$(mktemp -d /tmp/bangban-pg.XXXXXX)
chmod 755 "$PGROOT"
as_pg() {
  # initdb refuses to run as root: run the cluster as the postgres user then.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGROOT"; fi

cleanup() {
  local rc=$?
  if [ -f "$PGROOT/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PGROOT"
  exit $rc
}
trap cleanup EXIT INT TERM

# A free loopback port for the cluster.
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "starting a throwaway PostgreSQL on 127.0.0.1:$PGPORT in $PGROOT"
as_pg "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c max_connections=200" start >/dev/null
export PG_TEST_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"

log "running all tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
  cargo test --workspace --all-targets --no-fail-fast "$@"
fi
log "all tests passed"
