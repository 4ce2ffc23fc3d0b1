#include "core/fsutil.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

WriteResult write_file_atomic(const fs::path& p, std::string_view data, mode_t mode) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
        static_cast<size_t>(st.st_size) == data.size()) {
        if (auto cur = read_file_if_exists(p); cur && *cur == data) return WriteResult::unchanged;
    }

    const fs::path dir = p.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));

    // Built by append: GCC 12 at -O3 raises a false -Wrestrict on operator+ chains.
    std::string name(".");
    name.append(p.filename().string()).append(".XXXXXX");
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
    // Absent is done, even where the directory cannot be written (a drop-in's
    // ProtectSystem=strict answers unlink with EROFS before looking).
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 && errno == ENOENT) return WriteResult::unchanged;
    if (::unlink(p.c_str()) == 0) return WriteResult::written;
    if (errno == ENOENT) return WriteResult::unchanged;
    throw Error(fmt::format("{}: cannot remove: {}", p.string(), errno_text(errno)));
}

}  // namespace eksnode
