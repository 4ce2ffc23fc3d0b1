// Shared by the render tests: a temporary node root and the golden fixtures.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"

namespace render_test {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "eksnode-render-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

inline fs::path source_path(const std::string& rel) { return fs::path(EKS_NODE_SOURCE_ROOT) / rel; }

inline eksnode::json load_json(const std::string& rel) {
    return eksnode::json::parse(eksnode::read_file(source_path(rel)));
}

// config.json of the conformance instance (m4.xlarge, 2 CPUs, kubelet 1.29,
// containerd 1.7) without kubelet.config: the base the unit tests vary.
inline eksnode::json base_config() { return load_json("tests/golden/ca/01-cluster-ca/input/config.json"); }

}  // namespace render_test
