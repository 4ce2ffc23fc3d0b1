# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Helpers for a scenario's check.sh (shipped into the VM per run; source "$EKSVM_IN/check-lib.sh").
#   check "what it proves" COMMAND...   run COMMAND; print "ok"/"not ok" with its output
#   imds_get PATH                       GET /latest/PATH from the fake IMDS with a fresh token
#   finish                              the cri and auth checks where kubelet started, summary
#                                       line; exit 1 if any check failed
#   cri_ok                              the stub kubelet's CRI run passed (/run/stub-kubelet/cri.json)
#   cri_pods HANDLER...                 ... and ran a pod with each runtime handler named
#   stub_record NAME                    the running stub kubelet's record NAME, copied for reading
#   auth_ok                             the stub kubelet authenticated with a token of eks-node
#                                       get-token (/run/stub-kubelet/auth.json)
#   nvmeof_setup, nvmeof_disconnect     the scenario's NVMEOF disks (EC2 instance-store or EBS model), below
#   journal ARGS...                     journalctl ARGS..., read again after a rotation (below)
#   jobs_settled SECONDS                systemd has no job left (a re-run of the chain ended)
#   run_chain, store_to_mounts_seconds UNIT..., is_mount_from WHERE SOURCE   instance-store scenarios, below
#   fake_faults UNIT FILE SPEC..., fails_closed ..., recovers NAME   fault scenarios, below
#   hotplug_nics                        the scenario's NICS_HOTPLUG NICs attached by the host (below)
# the disks' and NICs' helpers (nvmeof_*, run_chain, store_to_mounts_seconds, is_mount_from,
# hotplug_nics), shipped beside this file
# shellcheck source=check-hw.sh
source "$(dirname "${BASH_SOURCE[0]}")/check-hw.sh"
_eksvm_passed=0
_eksvm_failed=0
# Which boot this is: 1, or 2 for the second boot of a POWER_CUT scenario (run-scenario.sh).
# shellcheck disable=SC2034 # for check.sh
EKSVM_BOOT=$(cat "$EKSVM_IN/boot" 2>/dev/null || echo 1)

check() {
  local what=$1 output
  shift
  if output=$("$@" 2>&1); then
    _eksvm_passed=$((_eksvm_passed + 1))
    echo "ok - $what"
  else
    _eksvm_failed=$((_eksvm_failed + 1))
    echo "not ok - $what"
    echo "    \$ $*"
    # shellcheck disable=SC2001 # indent every line
    sed 's/^/    /' <<<"$output"
  fi
}

# journal ARGS...: journalctl ARGS..., read again when it skipped a journal file as
# "truncated" (a name of its own, so that a check's `journalctl` is always systemd's): a rotation while it
# opens the files makes sd-journal ignore the active file whole (systemd issue #40053, open
# in 2026; systemd's own tests work around it with --sync/--rotate), and the runtime journal
# (RuntimeMaxUse=64M, files of 8 MiB) rotates during the busier scenarios. A check then saw
# no line of a step that logged it (31-fast-image-pull, CI of stop 46). Exported, so the
# `bash -c` of a check uses it too; stdout through a file, so -o export's bytes stay whole.
# Two processes a call (journalctl, cat), the rest builtins: a process start costs ~0.1 s in
# a TCG guest, and the checks call it from ~100 places. The files, one pair per shell, are
# overwritten by its next call and left in the guest's /run.
journal() {
  local out=/run/eksvm-journalctl.$BASHPID.out err=/run/eksvm-journalctl.$BASHPID.err rc try e
  for try in 1 2 3 4 5; do
    command journalctl "$@" >"$out" 2>"$err"
    rc=$?
    e=
    IFS= read -r -d '' e <"$err"
    [[ $e == *'is truncated, ignoring file'* ]] || break
    ((try < 5)) && sleep 0.2
  done
  cat "$out"
  printf '%s' "$e" >&2
  return "$rc"
}
export -f journal

imds_get() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    http://169.254.169.254/latest/api/token) &&
    curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      "http://169.254.169.254/latest/$1"
}

# eventually SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds or SECONDS pass
# (journald stores a message a moment after the step that sent it has exited). SECONDS is a
# hang guard, not a budget: 60 at least for what will happen, as a TCG guest beside another
# and the run's builds may take that long (15-faults-instance-store in a bare run: the stub
# kubelet's argv.json not written within the 10 s it had, under a load of 11).
eventually() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS >= end)) && return 1
    sleep 0.5
  done
}

# unit_ended UNIT: UNIT has run to its end, either way (active or failed), for a check that
# waits with `eventually` for a unit nothing orders the check after
unit_ended() { [[ $(systemctl show -P ActiveState "$1") =~ ^(active|failed)$ ]]; }

# jobs_settled SECONDS: systemd has no job queued any more (a re-run of the chain, restarts
# propagated along Requires= included, has ended), waiting at most SECONDS
# (printing the queue when it did not empty)
jobs_settled() {
  # shellcheck disable=SC2016 # expands in the child bash, each try
  eventually "$1" bash -c '[[ -z $(systemctl list-jobs --no-legend) ]]' && return 0
  echo "jobs still queued after $1 s:" >&2
  systemctl list-jobs --no-legend >&2
  return 1
}

# stub_record NAME: the stub kubelet's record /run/stub-kubelet/NAME, as written by the kubelet
# that runs now, copied to /run/eksvm-stub/NAME for the caller to read. systemd calls a
# restarted kubelet active at its fork, and the new process removes its predecessor's records
# only once Python has started: a record counts only with kubelet.service's MainPID in it (or
# with no kubelet running, the last one's), and is read from a copy, which no later restart
# removes under the reader.
stub_record() {
  local pid dir=${EKSVM_STUB_COPIES:-/run/eksvm-stub}
  pid=$(systemctl show -P MainPID kubelet.service)
  mkdir -p "$dir"
  cp "${EKSVM_STUB_STATE:-/run/stub-kubelet}/$1" "$dir/.$1" 2>/dev/null || return 1
  if [[ $pid != 0 ]] && ! grep -qE "^  \"pid\": $pid,?\$" "$dir/.$1"; then
    return 1
  fi
  mv "$dir/.$1" "$dir/$1"
}

# cri_pods HANDLER...: the running kubelet's CRI run ran a pod with each HANDLER ('' for the
# default) and with no other, in that order
cri_pods() {
  eventually 120 stub_record cri.json || { echo "no cri.json of the running kubelet within 120 s"; return 1; }
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open("/run/eksvm-stub/cri.json"))
print(r.get("runtime_handlers"), [(p["handler"], p["ok"]) for p in r.get("pods", [])])
sys.exit(0 if [p["handler"] for p in r.get("pods", []) if p["ok"]] == sys.argv[1:] else 1)
PY
}

# cri_ok: the stub kubelet's CRI run (tests/vm/guest/cri.py) passed: waits up to 120 s for
# /run/stub-kubelet/cri.json of the running kubelet (stub_record), prints what ran (versions, conditions, each call's time) and
# fails unless every call and every runtime handler's pod passed.
cri_ok() {
  eventually 120 stub_record cri.json || {
    echo "no /run/stub-kubelet/cri.json of the running kubelet within 120 s"
    journal -b -u kubelet.service --no-pager -o cat | tail -n 20
    return 1
  }
  python3 - /run/eksvm-stub/cri.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = r.get("version") or {}
print(f"{v.get('runtime_name')} {v.get('runtime_version')} (CRI {v.get('runtime_api_version')}), "
      f"endpoint {r.get('endpoint')}, sandbox image {r.get('sandbox_image')}, "
      f"cgroup driver {r.get('cgroup_driver')}, conditions {r.get('conditions')}, {r.get('seconds')} s")
for c in r.get("calls", []):
    print(f"  {c['method']}: {'ok' if c['ok'] else c['error']} ({c['seconds']} s)")
for p in r.get("pods", []):
    print(f"  pod, handler {p['handler'] or '(default)'}: {'ok' if p['ok'] else p.get('error')}"
          f" (cgroup parent {p['cgroup_parent']}, exit code {p.get('exit_code')})")
if not r.get("ok"):
    print("error:", r.get("error", "a pod failed"))
sys.exit(0 if r.get("ok") else 1)
PY
}

# imds_json: the metadata the fake IMDS serves now: the run's imds.json, or a boot group's
# sub-case's (guest/subcases.sh names its directory); run-scenario.sh added the default
# instance profile to it where the scenario has none
imds_json() {
  local dir=$EKSVM_IN/scenario
  [[ -s /run/eksvm-case-dir ]] && dir=$(cat /run/eksvm-case-dir)
  echo "$dir/imds.json"
}

# auth_settled: the stub kubelet's authentication has a verdict: accepted, or refused three
# times (it retries as kubelet does, without end: three refusals say what more would)
auth_settled() {
  stub_record auth.json && python3 -c '
import json, sys
r = json.load(open("/run/eksvm-stub/auth.json"))
sys.exit(0 if r.get("ok") or r.get("attempts", 0) >= 3 else 1)'
}

# auth_ok: kubelet's credential is ours and the cluster accepts it. The stub kubelet ran the
# kubeconfig's exec plugin as client-go does (guest/kubelet_exec.py) and presented the token to
# the in-guest API server, which checked it as EKS's authenticator does and had the fake STS
# verify its signature with botocore (tests/fake-aws/fake_eks_auth.py). Waits up to 120 s for
# a verdict in /run/stub-kubelet/auth.json, then fails unless:
#   - the plugin is eks-node get-token: the absolute path of the installed eks-node, first
#     argument get-token, with --cluster-name NAME (--cluster-id ID on an Outposts local
#     cluster) and --region REGION of config.json;
#   - KUBERNETES_EXEC_INFO was an ExecCredential of the kubeconfig's apiVersion, spec.interactive
#     false, and the answer an ExecCredential of that apiVersion with an expirationTimestamp
#     after the token was signed and no later than the 15 minutes EKS accepts it;
#   - the API server accepted it (HTTP 201): the fake STS recomputed the signature with
#     botocore, for the cluster's id (config.json's spec.cluster.name, or spec.cluster.id on
#     Outposts), at the regional STS endpoint of the instance's region, signed headers
#     host;x-k8s-aws-id, X-Amz-Expires 60, as the instance profile's role (the ARN's role and
#     session name are the fake IMDS's role and instance id).
auth_ok() {
  eventually 120 auth_settled || {
    echo "no verdict in /run/stub-kubelet/auth.json within 120 s"
    cat /run/stub-kubelet/auth.json 2>/dev/null
    journal -b -u kubelet.service --no-pager -o cat | tail -n 20
    return 1
  }
  python3 - /run/eksvm-stub/auth.json /run/eks-node/config.json "$(imds_json)" "$(readlink -f "$(command -v eks-node)")" <<'PY'
import datetime, json, os, sys
auth, config, imds, eks_node = sys.argv[1:]
r = json.load(open(auth))
cfg = json.load(open(config))
data = {k.strip("/"): v for k, v in json.load(open(imds)).items()}
prefix = "meta-data/iam/security-credentials/"
roles = [k[len(prefix):] for k in data if k.startswith(prefix) and "/" not in k[len(prefix):]]
cluster = cfg["spec"]["cluster"]
outpost = bool(cluster.get("enableOutpost"))
cluster_id = cluster.get("id") if outpost else cluster.get("name")
region = cfg["instance"]["region"]
ex = r.get("exec") or {}
cred = ex.get("credential") or {}
review = r.get("review") or {}
user = review.get("userInfo") or {}
extra = {k: (v[0] if isinstance(v, list) and v else v) for k, v in (user.get("extra") or {}).items()}
print(f"{ex.get('command')} {' '.join(ex.get('args', []))} ({ex.get('apiVersion')}, exit {ex.get('exitCode')}, "
      f"{ex.get('seconds')} s) -> {r.get('stage')}, {r.get('attempts')} attempt(s); "
      f"{extra.get('arn')}, cluster {extra.get('clusterId')}, {extra.get('stsEndpoint')}, "
      f"expires {cred.get('expirationTimestamp')}, {extra.get('eksvm.test/verifiedBy') or extra.get('verifiedBy')}")
problems = []
def want(ok, what):
    if not ok:
        problems.append(what)
if not r.get("ok"):
    problems.append(f"not authenticated: {r.get('stage')}: {r.get('error')}")
want(os.path.isabs(ex.get("command") or "") and os.path.realpath(ex.get("path") or "") == eks_node,
     f"the plugin is {ex.get('command')!r}, not eks-node by its absolute path ({eks_node})")
args = ex.get("args") or []
want(args[:1] == ["get-token"], f"its arguments {args} do not start with get-token")
flag = "--cluster-id" if outpost else "--cluster-name"
want(args[args.index(flag) + 1:args.index(flag) + 2] == [cluster_id] if flag in args else False,
     f"no {flag} {cluster_id} in {args}")
want(args[args.index("--region") + 1:args.index("--region") + 2] == [region] if "--region" in args else False,
     f"no --region {region} in {args}")
try:
    info = json.loads(ex.get("execInfo") or "")
except ValueError:
    info = {}
want(info.get("kind") == "ExecCredential" and info.get("apiVersion") == ex.get("apiVersion")
     and info.get("spec", {}).get("interactive") is False, f"KUBERNETES_EXEC_INFO was {ex.get('execInfo')!r}")
want(cred.get("kind") == "ExecCredential" and cred.get("apiVersion") == ex.get("apiVersion"),
     f"the answer is {cred.get('kind')} {cred.get('apiVersion')}, the kubeconfig asks for {ex.get('apiVersion')}")
want(cred.get("tokenPrefix") == "k8s-aws-v1.", f"token prefix {cred.get('tokenPrefix')!r}")
if r.get("ok"):
    signed = datetime.datetime.strptime(extra["eksvm.test/date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    exp = cred.get("expirationTimestamp")
    exp = datetime.datetime.fromisoformat(exp) if exp else None
    want(exp is not None and signed < exp <= signed + datetime.timedelta(minutes=15),
         f"expirationTimestamp {exp} is not within the 15 minutes after the token was signed ({signed})")
    want("botocore" in extra.get("eksvm.test/verifiedBy", ""), "the signature was not checked with botocore")
    want(extra.get("eksvm.test/clusterId") == cluster_id, f"verified for cluster {extra.get('eksvm.test/clusterId')}, not {cluster_id}")
    domain = cfg["instance"].get("domain") or "amazonaws.com"
    want(extra.get("eksvm.test/stsEndpoint") == f"sts.{region}.{domain}",
         f"STS endpoint {extra.get('eksvm.test/stsEndpoint')}, not the regional sts.{region}.{domain}")
    want(extra.get("eksvm.test/signedHeaders") == "host;x-k8s-aws-id", f"signed headers {extra.get('eksvm.test/signedHeaders')}")
    want(extra.get("eksvm.test/expires") == "60", f"X-Amz-Expires {extra.get('eksvm.test/expires')}, not 60")
    arn = extra.get("arn", "")
    want(len(roles) == 1 and arn.endswith(f":assumed-role/{roles[0]}/{data.get('meta-data/instance-id')}"),
         f"identity {arn}, not the instance profile's role {roles} for {data.get('meta-data/instance-id')}")
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
PY
}

# kubelet_started: kubelet.service ran the stub kubelet in this boot and it accepted its
# configuration (it then drives containerd over CRI and authenticates). A stub kubelet still
# starting (python under TCG: seconds) has not written errors.json yet: while kubelet runs
# without one, wait for it (up to 60 s), rather than take it for a kubelet that never started
# and leave finish's checks out (a short check.sh got there first).
kubelet_started() {
  [[ $(systemctl show -P ExecMainStartTimestampMonotonic kubelet.service) != 0 ]] || return 1
  if [[ ! -f /run/stub-kubelet/errors.json ]] && systemctl is-active --quiet kubelet.service; then
    eventually 60 test -f /run/stub-kubelet/errors.json
  fi
  [[ -f /run/stub-kubelet/errors.json ]] && [[ $(tr -d '[:space:]' </run/stub-kubelet/errors.json) == '[]' ]]
}

# finish: in every scenario where kubelet.service started the stub kubelet, its CRI run must
# have passed and it must have authenticated (two checks, here rather than in each check.sh),
# unless the scenario's stub kubelet does neither (/etc/eksvm/stub-kubelet: config, guest/kubelet
# says why); then the summary line.
finish() {
  if [[ $(awk '!/^#/ && NF { print $1; exit }' /etc/eksvm/stub-kubelet 2>/dev/null) == config ]]; then
    echo "finish: this scenario's stub kubelet checks its configuration only (/etc/eksvm/stub-kubelet)"
  elif kubelet_started; then
    check "kubelet drove containerd over CRI: a pod sandbox and its container ran and were removed" cri_ok
    check "kubelet authenticated: eks-node get-token's token, its signature verified by the fake STS with botocore" \
      auth_ok
  fi
  echo "checks: $_eksvm_passed passed, $_eksvm_failed failed"
  ((_eksvm_failed == 0))
}

# fake_faults UNIT FILE [SPEC...]: from its next request on, the fake that UNIT runs with
# --fault-file FILE (tests/fake-imds's fake-imds or tests/fake-aws/fake_aws.py) injects exactly
# SPEC... (none: it is healthy again), its counters started afresh. The fake re-reads FILE on
# SIGHUP and confirms in FILE.applied: no restart (fake_aws.py's python start-up: seconds under
# TCG).
fake_faults() {
  local unit=$1 file=$2 i
  shift 2
  rm -f "$file.applied"
  printf '%s\n' "$@" >"$file"
  systemctl kill -s HUP --kill-who=main "$unit" || return 1
  for ((i = 0; i < 100; i++)); do
    if [[ -s $file.applied ]]; then
      grep -q '^applied:' "$file.applied" && return 0
      cat "$file.applied" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "fake_faults: $unit did not confirm $file" >&2
  return 1
}

# journal_mark: now, as journalctl --since takes it. (Not a cursor: journalctl 252's
# --after-cursor with a field match skips the first matching entry when the cursor's own
# entry does not match.)
journal_mark() { echo "@$EPOCHREALTIME"; }

# step_errors MARK: the error lines (priority err or worse) that eks-node steps logged since
# MARK, as "STEP: MESSAGE" (STEP from EKS_NODE_STEP=); one journalctl for every step
step_errors() {
  local step matches=()
  for step in imds config system ca kubelet containerd instance-store hosts; do matches+=("EKS_NODE_STEP=$step"); done
  journal -q --since="$1" -p err -o export --output-fields=EKS_NODE_STEP,MESSAGE "${matches[@]}" |
    awk '/^EKS_NODE_STEP=/ { step = substr($0, 15) } /^MESSAGE=/ { msg = substr($0, 9) }
         /^$/ { if (step != "") print step ": " msg; step = msg = "" }
         END { if (step != "") print step ": " msg }'
}

# unit_run UNIT: "STATE EXIT SECONDS" of its last run (ActiveState, ExecMainStatus, and how
# long the main process ran, from systemd's monotonic timestamps), in one systemctl call
unit_run() {
  systemctl show -p ActiveState,ExecMainStatus,ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic "$1" |
    awk -F= '{ v[$1] = $2 } END { printf "%s %s %.2f\n", v["ActiveState"], v["ExecMainStatus"],
      (v["ExecMainExitTimestampMonotonic"] - v["ExecMainStartTimestampMonotonic"]) / 1e6 }'
}

# errors_name MARK PATTERN: every eks-node step that failed logged exactly one error line since
# MARK, matching PATTERN (grep -E); the steps that did not fail logged none
errors_name() {
  local errors failed
  errors=$(step_errors "$1")
  failed=$(systemctl list-units --state=failed --plain --no-legend 'eks-node-*.service' |
    sed -E 's/^eks-node-([^ ]*)\.service .*/\1/' | sort)
  echo "$errors"
  [[ -n $errors && $(cut -d: -f1 <<<"$errors" | sort) == "$failed" ]] || { echo "failed: $failed"; return 1; }
  ! grep -Ev -- "$2" <<<"$errors"
}

# held_back: kubelet not running and never started since /run/stub-kubelet was removed, and
# eks-node-failed.target active
held_back() {
  ! systemctl is-active --quiet kubelet.service && [[ ! -e /run/stub-kubelet ]] &&
    systemctl is-active eks-node-failed.target
}

# fails_closed NAME UNIT EXIT MIN_S PATTERN [MARK]: start eks-node.target on the fault
# the caller set up (unless MARK is given: then it ran since MARK) and check that it failed
# closed (eks-node(7), FAILING CLOSED): UNIT failed with exit status EXIT, ended by itself (its
# own deadline, not systemd's TimeoutStartSec=: Result=exit-code), after at least MIN_S seconds
# (MIN_S > 0 for a fault retried until a deadline: the step must not give up at the first
# failure; a lower bound only, which load cannot break: no upper bound in seconds, which it
# would), one error line per failed step naming the cause (PATTERN, grep -E), kubelet never
# started (the caller removes /run/stub-kubelet first), eks-node-failed.target active.
fails_closed() {
  local name=$1 unit=$2 want=$3 min=$4 pattern=$5 mark=${6:-} run result
  if [[ -z $mark ]]; then
    mark=$(journal_mark)
    systemctl start eks-node.target >/dev/null 2>&1
  fi
  # the start above returns once the first step failed (eks-node-failed.target); the steps run
  # side by side, so the one checked here may still be running: wait for its end
  local i
  # (or not started yet: a re-run restarts the steps, stop then start, so a
  # queued job counts too)
  for ((i = 0; i < 600; i++)); do
    [[ $(systemctl show -P ActiveState "$unit") == activating || -n $(systemctl list-jobs --no-legend "$unit" 2>/dev/null) ]] || break
    sleep 0.1
  done
  run=$(unit_run "$unit") # STATE EXIT SECONDS
  result=$(systemctl show -P Result "$unit")
  check "$name: $unit failed by itself (Result=$result) with exit status $want after at least ${min} s (${run##* } s)" \
    awk -v r="$run" -v w="$want" -v a="$min" -v res="$result" \
    'BEGIN { split(r, f, " "); exit !(f[1] == "failed" && f[2] == w && f[3] >= a && res == "exit-code") }'
  check "$name: one error line per failed step, naming the cause ($pattern)" eventually 60 errors_name "$mark" "$pattern"
  check "$name: kubelet was never started, eks-node-failed.target is active" held_back
  step_errors "$mark" | sed "s/^/# $name: error line: /"
}

# docker_import_pause IMAGE: an image for Docker built in the guest, without a registry: the
# cached pause image's file system (one static program) imported as IMAGE, entrypoint /pause
docker_import_pause() {
  local mnt=/run/eksvm-pause-rootfs
  mkdir -p $mnt &&
    ctr -n k8s.io images mount localhost/kubernetes/pause:latest $mnt >/dev/null &&
    tar -C $mnt -c . | docker import --change 'ENTRYPOINT ["/pause"]' - "$1"
  local rc=$?
  ctr -n k8s.io images unmount $mnt >/dev/null 2>&1
  return $rc
}

# eks-node-containerd(8), WHEN IT RUNS: eks-node-config found none of its files to change
# (the image's render is this configuration's), so the unit's condition skipped it: checked
# after eks-node-config's last run, no process started since (a boot group's earlier case
# may have run it before), no marker, and eks-node-config said why
containerd_step_skipped() {
  local u=eks-node-containerd.service c t s
  c=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-config.service)
  t=$(systemctl show -P ConditionTimestampMonotonic $u)
  s=$(systemctl show -P ExecMainStartTimestampMonotonic $u)
  echo "eks-node-config started at ${c}us; $u: ConditionResult=$(systemctl show -P ConditionResult $u)" \
    "checked at ${t}us, last started at ${s}us"
  [[ $(systemctl show -P ConditionResult $u) == no ]] && ((c > 0 && t > c && s < c)) &&
    [[ ! -e /run/eks-node/containerd-due ]] &&
    journal -b EKS_NODE_STEP=config --no-pager -o cat | grep -q "eks-node-containerd has nothing to do"
}

# containerd_written_by_config WHY: eks-node-config(8), CONTAINERD: user data changed what
# containerd reads at its start (WHY, the first reason), so eks-node-config wrote containerd's
# files itself during the boot's join, stopped containerd's early start and started it again
# on them, once: one start of containerd.service after eks-node-config's run began
containerd_written_by_config() {
  local j c s
  j=$(journal -b -u eks-node-config.service --no-pager -o cat)
  c=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-config.service)
  s=$(systemctl show -P ExecMainStartTimestampMonotonic containerd.service)
  echo "eks-node-config started at ${c}us, containerd's running process at ${s}us"
  grep -F "$1: containerd's files written now; stopping its early start" <<<"$j" &&
    grep -qF "$1: starting containerd.service on the new files" <<<"$j" && ((c > 0 && s > c))
}

# containerd_started N: containerd.service started exactly N times this boot (systemd's
# "Started" message, SD_MESSAGE_UNIT_STARTED)
containerd_started() {
  local n
  n=$(journal -b -u containerd.service MESSAGE_ID=39f53479d3a045ac8e11786248231fbf --no-pager -o cat | wc -l)
  echo "containerd started $n time(s)"
  ((n == $1))
}

# after_start UNIT OTHER: UNIT's process started after OTHER became active (monotonic time)
after_start() {
  local a b
  a=$(systemctl show -P ExecMainStartTimestampMonotonic "$1")
  b=$(systemctl show -P ActiveEnterTimestampMonotonic "$2")
  echo "$1 started at ${a}us, $2 active at ${b}us"
  ((a > b))
}

# joined: eks-node.target and kubelet active, eks-node-failed.target not, and the stub
# kubelet has started on the rendered files
joined() {
  systemctl is-active kubelet.service eks-node.target && ! systemctl is-active --quiet eks-node-failed.target &&
    eventually 60 test -s /run/stub-kubelet/argv.json
}

# recovers NAME: the fault is gone; starting eks-node.target again joins
recovers() {
  local t0=$SECONDS
  systemctl start eks-node.target >/dev/null 2>&1
  check "$1: without the fault, start eks-node.target joins (kubelet started)" joined
  echo "timing: $1: recovered in $((SECONDS - t0)) s"
}

# telemetry_ok 1|0 [UNIT EXIT]: eks-node-telemetry ran once the chain had ended (joined: 1;
# failed: 0, UNIT exited EXIT) and wrote what Prometheus's own Python parser reads, with a
# sample for every unit `eks-node status --json` lists, the same durations and request counts,
# and a chain time only when kubelet started (eks-node-telemetry(8)).
telemetry_ok() {
  [[ $(systemctl show -P Result eks-node-telemetry.service) == success &&
    $(systemctl show -P ExecMainStatus eks-node-telemetry.service) == 0 ]] ||
    { systemctl status --no-pager eks-node-telemetry.service; return 1; }
  eks-node status --json >/run/eksvm-status.json
  python3 - "$@" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families

configured = sys.argv[1] == "1"
path = "/var/lib/node_exporter/textfile_collector/eks-node.prom"
samples = {}
for family in text_string_to_metric_families(open(path).read()):
    for s in family.samples:
        samples.setdefault(s.name, []).append((s.labels, s.value))
status = json.load(open("/run/eksvm-status.json"))
def one(name, **labels):
    got = [v for l, v in samples.get(name, []) if all(l.get(k) == w for k, w in labels.items())]
    assert len(got) == 1, f"{name}{labels}: {len(got)} samples"
    return got[0]
assert one("eks_node_configured") == (1 if configured else 0), "eks_node_configured"
assert one("eks_node_failed") == (0 if configured else 1), "eks_node_failed"
units = [u for u in status["units"] if u["unit"] != "eks-node-telemetry.service"]
assert {l["unit"] for l, _ in samples["eks_node_unit_state"]} == {u["unit"] for u in units}, "a unit missing"
total = 0
for u in units:
    assert one("eks_node_unit_state", unit=u["unit"], state=u["state"]) == 1, u["unit"]
    if u["durationSeconds"] is not None:
        assert abs(one("eks_node_unit_duration_seconds", unit=u["unit"]) - u["durationSeconds"]) < 1e-6, u["unit"]
    for api, c in (u["calls"] or {}).items():
        assert one("eks_node_api_requests_total", unit=u["unit"], api=api) == c["requests"], (u["unit"], api)
        if api == "imds":
            total += c["requests"]
imds = one("eks_node_api_requests_total", unit="eks-node-imds.service", api="imds")
assert imds >= 2, f"eks-node-imds made {imds} IMDS requests (a token and at least one GET)"
assert total == status["calls"]["imds"]["requests"], "total IMDS requests"
if configured:
    chain, boot = one("eks_node_chain_seconds"), one("eks_node_boot_to_kubelet_seconds")
    assert 0 < chain < boot, (chain, boot)
    print(f"chain {chain:.3f} s, kubelet {boot:.3f} s after the kernel, {total} IMDS requests")
else:
    assert "eks_node_chain_seconds" not in samples, "a chain time without kubelet"
    unit, code = sys.argv[2], int(sys.argv[3])
    assert one("eks_node_unit_exit_status", unit=unit) == code, unit
    assert one("eks_node_unit_state", unit=unit, state="failed") == 1, unit
    print(f"{unit} failed with {code}; {total} IMDS requests")
PY
}

# readahead_recorded: eks-node-readahead read the image's list by the ranges the image build
# recorded (tests/vm/build-image.sh, record_rootfs: packer/provisioners/files/
# readahead-record-boot). The payload install lists again (`eks-node readahead-list`), keeping
# each recording whose file is as recorded: at least the image's containerd and libc keep
# theirs, every recorded line is a file the step read by its ranges (its line's count is the
# list's), and none is "changed since" (a time or size the image build did not keep).
readahead_recorded() {
  local list=/usr/lib/eks-node/readahead.list n line
  # (a file the recorded join did not read has a recording with no range: "ranges=")
  n=$(grep -cP '^/[^\t]+\tsize=[0-9]+ mtime=[0-9.]+ ranges=([0-9]|$)' "$list")
  if ! grep -qP '^/usr/bin/containerd\tsize=' "$list" || ! grep -qP '/libc\.so\.6\tsize=' "$list"; then
    echo "containerd's or libc's line has no recording in $list"
    return 1
  fi
  line=$(journal -b -u eks-node-readahead.service -o cat --no-pager | grep "^read [0-9]* files of ")
  echo "$line; $n recorded lines in the list"
  [[ $line == *", $n by their recorded ranges"* ]] || return 1
  ! journal -b -u eks-node-readahead.service -o cat --no-pager | grep "changed since"
}
