#!/bin/sh
# A getty on every console= of the kernel command line (tty0 when there is none), respawned
# when its session ends. INSECURE=true (upstream's setting) logs root in without a password.
set -f
# PID 1 of its container: without a handler, the TERM of a shutdown would be ignored.
trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM INT
# The kernel command line, by the shared rule (cmdline.sh): every console=VALUE, in order.
# shellcheck source=cmdline.sh
. "${HOOK_CMDLINE_LIB:-/usr/lib/hook/cmdline.sh}"
consoles=
add_console() {
  if [ "$#" -eq 2 ] && [ "$1" = console ]; then consoles="$consoles $2"; fi
}
cmdline_scan add_console
[ -n "$consoles" ] || consoles=tty0
for console in $consoles; do
  tty=${console%%,*}
  speed=${console#*,}
  [ "$speed" != "$console" ] || speed=115200
  speed=${speed%%[!0-9]*}
  case $tty in tty[0-9]*) speed=38400 ;; esac
  if [ ! -c "/dev/$tty" ]; then
    echo "getty: console=$console has no /dev/$tty: no getty on it"
    continue
  fi
  if ! grep -qx "$tty" /etc/securetty 2>/dev/null; then
    echo "getty: $tty is not in /etc/securetty: root cannot log in on it" >"/dev/$tty"
  fi
  if [ "$INSECURE" = true ]; then
    set -- -n -l /usr/bin/autologin
  else
    set --
  fi
  (
    while true; do
      setsid getty "$@" -L "$speed" "$tty" vt100
      sleep 1
    done
  ) &
  echo "getty: on $tty at $speed baud"
done
wait
