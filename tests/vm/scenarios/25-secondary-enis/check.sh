#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# Secondary ENIs (eks-node-network(8)) on two virtio NICs: udev pulls in
# eks-node-network@NAME.service for each, the primary gets its own file (and the fallback
# is narrowed to it), the second ENI its route table 10001, its policy rule and MTU 9001,
# as systemd-networkd applied them; the fake IMDS stays reachable. Then two ENIs attached
# while kubelet runs, decided by their EC2 tags (featureGates.OSManagedNoManageENIs). Runs
# inside the guest.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

# the interface with this MAC
ifname() { ip -o link | awk -v mac="link/ether $1 " 'index($0, mac) { sub(":$", "", $2); print $2 }'; }
p=$(ifname 0e:49:61:0f:c3:11)
s=$(ifname 0e:49:61:0f:c3:12)
check "two NICs: primary $p, second $s" test -n "$p" -a -n "$s"
check "the node joined" joined
# what udev told systemd of each NIC (for a post-mortem)
ls -l /etc/udev/rules.d /usr/lib/udev/rules.d/90-eks-node-network.rules
for i in "$p" "$s"; do
  udevadm info "/sys/class/net/$i" | grep -E 'ID_NET_DRIVER|SYSTEMD_WANTS|ID_NET_NAME=|INTERFACE'
  systemctl show -p Wants -p Following "sys-subsystem-net-devices-$i.device"
  udevadm test "/sys/class/net/$i" 2>&1 | grep -iE 'eksvm|eks-node|SYSTEMD_WANTS|ID_NET_DRIVER|invalid|error' | head -20
done
for i in "$p" "$s"; do
  check "eks-node-network@$i.service ran" eventually 60 systemctl is-active --quiet "eks-node-network@$i.service"
  check "systemd-networkd configured $i" eventually 60 bash -c "
    networkctl list --no-legend --no-pager $i | awk '{ print \$NF }' | grep -qx configured"
  check "$i has MTU 9001" eventually 30 grep -qx 9001 "/sys/class/net/$i/mtu"
done
check "the primary's file matches its MAC and has no table of its own" bash -c "
  f=/run/systemd/network/70-eks-node-$p.network; cat \$f
  grep -qx PermanentMACAddress=0e:49:61:0f:c3:11 \$f && ! grep -q '^Table=' \$f"
check "the fallback is narrowed to the primary" \
  grep -qx PermanentMACAddress=0e:49:61:0f:c3:11 /run/systemd/network/80-eks-node-ec2.network.d/50-primary-only.conf
check "networkctl shows the primary's file" bash -c "networkctl status --no-pager $p | grep -F 70-eks-node-$p.network"
check "$s has its DHCP address" eventually 30 bash -c "ip -4 -o addr show dev $s | grep -qF 'inet 10.0.2.15/24'"
check "a rule sends 10.0.2.15's traffic to table 10001" eventually 30 bash -c "
  ip rule show | grep -E '^32765:\s+from 10.0.2.15 lookup 10001'"
check "table 10001 holds $s's subnet" eventually 30 bash -c "
  ip route show table 10001 | grep -q '^10.0.2.0/24 dev $s'"
# Not checked here: the default routes (main table, table 10001). They need a router
# from DHCP, and qemu's user networking with restrict=on offered none on 2026-11-24;
# the golden cases (tests/golden/network/) check the Gateway= routes we write.
check "the fake IMDS is still this machine's own address" bash -c "ip route get 169.254.169.254 | grep -q '^local'"
check "IMDS answers" imds_get meta-data/instance-id
# files/: udev announced the second ENI only after eks-node-config had started (and resolved
# the node); still the launch template's ENI, systemd-networkd's
check "the second ENI was first seen after eks-node-config started" bash -c "
  (( \$(systemctl show -P InactiveExitTimestampMonotonic eks-node-network@$s.service) >
     \$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-config.service) ))"
check "each decision recorded for this instance" bash -c '
  grep -qx "i-1234567890abcdef0 systemd" /var/lib/eks-node/network/0e:49:61:0f:c3:11 &&
  grep -qx "i-1234567890abcdef0 systemd" /var/lib/eks-node/network/0e:49:61:0f:c3:12'
check "MACAddressPolicy=none for every link" bash -c '
  systemd-analyze cat-config systemd/network/99-default.link | grep -x MACAddressPolicy=none'
check "ports of host-network add-ons reserved" bash -c '
  sysctl -n net.ipv4.ip_local_reserved_ports | grep -F 61678'
# a re-run with nothing new: the file is not rewritten and networkd not reloaded
before=$(stat -c %Y "/run/systemd/network/70-eks-node-$s.network" 2>/dev/null)
mark=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
check "a re-run succeeds" systemctl restart "eks-node-network@$s.service"
check "a re-run changes nothing and reloads nothing" bash -c "
  j=\$(journal -u eks-node-network@$s.service --since '$mark' --no-pager -o cat); echo \"\$j\"
  grep -q 'done, nothing changed' <<<\"\$j\" && ! grep -q 'systemd-networkd reloaded' <<<\"\$j\" &&
  [[ \$(stat -c %Y /run/systemd/network/70-eks-node-$s.network) == $before ]]"
check "no step failed" bash -c '! systemctl --failed --no-legend | grep -q .'

# featureGates.OSManagedNoManageENIs: two ENIs attached once kubelet runs. IMDS describes
# them from then on (as EC2's does once an ENI is attached); the fake EC2 tags :13
# no_manage=true and :14 as the VPC CNI tags the ENIs it creates.
check "kubelet runs" systemctl is-active --quiet kubelet.service
leaf=meta-data/network/interfaces/macs
check "IMDS describes the ENIs about to be attached" fake_faults eksvm-imds.service /run/eksvm-imds.faults \
  "set:$leaf/0e:49:61:0f:c3:13/device-number=2" "set:$leaf/0e:49:61:0f:c3:13/network-card=0" \
  "set:$leaf/0e:49:61:0f:c3:13/interface-id=eni-0a1b2c3d4e5f60713" \
  "set:$leaf/0e:49:61:0f:c3:13/local-ipv4s=10.0.3.15" "set:$leaf/0e:49:61:0f:c3:13/subnet-ipv4-cidr-block=10.0.3.0/24" \
  "set:$leaf/0e:49:61:0f:c3:14/device-number=3" "set:$leaf/0e:49:61:0f:c3:14/network-card=0" \
  "set:$leaf/0e:49:61:0f:c3:14/interface-id=eni-0a1b2c3d4e5f60714" \
  "set:$leaf/0e:49:61:0f:c3:14/local-ipv4s=10.0.4.15" "set:$leaf/0e:49:61:0f:c3:14/subnet-ipv4-cidr-block=10.0.4.0/24"
check "the host attached two NICs while kubelet runs" hotplug_nics
check "both appear" eventually 60 bash -c "ip -o link | grep -q 0e:49:61:0f:c3:13 && ip -o link | grep -q 0e:49:61:0f:c3:14"
t=$(ifname 0e:49:61:0f:c3:13)
c=$(ifname 0e:49:61:0f:c3:14)
for m in 13 14; do
  check "eks-node-network decided for 0e:49:61:0f:c3:$m" eventually 120 test -s /var/lib/eks-node/network/0e:49:61:0f:c3:$m
done
check "the ENI tagged no_manage=true ($t) is systemd-networkd's" \
  grep -qx "i-1234567890abcdef0 systemd" /var/lib/eks-node/network/0e:49:61:0f:c3:13
check "the VPC CNI's own ENI ($c) is the CNI's" grep -qx "i-1234567890abcdef0 cni" /var/lib/eks-node/network/0e:49:61:0f:c3:14
check "systemd-networkd configured $t" eventually 60 bash -c "
  networkctl list --no-legend --no-pager $t | awk '{ print \$NF }' | grep -qx configured"
check "$t has its DHCP address" eventually 30 bash -c "ip -4 -o addr show dev $t | grep -qF 'inet 10.0.3.15/24'"
check "a rule sends 10.0.3.15's traffic to table 10002" eventually 30 bash -c "
  ip rule show | grep -E '^32765:\s+from 10.0.3.15 lookup 10002'"
check "$c's file leaves it to the CNI, and networkd does" bash -c "
  grep -qx Unmanaged=yes /run/systemd/network/70-eks-node-$c.network &&
  networkctl list --no-legend --no-pager $c | grep -qw unmanaged"
check "$c has no address of ours" bash -c "! ip -4 -o addr show dev $c | grep -q inet"
check "each decision names the tag that made it" bash -c "
  journal -u eks-node-network@$t.service -o cat --no-pager | grep -F 'tagged node.k8s.amazonaws.com/no_manage=true' &&
  journal -u eks-node-network@$c.service -o cat --no-pager | grep -F 'created by the VPC CNI'"
check "EC2 was asked again while it listed the ENIs without tags" bash -c "
  cat /run/eksvm-fake-aws.log
  test \$(grep -c '^DescribeNetworkInterfaces 200 sig-ok .* untagged\$' /run/eksvm-fake-aws.log) = 2 &&
  grep -q '^DescribeNetworkInterfaces 200 sig-ok [0-9a-f:]*\$' /run/eksvm-fake-aws.log &&
  journal -u 'eks-node-network@*' -o cat --no-pager | grep -F 'tag yet'"
check "EC2 was asked of the attached ENIs only" bash -c "
  ! grep -E '^DescribeNetworkInterfaces .* 0e:49:61:0f:c3:1[12]' /run/eksvm-fake-aws.log"
check "still no step failed" bash -c '! systemctl --failed --no-legend | grep -q .'
finish
