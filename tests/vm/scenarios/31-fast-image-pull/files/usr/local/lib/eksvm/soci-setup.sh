#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# VM 31-fast-image-pull's registry inputs, made in the guest at boot (eksvm-soci-setup.service,
# before eks-node-config): the run's CA and certificate for soci.eksvm.test (made on the host
# by run-scenario.sh, registry.py certs), the name on 127.0.0.1 in /etc/hosts, and a node.toml
# fragment that trusts the CA and pre-pulls the registry's image. TLS, not plain HTTP: soci-snapshotter 0.4.1 fetches SOCI indexes over HTTPS
# whatever the host (its OCI artifact client has no plain-HTTP switch), as from ECR.
set -euo pipefail
dir=/run/eksvm-soci
fragment=/etc/eks-node/node.toml.d/50-soci-registry.toml
rm -rf "$dir"
mkdir -m 0700 "$dir"
cp /run/eksvm/in/registry-tls/{ca.pem,server.pem,server.key} "$dir/"
grep -qw soci.eksvm.test /etc/hosts || printf '127.0.0.1 soci.eksvm.test\n' >>/etc/hosts
mkdir -p "${fragment%/*}"
{
  echo "# VM 31-fast-image-pull, written by soci-setup.sh"
  echo "[settings.prePull]"
  echo 'images = ["soci.eksvm.test:5001/eksvm/soci:v1"]'
  echo 'timeout = "2m"'
  echo
  echo "[settings.trust.eksvm-soci]"
  echo 'certificates = """'
  cat "$dir/ca.pem"
  echo '"""'
} >"$fragment.tmp"
mv "$fragment.tmp" "$fragment"
