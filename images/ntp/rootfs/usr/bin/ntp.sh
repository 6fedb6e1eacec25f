#!/bin/sh
# ntp.sh once|daemon: OpenNTPD with the NTP servers DHCP or ipam= handed over
# (/run/hook/ntp-servers), else pool.ntp.org. "once" (the onboot ntp-once) sets the clock
# before the services start and gives up after NTP_WAIT seconds (default 3): a machine that
# reaches no NTP server keeps the time of its RTC. "daemon" (the ntpd service) keeps it; while
# the clock is clearly wrong (before HOOK_CLOCK_FLOOR, a machine with no RTC battery boots in
# 1970 or 2000) it first tries to set it every NTP_RETRY seconds (default 60): OpenNTPD sets
# the time only at its start and would slew a 26-year error for ever. "once" leaves one line
# about a wrong clock in /run/hook/clock-wrong, which the init says on the console.
mode=${1:-daemon}
floor=${HOOK_CLOCK_FLOOR:-20250101}
servers=$(cat /run/hook/ntp-servers 2>/dev/null)
conf=/tmp/ntpd.conf
# ntpd chroots its network process to the home of its user; it keeps its drift and control
# socket under /var/lib/openntpd.
mkdir -p /var/run/openntpd /var/lib/openntpd/db /var/lib/openntpd/run
if [ -n "$servers" ]; then
  for server in $servers; do echo "server $server"; done >"$conf"
else
  echo "servers pool.ntp.org" >"$conf"
fi

clock_wrong() {
  [ "$(date -u +%Y%m%d)" -lt "$floor" ]
}
floor_date="${floor%????}-${floor#????}"
floor_date="${floor_date%??}-${floor_date#*-??}"

# set_once SECONDS: ntpd stays in the foreground until the clock is set (or SECONDS), then forks.
set_once() {
  timeout "$1" /usr/sbin/ntpd -s -f "$conf" >/tmp/ntpd-once.log 2>&1
  cat /tmp/ntpd-once.log
  grep -q 'set local clock' /tmp/ntpd-once.log
}

echo "ntp: $mode with $(tr '\n' ' ' <"$conf")"
if [ "$mode" = once ]; then
  if set_once "${NTP_WAIT:-3}"; then
    echo "ntp: clock set: $(date -u)"
  else
    echo "ntp: no NTP server answered within ${NTP_WAIT:-3} s; the clock stays at $(date -u) (the RTC's)"
    if clock_wrong; then
      echo "clock: the time is $(date -u '+%Y-%m-%d %H:%M:%S') UTC, before $floor_date, and no NTP server answered: TLS pulls will fail (certificates look not yet valid) until ntpd sets the clock; it keeps trying every ${NTP_RETRY:-60} s" | tee /run/hook/clock-wrong
    fi
  fi
  exit 0
fi
while clock_wrong; do
  echo "ntp: the clock says $(date -u '+%Y-%m-%d %H:%M:%S') UTC, before $floor_date: trying to set it (every ${NTP_RETRY:-60} s until an NTP server answers)"
  set_once 15 && { echo "ntp: clock set: $(date -u)"; break; }
  sleep "${NTP_RETRY:-60}"
done
exec /usr/sbin/ntpd -d -s -f "$conf"
