#!/usr/bin/env bash
# The local demo tree on loopback: one district, two towns, two villages under each town. Every
# node is its own process with its own folder, config and SQLite file under .demo/.
#
#   deploy/demo.sh start    build (release), start the tree, print URLs and logins
#   deploy/demo.sh stop     stop every node (SIGTERM); the data stays for the next start
#   deploy/demo.sh status   show which nodes run
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEMO="$ROOT/.demo"
BIN="$ROOT/target/release"

# code|tier|name|parent|ui port|inter-node port (towns and the district only)
TREE=(
  "410402000000|district|新华区政务服务中心||8100|9100"
  "410402001000|town|曙光街街道便民服务中心|410402000000|8101|9101"
  "410402100000|town|焦店镇便民服务中心|410402000000|8102|9102"
  "410402001001|village|曙光街街道第1社区便民服务站|410402001000|8111|"
  "410402001002|village|曙光街街道第2社区便民服务站|410402001000|8112|"
  "410402100200|village|焦店镇第1村便民服务站|410402100000|8121|"
  "410402100201|village|焦店镇第2村便民服务站|410402100000|8122|"
)

field() { echo "$1" | cut -d'|' -f"$2"; }

running() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

write_config() {
  local code=$1 tier=$2 name=$3 parent=$4 ui=$5 dir=$6 parent_api=$7
  if [ "$tier" = district ]; then
    cat >"$dir/node.toml" <<TOML
# Demo district node; see deploy/config/district.example.toml for every setting.
[node]
code = "$code"
name = "$name"
[http]
listen = "127.0.0.1:$ui"
[database]
url = "sqlite://node.sqlite"
[policy]
calendar = "$ROOT/deploy/policy/calendar.json"
TOML
  else
    cat >"$dir/node.toml" <<TOML
# Demo station node; see deploy/config/station.example.toml for every setting.
[node]
code = "$code"
name = "$name"
[http]
listen = "127.0.0.1:$ui"
[database]
path = "node.sqlite"
[parent]
url = "${parent_api}"
[policy]
calendar = "$ROOT/deploy/policy/calendar.json"
TOML
  fi
}

wait_ready() {
  local url=$1 dir=$2 i
  for i in $(seq 1 200); do
    if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then return 0; fi
    if ! running "$dir"; then
      echo "node in $dir exited; its log:" >&2
      tail -n 20 "$dir/node.log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "node in $dir not ready; its log:" >&2
  tail -n 20 "$dir/node.log" >&2
  return 1
}

api_port_of() {
  local want=$1 entry
  for entry in "${TREE[@]}"; do
    [ "$(field "$entry" 1)" = "$want" ] && { field "$entry" 6; return; }
  done
}

start() {
  echo "building the nodes (release)…"
  (cd "$ROOT" && cargo build --release -q -p district-node -p station-node)
  mkdir -p "$DEMO"
  local entry code tier name parent ui dir bin parent_api
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1); tier=$(field "$entry" 2); name=$(field "$entry" 3)
    parent=$(field "$entry" 4); ui=$(field "$entry" 5)
    dir="$DEMO/$code"
    mkdir -p "$dir"
    parent_api=""
    [ -n "$parent" ] && parent_api="https://127.0.0.1:$(api_port_of "$parent")"
    write_config "$code" "$tier" "$name" "$parent" "$ui" "$dir" "$parent_api"
    if running "$dir"; then echo "  $code already running"; continue; fi
    bin="$BIN/station-node"; [ "$tier" = district ] && bin="$BIN/district-node"
    # Relative paths in node.toml are taken from its folder, so no cd is needed.
    setsid "$bin" --config "$dir/node.toml" serve >>"$dir/node.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    disown
  done
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1); ui=$(field "$entry" 5)
    wait_ready "http://127.0.0.1:$ui" "$DEMO/$code"
  done
  echo
  echo "Bangban demo tree is up (data in $DEMO):"
  for entry in "${TREE[@]}"; do
    printf '  %-8s %s %-28s http://127.0.0.1:%s/\n' "$(field "$entry" 2)" "$(field "$entry" 1)" \
      "$(field "$entry" 3)" "$(field "$entry" 5)"
  done
  echo
  echo "Health: curl http://127.0.0.1:8100/readyz    Stop: deploy/demo.sh stop"
}

stop() {
  local dir pid n=0
  for dir in "$DEMO"/*/; do
    [ -f "$dir/pid" ] || continue
    if running "$dir"; then
      pid=$(cat "$dir/pid"); kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      n=$((n + 1))
    fi
    rm -f "$dir/pid"
  done
  echo "stopped $n node(s); data kept in $DEMO"
}

status() {
  local entry code
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1)
    if running "$DEMO/$code"; then s=running; else s=stopped; fi
    printf '  %-8s %s %s\n' "$(field "$entry" 2)" "$code" "$s"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
