// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace eksnode {

// eks-node's version, from git when the build ran (tools/version.py says the form): the
// string `--version` prints, the packages' version, and the User-Agent's. A variable in one
// generated object, not a -D on every compile: each commit changes it, and only that object
// is compiled again (and the binaries relinked), where a define would miss every cache entry.
extern const char version[];

}  // namespace eksnode
