#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# settings.swap (issue 39 item 6): eks-node-swap makes /var/lib/eks-node/swapfile (64 MiB,
# 0600, mkswap'ed), the generated .swap unit enables it before kubelet, kubelet's
# configuration says failSwapOn false and swapBehavior NoSwap. Boot 1 loses power once the
# swap is on (POWER_CUT); boot 2, on that disk, enables the same file again without making
# it anew (its inode and mtime are boot 1's). Then, in boot 2, the setting is taken away:
# the file is switched off and removed, and kubelet's configuration loses the swap keys.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

file=/var/lib/eks-node/swapfile
unit='var-lib-eks\x2dnode-swapfile.swap'
kcfg=/etc/kubernetes/kubelet/config.json

check "kubelet active" systemctl is-active kubelet.service
# /proc/swaps counts the space after mkswap's header page: 64 MiB less 4 KiB
check "/proc/swaps lists $file, 64 MiB (65532 KiB usable)" bash -c '
  cat /proc/swaps; awk -v f="$1" "\$1 == f && \$3 == 65532 { ok = 1 } END { exit !ok }" /proc/swaps' _ "$file"
check "the file is 0600 root, 64 MiB, mkswap'ed (label eks-node)" bash -c '
  [[ $(stat -c "%a %U %s" "$1") == "600 root 67108864" ]] && blkid -p -o export "$1" | grep -qx "TYPE=swap" &&
    blkid -p -o export "$1" | grep -qx "LABEL=eks-node"' _ "$file"
check "the generated .swap unit is active" systemctl is-active "$unit"
# read from the .swap unit's side: systemctl show quotes a name with a
# backslash ("var-lib-eks\\x2dnode-swapfile.swap"), kubelet.service has none
check "kubelet.service is ordered after the .swap unit" bash -c '
  systemctl show -p Before "$1" --value | tr " " "\n" | grep -qx kubelet.service' _ "$unit"
check "the .swap unit was active before kubelet started" bash -c '
  a=$(systemctl show -p ActiveEnterTimestampMonotonic --value "$1")
  k=$(systemctl show -p ExecMainStartTimestampMonotonic --value kubelet.service)
  echo "swap active at $a, kubelet started at $k"; ((a > 0 && a <= k))' _ "$unit"
check "kubelet's configuration: failSwapOn false, memorySwap.swapBehavior NoSwap" bash -c '
  python3 -c "import json, sys
k = json.load(open(sys.argv[1]))
print(k.get(\"failSwapOn\"), k.get(\"memorySwap\"))
sys.exit(0 if k.get(\"failSwapOn\") is False and k.get(\"memorySwap\") == {\"swapBehavior\": \"NoSwap\"} else 1)" "$1"' _ "$kcfg"

if [[ $EKSVM_BOOT == 1 ]]; then
  # shellcheck disable=SC2153 # EKSVM_OUT comes from the runner
  stat -c '%i %Y' "$file" >"$EKSVM_OUT/swapfile.stat"
else
  check "boot 2: the same file, not made again (inode and mtime of boot 1)" bash -c '
    [[ $(stat -c "%i %Y" "$1") == $(cat "$EKSVM_IN/boot1/swapfile.stat") ]]' _ "$file"
  check "boot 2: eks-node-swap wrote nothing" bash -c '
    ! journal -b -u eks-node-swap.service -o cat | grep "swap file of [0-9]* MiB made"'

  # the setting taken away, as an admin would: the fragment gone, the chain re-run
  rm /etc/eks-node/node.toml.d/60-swap.toml
  # One restart: it re-runs eks-node-swap and eks-node-kubelet along their Requires=
  # (eks-node(7), RE-RUNNING). systemctl returns when eks-node-config is done, and those
  # two still run: a second restart of them now would kill them mid-run, a failure that
  # holds kubelet back (it did, in this check's first form). Wait for the jobs instead.
  systemctl restart eks-node-config.service
  jobs_settled 180
  check "the re-run: eks-node-swap and eks-node-kubelet ran again and succeeded" bash -c '
    for u in eks-node-swap eks-node-kubelet; do
      [[ $(systemctl show -P ActiveState $u.service) == active ]] || { echo "$u not active"; exit 1; }
    done
    journal -b -u eks-node-swap.service -o cat | grep -q "swap file removed"'
  check "the re-run: kubelet runs again (restarted on its changed configuration)" \
    systemctl is-active --quiet kubelet.service
  check "without the setting: the file is switched off and removed" bash -c '
    ! grep -q "^$1 " /proc/swaps && [[ ! -e $1 ]] && ! systemctl is-active --quiet "$2"' _ "$file" "$unit"
  check "without the setting: kubelet's configuration has no swap keys" bash -c '
    python3 -c "import json, sys
k = json.load(open(sys.argv[1]))
sys.exit(1 if \"failSwapOn\" in k or \"memorySwap\" in k else 0)" "$1"' _ "$kcfg"
fi
finish
