# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# The benchmarks' models of a root disk that EBS restores from a snapshot (tests/bench/README.md,
# "A lazily loaded disk"), for tests/vm/boot-qemu.sh, which sources this file when a scenario
# (or join.py) sets one of them:
#   VM_DISK_THROTTLE="bps-read=BYTES,iops-read=N[,iops-size=BYTES]"  qemu's block throttling
#       on the root disk (each a -drive throttling.KEY=VALUE: root_throttle)
#   VM_DISK_LAZY="LATENCY_MS[,BLOCK_KIB[,FETCHES]]"  the overlay's backing file served by
#       lazydisk.py over NBD, which answers a block's first read after LATENCY_MS (root_backing;
#       its figures in the run's lazydisk.json, which run-scenario.sh's finish_run keeps)
# With either, the guest empties its page cache once the payload is installed (guest/preinit),
# as nothing of an instance's volume has been read at its first boot.
# shellcheck disable=SC2034,SC2154 # the variables are run-scenario.sh's, read and set here

if [[ -n $VM_DISK_LAZY ]]; then
  # VM_DISK_LAZY: the image read through lazydisk.py, which answers a block's first read
  # after LATENCY_MS; the overlay's writes stay local, as an EBS volume's writes do not wait
  IFS=, read -r lazy_ms lazy_kib lazy_fetches <<<"$VM_DISK_LAZY"
  [[ $lazy_ms =~ ^[0-9]+$ && ${lazy_kib:-512} =~ ^[0-9]+$ && ${lazy_fetches:-64} =~ ^[0-9]+$ ]] ||
    { log "VM_DISK_LAZY: \"$VM_DISK_LAZY\" is not LATENCY_MS[,BLOCK_KIB[,FETCHES]]"; usage; }
  python3 "$repo/tests/bench/lazydisk.py" --image "$base/rootfs.img" --socket "$work/root.sock" \
    --latency-ms "$lazy_ms" --block-kib "${lazy_kib:-512}" --fetches "${lazy_fetches:-64}" \
    --forget-when "$work/share/out/preinit.txt" --stats "$work/lazydisk.json" &
  lazy_pid=$!
  for _ in {1..100}; do [[ -S $work/root.sock ]] && break; sleep 0.05; done
  [[ -S $work/root.sock ]] || { log "VM_DISK_LAZY: lazydisk.py did not start"; exit 2; }
  root_backing="nbd+unix:///?socket=$work/root.sock"
fi

# VM_DISK_THROTTLE: "bps-read=B,iops-read=N" -> ",throttling.bps-read=B,throttling.iops-read=N"
if [[ -n $VM_DISK_THROTTLE ]]; then
  IFS=, read -ra throttle_keys <<<"$VM_DISK_THROTTLE"
  for kv in "${throttle_keys[@]}"; do
    [[ $kv =~ ^[a-z-]+=[0-9]+$ ]] || { log "VM_DISK_THROTTLE: \"$kv\" is not KEY=NUMBER"; usage; }
    root_throttle+=",throttling.$kv"
  done
fi
