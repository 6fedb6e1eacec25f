#!/bin/sh
# dhcp.sh true|false: DHCP on the interfaces HookOS's init chose (/run/hook/dhcp-interfaces:
# none after ipam=, the VLAN interface, interface=, else e*). "true" (the onboot dhcp-once)
# waits for a lease and exits, keeping the address; "false" (the dhcp-daemon service) keeps
# the lease. Upstream's dhcp.sh takes the same argument.
once=${1:-false}
set -f # interface patterns such as e* are not file names
interfaces=$(cat /run/hook/dhcp-interfaces 2>/dev/null || echo 'e*')
if [ "$interfaces" = none ]; then
  echo "dhcp: the network is configured statically (ipam=): no DHCP client runs"
  [ "$once" = true ] && exit 0
  # The service stays up (idle), so a running dhcp-daemon is the normal state.
  trap 'exit 0' TERM INT
  while :; do sleep 3600 & wait $!; done
fi
if [ "$once" = true ]; then
  present=
  for name in $(echo "$interfaces" | tr , ' '); do
    case $name in *'*'* | *'?'*) present=1 ;; *) [ -e "/sys/class/net/$name" ] && present=1 ;; esac
  done
  if [ -z "$present" ]; then
    # The init said so on the console already (interface= names no interface); not a failure here.
    echo "dhcp: no interface matches '$interfaces': no lease before the services start"
    exit 0
  fi
  echo "dhcp: waiting for a lease on $interfaces"
  # --waitip: dhcpcd goes to the background once it has an address, and this container ends
  # with its first process, leaving the address in place (--persistent) for dhcp-daemon.
  # (--oneshot would give up at once while the links have no carrier yet.)
  exec /usr/sbin/dhcpcd --waitip=4 --persistent --ipv4only --timeout 30 \
    --config /etc/ip/dhcpcd.conf --allowinterfaces "$interfaces"
fi
echo "dhcp: keeping the leases on $interfaces"
exec /usr/sbin/dhcpcd --nobackground --persistent --ipv4only --config /etc/ip/dhcpcd.conf --allowinterfaces "$interfaces"
