#!/usr/bin/env bash
# start|stop a Docker engine for builds and tests when none is running. `stop` stops only an
# engine that `start` started (recorded in a pid file), so a user's own dockerd is left alone.
set -euo pipefail
state=${HOOK_DOCKERD_STATE:-/tmp/hook-dockerd}
pidfile=$state/dockerd.pid

case "${1:-}" in
  start)
    if docker version >/dev/null 2>&1; then exit 0; fi
    mkdir -p "$state"
    # A pid file left by an engine that was killed (no stop ran) makes dockerd refuse to start.
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
    echo "dockerd: starting a Docker engine (log: $state/dockerd.log)" >&2
    nohup dockerd --pidfile "$pidfile" >"$state/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
      if docker version >/dev/null 2>&1; then exit 0; fi
      sleep 1
    done
    echo "dockerd: the engine did not answer within 60 s; see $state/dockerd.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      rm -f "$pidfile"
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
