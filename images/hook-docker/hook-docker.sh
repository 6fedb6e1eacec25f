#!/bin/sh
# hook-docker: the Docker engine service of HookOS (POSIX sh over BusyBox).
#
#   hook-docker                 write daemon.json from the kernel command line, run dockerd on the
#                               unix socket only, restart it when it exits, and reboot the machine
#                               when a regular file <worker dir>/reboot appears
#   hook-docker write-config    only write daemon.json (and print it)
#
# daemon.json: {"debug":true,"userland-proxy":false} (published ports go through iptables only:
# HookOS carries no docker-proxy, 2.4 MB) plus, when syslog_host is set, the syslog log driver to
# udp://<syslog_host>:514 (a value with a port, host:port or [v6]:port, is used as it is), plus
# insecure_registries split on commas. Without syslog_host (missing or empty) containers keep
# dockerd's default json-file driver: upstream wrote udp://:514, which sends every log line to a
# port nobody listens on. dockerd gets HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the command line.
#
# Everything that names a place can be moved, so tests run this very script on a build host:
# HOOK_CMDLINE (/proc/cmdline), HOOK_DOCKER_CONFIG (/etc/docker/daemon.json), HOOK_DOCKER_SOCKET
# (/var/run/docker.sock), HOOK_DOCKER_DATA_ROOT (/var/lib/docker), HOOK_DOCKER_EXEC_ROOT
# (/var/run/docker), HOOK_DOCKER_PIDFILE (/var/run/docker.pid), HOOK_WORKER_DIR (/worker),
# HOOK_REBOOT_COMMAND (kill -TERM 1: BusyBox init stops the services, then reboots; hook-docker
# runs with pid: host), HOOK_DOCKERD_ARGS (more dockerd arguments, split on spaces),
# HOOK_DOCKERD_RESTART_MAX_DELAY (10: seconds; the delay starts at 1 and doubles), HOOK_CONSOLE
# (/dev/console: where the one line "hook: docker: dockerd answers ..." goes, for boot timing).
set -u
HOOK_SERVICE=hook-docker
. "$(dirname "$(readlink -f "$0")")/hook-lib.sh"

config=${HOOK_DOCKER_CONFIG:-/etc/docker/daemon.json}
socket=${HOOK_DOCKER_SOCKET:-/var/run/docker.sock}
data_root=${HOOK_DOCKER_DATA_ROOT:-/var/lib/docker}
exec_root=${HOOK_DOCKER_EXEC_ROOT:-/var/run/docker}
pidfile=${HOOK_DOCKER_PIDFILE:-/var/run/docker.pid}
worker_dir=${HOOK_WORKER_DIR:-/worker}
reboot_command=${HOOK_REBOOT_COMMAND:-kill -TERM 1}
max_delay=${HOOK_DOCKERD_RESTART_MAX_DELAY:-10}
console=${HOOK_CONSOLE:-/dev/console}

# syslog_address HOST: udp://HOST:514, keeping a port HOST already has; bare IPv6 in brackets.
syslog_address() {
  case $1 in
    \[*\]:*) echo "udp://$1" ;;
    \[*\]) echo "udp://$1:514" ;;
    *:*:*) echo "udp://[$1]:514" ;;
    *:*) echo "udp://$1" ;;
    *) echo "udp://$1:514" ;;
  esac
}

# write_config: daemon.json from the command line, mode 0600, written whole then renamed.
write_config() {
  hook_read_cmdline || hook_log warn "cannot read the kernel command line; using no settings from it" file "${HOOK_CMDLINE:-/proc/cmdline}"
  json='{"debug":true,"userland-proxy":false'
  if [ -n "$cmdline_syslog_host" ]; then
    json="$json,\"log-driver\":\"syslog\",\"log-opts\":{\"syslog-address\":$(hook_json_string "$(syslog_address "$cmdline_syslog_host")")}"
  fi
  registries=''
  old_ifs=$IFS IFS=,
  set -f
  for registry in $cmdline_insecure_registries; do
    [ -n "$registry" ] && registries="$registries${registries:+,}$(hook_json_string "$registry")"
  done
  set +f
  IFS=$old_ifs
  [ -n "$registries" ] && json="$json,\"insecure-registries\":[$registries]"
  json="$json}"
  mkdir -p "$(dirname "$config")" || return 1
  (umask 077 && printf '%s\n' "$json" >"$config.tmp") && mv -f "$config.tmp" "$config" || return 1
  hook_log info "wrote the Docker daemon configuration" file "$config" config "$json"
}

# watch_reboot: polls every second for a regular file <worker dir>/reboot, then runs the reboot
# command; if the machine is still up a minute later it runs it again.
watch_reboot() {
  trap '[ -n "${_hook_sleep_pid:-}" ] && kill "$_hook_sleep_pid" 2>/dev/null; exit 0' TERM
  trap - INT HUP
  while :; do
    if [ -f "$worker_dir/reboot" ]; then
      hook_log info "found $worker_dir/reboot: rebooting the machine" command "$reboot_command"
      if sh -c "$reboot_command"; then
        hook_sleep 60
      else
        hook_log error "the reboot command failed; trying again in 1 s" command "$reboot_command"
        hook_sleep 1
      fi
    else
      hook_sleep 1
    fi
  done
}

# announce_ready PID: once the engine answers on the socket, one line on the console (the boot
# tests time "dockerd ready" by it); gives up when dockerd PID is gone or after 10 minutes.
announce_ready() {
  trap - TERM INT HUP
  tries=0
  while [ "$tries" -lt 1200 ] && kill -0 "$1" 2>/dev/null; do
    if version=$(docker --host "unix://$socket" version --format '{{.Server.Version}}' 2>/dev/null); then
      echo "hook: docker: dockerd answers on $socket (Docker $version)" >>"$console" 2>/dev/null
      hook_log info "dockerd answers" version "$version"
      return 0
    fi
    tries=$((tries + 1))
    sleep 0.5
  done
}

stopping=''
dockerd_pid=''
watcher_pid=''
on_signal() {
  stopping=yes
  [ -n "$dockerd_pid" ] && kill -TERM "$dockerd_pid" 2>/dev/null
  [ -n "${_hook_sleep_pid:-}" ] && kill "$_hook_sleep_pid" 2>/dev/null
  return 0
}

# forget_dead_containerd: a dockerd that was killed leaves its containerd's pidfile behind, and
# that containerd dies with it but can stay a zombie until init reaps it. dockerd takes a pid
# that still exists for a running containerd and waits for its socket in vain, so drop the
# pidfile of a containerd that is gone or a zombie: dockerd then starts a new one.
forget_dead_containerd() {
  containerd_pidfile=$exec_root/containerd/containerd.pid
  [ -f "$containerd_pidfile" ] || return 0
  pid=$(cat "$containerd_pidfile" 2>/dev/null)
  state=''
  [ -n "$pid" ] && state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
  case $state in
    '' | Z | X) rm -f "$containerd_pidfile" && hook_log info "removed the pidfile of a containerd that is gone" pid "$pid" ;;
  esac
  return 0
}

run_dockerd() {
  forget_dead_containerd
  export HTTP_PROXY="$cmdline_HTTP_PROXY" HTTPS_PROXY="$cmdline_HTTPS_PROXY" NO_PROXY="$cmdline_NO_PROXY"
  # Only the unix socket: no TCP listener at all (upstream's 2025 fix was TLS on 2376; HookOS's
  # clients, bootkit and the worker, all use the socket).
  # shellcheck disable=SC2086 # HOOK_DOCKERD_ARGS is a list of arguments
  dockerd --config-file "$config" --host "unix://$socket" --data-root "$data_root" \
    --exec-root "$exec_root" --pidfile "$pidfile" ${HOOK_DOCKERD_ARGS:-} &
  dockerd_pid=$!
  hook_log info "started dockerd" pid "$dockerd_pid" socket "$socket"
  announce_ready "$dockerd_pid" &
  status=0
  # wait returns early when a trapped signal arrives: wait again until dockerd is gone.
  while :; do
    wait "$dockerd_pid"
    status=$?
    kill -0 "$dockerd_pid" 2>/dev/null || break
  done
  dockerd_pid=''
  return "$status"
}

main() {
  trap on_signal TERM INT HUP
  mkdir -p "$worker_dir"
  watch_reboot &
  watcher_pid=$!
  delay=1
  while [ -z "$stopping" ]; do
    write_config || hook_log error "cannot write the Docker daemon configuration" file "$config"
    started=$(cut -d. -f1 /proc/uptime)
    run_dockerd
    status=$?
    [ -n "$stopping" ] && break
    ran=$(( $(cut -d. -f1 /proc/uptime) - started ))
    # A dockerd that ran for a while gets a quick restart; one that keeps failing, a slower one.
    [ "$ran" -ge 60 ] && delay=1
    hook_log error "dockerd exited; restarting it" exit_code "$status" ran_seconds "$ran" restart_in_seconds "$delay"
    hook_sleep "$delay"
    delay=$((delay * 2))
    [ "$delay" -gt "$max_delay" ] && delay=$max_delay
  done
  kill "$watcher_pid" 2>/dev/null
  hook_log info "stopped"
}

case ${1:-} in
  write-config) write_config && cat "$config" ;;
  '') main ;;
  *) echo "usage: hook-docker [write-config]" >&2; exit 2 ;;
esac
