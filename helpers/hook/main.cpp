// SPDX-License-Identifier: Apache-2.0
// eks-node-hook: runs one hook of settings.hooks as its unit's main process.
// See eks-node-hook(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) { return eksnode::steps::hook_main(argc, argv); }
