#!/bin/sh
# ntp.sh once|daemon: OpenNTPD with the NTP servers DHCP or ipam= handed over
# (/run/hook/ntp-servers), else pool.ntp.org. "once" (the onboot ntp-once) sets the clock
# before the services start and gives up after NTP_WAIT seconds (default 3): a machine that
# reaches no NTP server keeps the time of its RTC. "daemon" (the ntpd service) keeps it.
mode=${1:-daemon}
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
echo "ntp: $mode with $(tr '\n' ' ' <"$conf")"
if [ "$mode" = once ]; then
  # Without -d, ntpd stays in the foreground until the clock is set (or 15 s), then forks: the
  # onboot container ends with its first process.
  timeout "${NTP_WAIT:-3}" /usr/sbin/ntpd -s -f "$conf" 2>&1 | tee /tmp/ntpd-once.log
  if grep -q 'set local clock' /tmp/ntpd-once.log; then
    echo "ntp: clock set: $(date -u)"
  else
    echo "ntp: no NTP server answered within ${NTP_WAIT:-3} s; the clock stays at $(date -u) (the RTC's)"
  fi
  exit 0
fi
exec /usr/sbin/ntpd -d -s -f "$conf"
