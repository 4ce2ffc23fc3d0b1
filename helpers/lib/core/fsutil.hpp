// File primitives: every write is atomic and carries an explicit mode.
#pragma once

#include <optional>
#include <string>
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

// Reads a whole file. Throws Error naming the path on failure.
std::string read_file(const fs::path& p);
// Like read_file, but an absent file is std::nullopt (other errors still throw).
std::optional<std::string> read_file_if_exists(const fs::path& p);

enum class WriteResult { unchanged, written };

// Writes `data` to `p` atomically: temp file in the same directory, fsync,
// fchmod(mode), rename over the target, fsync the directory. Parent
// directories are created (0755). If the file already holds exactly `data`
// with `mode`, nothing is touched and `unchanged` is returned, so re-running a
// step leaves mtimes alone and consumers are restarted only on real changes.
WriteResult write_file_atomic(const fs::path& p, std::string_view data, mode_t mode);

// Removes a file we own if present (used when an output is no longer wanted,
// e.g. the kubelet drop-in after the user removed kubelet.config).
WriteResult remove_file(const fs::path& p);

}  // namespace eksnode
