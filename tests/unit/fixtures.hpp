// SPDX-License-Identifier: Apache-2.0
// Fixtures every area's unit tests share: a temporary node root, paths into
// the source tree, and the conformance instance as eks-node-imds writes it.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode::test {

// A fresh directory under $TMPDIR, removed with everything in it.
struct TempRoot {
    fs::path dir;
    TempRoot() {
        std::string tmpl = (fs::temp_directory_path() / "eksnode-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
    }
    ~TempRoot() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    TempRoot(const TempRoot&) = delete;
    TempRoot& operator=(const TempRoot&) = delete;

    Paths paths() const { return Paths(dir); }
    // Writes `text` at an absolute node path under this root.
    void write(std::string_view absolute, std::string_view text) const {
        write_file_atomic(paths().of(absolute), text, 0644);
    }
};

inline fs::path source_path(std::string_view rel) { return fs::path(EKS_NODE_SOURCE_ROOT) / rel; }

inline json load_json(std::string_view rel) { return json::parse(read_file(source_path(rel))); }

// instance.json of tests/conformance/instance (m4.xlarge in us-west-2f).
inline json conformance_instance() { return load_json("tests/unit/conformance-instance.json"); }

}  // namespace eksnode::test
