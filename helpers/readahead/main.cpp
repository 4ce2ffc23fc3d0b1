// SPDX-License-Identifier: Apache-2.0
// eks-node-readahead: the join's files read into the page cache at boot.
// See eks-node-readahead(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) { return eksnode::steps::readahead_main(argc, argv); }
