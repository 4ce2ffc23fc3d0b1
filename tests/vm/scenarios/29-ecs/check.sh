#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An ECS container instance on the sid image (eks-node-ecs(8)): settings.node = "ecs" in an
# image fragment makes eks-node-generator pull in ecs-node.target and not eks-node.target;
# the shared steps (imds, config, system) and eks-node-ecs run, then Docker starts on the
# daemon.json eks-node-ecs wrote, with crun as its default runtime; a container of an image
# built here, from the cached pause image's file system, runs under crun. The EKS units do
# not run. The ECS agent is not packaged where the tests reach: checked up to ecs.config.
# Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"

{
  echo "docker: $(docker --version)"
  echo "crun: $(crun --version | head -n1)"
  echo "systemd: $(systemctl --version | head -n1)"
} | tee "${EKSVM_OUT:?}/versions.txt"

check "boot finished cleanly (state: $EKSVM_SYSTEM_STATE)" test "$EKSVM_SYSTEM_STATE" = running
# The image stamped /etc and /var after its last package (packer/provisioners/96-update-done):
# systemd's update units found nothing to redo at this first boot (bookworm has none; sid's
# systemd has them, and the payload install left /usr's time alone, guest/install-payload)
check "the update units were skipped at first boot (96-update-done's stamps)" bash -c '
  out=$(systemctl show -p Id -p ConditionResult -p ActiveEnterTimestampMonotonic \
    ldconfig.service systemd-journal-catalog-update.service systemd-update-done.service)
  echo "$out"
  [[ $(grep -c "^ConditionResult=no$" <<<"$out") == 3 && $(grep -c "^ActiveEnterTimestampMonotonic=0$" <<<"$out") == 3 ]]'
check "the generator pulled in ecs-node.target, not eks-node.target" bash -c '
  test -L /run/systemd/generator/multi-user.target.wants/ecs-node.target &&
    ! test -e /run/systemd/generator/multi-user.target.wants/eks-node.target'
check "ecs-node.target is active" systemctl is-active ecs-node.target
for unit in eks-node-imds eks-node-config eks-node-ecs; do
  check "$unit succeeded" bash -c "[[ \$(systemctl show -P Result $unit.service) == success ]] &&
    systemctl is-active $unit.service"
done
# no service environment, DNS or sysctls in this configuration: eks-node-config leaves no
# marker and eks-node-system is skipped by its condition on an ECS node too (eks-node-system(8))
check "eks-node-system skipped by its condition, not failed" bash -c '
  [[ $(systemctl show -P Result eks-node-system.service) == success &&
    $(systemctl show -P ConditionResult eks-node-system.service) == no ]] && ! test -e /run/eks-node/system-due'
systemctl list-dependencies --plain --no-pager ecs-node.target >"$EKSVM_OUT/ecs-node-deps.txt" 2>&1
check "ecs-node.target wants the shared steps, eks-node-ecs and docker, and no EKS step" bash -c '
  deps=$EKSVM_OUT/ecs-node-deps.txt
  for u in eks-node-imds eks-node-config eks-node-system eks-node-ecs docker; do
    grep -q "^ *$u.service" "$deps" || { echo "missing $u"; cat "$deps"; exit 1; }
  done
  ! grep -E "kubelet|eks-node-ca|eks-node-containerd|eks-node-preflight" "$deps"'
check "eks-node.target, kubelet and the EKS steps did not run" bash -c '
  for u in eks-node.target kubelet.service eks-node-kubelet.service eks-node-ca.service eks-node-preflight.service; do
    s=$(systemctl show -P ActiveState "$u"); [[ $s == inactive ]] || { echo "$u: $s"; exit 1; }
  done'
check "eks-node-containerd, pulled in by containerd.service, was skipped by its ECS drop-in, not failed" bash -c '
  [[ $(systemctl show -P Result eks-node-containerd.service) == success ]] &&
    [[ $(systemctl show -P ConditionResult eks-node-containerd.service) == no ]] &&
    test -f /run/systemd/generator/eks-node-containerd.service.d/50-ecs-node.conf'
check "eks-node-failed.target was never reached" bash -c '
  [[ $(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target) == 0 ]]'
check "config.json resolved no EKS cluster (settings.node = ecs, derived empty)" python3 -c '
import json; c = json.load(open("/run/eks-node/config.json"))
assert c["settings"]["node"] == "ecs" and c["derived"] == {} and "cluster" not in c["spec"], c'

# /etc/ecs/ecs.config: the image's keys and user data's, one line each, as the agent reads them
cp /etc/ecs/ecs.config "$EKSVM_OUT/ecs.config" 2>/dev/null
check "ecs.config holds every configured key, from the image fragment and from user data" bash -c '
  f=/etc/ecs/ecs.config
  grep -qx "ECS_CLUSTER=eksvm-ecs" $f &&
    grep -qx "ECS_INSTANCE_ATTRIBUTES={\"stack\":\"prod\",\"team.name\":\"ml\"}" $f &&
    grep -qx "ECS_ENABLE_TASK_IAM_ROLE=true" $f &&
    grep -qx "ECS_AVAILABLE_LOGGING_DRIVERS=\[\"json-file\",\"awslogs\"\]" $f &&
    grep -qx "ECS_CONTAINER_STOP_TIMEOUT=45s" $f &&
    grep -qx "ECS_IMAGE_PULL_BEHAVIOR=prefer-cached" $f &&
    [[ $(grep -vc "^#" $f) == 6 ]] && [[ $(stat -c %a $f) == 600 ]] || { cat $f; exit 1; }'
check "daemon.json names crun as Docker's default runtime" python3 -c '
import json; d = json.load(open("/etc/docker/daemon.json"))
assert d == {"default-runtime": "crun", "runtimes": {"crun": {"path": "/usr/bin/crun"}}}, d'
check "docker.service is active, started after eks-node-ecs" bash -c '
  systemctl is-active docker.service &&
    (( $(systemctl show -P ExecMainStartTimestampMonotonic docker.service) >
       $(systemctl show -P ActiveEnterTimestampMonotonic eks-node-ecs.service) ))'
check "dockerd runs crun by default" bash -c '
  docker info --format "{{.DefaultRuntime}}" | tee /dev/stderr | grep -qx crun'

# An image built here, without a registry: the cached pause image's file system (one static
# program) imported into Docker. Run detached, so that crun's state is seen while it runs.
check "an image built in the guest is imported into Docker" docker_import_pause eksvm/local:ecs
check "docker run starts a container of it" docker run -d --name eksvm-ecs --network none eksvm/local:ecs
# crun keeps a container's state in a directory named after it holding "status" (runc's has
# state.json instead); where that directory lives is the shim's choice (its Root option).
crun_state_of() {
  local dir
  for dir in $(find /run -maxdepth 6 -type d -name "$1" 2>/dev/null); do
    ls "$dir"
    [[ -f $dir/status && ! -f $dir/state.json ]] && crun --root "$(dirname "$dir")" list | grep -q "^$1" && return 0
  done
  echo "no crun state directory for $1 under /run"
  return 1
}
export -f crun_state_of
check "the container runs under crun: Docker's record, and crun's own state" bash -c '
  id=$(docker inspect -f "{{.Id}}" eksvm-ecs) &&
  [[ $(docker inspect -f "{{.HostConfig.Runtime}}" eksvm-ecs) == crun ]] &&
  [[ $(docker inspect -f "{{.State.Running}}" eksvm-ecs) == true ]] &&
  crun_state_of "$id"'
check "the container stops cleanly (its program exits 0 on SIGTERM)" bash -c '
  docker stop -t 20 eksvm-ecs >/dev/null &&
    [[ $(docker inspect -f "{{.State.ExitCode}}" eksvm-ecs) == 0 ]] && docker rm eksvm-ecs >/dev/null'
rerun_idempotent() {
  local before mark
  before=$(systemctl show -P ExecMainStartTimestampMonotonic docker.service)
  mark=$(journal_mark)
  systemctl restart eks-node-ecs.service || return 1
  [[ $(systemctl show -P ExecMainStartTimestampMonotonic docker.service) == "$before" ]] || {
    echo "docker.service was restarted"
    return 1
  }
  ! journal -b --since "$mark" -u eks-node-ecs.service -o cat | grep "^wrote "
}
check "eks-node-ecs re-run writes nothing and restarts nothing" rerun_idempotent
finish
