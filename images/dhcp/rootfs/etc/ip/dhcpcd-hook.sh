#!/bin/sh
# shellcheck disable=SC2154 # dhcpcd sets reason, interface and the new_* lease variables
# dhcpcd's script: writes the lease's nameservers and search domains to the host's
# /run/resolvconf/resolv.conf (the target of /etc/resolv.conf) and its NTP servers to
# /run/hook/ntp-servers. dhcpcd sets the address and routes itself.
case $reason in
  BOUND | RENEW | REBIND | REBOOT | INFORM) ;;
  *) exit 0 ;;
esac
echo "dhcp: $interface: $reason $new_ip_address/$new_subnet_cidr router ${new_routers:-none} dns ${new_domain_name_servers:-none}"
if [ -n "$new_domain_name_servers" ]; then
  mkdir -p /run/resolvconf
  {
    search=${new_domain_search:-$new_domain_name}
    [ -z "$search" ] || echo "search $search"
    for server in $new_domain_name_servers; do echo "nameserver $server"; done
  } >/run/resolvconf/resolv.conf.$$
  # In place, not renamed: containers bind-mount this file, and a bind follows the inode.
  cat /run/resolvconf/resolv.conf.$$ >/run/resolvconf/resolv.conf
  rm -f /run/resolvconf/resolv.conf.$$
fi
if [ -n "$new_ntp_servers" ]; then
  mkdir -p /run/hook && echo "$new_ntp_servers" >/run/hook/ntp-servers
fi
exit 0
