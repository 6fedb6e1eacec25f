#!/bin/sh
# ipam=<mac-with-dashes>:<vlan>:<ipv4>:<netmask>:<gateway>:<hostname>:<dns,...>:<search,...>:<ntp,...>
# (Smee's static IPAM, as upstream's static-network.sh): configures that interface statically
# and DHCP is skipped. mac, ipv4, netmask and dns are required; a bad value leaves the network
# to DHCP. Log: /var/log/init.d-003-static-network.sh.log.
. /usr/lib/hook/lib.sh
FORMAT='ipam=<mac-with-dashes>:<vlan>:<ipv4>:<netmask>:<gateway>:<hostname>:<dns,...>:<search,...>:<ntp,...>'
if cmdline_bare ipam; then
  say "ipam: given without a value ($FORMAT); using DHCP"
  exit 0
fi
ipam=$(cmdline_get ipam) || exit 0
IFS=: read -r mac vlan address netmask gateway name dns search ntp <<EOF2
$ipam
EOF2
missing=
[ -n "$mac" ] || missing="$missing mac"
[ -n "$address" ] || missing="$missing ipv4"
[ -n "$netmask" ] || missing="$missing netmask"
[ -n "$dns" ] || missing="$missing dns"
if [ -n "$missing" ]; then
  say "ipam: '$ipam' lacks$missing ($FORMAT); using DHCP"
  exit 0
fi

# 255.255.255.0 -> 24; a prefix length stays as it is.
prefix_of() {
  case $1 in
    *.*.*.*) ;;
    *[!0-9]* | '') return 1 ;;
    *) [ "$1" -le 32 ] && echo "$1"; return ;;
  esac
  _bits=0 _end=
  for _octet in $(echo "$1" | tr . ' '); do
    case $_octet in
      255) [ -z "$_end" ] || return 1; _bits=$((_bits + 8)) ;;
      254 | 252 | 248 | 240 | 224 | 192 | 128 | 0)
        [ -z "$_end" ] || [ "$_octet" = 0 ] || return 1
        _end=1
        for _b in 128 64 32 16 8 4 2 1; do [ $((_octet & _b)) -ne 0 ] && _bits=$((_bits + 1)); done ;;
      *) return 1 ;;
    esac
  done
  echo "$_bits"
}
if ! prefix=$(prefix_of "$netmask"); then
  say "ipam: netmask '$netmask' is not a netmask ($FORMAT); using DHCP"
  exit 0
fi
if ! iface=$(interface_of_mac "$mac"); then
  say "ipam: no interface has MAC $mac (have: $(interface_names)); using DHCP"
  exit 0
fi
ip link set "$iface" up || exit 1
dev=$iface
if [ -n "$vlan" ]; then
  modprobe -q 8021q
  dev=$iface.$vlan
  ip link show "$dev" >/dev/null 2>&1 || ip link add link "$iface" name "$dev" type vlan id "$vlan" || exit 1
  ip link set "$dev" up || exit 1
fi
ip addr add "$address/$prefix" dev "$dev" || exit 1
[ -z "$gateway" ] || ip route add default via "$gateway" dev "$dev" || exit 1
[ -z "$name" ] || { hostname "$name"; echo "$name" >/run/hook/hostname; }
{
  [ -z "$search" ] || echo "search $(echo "$search" | tr , ' ')"
  for server in $(echo "$dns" | tr , ' '); do echo "nameserver $server"; done
} >/run/resolvconf/resolv.conf
[ -z "$ntp" ] || echo "$ntp" | tr , ' ' >/run/hook/ntp-servers
touch /run/hook/static-network
say "ipam: $dev $address/$prefix, gateway ${gateway:-none}, nameservers $(echo "$dns" | tr , ' '): no DHCP"
