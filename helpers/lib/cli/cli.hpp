// SPDX-License-Identifier: Apache-2.0
// The operator CLI `eks-node`: one executable, subcommands. See eks-node(1).
#pragma once

namespace eksnode::cli {

int cli_main(int argc, char** argv);

}  // namespace eksnode::cli
