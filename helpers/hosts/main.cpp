// SPDX-License-Identifier: Apache-2.0
// eks-node-hosts: the Outposts API server's addresses in /etc/hosts.
// See eks-node-hosts(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::hosts_spec, eksnode::steps::hosts);
}
