# Shared by the rc and init.d scripts of HookOS (sourced, BusyBox sh).

# say TEXT: one line on the console and in /var/log/init.log (when /var is up). The init.d
# scripts say a user's mistake (a bad kernel parameter) this way, once, and exit 0: the boot goes on.
say() {
  echo "hook: $*" >/dev/console
  if [ -d /var/log ]; then echo "$(date '+%Y-%m-%dT%H:%M:%S') $*" >>/var/log/init.log 2>/dev/null; fi
  return 0
}

# The words of the kernel command line, one per line (no globbing of their contents).
cmdline_words() {
  (set -f; for word in $(cat "${HOOK_CMDLINE:-/proc/cmdline}"); do printf '%s\n' "$word"; done)
}

# cmdline_get KEY: prints the value of the last KEY=VALUE (the kernel's and Tinkerbell's rule:
# the last one wins); fails when there is none. A bare KEY (no '=') is not a value.
cmdline_get() {
  _found=1 _value=
  while IFS= read -r _word; do
    case $_word in "$1="*) _value=${_word#*=} _found=0 ;; esac
  done <<EOF2
$(cmdline_words)
EOF2
  printf '%s' "$_value"
  return $_found
}

# cmdline_bare KEY: true when KEY appears without '='.
cmdline_bare() {
  cmdline_words | grep -qx -- "$1"
}

# The interface whose MAC address is $1 (any case, ':' or '-' separated).
interface_of_mac() {
  _want=$(echo "$1" | tr 'A-F-' 'a-f:')
  for _dir in /sys/class/net/*; do
    [ "$(cat "$_dir/address" 2>/dev/null)" = "$_want" ] && { echo "${_dir##*/}"; return 0; }
  done
  return 1
}
