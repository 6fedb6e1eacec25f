#!/usr/bin/env bash
# The Nx remote cache server (libs/remote-cache/src/server/, Node built-ins only) on loopback,
# with a read-write and a read-only token. It keeps the sha256 of each upload and answers an
# entry that no longer matches it as a miss. See README.md.
#
#   cache-server/cache-server.sh start [DIR]   start (or report the running one); prints the env to use
#   cache-server/cache-server.sh serve [DIR]   run in the foreground (systemd); stops on SIGTERM/SIGINT
#   cache-server/cache-server.sh stop [DIR]    stop it (the store stays)
#   cache-server/cache-server.sh status [DIR]  exit 0 when it answers
#   cache-server/cache-server.sh verify [DIR]  check every entry against the sha256 of its upload; remove bad ones
#   cache-server/cache-server.sh clean DAYS [DIR]  delete entries stored more than DAYS days ago
#
# DIR (default: $HOOK_CACHE_SERVER_DIR, else cache/nx-cache-server) holds the store, the tokens,
# the pid file and the log. HOOK_CACHE_SERVER_PORT (default 8377) picks the port;
# HOOK_CACHE_RW_TOKEN / HOOK_CACHE_RO_TOKEN set the tokens (default: random, kept in DIR/tokens).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/.." && pwd)"
command="${1:-}"
days=""
if [[ "$command" == clean ]]; then
  days="${2:-}"
  [[ "$days" =~ ^[0-9]+$ ]] || { echo "cache-server: clean needs a number of days, e.g. clean 30" >&2; exit 1; }
  shift
fi
dir="${2:-${HOOK_CACHE_SERVER_DIR:-$here/../cache/nx-cache-server}}"
port="${HOOK_CACHE_SERVER_PORT:-8377}"

fail() { echo "cache-server: $*" >&2; exit 1; }

case "$command" in start|serve|stop|status|verify|clean) ;; *) fail "usage: $0 start|serve|stop|status|verify [DIR], or $0 clean DAYS [DIR]";; esac
[[ "$port" =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || fail "HOOK_CACHE_SERVER_PORT must be a TCP port number, not '$port'"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pidfile="$dir/server.pid"
logfile="$dir/logs/server.log"
entries="$dir/store/v1/cache"

# The server's TypeScript runs through @swc-node/register from this checkout's node_modules.
server() {
  command -v node >/dev/null || fail "node is not installed (Node 20 or newer; see README.md)"
  [[ -d "$workspace/node_modules/@swc-node/register" ]] || fail "node_modules is missing in $workspace; run: npm ci"
  cd "$workspace"
  SWC_NODE_PROJECT="$workspace/tsconfig.base.json" exec node -r @swc-node/register libs/remote-cache/src/server/cli.ts "$@"
}

# The pid in the pid file, when that process is still this server (not a reused pid).
running_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'src/server/cli.ts serve' && echo "$pid"
}

url_of() { cat "$dir/url" 2>/dev/null; }

healthy() { curl -fsS --max-time 2 "$1/healthz" >/dev/null 2>&1; }

print_env() {
  echo "export NX_SELF_HOSTED_REMOTE_CACHE_SERVER=$(url_of)"
  echo "export NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=$(head -n1 "$dir/tokens/rw")"
  echo "# read-only token (pull requests): $(head -n1 "$dir/tokens/ro")"
}

# Writes the given token, or a random one when the file has none; the server checks the rest.
token() {
  local file="$dir/tokens/$1" given="$2"
  if [[ -n "$given" ]]; then printf '%s\n' "$given" >"$file"
  elif [[ ! -s "$file" ]]; then od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$file"
  fi
}

prepare() {
  mkdir -p "$dir/store" "$dir/logs" "$dir/tmp" "$dir/tokens"
  chmod 700 "$dir/tokens"
  token rw "${HOOK_CACHE_RW_TOKEN:-}"
  token ro "${HOOK_CACHE_RO_TOKEN:-}"
  echo "http://127.0.0.1:$port" >"$dir/url"
}

case "$command" in
status)
  pid="$(running_pid)" || fail "not running (no live server in $pidfile)"
  healthy "$(url_of)" || fail "server $pid runs but $(url_of)/healthz does not answer"
  echo "cache-server: running (pid $pid) at $(url_of), store $entries"
  ;;
verify)
  server verify --dir "$dir"
  ;;
clean)
  # Entries never change after their PUT, so the file's mtime is when it was stored. An entry goes
  # with its digest; digests are matched by their entry's age, not their own.
  removed=0
  while IFS= read -r -d '' entry; do
    rm -f "$entry" "$entry.sha256"
    removed=$((removed + 1))
  done < <(find "$entries" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[A-Za-z0-9]+' -mtime "+$days" -print0 2>/dev/null)
  echo "cache-server: removed $removed entries stored more than $days days ago"
  ;;
stop)
  pid="$(running_pid)" || { echo "cache-server: not running"; exit 0; }
  kill -TERM "$pid"
  # The server lets running transfers finish for up to 5 s.
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || { echo "cache-server: stopped"; exit 0; }; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "cache-server: stopped (forced)"
  ;;
serve)
  running_pid >/dev/null && fail "already running (pid $(running_pid)); stop it first"
  prepare
  server serve --dir "$dir" --host 127.0.0.1 --port "$port" --pid-file "$pidfile"
  ;;
start)
  command -v curl >/dev/null || fail "curl is not installed; run: apt-get install curl"
  if pid="$(running_pid)"; then
    echo "# cache-server: already running (pid $pid)" >&2
    print_env
    exit 0
  fi
  prepare
  rm -f "$pidfile"
  log_start=$(( $(stat -c %s "$logfile" 2>/dev/null || echo 0) + 1 ))
  # Its own session, so a Ctrl-C meant for the shell that started it does not stop it. (setsid
  # execs in place here; should it fork, -w keeps it waiting, so $! lives as long as the server.)
  setsid -w bash "$here/cache-server.sh" serve "$dir" </dev/null >>"$logfile" 2>&1 &
  launcher=$!
  # The server writes its pid file once it listens; a mistake (port in use, tokens) ends it with
  # one line in the log.
  for _ in $(seq 1 150); do
    if pid="$(running_pid)" && healthy "$(url_of)"; then print_env; exit 0; fi
    if ! kill -0 "$launcher" 2>/dev/null; then
      line="$(tail -c "+$log_start" "$logfile" 2>/dev/null | grep -m1 '^cache-server: ' || true)"
      echo "${line:-cache-server: the server did not start; see $logfile}" >&2
      exit 1
    fi
    sleep 0.2
  done
  pid="$(running_pid || true)"
  [[ -n "$pid" ]] && kill -TERM "$pid"
  fail "the server did not answer $(url_of)/healthz within 30 s; see $logfile"
  ;;
esac
