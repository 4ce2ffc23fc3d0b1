// SPDX-License-Identifier: Apache-2.0
#include "core/fsutil.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

void write_all(int fd, std::string_view data, const fs::path& p) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("{}: write failed: {}", p.string(), errno_text(errno)));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

namespace {

fs::path g_write_root;  // canonical; empty: writes anywhere (the host)

}  // namespace

void confine_writes_to(const fs::path& root) {
    if (root.empty()) {
        g_write_root.clear();
        return;
    }
    std::error_code ec;
    fs::path c = fs::canonical(root, ec);
    g_write_root = ec ? fs::absolute(root).lexically_normal() : c;
}

void check_confined(const fs::path& p) {
    if (g_write_root.empty()) return;
    // The directory as the kernel will resolve it for the write: every
    // existing component through its symlinks, the rest (made by the write)
    // as written. A component that does not resolve is left to the write,
    // which reports its own error.
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::absolute(p).parent_path(), ec);
    if (ec) return;
    auto [in_root, in_dir] = std::mismatch(g_write_root.begin(), g_write_root.end(), dir.begin(), dir.end());
    if (in_root == g_write_root.end()) return;
    throw ConfigError(p.string(), "",
                      fmt::format("its directory resolves to {}, outside the root {} (a symlink under the root "
                                  "points out of it): not written",
                                  dir.string(), g_write_root.string()));
}

std::string read_at_most(int fd, size_t limit) {
    std::string out(limit, '\0');
    size_t have = 0;
    while (have < out.size()) {
        ssize_t n = ::read(fd, out.data() + have, out.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
        if (n == 0) break;
        have += static_cast<size_t>(n);
    }
    out.resize(have);
    return out;
}

std::optional<std::string> read_file_if_exists(const fs::path& p) {
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw Error(fmt::format("{}: cannot open: {}", p.string(), errno_text(errno)));
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("{}: read failed: {}", p.string(), errno_text(errno)));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const fs::path& p) {
    auto s = read_file_if_exists(p);
    if (!s) throw Error(fmt::format("{}: no such file", p.string()));
    return *s;
}

bool is_temp_file_of(std::string_view candidate, std::string_view name) {
    // "." NAME marker XXXXXX, exactly: a user's ".NAME.eks-node-tmp.bak" or
    // another output's temp file does not match
    if (!candidate.starts_with('.')) return false;
    candidate.remove_prefix(1);
    if (!candidate.starts_with(name)) return false;
    candidate.remove_prefix(name.size());
    if (!candidate.starts_with(temp_file_marker)) return false;
    candidate.remove_prefix(temp_file_marker.size());
    return candidate.size() == 6 && std::all_of(candidate.begin(), candidate.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
           });
}

size_t remove_stale_temp_files(const fs::path& p) {
    // Why removing them cannot hurt a live write: every output has one owner
    // (the step that renders it, or the CLI command that writes it), systemd
    // runs one job of a unit at a time, and the two steps that share an
    // output (default.env: eks-node-kubelet and eks-node-containerd) are
    // ordered one after the other (After=), so no other writer of the same
    // file runs while a step does. Even an overlapping hand-run writer could
    // only lose its temp file: its rename then fails with ENOENT and it
    // reports the error, the target stays whole.
    const std::string name = p.filename().string();
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    DIR* d = ::opendir(dir.c_str());
    if (!d) return 0;  // absent (first write) or unreadable: nothing we can clean
    size_t removed = 0;
    while (const dirent* e = ::readdir(d)) {
        if (!is_temp_file_of(e->d_name, name)) continue;
        // unlinkat on the listed directory: the names come from it
        if (::unlinkat(::dirfd(d), e->d_name, 0) == 0) ++removed;
    }
    ::closedir(d);
    return removed;
}

bool file_holds(const fs::path& p, std::string_view data, mode_t mode) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode ||
        static_cast<size_t>(st.st_size) != data.size())
        return false;
    const std::optional<std::string> cur = read_file_if_exists(p);
    return cur && *cur == data;
}

WriteResult write_file_atomic(const fs::path& p, std::string_view data, mode_t mode) {
    // A step killed between mkstemp and rename (SIGKILL, OOM, power loss)
    // leaves its temp file; the next write of the same output clears it,
    // whether or not the output itself changes.
    check_confined(p);
    remove_stale_temp_files(p);

    if (file_holds(p, data, mode)) return WriteResult::unchanged;

    const fs::path dir = p.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));

    // Built by append: GCC 12 at -O3 raises a false -Wrestrict on operator+ chains.
    std::string name(".");
    name.append(p.filename().string()).append(temp_file_marker).append("XXXXXX");
    std::string tmpl = (dir / name).string();
    Fd f{::mkostemp(tmpl.data(), O_CLOEXEC)};
    if (f.fd < 0) throw Error(fmt::format("{}: cannot create temporary file: {}", dir.string(), errno_text(errno)));
    try {
        write_all(f.fd, data, p);
        if (::fchmod(f.fd, mode) != 0)
            throw Error(fmt::format("{}: chmod failed: {}", p.string(), errno_text(errno)));
        if (::fsync(f.fd) != 0)
            throw Error(fmt::format("{}: fsync failed: {}", p.string(), errno_text(errno)));
        if (::rename(tmpl.c_str(), p.c_str()) != 0)
            throw Error(fmt::format("{}: rename failed: {}", p.string(), errno_text(errno)));
    } catch (...) {
        ::unlink(tmpl.c_str());
        throw;
    }
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd >= 0) ::fsync(d.fd);  // best effort: the rename is already visible
    return WriteResult::written;
}

WriteResult remove_file(const fs::path& p) {
    check_confined(p);
    remove_stale_temp_files(p);
    // Absent is done, even where the directory cannot be written (a drop-in's
    // ProtectSystem=strict answers unlink with EROFS before looking).
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 && errno == ENOENT) return WriteResult::unchanged;
    if (::unlink(p.c_str()) == 0) return WriteResult::written;
    if (errno == ENOENT) return WriteResult::unchanged;
    throw Error(fmt::format("{}: cannot remove: {}", p.string(), errno_text(errno)));
}

}  // namespace eksnode
