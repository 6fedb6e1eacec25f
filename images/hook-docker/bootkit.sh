#!/bin/sh
# bootkit: starts the Tinkerbell worker (POSIX sh over BusyBox and the docker CLI). It does what
# upstream's Go bootkit does (contract section 2), and logs JSON lines on stdout:
#
#   1. reads the kernel command line; the image is tink_worker_image, else
#      path.Join(docker_registry, "tink-worker:latest"); with neither it fails (and retries);
#   2. sets HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the command line;
#   3. writes a private docker CLI configuration whose only credentials are registry_username /
#      registry_password for docker_registry, so the CLI sends them only with a pull from that
#      registry, matched by Docker's own reference normalisation ("docker.io" is the CLI's Docker
#      Hub key). See images/README.md for where this differs from upstream's rule;
#   4. pulls with exponential backoff (500 ms, x1.5, +-50 % jitter, at most 60 s apart, giving up
#      after 15 min); each attempt first checks whether the image is there (embedded): then one
#      bounded pull is tried and a failed one is fine;
#   5. force-removes an old tink-worker container, creates tink-worker (the image's own
#      entrypoint, the 11 environment variables, /worker, /var/run/docker.sock, /dev and
#      /host_root/run -> /run bind-mounted, privileged, host network, no restart policy),
#      starts it, and after 3 s checks that it still runs.
#
# Any failure is logged and the whole round starts again 5 s later, forever. Unlike upstream's
# bootkit (which exits once the worker runs), it then keeps the worker running: when the worker
# exits, whatever its status (tink-agent and tink-worker run until they are stopped; a worker
# that has exited leaves the machine idle on the rack), or when dockerd went away (hook-docker
# restarts it, and a restarted dockerd does not start containers again: they have no restart
# policy), it logs why and starts the worker again with a new round 5 s later. A worker that
# asked for a reboot (/worker/reboot) is left alone: hook-docker is rebooting the machine.
# `bootkit once` runs a single round (exit 0 or 1), for debugging.
#
# Places and timings can be moved for tests: HOOK_CMDLINE (/proc/cmdline), HOOK_DOCKER_SOCKET
# (/var/run/docker.sock, also the socket mount's source), HOOK_WORKER_DIR (/worker), HOOK_DEV_DIR
# (/dev), HOOK_HOST_RUN_DIR (/host_root/run), HOOK_BOOTKIT_RETRY_SECONDS (5),
# HOOK_BOOTKIT_CHECK_SECONDS (3), HOOK_BOOTKIT_BACKOFF_INITIAL_MS (500),
# HOOK_BOOTKIT_BACKOFF_MAX_INTERVAL_MS (60000), HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS (900000),
# HOOK_BOOTKIT_PRESENT_PULL_SECONDS (30), HOOK_DOCKER_DATA_ROOT (/var/lib/docker).
set -u
HOOK_SERVICE=bootkit
. "$(dirname "$(readlink -f "$0")")/hook-lib.sh"

socket=${HOOK_DOCKER_SOCKET:-/var/run/docker.sock}
worker_dir=${HOOK_WORKER_DIR:-/worker}
dev_dir=${HOOK_DEV_DIR:-/dev}
host_run_dir=${HOOK_HOST_RUN_DIR:-/host_root/run}
retry_seconds=${HOOK_BOOTKIT_RETRY_SECONDS:-5}
check_seconds=${HOOK_BOOTKIT_CHECK_SECONDS:-3}
backoff_initial_ms=${HOOK_BOOTKIT_BACKOFF_INITIAL_MS:-500}
backoff_max_interval_ms=${HOOK_BOOTKIT_BACKOFF_MAX_INTERVAL_MS:-60000}
backoff_max_elapsed_ms=${HOOK_BOOTKIT_BACKOFF_MAX_ELAPSED_MS:-900000}
present_pull_seconds=${HOOK_BOOTKIT_PRESENT_PULL_SECONDS:-30}
container=tink-worker
# Docker's storage as bootkit sees it (hook-docker's /var/lib/docker), for a full-storage message.
data_root=${HOOK_DOCKER_DATA_ROOT:-/var/lib/docker}

# The CLI talks to this engine only, with this configuration only.
export DOCKER_HOST="unix://$socket"
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_AUTH_CONFIG
DOCKER_CONFIG=$(mktemp -d "${TMPDIR:-/tmp}/bootkit.XXXXXX") || { hook_log error "cannot create a temporary directory" dir "${TMPDIR:-/tmp}"; exit 1; }
export DOCKER_CONFIG
trap 'rm -rf "$DOCKER_CONFIG"' EXIT
# On TERM: the sleep or the worker watch in progress end with bootkit.
on_signal() {
  for _pid in ${_hook_sleep_pid:-} ${watch_pid:-}; do kill "$_pid" 2>/dev/null; done
  exit 143
}
trap on_signal TERM INT HUP

failure=''
fail() {
  failure=$1
  return 1
}

# path_join A B: Go's path.Join (elements joined with /, then cleaned: no empty or . elements,
# .. removes the element before it).
path_join() {
  printf '%s/%s\n' "$1" "$2" | awk -F/ '{
    rooted = substr($0, 1, 1) == "/"; n = 0
    for (i = 1; i <= NF; i++) {
      if ($i == "" || $i == ".") continue
      if ($i == "..") { if (n > 0 && out[n] != "..") n--; else if (!rooted) out[++n] = ".."; continue }
      out[++n] = $i
    }
    s = rooted ? "/" : ""
    for (i = 1; i <= n; i++) s = s (i > 1 ? "/" : "") out[i]
    print (s == "" ? "." : s)
  }'
}

worker_image() {
  if [ -n "$cmdline_tink_worker_image" ]; then
    printf '%s\n' "$cmdline_tink_worker_image"
  elif [ -n "$cmdline_docker_registry" ]; then
    path_join "$cmdline_docker_registry" tink-worker:latest
  fi
}

# write_credentials: the CLI's config.json with credentials for docker_registry only. The CLI
# looks up a registry's credentials by the registry host it parsed from the image (Docker Hub
# under its index key), so nothing goes to any other registry.
write_credentials() {
  registry=$cmdline_docker_registry
  if [ -n "$registry" ] && [ -n "$cmdline_registry_username$cmdline_registry_password" ]; then
    key=$registry
    [ "$registry" = docker.io ] && key=https://index.docker.io/v1/
    auths="$(hook_json_string "$key"):{\"username\":$(hook_json_string "$cmdline_registry_username"),\"password\":$(hook_json_string "$cmdline_registry_password")}"
  else
    auths=''
  fi
  (umask 077 && printf '{"auths":{%s}}\n' "$auths" >"$DOCKER_CONFIG/config.json")
}

now_ms() {
  awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# jitter MS: a random value in [MS/2, 3*MS/2] (cenkalti/backoff's randomization factor 0.5).
jitter() {
  random=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  echo $(( $1 / 2 + $1 * random / 65535 ))
}

sleep_ms() {
  hook_sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}

# one_line TEXT: the text on one line, for a log field.
one_line() {
  printf '%s' "$1" | tr '\n' ' ' | sed 's/  */ /g; s/ $//'
}

# pull_cause OUTPUT: what a failed pull says about this machine rather than the registry, in a
# sentence an operator can act on; nothing when it says nothing of the kind. A machine with no
# RTC battery and no NTP answer boots in 2000: every TLS certificate then looks not yet valid,
# and the engine's error does not say that the clock is the cause. Docker's storage is a tmpfs
# (/run in HookOS: half the RAM).
pull_cause() {
  case $1 in
    *"certificate has expired or is not yet valid"*)
      echo "the registry's TLS certificate is not valid at this machine's clock, $(date -u '+%Y-%m-%d %H:%M:%S') UTC: is the clock right (NTP, the RTC)?" ;;
    *"no space left on device"*)
      echo "Docker's storage ($data_root) is full: $(df -Pm "$data_root" 2>/dev/null | awk 'NR == 2 { printf "%s MB free of %s MB", $4, $2 }'); the image does not fit in this machine's memory" ;;
  esac
}

# pull_failed OUTPUT: the failure for a log field, led by its cause when pull_cause knows it.
pull_failed() {
  _cause=$(pull_cause "$1")
  printf '%s%s' "${_cause:+$_cause: }" "$(one_line "$1")"
}

# is_present IMAGE: the engine has the image (embedded, or pulled in an earlier round).
is_present() {
  docker image inspect "$1" >/dev/null 2>&1
}

# pull_image IMAGE: as upstream, every attempt first checks whether the image is there; if it
# is, a failed pull is fine. dockerd may not answer yet on the first attempts (hook-docker starts
# at the same time), so the check is made on every attempt, not once.
pull_image() {
  image=$1
  started=$(now_ms)
  interval=$backoff_initial_ms
  attempt=1
  while :; do
    if is_present "$image"; then
      # One bounded pull: an air-gapped machine should not wait for the registry.
      if output=$(timeout "$present_pull_seconds" docker pull "$image" 2>&1); then
        hook_log info "pulled the worker image (it was already there)" image "$image"
      else
        hook_log warn "the worker image is already there; using it, as the pull failed" image "$image" error "$(one_line "$output")"
      fi
      return 0
    fi
    hook_log info "pulling the worker image" image "$image" attempt "$attempt"
    if output=$(docker pull "$image" 2>&1); then
      hook_log info "pulled the worker image" image "$image" output "$(one_line "$output")"
      return 0
    fi
    if is_present "$image"; then
      hook_log warn "the worker image is already there; using it, as the pull failed" image "$image" error "$(one_line "$output")"
      return 0
    fi
    elapsed=$(($(now_ms) - started))
    wait_ms=$(jitter "$interval")
    if [ $((elapsed + wait_ms)) -gt "$backoff_max_elapsed_ms" ]; then
      fail "pulling $image failed for $((elapsed / 1000)) s, giving up this round: $(pull_failed "$output")"
      return 1
    fi
    hook_log warn "pulling the worker image failed; retrying" image "$image" error "$(pull_failed "$output")" retry_in_ms "$wait_ms"
    sleep_ms "$wait_ms"
    interval=$((interval * 3 / 2))
    [ "$interval" -gt "$backoff_max_interval_ms" ] && interval=$backoff_max_interval_ms
    attempt=$((attempt + 1))
  done
}

remove_old_worker() {
  docker container inspect "$container" >/dev/null 2>&1 || return 0
  hook_log info "removing the old $container container"
  output=$(docker rm -f "$container" 2>&1) || fail "cannot remove the old $container container: $(one_line "$output")"
}

create_worker() {
  output=$(docker create --name "$container" --privileged --network host \
    --mount "type=bind,source=$worker_dir,target=/worker" \
    --mount "type=bind,source=$socket,target=/var/run/docker.sock" \
    --mount "type=bind,source=$dev_dir,target=/dev" \
    --mount "type=bind,source=$host_run_dir,target=/run" \
    --env "DOCKER_REGISTRY=$cmdline_docker_registry" \
    --env "REGISTRY_USERNAME=$cmdline_registry_username" \
    --env "REGISTRY_PASSWORD=$cmdline_registry_password" \
    --env "TINKERBELL_GRPC_AUTHORITY=$cmdline_grpc_authority" \
    --env "TINKERBELL_TLS=$cmdline_tinkerbell_tls" \
    --env "TINKERBELL_INSECURE_TLS=$cmdline_tinkerbell_insecure_tls" \
    --env "WORKER_ID=$cmdline_worker_id" \
    --env "ID=$cmdline_worker_id" \
    --env "HTTP_PROXY=$cmdline_HTTP_PROXY" \
    --env "HTTPS_PROXY=$cmdline_HTTPS_PROXY" \
    --env "NO_PROXY=$cmdline_NO_PROXY" \
    "$1" 2>&1) || fail "cannot create the $container container: $(one_line "$output")"
}

run_once() {
  failure=''
  hook_read_cmdline || { fail "cannot read the kernel command line (${HOOK_CMDLINE:-/proc/cmdline})"; return 1; }
  image=$(worker_image)
  [ -n "$image" ] || { fail "no worker image: put tink_worker_image=<image> or docker_registry=<registry> on the kernel command line"; return 1; }
  export HTTP_PROXY="$cmdline_HTTP_PROXY" HTTPS_PROXY="$cmdline_HTTPS_PROXY" NO_PROXY="$cmdline_NO_PROXY"
  write_credentials || { fail "cannot write the docker CLI configuration in $DOCKER_CONFIG"; return 1; }
  pull_image "$image" || return 1
  remove_old_worker || return 1
  hook_log info "creating the $container container" image "$image"
  create_worker "$image" || return 1
  output=$(docker start "$container" 2>&1) || { fail "cannot start the $container container: $(one_line "$output")"; return 1; }
  hook_sleep "$check_seconds"
  state=$(docker inspect --format '{{.State.Running}} {{.State.ExitCode}}' "$container" 2>&1) || { fail "cannot inspect the $container container: $(one_line "$state")"; return 1; }
  if [ "${state%% *}" != true ]; then
    logs=$(docker logs --tail 5 "$container" 2>&1)
    fail "the $container container stopped within ${check_seconds} s (exit code ${state#* }); its last output: $(one_line "$logs")"
    return 1
  fi
  hook_log info "the $container container is running" image "$image"
}

# watch_worker: returns when the worker no longer runs, with the reason in $stopped_because.
# `docker wait` blocks until the container exits; it ends early when dockerd goes away, and
# then the worker is watched again once dockerd answers (it may have kept running).
watch_worker() {
  while :; do
    docker wait "$container" >"$DOCKER_CONFIG/wait" 2>&1 &
    watch_pid=$!
    wait "$watch_pid" 2>/dev/null
    watch_pid=''
    result=$(cat "$DOCKER_CONFIG/wait" 2>/dev/null)
    case $result in
      '' | *[!0-9]*)
        hook_log warn "lost the Docker engine while watching the worker; waiting for it to answer again" error "$(one_line "$result")"
        until docker version >/dev/null 2>&1; do hook_sleep 1; done
        state=$(docker inspect --format '{{.State.Running}} {{.State.ExitCode}}' "$container" 2>&1)
        case $state in
          'true '*) hook_log info "the Docker engine answers again; the $container container still runs" ;;
          'false '*) stopped_because="dockerd went away, and the $container container no longer runs (exit code ${state#* })"; return 0 ;;
          *) stopped_because="dockerd went away, and the $container container is gone: $(one_line "$state")"; return 0 ;;
        esac
        ;;
      *)
        logs=$(docker logs --tail 5 "$container" 2>&1)
        stopped_because="the $container container exited with status $result; its last output: $(one_line "$logs")"
        return 0
        ;;
    esac
  done
}

case ${1:-} in
  once)
    run_once && exit 0
    hook_log error "starting the worker failed" error "$failure"
    exit 1
    ;;
  '')
    hook_log info "starting the Tinkerbell worker"
    while :; do
      while ! run_once; do
        hook_log error "starting the worker failed; trying again in ${retry_seconds} s" error "$failure"
        hook_sleep "$retry_seconds"
      done
      watch_worker
      if [ -e "$worker_dir/reboot" ]; then
        hook_log info "the worker stopped after asking for a reboot; not starting it again" reason "$stopped_because"
        while :; do hook_sleep 3600; done
      fi
      hook_log warn "the worker stopped; starting it again in ${retry_seconds} s" reason "$stopped_because"
      hook_sleep "$retry_seconds"
    done
    ;;
  *) echo "usage: bootkit [once]" >&2; exit 2 ;;
esac
