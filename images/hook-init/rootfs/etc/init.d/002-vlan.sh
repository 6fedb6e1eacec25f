#!/bin/sh
# vlan_id=<id> hw_addr=<mac>: a VLAN interface <parent>.<id> on the NIC with that MAC, which
# DHCP then configures (as upstream's vlan.sh). Log: /var/log/init.d-002-vlan.sh.log.
. /usr/lib/hook/lib.sh
if cmdline_bare vlan_id; then
  say "vlan: vlan_id is given without a value; use vlan_id=<1-4094> hw_addr=<MAC>; no VLAN configured"
  exit 0
fi
vlan=$(cmdline_get vlan_id) || exit 0
case $vlan in '' | *[!0-9]*) vlan_ok= ;; *) [ "$vlan" -ge 1 ] && [ "$vlan" -le 4094 ] && vlan_ok=1 ;; esac
if [ -z "$vlan_ok" ]; then
  say "vlan: vlan_id='$vlan' is not a VLAN id (1-4094); no VLAN configured"
  exit 0
fi
if ! hw=$(cmdline_get hw_addr) || [ -z "$hw" ]; then
  say "vlan: vlan_id=$vlan needs hw_addr=<MAC of the parent interface>; no VLAN configured"
  exit 0
fi
if ! parent=$(interface_of_mac "$hw"); then
  say "vlan: no interface has hw_addr $hw (have: $(interface_names)); no VLAN configured"
  exit 0
fi
modprobe -q 8021q
ip link set "$parent" up
ip link show "$parent.$vlan" >/dev/null 2>&1 || ip link add link "$parent" name "$parent.$vlan" type vlan id "$vlan" || exit 1
ip link set "$parent.$vlan" up
echo "$parent.$vlan" >/run/hook/vlan-interface
say "vlan: $parent.$vlan (VLAN $vlan on $parent)"
