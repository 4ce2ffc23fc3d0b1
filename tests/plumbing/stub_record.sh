#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# check-lib.sh's stub_record takes the stub kubelet's record only from the kubelet that runs
# now. A VM check once read cri.json of the kubelet before a restart: systemd called the new
# kubelet active at its fork, `test -s cri.json` saw the old record, and the new process removed
# it before the check opened it (FileNotFoundError, a red run on a clean clone).
# Here systemctl is a stand-in that answers MainPID from $PIDFILE.
# Usage: stub_record.sh SOURCE_ROOT
set -u
root=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/state"
cat >"$tmp/bin/systemctl" <<'SH'
#!/bin/bash
[[ "$*" == "show -P MainPID kubelet.service" ]] || exit 1
cat "$PIDFILE"
SH
chmod +x "$tmp/bin/systemctl"
export PATH="$tmp/bin:$PATH" PIDFILE=$tmp/pid EKSVM_IN=$tmp EKSVM_STUB_STATE=$tmp/state EKSVM_STUB_COPIES=$tmp/copies
# shellcheck source-path=SCRIPTDIR source=../vm/guest/check-lib.sh
source "$root/tests/vm/guest/check-lib.sh"

failed=0
expect() { # WHAT WANT(0|1) COMMAND...
  local what=$1 want=$2 got=0
  shift 2
  "$@" || got=1
  if [[ $got == "$want" ]]; then echo "ok - $what"; else echo "not ok - $what (status $got, want $want)"; failed=1; fi
}
record() { printf '{\n  "ok": true,\n  "pid": %s\n}\n' "$1" >"$tmp/state/cri.json"; }

echo 0 >"$PIDFILE"
expect "no record yet: not taken" 1 stub_record cri.json
record 4242
echo 5151 >"$PIDFILE"
expect "the record of the kubelet before a restart: not taken" 1 stub_record cri.json
expect "... and no copy left for a reader" 1 test -e "$tmp/copies/cri.json"
record 5151
expect "the running kubelet's record: taken" 0 stub_record cri.json
rm "$tmp/state/cri.json"
expect "... its copy outlives a later restart's removal" 0 grep -q '"pid": 5151' "$tmp/copies/cri.json"
record 515
expect "a pid that is a prefix of MainPID's: not taken" 1 stub_record cri.json
record 51512
expect "a pid MainPID's is a prefix of: not taken" 1 stub_record cri.json
echo 0 >"$PIDFILE"
expect "no kubelet running (it exited): the last one's record is taken" 0 stub_record cri.json
exit $failed
