# Runs LinuxKit bundles (/containers/{onboot,services}/<name>: config.json, runtime.json, the
# image in lower/ or rootfs/) with runc, as LinuxKit's init does. Sourced by rc.init and
# rc.shutdown; needs lib.sh, jq and runc.

RUNC_ROOT=/run/runc
SEP=$(printf '\037')

# mount_entry DEST TYPE SOURCE OPTIONS(comma-separated): one runtime.json mount. Propagation
# flags are separate mount calls; bind flags make a bind mount; a bare remount changes nothing.
mount_entry() {
  _dest=$1 _type=$2 _src=$3 _data='' _bind='' _prop='' _remount=''
  _oldifs=$IFS; IFS=,
  set -f
  # shellcheck disable=SC2086 # the options split on commas (IFS), globbing off
  set -- $4
  set +f
  IFS=$_oldifs
  for _opt in "$@"; do
    case $_opt in
      bind) _bind=--bind ;;
      rbind) _bind=--rbind ;;
      shared | rshared | private | rprivate | slave | rslave | unbindable | runbindable) _prop="$_prop $_opt" ;;
      remount) _remount=1 ;;
      upperdir=* | workdir=*) mkdir -p "${_opt#*=}"; _data="$_data,$_opt" ;;
      *) _data="$_data,$_opt" ;;
    esac
  done
  _data=${_data#,}
  [ -e "$_dest" ] || mkdir -p "$_dest" || return 1
  if [ -n "$_bind" ]; then
    mount $_bind "$_src" "$_dest" || return 1
    [ -z "$_data" ] || mount -o "remount,bind,$_data" "$_dest" || return 1
  elif [ -n "$_remount" ]; then
    [ -z "$_data" ] || mount -o "remount,$_data" "$_dest" || return 1
  else
    mount -t "${_type:-$_src}" ${_data:+-o "$_data"} "$_src" "$_dest" || return 1
  fi
  for _p in $_prop; do mount --make-"$_p" "$_dest" || return 1; done
}

# bundle_plan DIR: what runtime.json asks for, one action a line (fields split by $SEP), read
# with a single jq run (each program start costs under emulation): mkdir, cgroup, mount, and
# "setup" when interfaces or namespace bind mounts must be set up between create and start.
bundle_plan() {
  [ -f "$1/runtime.json" ] || return 0
  jq -r --arg s "$SEP" '
    ((.mkdir // [])[] | "mkdir\($s)\(.)"),
    ((.cgroups // [])[] | "cgroup\($s)\(.)"),
    ((.mounts // [])[] | "mount\($s)\(.destination)\($s)\(.type // "")\($s)\(.source // "")\($s)\((.options // []) | join(","))"),
    (if ((.interfaces // []) | length > 0) or ([(.bindNS // {})[] | select(. != "")] | length > 0) then "setup" else empty end)
  ' "$1/runtime.json"
}

# prepare_bundle DIR ID: runtime.json's mkdir, cgroups and mounts (the rootfs overlay among
# them); the plan stays in /run/hook/<id>.plan for needs_setup.
prepare_bundle() {
  _plan=/run/hook/$2.plan
  bundle_plan "$1" >"$_plan" || return 1
  while IFS=$SEP read -r _kind _a _b _c _d; do
    case $_kind in
      mkdir) mkdir -p "$_a" || return 1 ;;
      cgroup) mkdir -p "/sys/fs/cgroup/$_a" || return 1 ;;
      mount) mount_entry "$_a" "$_b" "$_c" "$_d" || { echo "cannot mount $_a"; return 1; } ;;
    esac
  done <"$_plan"
}

# needs_setup ID: true when the bundle wants interfaces or namespace bind mounts.
needs_setup() {
  grep -qx setup "/run/hook/$1.plan" 2>/dev/null
}

# setup_namespaces DIR PID: LinuxKit's interfaces (create, or move, into the container's
# network namespace) and bindNS (bind the namespace files to the paths given).
setup_namespaces() {
  _rt=$1/runtime.json _pid=$2
  jq -r --arg sep "$SEP" '(.interfaces // [])[] | [.name, (.add // ""), (.peer // ""), ((.createInRoot // false) | tostring)] | join($sep)' "$_rt" >/run/hook/ifaces.$$
  while IFS=$SEP read -r _name _add _peer _inroot; do
    if [ -z "$_add" ]; then
      ip link set "$_name" netns "$_pid" || return 1
    elif [ "$_inroot" = true ]; then
      ip link add name "$_name" type "$_add" ${_peer:+peer name "$_peer"} && ip link set "$_name" netns "$_pid" || return 1
    else
      nsenter -t "$_pid" -n ip link add name "$_name" type "$_add" ${_peer:+peer name "$_peer"} || return 1
    fi
  done </run/hook/ifaces.$$
  rm -f /run/hook/ifaces.$$
  for _ns in cgroup ipc mnt net pid user uts; do
    _path=$(jq -r --arg ns "$_ns" '(.bindNS // {})[$ns] // ""' "$_rt")
    [ -n "$_path" ] || continue
    mkdir -p "$(dirname "$_path")" && touch "$_path" && mount --bind "/proc/$_pid/ns/$_ns" "$_path" || return 1
  done
}

# last_line FILE: the last non-empty line of a log, to say why something failed.
last_line() {
  grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1
}

# run_container DIR ID LOG: runs the bundle in the foreground and returns the container's exit
# status; with interfaces/bindNS, create -> set up -> start, then wait for it to stop.
run_container() {
  _dir=$1 _id=$2 _log=$3
  if needs_setup "$_id"; then
    runc --root "$RUNC_ROOT" create --bundle "$_dir" --pid-file "/run/hook/$_id.pid" "$_id" </dev/null >>"$_log" 2>&1 || return $?
    if ! setup_namespaces "$_dir" "$(cat "/run/hook/$_id.pid")" >>"$_log" 2>&1; then
      runc --root "$RUNC_ROOT" delete -f "$_id" >/dev/null 2>&1
      return 1
    fi
    runc --root "$RUNC_ROOT" start "$_id" >>"$_log" 2>&1 || return $?
    # runc cannot hand over the exit status of a container it did not run in the foreground.
    while [ "$(runc --root "$RUNC_ROOT" state "$_id" 2>/dev/null | jq -r .status)" = running ]; do sleep 0.2; done
    runc --root "$RUNC_ROOT" delete -f "$_id" >/dev/null 2>&1
    return 0
  fi
  runc --root "$RUNC_ROOT" run --bundle "$_dir" "$_id" </dev/null >>"$_log" 2>&1
}

# run_onboot: each /containers/onboot/NNN-name in order, waiting for each to exit.
run_onboot() {
  for _dir in /containers/onboot/*; do
    [ -f "$_dir/config.json" ] || continue
    _id=${_dir##*/} _log=/var/log/${_dir##*/}.log
    _start=$(cut -d' ' -f1 /proc/uptime)
    if ! _why=$(prepare_bundle "$_dir" "$_id" 2>&1); then
      say "onboot $_id: failed: $(echo "$_why" | tail -n 1)"
      continue
    fi
    say "onboot $_id: started"
    run_container "$_dir" "$_id" "$_log"
    _status=$?
    _took=$(awk -v a="$_start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$_status" -eq 0 ]; then
      say "onboot $_id: exited with status 0 (${_took} s)"
    else
      say "onboot $_id: exited with status $_status (${_took} s): $(last_line "$_log")"
    fi
    # Its root is not needed any more: free the tmpfs upper layer.
    umount "$_dir/rootfs" 2>/dev/null; umount "$_dir/tmp" 2>/dev/null
  done
}

# start_service DIR: prepares one service and runs it in the foreground, supervised by this
# shell, which reports its exit on the console (services are not restarted, as under LinuxKit).
start_service() {
  _dir=$1 _id=${1##*/}
  if ! _why=$(prepare_bundle "$_dir" "$_id" 2>&1); then
    say "service $_id: failed: $(echo "$_why" | tail -n 1)"
    : >"/run/hook/$_id.launched"
    return 1
  fi
  say "service $_id: started"
  : >"/run/hook/$_id.launched"
  run_container "$_dir" "$_id" "/var/log/$_id.log"
  _status=$?
  [ -e /run/hook/stopping ] || say "service $_id: exited with status $_status: $(last_line "/var/log/$_id.log")"
}

# start_services: every /containers/services/<name> at once (each start costs a few runc and jq
# runs; under emulation that adds up), then waits until each has been launched (at most 60 s).
start_services() {
  _count=0
  for _dir in /containers/services/*; do
    [ -f "$_dir/config.json" ] || continue
    start_service "$_dir" &
    _count=$((_count + 1))
  done
  _tries=0
  while [ "$(launched_count)" -lt "$_count" ] && [ "$_tries" -lt 600 ]; do
    sleep 0.1
    _tries=$((_tries + 1))
  done
}

# launched_count: how many services have been launched (/run/hook/<name>.launched).
launched_count() {
  _launched=0
  for _file in /run/hook/*.launched; do
    if [ -e "$_file" ]; then _launched=$((_launched + 1)); fi
  done
  echo "$_launched"
}

# stop_services: SIGTERM to every running service, SIGKILL to what is left after 15 s (by the
# clock: each runc or jq run is slow under emulation, so the wait polls with kill -0 only).
# 15 s: hook-docker's dockerd first stops its containers (the worker, actions), each with its
# own stop timeout (Docker's default: 10 s), and only then exits.
stop_services() {
  touch /run/hook/stopping
  _running=$(runc --root "$RUNC_ROOT" list -f json 2>/dev/null | jq -r '(. // [])[] | select(.status == "running") | "\(.id):\(.pid)"')
  [ -n "$_running" ] || return 0
  say "stopping services: $(for _s in $_running; do printf '%s ' "${_s%%:*}"; done)"
  for _s in $_running; do kill -TERM "${_s#*:}" 2>/dev/null; done
  _deadline=$(($(cut -d. -f1 /proc/uptime) + 15)) _left=$_running
  while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_deadline" ]; do
    _left=
    for _s in $_running; do kill -0 "${_s#*:}" 2>/dev/null && _left="$_left $_s"; done
    [ -n "$_left" ] || break
    sleep 0.2
  done
  for _s in $_left; do
    say "service ${_s%%:*}: did not stop within 15 s: killing it"
    kill -KILL "${_s#*:}" 2>/dev/null
  done
  say "services stopped"
}
