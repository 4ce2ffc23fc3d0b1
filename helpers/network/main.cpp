// SPDX-License-Identifier: Apache-2.0
// eks-node-network: configure one EC2 network interface for systemd-networkd,
// or leave it to the VPC CNI. See eks-node-network(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::network_spec, eksnode::steps::network);
}
