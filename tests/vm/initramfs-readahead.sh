#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# eks-node-readahead started from a dracut initramfs (eks-node-readahead(8), FROM THE
# INITRAMFS), booted for real: the VM tier's bookworm image with the build's .deb unpacked
# into a copy of its root, and an initramfs that Debian's dracut builds with systemd and the
# package's own dracut module and dracut.conf.d setting (the AMI's 95-readahead does the same
# with AL2023's dracut). The tier's other boots use its own small initramfs
# (tests/vm/boot/), which has no systemd and runs no unit.
#
# Usage: tests/vm/initramfs-readahead.sh BUILD_DIR     (root; meson test vm-initramfs-readahead)
#
# What it checks, from the image and from the guest's own account (a unit of the test's
# prints `systemctl show` and the unit's journal to the serial console, then powers off):
# - the initramfs holds the module's unit, wanted by initrd.target;
# - the boot went through that initramfs, and eks-node-readahead's run began in it, before
#   the real root's systemd started (ExecMainStartTimestampMonotonic < UserspaceTimestamp);
# - that one run carried on across the switch: it ended after the switch, with status 0 and
#   its summary line in the journal (PID 1 sends SIGTERM to what is left at the switch; a
#   run killed so ends with status 15, as this boot did before the unit's "@" argv[0]);
# - the real root's generator pulled the unit into sysinit.target, and that start found the
#   run going: one InvocationID and one "Started" line for the unit in the whole boot;
# - a second boot of the same root with eks-node.enable=0: the unit never runs, in the
#   initramfs or after it.
# The first boot's root disk is read at 6 MiB/s until the initramfs switches to the real root,
# and the list ends with 1 GiB of the test's (below): the run is still reading at the switch,
# which comes 3-13 s after its start, however busy the host keeps the emulator. The host then
# lifts the throttle (QMP): on the slow disk the run's reads starved the switch and the real
# root's systemd of theirs (48 s from the switch's start to the first job of the real root's,
# measured); at the emulator's speed (about 100 MiB/s) the rest of the read outlasts them
# (the real root's first job about 4 s after the switch, the run's end 5.4 s after it with
# 512 MiB, about 10 s with 1 GiB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=qemu.sh
source "$here/qemu.sh"
(($# == 1)) || { echo "usage: initramfs-readahead.sh BUILD_DIR" >&2; exit 2; }
build_dir=$(cd "$1" && pwd)
log() { echo "vm-initramfs: $*" >&2; }

out=$build_dir/vm/initramfs-readahead
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/eks-node-vm-initramfs.XXXXXX")
mnt=$work/root
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

command -v dracut >/dev/null || { echo "FAIL dracut is installed (tools/deps.sh --test: dracut-core)"; echo "0 passed, 1 failed"; exit 1; }
base=$(EKS_NODE_VM_BUILD_DIR=$build_dir "$here/build-image.sh" | tail -n1)
kver=$(basename "$(ls -d "$base/tree/lib/modules/"*)")
log "image $base, kernel $kver"

"$here/package.sh" "$build_dir" "$work/eks-node.deb"
dpkg-deb -x "$work/eks-node.deb" "$work/pkg"

# dracut from the host (Debian 12's, systemd 252 as in the image), its modules with the
# package's module beside them, the package's dracut.conf.d as the only configuration; the
# kernel modules the image's kernel needs to mount its root, from the image
cp -a /usr/lib/dracut "$work/dracut"
cp -a "$work/pkg/usr/lib/dracut/modules.d/95eks-node-readahead" "$work/dracut/modules.d/"
: >"$work/dracut.conf"
dracutbasedir=$work/dracut dracut --conf "$work/dracut.conf" --confdir "$work/pkg/usr/lib/dracut/dracut.conf.d" \
  --kver "$kver" --kmoddir "$base/tree/lib/modules/$kver" --no-hostonly --force --no-early-microcode \
  --compress "zstd -1" -m "systemd systemd-initrd dracut-systemd base rootfs-block fs-lib udev-rules" \
  --add-drivers "virtio_blk virtio_pci ext4" "$work/initrd.img" >"$out/dracut.log" 2>&1 ||
  { tail -20 "$out/dracut.log" >&2; echo "FAIL dracut builds the initramfs"; echo "0 passed, 1 failed"; exit 1; }
lsinitrd "$work/initrd.img" >"$out/lsinitrd.txt"

# The root: a copy of the image's, the package's files on it (its maintainer scripts do
# nothing this boot needs: the generator links what it links at every boot). eks-node.target
# masked, so that no step waits for an IMDS this boot has not; containerd too, which has
# nothing to do with it. A unit of the test's reports once eks-node-readahead is done.
cp --sparse=always "$base/rootfs.img" "$work/root.img"
mkdir "$mnt"
mount -o loop "$work/root.img" "$mnt"
tar -C "$work/pkg" -cf - . | tar -C "$mnt" -xf - --keep-directory-symlink
# An admin's copy of the list (it replaces the image's) with 1 GiB more at its end (above).
head -c $((1024 << 20)) /dev/zero >"$mnt/var/tmp/readahead-test.bin"
mkdir -p "$mnt/etc/eks-node"
{ cat "$mnt/usr/lib/eks-node/readahead.list"; echo /var/tmp/readahead-test.bin; } >"$mnt/etc/eks-node/readahead.list"
for u in eks-node.target containerd.service eksvm-runner.service eksvm-imds.service; do
  ln -sf /dev/null "$mnt/etc/systemd/system/$u"
done
# Early in the real root's boot (all it needs is journald), so that the boot ends with the run,
# not after multi-user.target
cat >"$mnt/etc/systemd/system/initramfs-check.service" <<'EOF'
[Unit]
DefaultDependencies=no
After=systemd-journald.service
[Service]
Type=oneshot
StandardOutput=tty
TTYPath=/dev/ttyS0
ExecStart=/usr/local/sbin/initramfs-check
[Install]
WantedBy=sysinit.target
EOF
mkdir -p "$mnt/usr/local/sbin"
cat >"$mnt/usr/local/sbin/initramfs-check" <<'EOF'
#!/bin/bash
# waits for the run to end (at most 5 min), then says what the host checks
for ((i = 0; i < 600; i++)); do
  systemctl is-active -q eks-node-readahead.service || break
  sleep 0.5
done
echo "CHECK-BEGIN"
systemctl show eks-node-readahead.service -p ExecMainStartTimestampMonotonic \
  -p ExecMainExitTimestampMonotonic -p ExecMainStatus -p Result -p InvocationID -p ActiveState
systemctl show -p InitRDTimestampMonotonic -p UserspaceTimestampMonotonic
echo "SysinitWants=$(systemctl show -p Wants --value sysinit.target)"
journalctl -b -u eks-node-readahead.service -o export |
  grep -a -E '^(_SYSTEMD_INVOCATION_ID|OBJECT_SYSTEMD_INVOCATION_ID|INVOCATION_ID|MESSAGE|_PID)=' | sed 's/^/J /'
echo "CHECK-END"
# --force: straight to the power-off, without stopping the units of a throw-away boot one by one
systemctl --force poweroff
EOF
chmod 755 "$mnt/usr/local/sbin/initramfs-check"
mkdir -p "$mnt/etc/systemd/system/sysinit.target.wants"
ln -sf /etc/systemd/system/initramfs-check.service "$mnt/etc/systemd/system/sysinit.target.wants/"
umount "$mnt"

# One boot of the root above through the initramfs; EXTRA more kernel arguments, THROTTLE a
# read limit (bytes/s) for its disk until the switch to the real root begins. Its report
# (what initramfs-check printed) in $out/NAME.txt, its console in $out/NAME-console.log.
qemu_accel
boot() {
  local name=$1 extra=$2 throttle=${3:-} rc=0 pid t0 console=$out/$1-console.log
  log "boot '$name': through dracut's initramfs (${accel[*]})${extra:+, with $extra}${throttle:+, disk read at $throttle B/s}"
  rm -f "$work/qmp.sock"
  timeout --kill-after=10 600 qemu-system-x86_64 -nodefaults -no-user-config -no-reboot -display none \
    -machine q35 "${accel[@]}" -smp "$VM_CPUS" -m 2048 \
    -kernel "$base/vmlinux" -initrd "$work/initrd.img" \
    -append "$qemu_cmdline rd.shell=0 rd.emergency=poweroff $extra" \
    -drive "if=none,id=root,file=$work/root.img,format=raw,cache=unsafe${throttle:+,throttling.bps-read=$throttle}" \
    -device virtio-blk-pci,drive=root,id=vroot -device virtio-rng-pci \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" -serial "file:$console" 2>"$out/$name-qemu.log" &
  pid=$! t0=$SECONDS
  if [[ -n $throttle ]]; then
    # PID 1's status lines (systemd.show_status=1), which the console shows at once: a
    # unit's program of the test's would wait for its pages behind the read
    until awk '/Starting .*initrd-switch-root.service/ { f = 1; exit }
        END { exit !f }' "$console" 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      qemu_qmp "$work/qmp.sock" '{"execute": "block_set_io_throttle", "arguments": {"id": "/machine/peripheral/vroot/virtio-backend",
        "bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}}' &&
        log "boot '$name': the switch to the real root begins; disk throttle lifted at $((SECONDS - t0)) s"
    fi
  fi
  wait "$pid" || rc=$?
  ((rc == 0)) || log "boot '$name': qemu exited $rc"
  sed -n '/^CHECK-BEGIN/,/^CHECK-END/p' "$console" | tr -d '\r' >"$out/$name.txt"
}
# The root disk read at 6 MiB/s, as a volume EBS loads from its snapshot is slow at first
# (tests/bench/README.md, "A lazily loaded disk"). On the disk at the host's speed the image's
# list takes about a second and the run ends in the initramfs; the real root's start then
# reads the list again, from the page cache, which is no test of the switch.
boot enabled systemd.show_status=1 $((6 << 20))
# eks-node turned off on the kernel command line: the initramfs's unit is skipped by its
# condition, and the real root's generator pulls nothing in
boot disabled "eks-node.enable=0"

PYTHONPATH=$here/../lib python3 - "$out/lsinitrd.txt" "$out/enabled.txt" "$out/disabled.txt" <<'EOF'
import re, sys
from harness import Tally
listing, report, off = (open(p, errors="replace").read() for p in sys.argv[1:4])
tally = Tally()
check = tally.check
check("the initramfs holds eks-node-readahead.service",
      "usr/lib/systemd/system/eks-node-readahead.service" in listing)
check("initrd.target wants it there", "initrd.target.wants/eks-node-readahead.service" in listing)
check("the boot reached the test's report (CHECK-BEGIN on the console)", "CHECK-END" in report)
props = dict(l.split("=", 1) for l in report.splitlines() if "=" in l and not l.startswith("J "))
num = lambda k: int(props.get(k) or 0)
check("the boot went through an initramfs (InitRDTimestamp set)", num("InitRDTimestampMonotonic") > 0)
start, end, switch = (num("ExecMainStartTimestampMonotonic"), num("ExecMainExitTimestampMonotonic"),
                      num("UserspaceTimestampMonotonic"))
check("the run began in the initramfs, before the real root's systemd",
      0 < start < switch, "start %d, real root's systemd %d" % (start, switch))
check("the same run ended after the switch", end > switch, "end %d, switch %d" % (end, switch))
print("# the run: %.1f s in the initramfs, %.1f s after the switch" % ((switch - start) / 1e6, (end - switch) / 1e6))
check("it ended with status 0 and result success",
      props.get("ExecMainStatus") == "0" and props.get("Result") == "success",
      "status %s, result %s" % (props.get("ExecMainStatus"), props.get("Result")))
check("the real root's generator pulled it into sysinit.target",
      "eks-node-readahead.service" in props.get("SysinitWants", "").split())
journal = [l[2:] for l in report.splitlines() if l.startswith("J ")]
# journald's own field for a sender it found alive, the program's for itself (its lines
# may be read after it has exited), PID 1's for what it says of the unit
ids = {l.split("=", 1)[1] for l in journal
       if l.split("=", 1)[0] in ("_SYSTEMD_INVOCATION_ID", "OBJECT_SYSTEMD_INVOCATION_ID", "INVOCATION_ID")}
check("one run in the whole boot (one InvocationID in the unit's journal)",
      ids == {props.get("InvocationID")}, "journal %s, unit %s" % (sorted(ids), props.get("InvocationID")))
started = [l for l in journal if l.startswith("MESSAGE=Started eks-node-readahead.service")]
check("one start of the unit in the whole boot", len(started) == 1, "%d" % len(started))
summary = [l for l in journal if re.match(r"MESSAGE=(readahead: )?read [1-9]\d* files? of /etc/eks-node/readahead.list", l)]
check("its summary line (files read) is in the journal", len(summary) == 1, "%r" % summary)
# the second boot, eks-node.enable=0
check("with eks-node.enable=0: the boot reached the test's report", "CHECK-END" in off)
offp = dict(l.split("=", 1) for l in off.splitlines() if "=" in l and not l.startswith("J "))
check("with eks-node.enable=0: the unit never ran (its condition in the initramfs)",
      offp.get("ExecMainStartTimestampMonotonic") == "0" and int(offp.get("InitRDTimestampMonotonic") or 0) > 0,
      "start %s" % offp.get("ExecMainStartTimestampMonotonic"))
offj = [l[2:] for l in off.splitlines() if l.startswith("J MESSAGE=")]
check("with eks-node.enable=0: skipped by its condition in the initramfs, and nothing read",
      any("unmet condition check (ConditionKernelCommandLine=!eks-node.enable=0)" in l for l in offj)
      and not [l for l in offj if l.startswith("MESSAGE=Started ") or " files of " in l], "%r" % offj)
sys.exit(tally.finish())
EOF
