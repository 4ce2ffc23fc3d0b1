# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# What every qemu boot of the VM tier shares, sourced: the accelerator and CPU (qemu_accel),
# the kernel arguments that make a TCG guest cheaper (qemu_cmdline) and one QMP command
# (qemu_qmp). boot-qemu.sh (the scenarios) and initramfs-readahead.sh (the dracut boot) use it.

# Sets accel (qemu's arguments) and VM_CPUS (unless set).
qemu_accel() {
  # Real KVM only with kvm_intel/kvm_amd: the /dev/kvm of some hosts cannot run stock kernels.
  if [[ -e /sys/module/kvm_intel || -e /sys/module/kvm_amd ]] && [[ -w /dev/kvm ]]; then
    accel=(-accel kvm -cpu host)
    VM_CPUS=${VM_CPUS:-2}
  else
    # TCG: one host thread for the guest, one vCPU unless the scenario asks for more, so that
    # two guests side by side each have a core (tests/meson.build runs two boots at a time).
    # Measured 2026-11-26, 16-secrets then 17-environment-dns: 246 s one after the other
    # under multi-threaded TCG with 2 vCPUs (128 and 117 s; qemu CPU 164 and 177 s), 173 s side
    # by side single-threaded with 1 vCPU each (168 and 173 s; qemu CPU 147 and 171 s): a
    # multi-threaded guest used 1.3 cores and left the rest idle. Single-threaded TCG is also
    # the only kind the sid kernel (7.x) survives: under multi-threaded TCG (QEMU 7.2,
    # bookworm's) it now and then oopsed on an int3 its own text patching left behind ("Oops:
    # int3" in dequeue_entities, CI 2026-11-24), a vCPU running a stale translation of code
    # another vCPU had just patched; round-robin vCPUs cannot race so.
    # -cpu Nehalem (x86-64-v2, no AVX), not max: with AVX2 and AVX-512 to offer, glibc, the
    # kernel's crypto and every program pick vector code paths that TCG emulates slower than
    # the SSE ones. Measured 2026-11-27, one after the other, qemu CPU seconds: a boot that
    # runs no step (05-disabled's settings) 54.7 and 56.8 with max, 46.5 and 43.6 with Nehalem
    # (45.1 and 43.8 with qemu64, which lacks SSE4.2 and POPCNT that some builds may assume);
    # 16-secrets 113.2 with max, 100.2 with Nehalem; sid's boot 86.0 and 82.4. AES-NI and
    # PCLMULQDQ back on (TCG runs them as helpers, far cheaper than software AES-GCM: TLS in
    # 34-private-registries): 18-cloud-init-scripts, beside a test run, 194.3 s with max, 168.4
    # with Nehalem, 160.6 with these two added, 219.4 with max again.
    accel=(-accel "tcg,thread=single" -cpu "Nehalem,+aes,+pclmulqdq")
    VM_CPUS=${VM_CPUS:-1}
  fi
}

# tsc=reliable clocksource=tsc: the kernel finds TCG's vCPU TSCs unsynchronized and falls back
# to the HPET, whose every read is an emulated MMIO access and, with no vDSO path, a system
# call: journald, systemd and Python read the clock all the time. mitigations=off: nothing
# untrusted runs in a test guest, and retpolines and RSB fills cost emulated instructions.
# Measured 2026-11-26 on 05-disabled, one boot each: qemu CPU 83.4 s as before, 63.2 s with
# the clock options, 69.3 s with mitigations=off alone, 63.9 s with both.
qemu_cmdline="console=ttyS0,115200 root=/dev/vda ro panic=1 quiet tsc=reliable clocksource=tsc mitigations=off"
# Drivers udev would load for q35's board (SATA, SMBus, watchdog, mouse), the CPU's crypto
# and, through systemd-networkd's nl80211 query, wireless: no test uses them, and under TCG
# each module's load (signature check, relocation) is emulated work. modprobe.blacklist
# stops udev's and the kernel's loads by alias before the file is read; a test that needs
# one can still `modprobe` it by name. Measured 2026-11-27, 05-disabled's settings: 59
# modules loaded, 30 with the list; qemu CPU 66.6 s before, 63.6 s after.
qemu_cmdline+=" modprobe.blacklist=cfg80211,rfkill,ahci,libahci,libata,psmouse,serio_raw,evdev"
qemu_cmdline+=",i2c_i801,i2c_smbus,lpc_ich,iTCO_wdt,iTCO_vendor_support,intel_pmc_bxt,aesni_intel"
qemu_cmdline+=",ghash_clmulni_intel,sha512_ssse3,sha256_ssse3,sha1_ssse3,crc32_pclmul,crct10dif_pclmul"

# One QMP command (JSON) to the qemu listening on SOCKET; fails on an error reply.
qemu_qmp() {
  python3 - "$1" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            return msg
json.loads(f.readline())  # the greeting
for cmd in ('{"execute": "qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n")
    f.flush()
    msg = reply()
    if "error" in msg:
        sys.exit("qmp: %s: %s" % (cmd, msg["error"]))
EOF
}
