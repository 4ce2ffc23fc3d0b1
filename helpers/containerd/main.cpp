// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: containerd's config.toml and base runtime spec.
// See eks-node-containerd(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::containerd_spec, eksnode::steps::containerd);
}
