// Subcommands of the operator CLI that live in their own files (internal to cli/).
#pragma once

#include <string>
#include <vector>

namespace eksnode::cli {

// `eks-node max-pods`: the AL2 max-pods-calculator.sh, same options, same numbers.
int max_pods_cmd(const std::vector<std::string>& args);
extern const char* const max_pods_help;

// `eks-node bootstrap-sh -- CLUSTER [FLAGS]`: what /etc/eks/bootstrap.sh runs.
int bootstrap_sh_cmd(const std::vector<std::string>& args);
extern const char* const bootstrap_sh_help;

}  // namespace eksnode::cli
