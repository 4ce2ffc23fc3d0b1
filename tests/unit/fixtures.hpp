// SPDX-License-Identifier: Apache-2.0
// Fixtures every area's unit tests share: a temporary node root, paths into
// the source tree, and the conformance instance as eks-node-imds writes it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"
#include "core/table.hpp"

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

// `s` n times over: inputs at and past a parser's limits.
inline std::string repeat(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

// The source tree (source_root.cpp).
fs::path source_root();
inline fs::path source_path(std::string_view rel) { return source_root() / rel; }

inline json load_json(std::string_view rel) { return json::parse(read_file(source_path(rel))); }

// A file's permission bits; a file that is not there is an error, not mode 0
inline mode_t mode_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) throw std::runtime_error("mode_of: cannot stat " + p.string());
    return st.st_mode & 07777;
}

// A certificate or key of tests/data/certificates/ (their README says how each was made)
inline std::string certificate_fixture(std::string_view name) {
    return read_file(source_path("tests/data/certificates/" + std::string(name)));
}

// The rows of a compatibility table under tests/ (tab-separated; # comments
// and blank lines skipped; the first row, its header, left out), each split
// into its columns (core/table.hpp). A row with another number of columns than
// `columns` is a broken table: an Error naming the line.
inline std::vector<std::vector<std::string>> tsv_rows(std::string_view rel, size_t columns) {
    const std::string text = read_file(source_path(rel));
    std::vector<std::vector<std::string>> rows;
    for (table::Row& row : table::rows(text, rel, columns)) rows.push_back(std::move(row.cells));
    if (!rows.empty()) rows.erase(rows.begin());  // the header
    return rows;
}

// What `fn` logs at `level` and above: the text of stderr, where log lines
// go outside the journal, while it ran.
template <typename F>
std::string logged_at(log::Level level, F fn) {
    const log::Level was = log::level();
    log::set_level(level);
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    if (!tmp) throw std::runtime_error("tmpfile failed");
    int saved = ::dup(2);
    ::dup2(::fileno(tmp), 2);
    fn();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    log::set_level(was);
    std::string out;
    std::rewind(tmp);
    for (int c; (c = std::fgetc(tmp)) != EOF;) out += static_cast<char>(c);
    std::fclose(tmp);
    return out;
}

// instance.json of tests/conformance/instance (m4.xlarge in us-west-2f).
inline json conformance_instance() { return load_json("tests/unit/conformance-instance.json"); }

}  // namespace eksnode::test
