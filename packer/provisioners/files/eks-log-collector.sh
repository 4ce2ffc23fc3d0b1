#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# /etc/eks/log-collector-script/eks-log-collector.sh on an eks-node image: the path and the
# command line of AWS's EKS log collector (amazon-eks-ami, log-collector-script/linux), which
# AWS Support's runbooks and its SSM document run, over `eks-node collect-logs`, whose archive
# masks secrets (eks-node(1), COLLECT-LOGS) where AWS's script copies files as they are.
#
# Its arguments, each --NAME=VALUE as AWS's parse_options() splits them (tests/data/
# log-collector-compat.tsv lists each with what happens here):
#   --ignore_introspection=true|false, --ignore_metrics=true|false
#       accepted: collect-logs never asks the VPC CNI's ipamd for its introspection or its
#       metrics, which is what the flags turn off
#   --eks_hybrid=true|false
#       accepted; true: no instance ID in the archive's name, as AWS's script on a hybrid node
#   --help  this text, exit 0
#   anything else, or a value other than true|false: refused, exit 2, nothing written
# The archive goes where AWS's does, /var/log/eks_INSTANCEID_TIME_VERSION.tar.gz (the SSM
# document uploads /var/log/eks_i*), and the last line on stdout names it as AWS's does.
# The instance ID is the one eks-node-imds read (/run/eks-node/instance.json); none there:
# empty, as AWS's script leaves it when IMDS does not answer.
set -euo pipefail

readonly version=eks-node
# tests only (tests/process/cli_validate_logs.py): where the archive goes, and a node root
# other than / (collect-logs --root)
log_dir=${EKS_LOG_COLLECTOR_DIR:-/var/log}
root=${EKS_LOG_COLLECTOR_ROOT:-}
name=$(basename "$0" .sh)

usage() {
  cat <<EOF

USAGE: $name --help [ --ignore_introspection=true|false --ignore_metrics=true|false --eks_hybrid=true|false ]

  The EKS log collector's command line over \`eks-node collect-logs\` (eks-node(1)):
  the archive is ${log_dir}/eks_INSTANCEID_TIME_${version}.tar.gz, secrets masked.

  --ignore_introspection, --ignore_metrics  accepted: nothing asks ipamd here
  --eks_hybrid                               true: no instance ID in the archive's name
  --help                                     this text
EOF
}

refuse() {
  echo "$name: $1 (run with --help for the arguments it takes); nothing collected" >&2
  exit 2
}

hybrid=false
for arg in "$@"; do
  param=${arg%%=*} value=
  [[ $arg == *=* ]] && value=${arg#*=}
  param=${param#--}
  case $param in
    help) usage; exit 0 ;;
    ignore_introspection | ignore_metrics | eks_hybrid)
      [[ $value == true || $value == false ]] ||
        refuse "--$param: \"$value\" is not true or false"
      [[ $param == eks_hybrid ]] && hybrid=$value
      ;;
    *) refuse "unknown argument \"$arg\"" ;;
  esac
done

[[ $(id -u) == 0 || -n $root ]] || refuse "must be run as root"

instance=
if [[ $hybrid == false && -r $root/run/eks-node/instance.json ]]; then
  instance=$(sed -nE 's/.*"instanceId" *: *"(i-[0-9a-f]+)".*/\1/p' "$root/run/eks-node/instance.json" | head -n1)
fi
archive=$log_dir/eks_${instance}_$(date --utc +%Y-%m-%d_%H%M-%Z)_${version}.tar.gz
eks-node collect-logs "--output=$archive" ${root:+"--root=$root"} >/dev/null
printf '\n\tDone... your bundled logs are located in %s\n\n' "$archive"
