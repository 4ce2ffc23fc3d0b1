#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# eks-node itself: the package built from the commit (packaging/build.py), which Packer's file
# provisioner uploaded (eks_node_package: EKS_NODE_PACKAGE), installed by the package manager,
# as a user installs it: the package's dependencies come from the distribution's repositories
# (packaging/eks-node.toml; packages.tsv's rows of step "eks-node"), and its scriptlets do what
# a hand-run install would have to repeat (the presets on the first install, the journal
# catalog, systemd's reload where systemd runs). Nothing is compiled on the image: no compiler,
# no -devel package, no source tree (tests/packer/no_compile.py).
#
# The VM test image skips this step (EKS_SKIP): its harness installs the build under test at
# every boot (tests/vm/README.md).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

package=${EKS_NODE_PACKAGE:?EKS_NODE_PACKAGE is not set (the eks-node package built from the commit: packaging/build.py)}
pkg_install_file "$package"
# what the package installed runs here, and says which build it is
/usr/bin/eks-node --version >&2
