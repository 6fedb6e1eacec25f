#!/bin/sh
# Decides where DHCP runs and writes it to /run/hook/dhcp-interfaces for the dhcp containers:
# nowhere after ipam=, the VLAN interface after vlan_id=, interface=<name[,name]> (upstream's
# dhcp.sh), else every e* interface.
. /usr/lib/hook/lib.sh
if [ -e /run/hook/static-network ]; then
  echo none >/run/hook/dhcp-interfaces
elif [ -s /run/hook/vlan-interface ]; then
  cp /run/hook/vlan-interface /run/hook/dhcp-interfaces
elif cmdline_bare interface; then
  say "dhcp: interface is given without a value; use interface=<name>[,<name>]; DHCP on e*"
  echo 'e*' >/run/hook/dhcp-interfaces
  exit 0
elif wanted=$(cmdline_get interface); then
  echo "$wanted" >/run/hook/dhcp-interfaces
  for name in $(echo "$wanted" | tr , ' '); do
    if [ ! -e "/sys/class/net/$name" ]; then
      say "dhcp: interface=$name names no interface (have: $(interface_names)); DHCP waits for it"
      exit 0
    fi
  done
else
  echo 'e*' >/run/hook/dhcp-interfaces
fi
