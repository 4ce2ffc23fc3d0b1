// SPDX-License-Identifier: Apache-2.0
// Shared by the render tests: a temporary node root and the golden fixtures.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "fixtures.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"

namespace render_test {

namespace fs = std::filesystem;

// A temporary directory; `.path` is its location.
struct TempDir : eksnode::test::TempRoot {
    const fs::path& path = dir;
};

using eksnode::test::source_path;

using eksnode::test::load_json;

// config.json of the conformance instance (m4.xlarge, 2 CPUs, kubelet 1.29,
// containerd 1.7) without kubelet.config: the base the unit tests vary.
inline eksnode::json base_config() { return load_json("tests/golden/ca/01-cluster-ca/input/config.json"); }

// cfg with the machine's kubelet and containerd versions set: the renderers' switches
inline eksnode::json with_version(eksnode::json cfg, const std::string& kubelet,
                                  const std::string& containerd = "1.7.27") {
    cfg["machine"]["kubeletVersion"] = kubelet;
    cfg["machine"]["containerdVersion"] = containerd;
    return cfg;
}

using eksnode::test::mode_of;

}  // namespace render_test
