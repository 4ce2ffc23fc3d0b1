// SPDX-License-Identifier: Apache-2.0
// eks-node-ca: /etc/kubernetes/pki/ca.crt from the resolved configuration.
// See eks-node-ca(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::ca_spec, eksnode::steps::ca);
}
