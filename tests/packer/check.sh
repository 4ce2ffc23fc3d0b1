#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checks of packer/ that need no AWS account: `packer fmt -check`, `packer
# validate` of every variant, shellcheck on every provisioner.
#
# Debian 12's Packer is 1.6.6: amazon-ebs is built in, but it knows neither
# the `required_plugins` block (1.7) nor `metadata_options`/`imds_support`
# (newer amazon builder), and no plugin can be downloaded here. So validate
# runs on a copy of the template without plugins.pkr.hcl and without those
# two settings, which are checked by grep instead. validate runs in a network
# namespace of its own: the amazon builder must not reach any AWS endpoint.
#
# Usage: tests/packer/check.sh [REPO]    prints ok/not ok lines, then "N passed, M failed"
set -uo pipefail

repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
packer_dir=$repo/packer
passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
  echo "not ok - $1"
  [[ -n ${2:-} ]] && printf '#   %s\n' "${2//$'\n'/$'\n'#   }"
  failed=$((failed + 1))
}
# check WHAT CMD...: passes when CMD exits 0
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}
# refuse WHAT CMD...: passes when CMD fails (a check that must be able to fail)
refuse() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then not_ok "$what" "accepted: $out"; else ok "$what"; fi
}
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit; }

for tool in packer shellcheck unshare; do
  command -v "$tool" >/dev/null || { not_ok "$tool is installed (tools/deps.sh --test)"; finish; }
done

check "packer fmt -check packer/" packer fmt -check "$packer_dir"
check "packer fmt -check packer/variants/" packer fmt -check "$packer_dir/variants"

# The copy Packer 1.6.6 can read.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$packer_dir/variables.pkr.hcl" "$packer_dir/provisioners" "$work/"
awk '/^  metadata_options \{/ { skip = 1 } skip && /^  \}/ { skip = 0; next }
     !skip && !/^  imds_support / { print }' "$packer_dir/al2023.pkr.hcl" >"$work/al2023.pkr.hcl"
# validate checks that file provisioners' sources exist, and eks_node_package's validation
# that it names a file: a stand-in for packaging/build.py's .rpm
package=eks-node-0.1.0-1.x86_64.rpm
echo "stand-in for packaging/build.py's .rpm" >"$work/$package"
echo "stand-in for packaging/build.py's tarball" >"$work/eks-node-0.1.0-linux-x86_64.tar.gz"

check "IMDSv2 is required on the build instance" \
  grep -Eq '^ +http_tokens += "required"$' "$packer_dir/al2023.pkr.hcl"
check "instances of the AMI default to IMDSv2" \
  grep -Eq '^  imds_support += "v2.0"$' "$packer_dir/al2023.pkr.hcl"
check "only the two newer settings are left out of the copy" \
  test "$(diff "$packer_dir/al2023.pkr.hcl" "$work/al2023.pkr.hcl" | grep -c '^<')" = 6
check "required_plugins is in plugins.pkr.hcl alone" \
  bash -c "grep -l required_plugins '$packer_dir'/*.pkr.hcl | grep -qx '$packer_dir/plugins.pkr.hcl'"

# shellcheck disable=SC2317 # called through check and refuse
validate_bare() {
  (cd "$work" && AWS_ACCESS_KEY_ID=none AWS_SECRET_ACCESS_KEY=none unshare --net packer validate "$@" .)
}
# shellcheck disable=SC2317
validate() { validate_bare -var eks_node_package="$package" "$@"; }
# refuse_saying WHAT TEXT CMD...: passes when CMD fails and its output says TEXT (the reason)
refuse_saying() {
  local what=$1 text=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    not_ok "$what" "accepted: $out"
  elif [[ $out != *"$text"* ]]; then
    not_ok "$what" "refused, but without \"$text\": $out"
  else
    ok "$what"
  fi
}
for v in "$packer_dir"/variants/*.pkrvars.hcl; do
  check "packer validate variants/$(basename "$v")" validate -var-file="$v"
done
check "packer validate arm64, gp2 root volume" \
  validate -var-file="$packer_dir/variants/standard.pkrvars.hcl" -var arch=arm64 -var volume_type=gp2
# The variable validations must bite.
refuse "packer validate refuses kubelet_version=1.31 (no patch)" validate -var kubelet_version=1.31
refuse "packer validate refuses variant=gpu" validate -var variant=gpu
refuse "packer validate refuses hardening=pci (cis, stig or none)" validate -var hardening=pci
refuse "packer validate refuses a pause image without a tag" \
  validate -var pause_image=602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause

# The AMI installs the package built from the commit: never an image without it, never
# anything else in its place (the reason in the refusal's message).
std=-var-file="$packer_dir/variants/standard.pkrvars.hcl"
refuse_saying "packer validate refuses a build without eks_node_package, saying how to build it" \
  "The eks_node_package is not set: build the package first" validate_bare "$std"
refuse_saying "packer validate refuses an eks_node_package that names no file" \
  "The eks_node_package names no file" validate_bare "$std" -var eks_node_package=eks-node-9.9.9-1.x86_64.rpm
refuse_saying "packer validate refuses the tarball as eks_node_package (AL2023 installs an .rpm)" \
  "The eks_node_package must be an .rpm" validate_bare "$std" -var eks_node_package=eks-node-0.1.0-linux-x86_64.tar.gz
refuse "packer validate refuses a runtime handler whose binary is not an absolute path" \
  validate -var 'runtime_handlers=[{name = "krun", runtime_type = "io.containerd.runc.v2", binary_name = "krun"}]'
# The example's handlers are eks-node configuration: `eks-node config check` takes them
# (with the eks-node of this build, when the caller names it: EKS_NODE_CLI).
if [[ -n ${EKS_NODE_CLI:-} ]]; then
  awk '/<<-EOT$/ { on = 1; next } /^ *EOT$/ { on = 0 } on { sub(/^  /, ""); print }' \
    "$packer_dir/variants/runtime-handler.example.pkrvars.hcl" >"$work/runtime-handlers.toml"
  # with a cluster (user data's part), which every configuration needs
  sed '/^\[settings/,$d' "$repo/tests/bad-input/99-toml-hook-no-command/user-data" >"$work/cluster.toml"
  check "eks-node config check takes the runtime-handler example's runtime_handlers_toml" \
    bash -c "grep -q '^\[settings.runtimes.krun\]' '$work/runtime-handlers.toml' &&
      '$EKS_NODE_CLI' config check '$work/cluster.toml' '$work/runtime-handlers.toml'"
fi
for f in "$packer_dir"/provisioners/*.sh; do
  check "shellcheck provisioners/$(basename "$f")" shellcheck -x -P "$packer_dir/provisioners" "$f"
done
# the steps' bash programs in files/ (readahead-record-boot), by their first line
for f in "$packer_dir"/provisioners/files/*; do
  [[ $(head -n1 "$f") == '#!/bin/bash' ]] || continue
  check "shellcheck provisioners/files/$(basename "$f")" shellcheck "$f"
done
for f in "$packer_dir"/provisioners/[0-9][0-9]-*.sh "$packer_dir/provisioners/run.sh"; do
  check "provisioners/$(basename "$f") runs under set -euo pipefail" grep -qx 'set -euo pipefail' "$f"
done
finish
