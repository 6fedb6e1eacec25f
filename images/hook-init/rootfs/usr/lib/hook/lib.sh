# Shared by the rc and init.d scripts of HookOS (sourced, BusyBox sh).

# say TEXT: one line on the console and in /var/log/init.log (when /var is up). The init.d
# scripts say a user's mistake (a bad kernel parameter) this way, once, and exit 0: the boot goes on.
say() {
  echo "hook: $*" >/dev/console
  if [ -d /var/log ]; then echo "$(date '+%Y-%m-%dT%H:%M:%S') $*" >>/var/log/init.log 2>/dev/null; fi
  return 0
}

# The kernel command line: cmdline_get KEY (the last KEY=VALUE's value; fails when there is
# none, a bare KEY is not a value) and cmdline_bare KEY (KEY appears without `=`), from the
# shared cmdline.sh beside this file (HOOK_CMDLINE_LIB: its path, for tests on a build host).
# shellcheck source=cmdline.sh
. "${HOOK_CMDLINE_LIB:-/usr/lib/hook/cmdline.sh}"

# The interface whose MAC address is $1 (any case, ':' or '-' separated).
interface_of_mac() {
  _want=$(echo "$1" | tr 'A-F-' 'a-f:')
  for _dir in /sys/class/net/*; do
    [ "$(cat "$_dir/address" 2>/dev/null)" = "$_want" ] && { echo "${_dir##*/}"; return 0; }
  done
  return 1
}

# The names of the network interfaces, on one line (for messages).
interface_names() {
  _names=''
  for _dir in /sys/class/net/*; do
    if [ -e "$_dir" ]; then _names="$_names ${_dir##*/}"; fi
  done
  echo "${_names# }"
}
