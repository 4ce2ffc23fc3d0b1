// SPDX-License-Identifier: Apache-2.0
// File primitives: every write is atomic and carries an explicit mode.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unistd.h>

#include "core/paths.hpp"

namespace eksnode {

// A file descriptor closed on scope exit.
struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

// Reads from fd until end of file or `limit` bytes, whichever comes first,
// retrying EINTR: ask for one byte more than you accept to learn that there
// is more, without reading on (the file may be a pipe that never ends).
// Throws std::system_error with the read's errno.
std::string read_at_most(int fd, size_t limit);

// Reads a whole file. Throws Error naming the path on failure.
std::string read_file(const fs::path& p);
// Like read_file, but an absent file is std::nullopt (other errors still throw).
std::optional<std::string> read_file_if_exists(const fs::path& p);

// Confines every later write of this process (write_file_atomic, remove_file,
// and the writers that call check_confined) to `root`: `eks-node render
// --root=DIR` and a step run with --root=DIR write a node's tree, and a
// symlink in it (DIR/etc/eks -> /tmp/elsewhere, an image's absolute link)
// must not carry a write out of DIR. Not called for the host's own root; an
// empty `root` lifts the confinement.
void confine_writes_to(const fs::path& root);

// Throws ConfigError naming `p` when its directory, every symlink in it
// followed, is not inside the root confine_writes_to() named (nothing is
// written then). No-op without one.
void check_confined(const fs::path& p);

enum class WriteResult { unchanged, written };

// Whether `p` is a regular file holding exactly `data` with `mode`: what
// write_file_atomic() leaves alone, asked without writing (a dry run).
bool file_holds(const fs::path& p, std::string_view data, mode_t mode);

// Writes `data` to `p` atomically: temp file in the same directory, fsync,
// fchmod(mode), rename over the target, fsync the directory. Parent
// directories are created (0755). If the file already holds exactly `data`
// with `mode`, nothing is touched and `unchanged` is returned, so re-running a
// step leaves mtimes alone and consumers are restarted only on real changes.
// Either way, the temp files a killed earlier write of `p` left behind are
// removed first (remove_stale_temp_files).
WriteResult write_file_atomic(const fs::path& p, std::string_view data, mode_t mode);

// Removes a file we own if present (used when an output is no longer wanted,
// e.g. the kubelet drop-in after the user removed kubelet.config), and the
// temp files a killed write of it left behind.
WriteResult remove_file(const fs::path& p);

// The temp file write_file_atomic writes `p` through is
// ".NAME.eks-node-tmp.XXXXXX" beside it (NAME = p's file name, X = mkstemp's
// [A-Za-z0-9]): hidden, never ending in a suffix a consumer's directory scan
// picks up (.conf, .toml, .json), and marked as ours.
inline constexpr std::string_view temp_file_marker = ".eks-node-tmp.";
bool is_temp_file_of(std::string_view candidate, std::string_view name);

// Removes the temp files of `p` in its directory: only names matching
// is_temp_file_of(., p's file name), so another output's, a user's or another
// program's files stay. Best effort: a directory that cannot be listed or a
// file that cannot be removed is left as it is (the write that follows reports
// its own errors). Returns how many were removed.
size_t remove_stale_temp_files(const fs::path& p);

}  // namespace eksnode
