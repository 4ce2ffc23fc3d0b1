// SPDX-License-Identifier: Apache-2.0
// eks-node-telemetry: the boot's step times and network counts as Prometheus
// metrics. See eks-node-telemetry(8).
#include "cli/commands.hpp"

int main(int argc, char** argv) {
    return eksnode::run_step(argc, argv, eksnode::cli::telemetry_spec, eksnode::cli::telemetry);
}
