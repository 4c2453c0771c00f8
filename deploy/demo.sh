#!/usr/bin/env bash
# The local demo tree on loopback: one district, two towns, two villages under each town. Every
# node is its own process with its own folder, config and SQLite file under .demo/.
#
#   deploy/demo.sh start    build (release), start the tree, print URLs and logins, and write
#                           .demo/manifest.json for scripts and plain tools such as curl
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
  local code=$1 tier=$2 name=$3 ui=$4 api=$5 dir=$6 parent_api=$7
  local internode="" db
  [ -n "$api" ] && internode="127.0.0.1:$api"
  if [ "$tier" = district ]; then db='url = "sqlite://node.sqlite"'; else db='path = "node.sqlite"'; fi
  {
    echo "# Demo $tier node; see deploy/config/*.example.toml for every setting."
    echo "[node]"; echo "code = \"$code\""; echo "name = \"$name\""
    echo "[http]"; echo "listen = \"127.0.0.1:$ui\""
    echo "[database]"; echo "$db"
    if [ "$tier" != district ]; then echo "[parent]"; echo "url = \"$parent_api\""; fi
    echo "[internode]"; echo "listen = \"$internode\""
    echo "[tls]"; echo 'cert = "tls/node.pem"'; echo 'key = "tls/node.key"'; echo 'ca = "tls/ca.pem"'
    echo "[policy]"
    echo "calendar = \"$ROOT/deploy/policy/calendar.json\""
    echo "topology = \"$ROOT/deploy/topology/xinhua.json\""
    echo "catalogue = \"$ROOT/deploy/policy/catalogue.json\""
    # The district signs the bundles its administrators publish; every station pins its key.
    if [ "$tier" = district ]; then
      echo "[publish]"; echo "key = \"$DEMO/policy-key/policy.key\""
    else
      echo "pinned_keys = [\"$(cat "$DEMO/policy-key/policy.pub")\"]"; echo "pull_secs = 10"
    fi
  } >"$dir/node.toml"
}

# Demo logins: one operator per node, the same password everywhere (demo only).
DEMO_PASSWORD="bangban-demo-2026"
username_of() { echo "op$1"; }

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
  if [ ! -f "$DEMO/ca/ca.pem" ]; then
    "$BIN/district-node" ca init --dir "$DEMO/ca" --district 410402000000 >/dev/null
  fi
  if [ ! -f "$DEMO/policy-key/policy.key" ]; then
    "$BIN/district-node" policy keygen --dir "$DEMO/policy-key" >/dev/null
  fi
  local entry code tier name parent ui api dir bin parent_api
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1); tier=$(field "$entry" 2); name=$(field "$entry" 3)
    parent=$(field "$entry" 4); ui=$(field "$entry" 5); api=$(field "$entry" 6)
    dir="$DEMO/$code"
    mkdir -p "$dir"
    parent_api=""
    [ -n "$parent" ] && parent_api="https://127.0.0.1:$(api_port_of "$parent")"
    write_config "$code" "$tier" "$name" "$ui" "$api" "$dir" "$parent_api"
    if running "$dir"; then echo "  $code already running"; continue; fi
    bin="$BIN/station-node"; [ "$tier" = district ] && bin="$BIN/district-node"
    if [ ! -f "$dir/tls/node.pem" ]; then
      hosts=(); [ "$tier" != village ] && hosts=(--host 127.0.0.1)   # the address its children dial
      "$BIN/district-node" ca issue --dir "$DEMO/ca" --station "$code" --out "$dir/tls" "${hosts[@]}" >/dev/null
    fi
    if [ ! -f "$dir/.operator" ]; then
      RUST_LOG=warn "$bin" --config "$dir/node.toml" user add --username "$(username_of "$code")" \
        --display-name "演示操作员" --role "$([ "$tier" = district ] && echo agent || echo station_operator)" \
        --password "$DEMO_PASSWORD" >/dev/null
      if [ "$tier" = district ]; then
        RUST_LOG=warn "$bin" --config "$dir/node.toml" user add --username admin \
          --display-name "演示区级管理员" --role district_admin --password "$DEMO_PASSWORD" >/dev/null
      fi
      touch "$dir/.operator"
    fi
    # Relative paths in node.toml are taken from its folder, so no cd is needed.
    setsid "$bin" --config "$dir/node.toml" serve >>"$dir/node.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    disown
  done
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1); ui=$(field "$entry" 5)
    wait_ready "http://127.0.0.1:$ui" "$DEMO/$code"
  done
  write_manifest
  echo
  echo "Bangban demo tree is up (data in $DEMO, manifest $DEMO/manifest.json):"
  for entry in "${TREE[@]}"; do
    code=$(field "$entry" 1)
    printf '  %-8s %s  http://127.0.0.1:%s/  login %s / %s  %s\n' "$(field "$entry" 2)" "$code" \
      "$(field "$entry" 5)" "$(username_of "$code")" "$DEMO_PASSWORD" "$(field "$entry" 3)"
  done
  echo
  echo "District policy (centres, catalogue, calendar, agents, publish): http://127.0.0.1:8100/policy"
  echo "  login admin / $DEMO_PASSWORD; the stations apply a published bundle within 10 s."
  echo "Web UI: open a URL above in a browser and log in (Chinese; English at the top right)."
  echo "API: POST /api/v1/login, then /api/v1/cases (see /api/v1/openapi.json)."
  echo "Health: curl http://127.0.0.1:8100/readyz    Stop: deploy/demo.sh stop"
}

json_str() { printf '"%s"' "$1"; }

write_manifest() {
  local entry code tier first=1 api parent
  {
    echo '{"nodes": ['
    for entry in "${TREE[@]}"; do
      code=$(field "$entry" 1); tier=$(field "$entry" 2); api=$(field "$entry" 6)
      parent=$(field "$entry" 4)
      [ $first -eq 1 ] || echo ','
      first=0
      printf '  {"code": %s, "tier": %s, "name": %s, "parent": %s, "ui_url": %s, "api_url": %s,' \
        "$(json_str "$code")" "$(json_str "$tier")" "$(json_str "$(field "$entry" 3)")" \
        "$([ -n "$parent" ] && json_str "$parent" || echo null)" \
        "$(json_str "http://127.0.0.1:$(field "$entry" 5)")" \
        "$([ -n "$api" ] && json_str "https://127.0.0.1:$api" || echo null)"
      printf ' "cert": %s, "key": %s, "ca": %s, "username": %s, "password": %s}' \
        "$(json_str "$DEMO/$code/tls/node.pem")" "$(json_str "$DEMO/$code/tls/node.key")" \
        "$(json_str "$DEMO/$code/tls/ca.pem")" "$(json_str "$(username_of "$code")")" \
        "$(json_str "$DEMO_PASSWORD")"
    done
    echo
    echo ']}'
  } >"$DEMO/manifest.json"
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
