#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The sub-cases of a boot group (tests/vm/README.md, "Boot groups"), sourced by the runner
# after the group's first scenario: shipped per run, like check-lib.sh, so that editing it
# rebuilds no image.
#
# Each sub-case runs in the same boot as a re-run of the chain on a node that already ran it,
# the way an admin re-applies configuration (eks-node(7), RE-RUNNING): kubelet and every step
# stopped, what the steps wrote removed, the files a first boot starts from put back (the
# image's containerd config, /etc/hosts), the previous case's files/ taken away and this
# one's installed, its metadata and user data served by a restarted fake IMDS, a
# daemon-reload (the generator sees the new static configuration), the journal started
# afresh (so `journalctl -b` shows this case alone), then `systemctl start multi-user.target`
# (eks-node.target and the case's enabled units, as at boot) and, once systemd has no job left, the case's check.sh. EKSVM_SUBCASE=1 tells a check it
# runs as a re-run (e.g. containerd is not restarted by a re-run whose files did not change).

# in, out, uptime_s, VM_INSTALL, BOOT_TIMEOUT, CHECK_TIMEOUT: the runner's, which sources this file
# shellcheck disable=SC2154

# The state a first boot starts from, saved by install-payload (pristine/): every file here is
# put back before each sub-case.
pristine=/var/lib/eksvm-pristine

subcase_say() { echo "eksvm-runner: $*"; }

# the units a case's files/ installs (their names), to stop them with the case
subcase_units() {
  [[ -d $1/files/etc/systemd/system ]] || return 0
  find "$1/files/etc/systemd/system" -maxdepth 1 -type f \( -name '*.service' -o -name '*.socket' \) -printf '%f\n'
}

# The previous case's disks (NVMEOF, check-lib.sh's nvmeof_setup) taken away as at a power-off,
# so that this case's are blank as at its first boot: what is mounted from them (the arrays'
# and volumes' mounts, the binds over /var/lib/kubelet and /var/lib/containerd) unmounted,
# the last mounted first, after containerd, which works on them; swap on them off; the arrays stopped;
# each NVMe-oF disk disconnected and its target and backing file removed (a case's tmpfs under
# the files too). containerd then starts again on the root disk, as it runs at boot.
subcase_disks_reset() {
  local cfs=/sys/kernel/config/nvmet store=/var/lib/eksvm-nvmeof nqn target link
  compgen -G "$cfs/subsystems/*" >/dev/null || return 0
  systemctl stop kubelet.service containerd.service
  systemctl kill --signal=KILL containerd.service 2>/dev/null # its shims (KillMode=process)
  findmnt -rn -o TARGET,SOURCE | awk '$2 ~ "^/dev/(md|nvme)" { print $1 }' | tac |
    while read -r target; do
      systemctl stop "$(systemd-escape --path --suffix=mount "$target")" 2>/dev/null
      ! mountpoint -q "$target" || umount "$target"
    done
  swapon --show=NAME --noheadings | grep -E '^/dev/(md|nvme)' | xargs -r swapoff
  mdadm --stop --scan >/dev/null 2>&1
  for nqn in "$cfs"/subsystems/*; do
    nqn=${nqn##*/}
    nvme disconnect -n "$nqn" >/dev/null 2>&1
    for link in "$cfs"/ports/*/subsystems/"$nqn"; do [[ -L $link ]] && rm -f "$link"; done
    echo 0 >"$cfs/subsystems/$nqn/namespaces/1/enable" 2>/dev/null
    rmdir "$cfs/subsystems/$nqn/namespaces/1" "$cfs/subsystems/$nqn"
  done
  ! mountpoint -q "$store" || umount "$store"
  rm -rf "$store"
  udevadm settle
  systemctl start --job-mode=ignore-dependencies containerd.service
}

subcase_reset() { # PREVIOUS_CASE_DIR
  local prev=$1 f units
  subcase_disks_reset
  mapfile -t units < <(subcase_units "$prev")
  systemctl stop kubelet.service eks-node.target eks-node-failed.target \
    'eks-node-*.service' "${units[@]}" 2>/dev/null
  systemctl reset-failed
  # the previous case's files/: files and links only (their directories may be the image's)
  if [[ -d $prev/files ]]; then
    while IFS= read -r -d '' f; do rm -f "/${f#./}"; done < <(cd "$prev/files" && find . ! -type d -print0)
  fi
  # what the steps wrote (core/paths.hpp), so that a check of "nothing written" means this case
  rm -rf /run/eks-node/* /run/stub-kubelet /run/eksvm-fake-aws.log
  rm -f /run/sysctl.d/99-zz-eks-node.conf /run/systemd/resolved.conf.d/40-eks.conf
  rm -f /etc/kubernetes/kubelet/config.json /etc/kubernetes/pki/ca.crt /etc/eks/kubelet/environment
  rm -rf /etc/kubernetes/kubelet/config.json.d
  rm -f /var/lib/kubelet/kubeconfig /var/lib/kubelet/bootstrap-kubeconfig
  rm -f /etc/eks/image-credential-provider/config.json
  # /etc/eks-node as the image and the project left it (a case may have written fragments)
  rm -rf /etc/eks-node
  [[ -d $pristine/etc/eks-node ]] && cp -a "$pristine/etc/eks-node" /etc/
  # /etc/hosts as the image has it (eks-node-hosts adds Outposts lines)
  [[ -f $pristine/etc/hosts ]] && cp -a "$pristine/etc/hosts" /etc/hosts
  # containerd on the configuration it started on at boot (the image's, install-payload's
  # `eks-node render --image`): put back and restarted only where a case's chain changed it
  if [[ -d $pristine/etc/containerd ]] && ! diff -r -q "$pristine/etc/containerd" /etc/containerd >/dev/null 2>&1; then
    rm -rf /etc/containerd
    cp -a "$pristine/etc/containerd" /etc/containerd
    subcase_say "containerd's configuration put back as at boot; restarting containerd"
    # alone: containerd.service Wants= the steps (dropins/containerd.service.d), which would
    # run now, on the previous case's metadata
    systemctl restart --job-mode=ignore-dependencies containerd.service
  fi
}

subcase_install() { # CASE_DIR
  local dir=$1
  if [[ -d $dir/files ]]; then
    tar -C "$dir/files" --owner=0 --group=0 -cf - . | tar -C / --no-overwrite-dir --keep-directory-symlink -xpf -
  fi
  # the fake IMDS serves this case's metadata and user data (guest/imds reads the case directory)
  echo "$dir" >/run/eksvm-case-dir
  systemctl restart eksvm-imds.service
  systemctl daemon-reload
  # the journal (and the kernel's ring buffer: 15-faults-instance-store reads dmesg) of this
  # case alone: the old entries rotated out and dropped
  dmesg --clear
  journalctl --rotate >/dev/null 2>&1
  sleep 1.1 # --vacuum-time drops archived files whose newest entry is older than that
  journalctl --vacuum-time=1s >/dev/null 2>&1
}

# Waits until systemd has no job left (the chain ran, kubelet started or the chain failed),
# at most $1 seconds; prints what `systemctl is-system-running` says then.
subcase_settle() {
  local end=$((SECONDS + $1))
  while systemctl list-jobs --no-legend 2>/dev/null | grep -q .; do
    ((SECONDS >= end)) && { echo "timeout (jobs still queued after $1 s)"; return; }
    sleep 0.5
  done
  systemctl is-system-running
}

# run_subcases: every case named in $in/cases.list, in order, its results under
# $out/cases/NAME/ (as the first scenario's are under $out/)
run_subcases() {
  local prev=$in/scenario name dir state rc t0 t1 cout
  while read -r name; do
    [[ -n $name ]] || continue
    dir=$in/cases/$name cout=$out/cases/$name
    mkdir -p "$cout/artifacts" "$cout/files"
    t0=$(uptime_s)
    subcase_say "sub-case $name: resetting the node, installing its inputs"
    subcase_reset "$prev"
    subcase_install "$dir"
    # nothing of the chain may have run on the previous case's metadata meanwhile
    if systemctl is-active --quiet eks-node-imds.service eks-node-config.service; then
      subcase_say "sub-case $name: a step ran during the reset ($(systemctl is-active eks-node-imds.service eks-node-config.service | paste -sd' '))"
    fi
    # as at boot: multi-user.target pulls in eks-node.target (the generator's link) and the
    # units the case's files/ enable (*.wants/ links), in one transaction, so their ordering
    # against the chain (Before=eks-node-system, After=eks-node.target) holds as at boot
    # VM_INSTALL=late (the group's): as in the first case, check.sh starts the chain itself,
    # once it has made what the node has at boot (nvmeof_setup's disks, run_chain)
    if [[ $VM_INSTALL == late ]]; then
      state="not started: check.sh starts the chain (VM_INSTALL=late)"
    else
      systemctl start --no-block multi-user.target
      state=$(subcase_settle "${BOOT_TIMEOUT:-180}")
    fi
    t1=$(uptime_s)
    subcase_say "sub-case $name: chain settled ($state) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')s; running check.sh"
    (
      # shellcheck disable=SC1091
      [[ -f $dir/scenario.env ]] && source "$dir/scenario.env"
      cd "$dir" &&
        EKSVM_IN=$in EKSVM_OUT=$cout/artifacts EKSVM_SYSTEM_STATE=$state EKSVM_SUBCASE=1 EKSVM_CASE=$name \
          EKSVM_INSTALL=$VM_INSTALL timeout --kill-after=5 "${CHECK_TIMEOUT:-300}" bash ./check.sh
    ) 2>&1 | tee "$cout/check.log"
    rc=${PIPESTATUS[0]}
    ((rc == 124)) && subcase_say "sub-case $name: check.sh timed out"
    subcase_say "sub-case $name: check.sh exited $rc"
    cpu_profile "$cout/cpu-profile.txt" # the boot's so far: subtract the case before's
    journalctl -b -o export >"$cout/journal.export" 2>/dev/null
    journalctl -b -o short-precise --no-pager >"$cout/journal.txt" 2>/dev/null
    local path COLLECT=''
    # shellcheck disable=SC1091
    [[ -f $dir/scenario.env ]] && COLLECT=$(source "$dir/scenario.env"; echo "${COLLECT:-}")
    for path in $COLLECT; do cp -a --parents "$path" "$cout/files/" 2>/dev/null; done
    {
      echo "status=$( ((rc == 0)) && echo pass || echo fail)"
      echo "check_exit=$rc"
      echo "system_state=$state"
      echo "reset_and_chain_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
      echo "check_seconds=$(awk -v a="$t1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')"
    } >"$cout/result.tmp"
    mv "$cout/result.tmp" "$cout/result"
    prev=$dir
  done <"$in/cases.list"
  sync
}
