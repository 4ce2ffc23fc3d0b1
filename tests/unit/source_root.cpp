// SPDX-License-Identifier: Apache-2.0
// The source tree's path, compiled into this file alone. As a -D on every unit test file it
// made each of them miss ccache in every fresh clone (CCACHE_BASEDIR rewrites paths in -I,
// not in a macro's value): 40 compiles, about 2 minutes of a warm CI run's build and more in
// the sanitizer build. This file is the one that misses now.
#include "fixtures.hpp"

namespace eksnode::test {

fs::path source_root() { return fs::path(EKS_NODE_SOURCE_ROOT); }

}  // namespace eksnode::test
