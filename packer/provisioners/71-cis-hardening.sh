#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hardening: CIS Level 1 on every image unless the builder opts out
# (EKS_HARDENING=cis, the default; "stig" adds the STIG items on top; "none").
# Which CIS Amazon Linux 2023 Benchmark items this covers, which a Kubernetes
# node cannot follow, and what "stig" adds is listed in packer/README.md
# ("Hardening"); keep the two in step. tests/vm/scenarios/35-cis-hardening
# checks each control on the booted VM image, which is built with this step.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

hardening=${EKS_HARDENING:-cis}
case $hardening in
  cis | stig) ;;
  none) skip "EKS_HARDENING is none (the builder opted out)" ;;
  *) die "EKS_HARDENING is $hardening: one of cis, stig, none" ;;
esac

# 1.1.1.x: filesystems a node never mounts cannot be loaded; 3.2.x: neither can
# the DCCP, RDS and TIPC protocols. SCTP stays loadable: Kubernetes Services and
# NetworkPolicies may use it.
{ echo "# Installed by the eks-node image build (CIS 1.1.1.x, 3.2.x)."
  for mod in cramfs freevxfs hfs hfsplus jffs2 squashfs udf usb-storage dccp rds tipc; do
    echo "install $mod /bin/false"
    echo "blacklist $mod"
  done; } | put 0644 /etc/modprobe.d/eks-node-cis.conf

# 1.5.x: no core dumps of setuid programs, full ASLR, ptrace of own children
# only; 3.3.x: no redirects,
# no source routing, log martians. Forwarding stays on (3.3.1 cannot apply
# to a router of pod traffic) and rp_filter stays loose, which the VPC CNI
# needs for pods on secondary ENIs.
put 0644 /etc/sysctl.d/60-eks-node-cis.conf <<'CONF'
# Installed by the eks-node image build (CIS-oriented profile).
fs.suid_dumpable = 0
kernel.randomize_va_space = 2
kernel.dmesg_restrict = 1
kernel.kptr_restrict = 1
kernel.yama.ptrace_scope = 1
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.secure_redirects = 0
net.ipv4.conf.default.secure_redirects = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.default.accept_source_route = 0
net.ipv6.conf.all.accept_source_route = 0
net.ipv6.conf.default.accept_source_route = 0
net.ipv4.conf.all.log_martians = 1
net.ipv4.conf.default.log_martians = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.icmp_ignore_bogus_error_responses = 1
net.ipv4.tcp_syncookies = 1
net.ipv6.conf.all.accept_ra = 0
net.ipv6.conf.default.accept_ra = 0
CONF
put 0644 /etc/security/limits.d/60-eks-node-cis.conf <<'CONF'
# Installed by the eks-node image build (CIS 1.5.1): no core dumps.
* hard core 0
CONF
put 0644 /etc/systemd/coredump.conf.d/60-eks-node-cis.conf <<'CONF'
# Installed by the eks-node image build (CIS 1.5.1).
[Coredump]
Storage=none
ProcessSizeMax=0
CONF

# 4.1.x: auditd on, with rules for identity, time and privileged changes.
pkg_install audit
put 0640 /etc/audit/rules.d/60-eks-node-cis.rules <<'CONF'
## Installed by the eks-node image build (CIS 4.1.3.x).
-w /etc/group -p wa -k identity
-w /etc/passwd -p wa -k identity
-w /etc/shadow -p wa -k identity
-w /etc/sudoers -p wa -k scope
-w /etc/sudoers.d -p wa -k scope
-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change
-a always,exit -F arch=b64 -S sethostname,setdomainname -k system-locale
-w /var/log/sudo.log -p wa -k actions
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -k modules
CONF
systemctl enable auditd.service >/dev/null 2>&1 || true
# auditd beside the boot, not ahead of it. The packaged unit (upstream's, on
# AL2023 and Debian alike) orders it Before=sysinit.target, so every service,
# eks-node's steps and kubelet among them, waits until auditd has started and
# augenrules has loaded the rules: 31-43 s of each boot in the loaded VM tier.
# CIS asks for auditd enabled and running (4.1.1.x), not for it to start
# before other services. A drop-in cannot take an ordering back, so the unit
# is copied to /etc/systemd/system with the edit its own comments describe
# (every Before= line without sysinit.target: audit 3's unit, AL2023's and
# bookworm's, reads "Before=sysinit.target shutdown.target"; audit 4's, in
# Debian's testing and unstable (the VM's second image), adds audit-rules.service, which then loads the rules
# after auditd); auditd still starts as soon as the local file systems are
# there, in parallel with the rest.
audit_unit=
for d in /usr/lib/systemd/system /lib/systemd/system; do
  [[ -f $d/auditd.service ]] && { audit_unit=$d/auditd.service; break; }
done
[[ -n $audit_unit ]] || die "the audit package installed no auditd.service"
grep -q '^Before=.*\<sysinit\.target\>' "$audit_unit" ||
  die "$audit_unit: no Before= line names sysinit.target: its ordering changed, read it again"
# (a line left as a bare "Before=" would reset the list: dropped)
sed -E '/^Before=/{s/(=| )sysinit\.target( |$)/\1/; s/ +$//; /^Before=$/d}' "$audit_unit" |
  put 0644 /etc/systemd/system/auditd.service
if grep -q '^Before=.*\<sysinit\.target\>' /etc/systemd/system/auditd.service ||
  ! grep -q '^Before=.*\<shutdown\.target\>' /etc/systemd/system/auditd.service; then
  die "$audit_unit: sysinit.target not taken out of its Before= lines (shutdown.target kept)"
fi
# Not in a container: there the kernel's audit is the host's (its netlink answers the initial
# namespaces only), so auditd and audit 4's rule loader fail and leave the system degraded,
# as under systemd-nspawn (the VM tier's container boots, tests/vm/README.md).
for unit in auditd audit-rules; do
  put 0644 "/etc/systemd/system/$unit.service.d/50-eks-node-container.conf" <<'CONF'
# Installed by the eks-node image build (71-cis-hardening.sh): a container's audit is its host's.
[Unit]
ConditionVirtualization=!container
CONF
done

# 5.2.x: sshd (when present) without root login, forwarding or long idles.
if [[ -d /etc/ssh/sshd_config.d ]]; then
  put 0600 /etc/ssh/sshd_config.d/41-eks-node-cis.conf <<'CONF'
# Installed by the eks-node image build (CIS 5.2.x).
PermitRootLogin no
MaxAuthTries 4
X11Forwarding no
AllowTcpForwarding no
IgnoreRhosts yes
HostbasedAuthentication no
PermitEmptyPasswords no
PermitUserEnvironment no
LoginGraceTime 60
ClientAliveInterval 300
ClientAliveCountMax 3
MaxStartups 10:30:60
Banner /etc/issue.net
CONF
fi
put 0644 /etc/issue.net <<'CONF'
Authorized uses only. All activity may be monitored and reported.
CONF

# 1.4.x / 5.1.x: permissions of boot and cron configuration.
for f in /boot/grub2/grub.cfg /etc/crontab; do
  [[ -f $f ]] && chmod og-rwx "$f"
done
# 6.1.x: no world-writable files outside the pseudo filesystems.
find / -xdev -type f -perm -0002 -not -path '/proc/*' -exec chmod o-w {} + 2>/dev/null || true

[[ $hardening == stig ]] || exit 0

# STIG (DISA's RHEL 9 STIG, the nearest to AL2023), on top of the CIS items:
# no kexec, no unprivileged BPF, hardened BPF JIT, no unprivileged perf.
put 0644 /etc/sysctl.d/61-eks-node-stig.conf <<'CONF'
# Installed by the eks-node image build (STIG profile).
kernel.kexec_load_disabled = 1
kernel.unprivileged_bpf_disabled = 1
net.core.bpf_jit_harden = 2
kernel.perf_event_paranoid = 2
CONF
# Audit of permission and ownership changes, deletions, mounts, failed access
# and privileged commands; the rules are immutable until reboot (-e 2).
put 0640 /etc/audit/rules.d/61-eks-node-stig.rules <<'CONF'
## Installed by the eks-node image build (STIG profile).
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S chown,fchown,fchownat,lchown -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000 -F auid!=unset -k perm_mod
-a always,exit -F arch=b64 -S unlink,unlinkat,rename,renameat -F auid>=1000 -F auid!=unset -k delete
-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset -k mounts
-a always,exit -F arch=b64 -S open,openat,creat,truncate,ftruncate -F exit=-EACCES -F auid>=1000 -F auid!=unset -k access
-a always,exit -F arch=b64 -S open,openat,creat,truncate,ftruncate -F exit=-EPERM -F auid>=1000 -F auid!=unset -k access
-a always,exit -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=unset -k privileged
-a always,exit -F path=/usr/bin/su -F perm=x -F auid>=1000 -F auid!=unset -k privileged
-e 2
CONF
# Interactive shells end after 10 idle minutes.
put 0644 /etc/profile.d/eks-node-stig.sh <<'CONF'
# Installed by the eks-node image build (STIG profile): idle shells end.
TMOUT=600
readonly TMOUT
export TMOUT
CONF
