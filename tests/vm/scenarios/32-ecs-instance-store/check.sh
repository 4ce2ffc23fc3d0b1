#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016 # code passed to `bash -c` in single quotes expands in the guest, on purpose
# An ECS container instance on instance-store disks (eks-node-instance-store(8), ON AN ECS
# CONTAINER INSTANCE; eks-node-ecs(8)): RAID0 under ecs-node.target with Docker's state bound
# from the array and docker.service held back until it is; the default runtime's kernel module
# loaded by modprobe@ before Docker; a container run under crun with its state on the array;
# a stand-in ECS agent started on the rendered ecs.config, stopped by eks-node-failed.target
# when eks-node-ecs refuses a module this kernel lacks (exit 6), and started again once fixed;
# a client of Docker's socket never re-runs a failed eks-node-instance-store.
# Runs inside the guest (see tests/vm/README.md).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../../guest/check-lib.sh
source "$EKSVM_IN/check-lib.sh"
# shellcheck source=/dev/null # the run's options (NVMEOF), as the runner wrote them
source "$EKSVM_IN/scenario.env"
export -f after_start eventually # used in the bash -c checks below

{
  echo "docker: $(docker --version)"
  echo "crun: $(crun --version | head -n1)"
  echo "kernel: $(uname -r)"
} | tee "${EKSVM_OUT:?}/versions.txt"

check "vhost_vsock is not loaded before eks-node runs" bash -c '! test -d /sys/module/vhost_vsock'
check "two EC2 instance-store disks are connected" nvmeof_setup
# As at first boot on EC2 with the disks there (VM_INSTALL=late): containerd runs already (the
# image enables it; Docker uses it); eks-node-config stops it, as the mounts go over its state,
# reloads systemd once and starts ecs-node.target; starting the target here waits for its jobs.
run_ecs_chain() {
  systemctl start eks-node-config.service || return 1
  systemctl start ecs-node.target
}
check "the chain starts" run_ecs_chain
check "the generator pulled in ecs-node.target, not eks-node.target" bash -c '
  test -L /run/systemd/generator/multi-user.target.wants/ecs-node.target &&
    ! test -e /run/systemd/generator/multi-user.target.wants/eks-node.target'
binds=(var-lib-docker.mount var-lib-containerd.mount)
for u in eks-node-instance-store.service 'mnt-k8s\x2ddisks-0.mount' "${binds[@]}" docker.service ecs.service \
  ecs-node.target; do
  check "$u is active" systemctl is-active "$u"
done
check "no pod-log or SOCI bind, no kubelet bind on an ECS node" bash -c '
  for u in var-log-pods.mount var-lib-kubelet.mount "var-lib-soci\\x2dsnapshotter.mount"; do
    ! test -e "/run/systemd/generator/$u" || { echo "$u generated"; exit 1; }; done'
check "list-dependencies ecs-node.target shows the step and every mount" bash -c '
  deps=$(systemctl list-dependencies --plain --no-legend ecs-node.target)
  for u in eks-node-instance-store.service "mnt-k8s\\x2ddisks-0.mount" var-lib-docker.mount var-lib-containerd.mount; do
    grep -qF "$u" <<<"$deps" || { echo "missing $u"; echo "$deps"; exit 1; }; done'
check "the array is RAID0 of exactly the two instance-store disks" \
  bash -c 'd=$(mdadm --detail /dev/md/eks-node); grep -q "Raid Level : raid0" <<<"$d" &&
    test "$(grep -c "active sync" <<<"$d")" = 2 || { echo "$d"; exit 1; }'
check "md_mod was loaded by modprobe@md_mod.service, which finished before the step started" bash -c '
  test -d /sys/module/md_mod && [[ $(systemctl show -P Result modprobe@md_mod.service) == success ]] &&
    a=$(systemctl show -P ExecMainExitTimestampMonotonic modprobe@md_mod.service) &&
    b=$(systemctl show -P ExecMainStartTimestampMonotonic eks-node-instance-store.service) &&
    echo "modprobe@md_mod exited at ${a}us, the step started at ${b}us" && ((a > 0 && a < b))'
check "/var/lib/docker is bound from the array" is_mount_from /var/lib/docker '[/docker]'
check "/var/lib/containerd is bound from the array" is_mount_from /var/lib/containerd '[/containerd]'
check "what /var/lib/docker held before is still there" test -s /var/lib/docker/from-the-image
check "docker.service started after /var/lib/docker was mounted (its drop-in: RequiresMountsFor=)" bash -c '
  grep -qx "RequiresMountsFor=/var/lib/docker" /run/systemd/generator/docker.service.d/50-eks-node-instance-store.conf &&
    after_start docker.service var-lib-docker.mount'
check "containerd started again after /var/lib/containerd was mounted" \
  after_start containerd.service var-lib-containerd.mount
check "Docker's root is /var/lib/docker, and its state there is on the array" bash -c '
  [[ $(docker info --format "{{.DockerRootDir}}") == /var/lib/docker ]] &&
    ls /mnt/k8s-disks/0/docker | tee /dev/stderr | grep -qx containers'

# the runtime's kernel module, by systemd, before Docker
check "vhost_vsock was loaded by modprobe@vhost_vsock.service, which finished before dockerd started" bash -c '
  test -d /sys/module/vhost_vsock &&
    [[ $(systemctl show -P Result modprobe@vhost_vsock.service) == success ]] &&
    grep -qx "After=modprobe@vhost_vsock.service" /run/systemd/generator/docker.service.d/50-eks-node-runtime-modules.conf &&
    after_start docker.service modprobe@vhost_vsock.service'
check "dockerd runs crun by default" bash -c 'docker info --format "{{.DefaultRuntime}}" | grep -qx crun'

# A container of an image built here (the cached pause image's file system), under crun, its
# writable layer on the array.
check "an image built in the guest is imported into Docker" docker_import_pause eksvm/local:ecs
check "docker run starts a container of it" docker run -d --name eksvm-ecs --network none eksvm/local:ecs
check "the container runs under crun, its directory on the array" bash -c '
  id=$(docker inspect -f "{{.Id}}" eksvm-ecs) &&
    [[ $(docker inspect -f "{{.HostConfig.Runtime}} {{.State.Running}}" eksvm-ecs) == "crun true" ]] &&
    test -d "/mnt/k8s-disks/0/docker/containers/$id"'
check "the container stops cleanly" bash -c 'docker stop -t 20 eksvm-ecs >/dev/null && docker rm eksvm-ecs >/dev/null'

# The stand-in agent: started after eks-node-ecs, on the file it wrote
check "the ECS agent (stand-in) started after eks-node-ecs, on ecs.config naming the cluster" bash -c '
  after_start ecs.service eks-node-ecs.service &&
    grep -qx "ECS_CLUSTER=eksvm-ecs-store" /run/ecs-agent/ecs.config-at-start'
check "kubelet and eks-node.target never ran" bash -c '
  for u in eks-node.target kubelet.service eks-node-kubelet.service; do
    [[ $(systemctl show -P ActiveEnterTimestampMonotonic "$u") == 0 ]] || { echo "$u ran"; exit 1; }; done'
check "eks-node-failed.target was never reached" bash -c '
  [[ $(systemctl show -P ActiveEnterTimestampMonotonic eks-node-failed.target) == 0 ]]'
check "the generator logged nothing at warning" \
  bash -c '! journal -b -t eks-node-generator -p warning --no-pager -o cat | grep .'
secs=$(store_to_mounts_seconds "${binds[@]}")
echo "timing: eks-node-instance-store start -> bind mounts active: ${secs}s (2 disks, RAID0, ECS)"

# Fail closed: an admin fragment adds a module this kernel lacks; the re-run of eks-node-config
# re-runs eks-node-ecs (Requires=), which refuses it; eks-node-failed.target stops the agent.
mark=$(journal_mark)
printf '[settings.runtimes.crun]\nkernelModules = ["vhost_vsock", "eksvm_no_such_module"]\n' \
  >/etc/eks-node/node.toml.d/90-bad-module.toml
systemctl restart eks-node-config.service >/dev/null 2>&1
check "eks-node-ecs failed with exit status 6" bash -c '
  eventually 60 bash -c "[[ \$(systemctl show -P ActiveState eks-node-ecs.service) == failed ]]" &&
    [[ $(systemctl show -P ExecMainStatus eks-node-ecs.service) == 6 ]]'
check "its error names the fragment, the field and the module" bash -c '
  journal -b --since "'"$mark"'" -u eks-node-ecs.service -p err --no-pager -o cat | tee /dev/stderr |
    grep -F "/etc/eks-node/node.toml.d/90-bad-module.toml: settings.runtimes.crun.kernelModules: " |
    grep -qF "eksvm_no_such_module"'
check "eks-node-failed.target is active and the ECS agent was stopped; Docker runs on" bash -c '
  eventually 60 systemctl is-active --quiet eks-node-failed.target &&
    eventually 60 bash -c "! systemctl is-active --quiet ecs.service" &&
    systemctl is-active --quiet docker.service'
check "daemon.json and ecs.config were left as they were" bash -c '
  grep -qx "ECS_CLUSTER=eksvm-ecs-store" /etc/ecs/ecs.config && grep -q "\"default-runtime\": \"crun\"" /etc/docker/daemon.json'
rm /etc/eks-node/node.toml.d/90-bad-module.toml
check "fixed: the chain re-run (eks-node-config, then ecs-node.target) starts the agent again" bash -c '
  systemctl restart eks-node-config.service && systemctl start ecs-node.target &&
    systemctl is-active ecs.service eks-node-ecs.service && ! systemctl is-active --quiet eks-node-failed.target'

# A client of Docker's socket does not re-run a failed eks-node-instance-store (eks-node-generator(8),
# FAILED STEPS). Docker stopped with its mounts, the step made to fail (a runtime drop-in standing
# in for a fault of its tools: 15-faults-instance-store makes the real ones), then `docker info`:
# the socket starts Docker, whose mounts check the step (Requisite=) rather than start it. With
# Requires= (and kubelet's and Docker's Wants=) the step ran again about every two seconds while
# the client waited, and the client hung.
fail_dropin=/run/systemd/system/eks-node-instance-store.service.d/90-eksvm-fail.conf
systemctl stop ecs.service docker.service docker.socket var-lib-docker.mount var-lib-containerd.mount \
  'mnt-k8s\x2ddisks-0.mount'
mkdir -p "${fail_dropin%/*}"
printf '[Service]\nExecStartPre=/bin/false\n' >"$fail_dropin"
systemctl daemon-reload
systemctl restart eks-node-instance-store.service 2>/dev/null
step_run=$(systemctl show -P InvocationID eks-node-instance-store.service)
systemctl start docker.socket
check "socket: with the step failed, docker info fails at once (Docker not started)" bash -c '
  ! timeout 60 docker info >/dev/null 2>&1 && ! systemctl is-active --quiet docker.service'
check "socket: ... and the failed step did not run again" bash -c '
  [[ $(systemctl show -P InvocationID eks-node-instance-store.service) == '"$step_run"' &&
    $(systemctl show -P ActiveState eks-node-instance-store.service) == failed ]]'
rm "$fail_dropin"
systemctl daemon-reload
check "socket: fixed, starting ecs-node.target runs the step, Docker (socket too) and the agent" bash -c '
  systemctl start ecs-node.target &&
    systemctl is-active eks-node-instance-store.service docker.socket docker.service ecs.service &&
    timeout 60 docker info >/dev/null'
finish
