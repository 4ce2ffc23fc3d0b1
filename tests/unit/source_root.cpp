// SPDX-License-Identifier: Apache-2.0
// The source tree's path, and the fake IMDS's in the build tree, compiled into this file
// alone. As a -D on every unit test file the first made each of them miss ccache in every fresh clone (CCACHE_BASEDIR
// rewrites paths in -I, not in a macro's value): 40 compiles, about 2 minutes of a warm CI run's build and more in the
// sanitizer build. This file is the one that misses now, so it includes no more than it needs (<filesystem>, not
// fixtures.hpp's JSON and logging), and fixtures.hpp declares it.
#include <filesystem>

namespace eksnode::test {

std::filesystem::path source_root() { return std::filesystem::path(EKS_NODE_SOURCE_ROOT); }

// The build's tests/fake-imds/fake-imds (imds/fake_imds.hpp declares it).
std::filesystem::path fake_imds_program() { return std::filesystem::path(EKS_NODE_FAKE_IMDS); }

}  // namespace eksnode::test
