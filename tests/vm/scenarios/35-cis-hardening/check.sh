#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# CIS Level 1 on by default (issue 39 item 7): every control 71-cis-hardening promises
# (packer/README.md, "Hardening"), one check each, read from the running node rather than from
# the files the step wrote, so that a control another file or unit undoes fails here. The
# sshd (5.2.x) and grub/crontab (1.4, 5.1) items have nothing to act on in this image (no
# sshd, cron or grub: the guest boots its kernel directly); packer/README.md says so. A case
# of the boot group chain (tests/vm/groups), so the chain ran on the hardened node first.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

check "the chain joined the hardened node (kubelet active)" systemctl is-active kubelet.service

# The loops below test with builtins in this shell (check runs a function in a subshell, no
# new bash): a process start costs ~0.1-0.3 s of emulated CPU, and these ~45 checks started
# four each (bash, the tool, grep twice), 58 s of the case's run under TCG (run E).

# 1.1.1.x, 3.2.x: modprobe refuses each (its install command is /bin/false), none is loaded
refused() {
  local plan name
  plan=$(modprobe -n -v "$1" 2>&1)
  [[ $plan =~ (^|$'\n')install\ /bin/false[[:space:]]*($'\n'|$) ]] || { echo "modprobe -n -v $1: $plan"; return 1; }
  while read -r name _; do
    [[ $name == "${1//-/_}" ]] && { echo "$name is loaded"; return 1; }
  done </proc/modules
  return 0
}
for mod in cramfs freevxfs hfs hfsplus jffs2 squashfs udf usb-storage dccp rds tipc; do
  check "CIS 1.1.1/3.2: $mod cannot be loaded" refused "$mod"
done

# 1.5.x, 3.3.x: the kernel's values now, after systemd-sysctl and eks-node-system applied
# every sysctl.d file (a later file undoing one fails here)
# sysctl KEY is /proc/sys/KEY with the dots as slashes (no key here has a dot of its own)
sysctl_is() {
  local value
  if read -r value <"/proc/sys/${1//.//}" && [[ $value == "$2" ]]; then return 0; fi
  echo "$1 = $value"
  return 1
}
while read -r key want; do
  check "CIS sysctl $key = $want" sysctl_is "$key" "$want"
done <<'LIST'
fs.suid_dumpable 0
kernel.randomize_va_space 2
kernel.dmesg_restrict 1
kernel.kptr_restrict 1
kernel.yama.ptrace_scope 1
net.ipv4.conf.all.send_redirects 0
net.ipv4.conf.default.send_redirects 0
net.ipv4.conf.all.accept_redirects 0
net.ipv4.conf.default.accept_redirects 0
net.ipv4.conf.all.secure_redirects 0
net.ipv4.conf.default.secure_redirects 0
net.ipv6.conf.all.accept_redirects 0
net.ipv6.conf.default.accept_redirects 0
net.ipv4.conf.all.accept_source_route 0
net.ipv4.conf.default.accept_source_route 0
net.ipv6.conf.all.accept_source_route 0
net.ipv6.conf.default.accept_source_route 0
net.ipv4.conf.all.log_martians 1
net.ipv4.conf.default.log_martians 1
net.ipv4.icmp_echo_ignore_broadcasts 1
net.ipv4.icmp_ignore_bogus_error_responses 1
net.ipv4.tcp_syncookies 1
net.ipv6.conf.all.accept_ra 0
net.ipv6.conf.default.accept_ra 0
LIST
# what a Kubernetes node keeps against the benchmark (packer/README.md): pods are routed
check "3.3.1 not applied: IP forwarding stays on for pod traffic" sysctl_is net.ipv4.ip_forward 1

# 1.5.1: no core dumps: the hard limit a login session gets (pam_limits), and systemd-coredump
check "CIS 1.5.1: a login session's hard core limit is 0" bash -c '
  [[ $(runuser -l nobody -s /bin/bash -c "ulimit -Hc" 2>&1 | tail -n1) == 0 ]]'
check "CIS 1.5.1: systemd-coredump stores nothing" bash -c '
  systemd-analyze cat-config systemd/coredump.conf | grep -qx "Storage=none" &&
    systemd-analyze cat-config systemd/coredump.conf | grep -qx "ProcessSizeMax=0"'

# 4.1.x: auditd runs, with each rule group loaded in the kernel
check "CIS 4.1.1: auditd is active" systemctl is-active auditd.service
# ... started beside the boot (71-cis-hardening: its unit without Before=sysinit.target), so
# that the steps and kubelet do not wait for it; its figures of this boot kept as evidence
# (when each became active; `systemd-analyze blame` and `critical-chain` cost 19 s under TCG)
check "auditd is not ordered before sysinit.target (the join does not wait for it)" bash -c '
  ! systemctl show -p Before --value auditd.service | tr " " "\n" | grep -qx sysinit.target'
# shellcheck disable=SC2153 # EKSVM_OUT comes from the runner
systemctl show -p Id -p ActiveEnterTimestampMonotonic auditd.service sysinit.target \
  eks-node-imds.service kubelet.service >"$EKSVM_OUT/auditd-timing.txt" 2>&1
# the rules in force, once: `auditctl -l` prints each rule's key as "-k KEY" or "key=KEY"
audit_rules=$(auditctl -l 2>&1)
rule_key() {
  [[ $audit_rules =~ (-k\ |key=)"$1"($'\n'|$) ]] || { echo "auditctl -l: $audit_rules"; return 1; }
}
for key in identity scope time-change system-locale actions modules; do
  check "CIS 4.1.3: the audit rules with key $key are loaded" rule_key "$key"
done
# an open for writing that changes nothing (the watch's "w"; touch's utime is no "a" event)
check "CIS 4.1.3: a write to /etc/passwd is audited (key identity)" bash -c '
  : >>/etc/passwd && for _ in 1 2 3 4 5; do
    ausearch -k identity -f /etc/passwd --start recent >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1'

# 1.7.x: the banner the sshd configuration names
check "CIS 1.7: /etc/issue.net is the warning banner" grep -q '^Authorized uses only' /etc/issue.net
# 6.1.x: no world-writable file on the root file system
check "CIS 6.1: no world-writable regular file on /" bash -c '
  f=$(find / -xdev -type f -perm -0002 2>/dev/null | head -n 5); [[ -z $f ]] || { echo "$f"; exit 1; }'

finish
