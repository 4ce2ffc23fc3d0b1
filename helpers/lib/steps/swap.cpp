// SPDX-License-Identifier: Apache-2.0
// eks-node-swap: settings.swap's file made (allocated, 0600, mkswap) where
// config.json's derived.swap says, or a file of an earlier configuration
// switched off and removed. The generated .swap unit enables it (systemd's
// own swapon), ordered after this step and before kubelet. See eks-node-swap(8).
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"
#include "core/process.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"
#include "imds/values.hpp"
#include "steps/steps.hpp"
#include "storage/storage.hpp"

namespace eksnode::steps {

// Nothing reads the file at start but its .swap unit, which the generator
// orders after this step: no consumer to restart.
const StepSpec swap_spec{"swap", "make or remove settings.swap's swap file"};

namespace {

constexpr std::string_view swap_magic = "SWAPSPACE2";  // the last 10 bytes of mkswap's first page

std::string errno_text(int e) { return std::strerror(e); }

// /proc/swaps' names (octal escapes for blanks, as the kernel writes them).
bool is_active(const Paths& paths, const std::string& file) {
    std::ifstream in(paths.of("/proc/swaps"));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::string name = line.substr(0, line.find_first_of(" \t"));
        std::string decoded;
        for (std::size_t i = 0; i < name.size(); ++i) {
            if (name[i] == '\\' && i + 3 < name.size()) {
                decoded += static_cast<char>(std::stoi(name.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                decoded += name[i];
            }
        }
        if (decoded == file) return true;
    }
    return false;
}

// Switched off by the kernel (systemd's .swap unit then goes inactive); only
// on the host: under --root the file is no swap of this machine's.
void switch_off(const Paths& paths, const std::string& file) {
    if (!is_active(paths, file)) return;
    if (!paths.is_host()) {
        log::info("{} is active swap: it would be switched off (not on the host: skipped)", file);
        return;
    }
    log::info("{}: switching the swap file off", file);
    if (::swapoff(file.c_str()) != 0)
        throw Error(fmt::format("{}: swapoff: {} (its pages may not fit in memory; retry later or reboot)", file,
                                errno_text(errno)));
}

// Whether `p` is a finished swap file of `bytes`: that size, 0600, mkswap's
// signature. Anything else is made again.
bool is_ready(const fs::path& p, std::uint64_t bytes) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if (static_cast<std::uint64_t>(st.st_size) != bytes || (st.st_mode & 07777) != 0600) return false;
    const long page = ::sysconf(_SC_PAGESIZE);
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) return false;
    char magic[10];
    if (::pread(fd.fd, magic, sizeof magic, page - static_cast<long>(sizeof magic)) !=
        static_cast<ssize_t>(sizeof magic))
        return false;
    return std::string_view(magic, sizeof magic) == swap_magic;
}

// What the file system keeps free beside a swap file: 64 MiB or 1/20 of
// it, whichever is more, on top of what it reserves for root (statvfs's
// f_bavail leaves that out already). A node whose root file system is full
// fails in ways far from the swap file: journald, containerd's snapshots,
// kubelet's image GC; the swap file is the one write here that can fill it.
std::uint64_t free_margin(std::uint64_t fs_bytes) { return std::max<std::uint64_t>(64u << 20, fs_bytes / 20); }

// Refuses, before a block is taken, a size the file system cannot hold with
// its margin free: without fallocate the zeros were written until the file
// system was full (and ext4's fallocate can take blocks before it fails with
// ENOSPC). A size over the whole file system is the configuration's fault
// (ConfigError naming settings.swap.size, exit 6); one over what is free now
// is the node's state (Error, exit 1): waiting does not free the space, so it
// is not temporary, and settings.onFailure should act on it. `old_bytes`: the
// blocks of the file this one replaces, freed by the rename.
void check_room(int fd, const fs::path& p, std::uint64_t bytes, std::uint64_t old_bytes, const std::string& source) {
    struct statvfs v {};
    if (::fstatvfs(fd, &v) != 0) throw Error(fmt::format("{}: statvfs: {}", p.string(), errno_text(errno)));
    const std::uint64_t unit = v.f_frsize ? v.f_frsize : v.f_bsize;
    const std::uint64_t total = static_cast<std::uint64_t>(v.f_blocks) * unit;
    const std::uint64_t avail = static_cast<std::uint64_t>(v.f_bavail) * unit + old_bytes;
    const std::uint64_t margin = free_margin(total);
    const std::string dir = p.parent_path().string();
    if (bytes + margin > total)
        throw ConfigError(source, "settings.swap.size",
                          fmt::format("a swap file of {} MiB does not fit on the file system of {} ({} MiB, of which "
                                      "{} MiB stay free): choose at most {} MiB",
                                      bytes >> 20, dir, total >> 20, margin >> 20,
                                      total > margin ? (total - margin) >> 20 : 0));
    if (bytes + margin > avail)
        throw Error(
            fmt::format("{}: a swap file of {} MiB needs {} MiB free there ({} MiB kept free), {} MiB are: "
                        "not made",
                        p.string(), bytes >> 20, (bytes + margin) >> 20, margin >> 20, avail >> 20));
}

// Blocks for the whole size, with no hole (swapon refuses holes): fallocate
// where the file system has it for swap files (ext4, XFS; btrfs with NOCOW
// set before the first block), else zeros written out, as dd would.
void allocate(int fd, const fs::path& p, std::uint64_t bytes) {
    struct statfs sfs {};
    if (::fstatfs(fd, &sfs) != 0) throw Error(fmt::format("{}: statfs: {}", p.string(), errno_text(errno)));
    const auto type = static_cast<unsigned long>(sfs.f_type);
    if (type == TMPFS_MAGIC || type == OVERLAYFS_SUPER_MAGIC || type == NFS_SUPER_MAGIC)
        throw Error(fmt::format("{}: its file system (magic {:#x}: tmpfs, overlayfs or NFS) cannot hold a swap file",
                                p.parent_path().string(), type));
    if (type == BTRFS_SUPER_MAGIC) {
        int flags = 0;
        if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
            flags |= FS_NOCOW_FL;
            if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0)
                throw Error(
                    fmt::format("{}: cannot set NOCOW, which btrfs needs for swap: {}", p.string(), errno_text(errno)));
        }
    }
    if (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) == 0) return;
    if (errno != EOPNOTSUPP)
        throw Error(fmt::format("{}: fallocate of {} MiB: {}", p.string(), bytes >> 20, errno_text(errno)));
    log::info("{}: the file system has no fallocate: writing {} MiB of zeros", p.string(), bytes >> 20);
    const std::string zeros(std::size_t{1} << 20, '\0');
    for (std::uint64_t done = 0; done < bytes; done += zeros.size())
        if (::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size()))
            throw Error(fmt::format("{}: writing zeros: {}", p.string(), errno_text(errno)));
}

// The file, made beside its final name and renamed into place once mkswap
// has succeeded: a cut-off run leaves no file the .swap unit would enable.
WriteResult make_swap_file(const Paths& paths, const std::string& file, long mib, bool on_instance_store,
                           const std::string& source) {
    const fs::path p = paths.of(file);
    const std::uint64_t bytes = static_cast<std::uint64_t>(mib) << 20;
    remove_stale_temp_files(p);
    if (is_ready(p, bytes)) return WriteResult::unchanged;
    const fs::path dir = p.parent_path();
    if (on_instance_store) {
        // the array's (or first disk's) mount, not the directory under it
        struct stat d {
        }, up{};
        if (::stat(dir.c_str(), &d) != 0 || ::stat(dir.parent_path().c_str(), &up) != 0 || d.st_dev == up.st_dev)
            throw Error(fmt::format("{}: no instance-store file system is mounted there (eks-node-instance-store(8))",
                                    dir.string()));
    }
    switch_off(paths, file);
    check_confined(p);
    fs::create_directories(dir);
    std::string tmp = (dir / fmt::format(".{}{}XXXXXX", p.filename().string(), temp_file_marker)).string();
    Fd fd(::mkstemp(tmp.data()));
    if (fd.fd < 0) throw Error(fmt::format("{}: cannot create a file: {}", dir.string(), errno_text(errno)));
    try {
        if (::fchmod(fd.fd, 0600) != 0) throw Error(fmt::format("{}: chmod: {}", tmp, errno_text(errno)));
        struct stat old {};
        const std::uint64_t old_bytes =
            ::lstat(p.c_str(), &old) == 0 && S_ISREG(old.st_mode) ? static_cast<std::uint64_t>(old.st_blocks) * 512 : 0;
        check_room(fd.fd, p, bytes, old_bytes, source);
        allocate(fd.fd, p, bytes);
        if (::fsync(fd.fd) != 0) throw Error(fmt::format("{}: fsync: {}", tmp, errno_text(errno)));
        ProcessResult r = run_process({"mkswap", "--label", "eks-node", tmp});
        if (!r.succeeded())
            throw Error(fmt::format("mkswap {}: {}", tmp, r.started ? r.err : errno_text(r.spawn_error)));
        if (::fsync(fd.fd) != 0) throw Error(fmt::format("{}: fsync: {}", tmp, errno_text(errno)));
        if (::rename(tmp.c_str(), p.c_str()) != 0)
            throw Error(fmt::format("{}: rename: {}", p.string(), errno_text(errno)));
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.fd >= 0) ::fsync(dfd.fd);
    log::info("{}: swap file of {} MiB made (0600, mkswap)", file, mib);
    return WriteResult::written;
}

// A file of an earlier configuration (another location, or none now): off and gone.
WriteResult remove_swap_file(const Paths& paths, const std::string& file) {
    const fs::path p = paths.of(file);
    remove_stale_temp_files(p);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(p, ec))) return WriteResult::unchanged;
    switch_off(paths, file);
    if (::unlink(p.c_str()) != 0) throw Error(fmt::format("{}: cannot remove: {}", p.string(), errno_text(errno)));
    log::info("{}: swap file removed (settings.swap no longer names it)", file);
    return WriteResult::written;
}

// The instance-store file the record names ("" for none, or a line that is
// not an absolute path: an admin's edit, passed over with a warning).
std::string recorded_file(const Paths& paths) {
    std::optional<std::string> text = read_file_if_exists(paths.of(path::swap_record));
    if (!text) return "";
    std::string file(trim_line(*text));
    if (file.starts_with('/') && file.find('\n') == std::string::npos) return file;
    log::warning("{}: {} is not a file's path, ignoring", path::swap_record, imds::value::shown(file));
    return "";
}

// Where settings.swap may have put a file: the root's, the instance-store one
// of this configuration's mount path, and the one the record names (made
// under an earlier mount path).
std::vector<std::string> candidate_files(const json& cfg, const std::string& recorded) {
    std::vector<std::string> files{std::string(path::swap_file)};
    std::string mount(storage::default_mount_path);
    if (const json* m = path_in(cfg, {"spec", "instance", "localStorage", "mountPath"}); m && m->is_string())
        mount = m->get<std::string>();
    files.push_back(fmt::format("{}/0/{}", mount, path::swap_file_name));
    if (!recorded.empty() && std::find(files.begin(), files.end(), recorded) == files.end()) files.push_back(recorded);
    return files;
}

}  // namespace

StepResult swap(const StepOptions& opts) {
    const json cfg = load_config_json(opts);
    StepResult r;
    std::string wanted;
    if (const json* s = path_in(cfg, {"derived", "swap"}); s && s->is_object()) {
        wanted = s->at("file").get<std::string>();
        // the generator writes NAME.swap for it: a file it could not name is
        // refused before anything is made, as eks-node-config refuses it
        // (the failure holds kubelet back; without it kubelet would run with
        // failSwapOn = false and no swap)
        std::string problem = syntax::unit::path_problem(wanted);
        if (problem.empty()) problem = storage::unit_name_problem(wanted, ".swap");
        if (!problem.empty())
            throw ConfigError(opts.config_path.empty() ? std::string(path::config_json) : opts.config_file().string(),
                              "derived.swap.file", problem);
        const long mib = s->at("sizeMiB").get<long>();
        const bool on_instance_store = wanted != path::swap_file;
        // the file that set settings.swap.size, as config.json's origins recorded it
        std::string source(path::config_json);
        if (const json* o = path_in(cfg, {"origins", "/settings/swap/size"}); o && o->is_string())
            source = o->get<std::string>();
        // recorded before the file is made: a run cut off in between leaves
        // a record of a file that is not there, which costs the next boot
        // one run of this step and nothing else
        if (on_instance_store)
            r.add(opts.paths.of(path::swap_record),
                  write_file_atomic(opts.paths.of(path::swap_record), wanted + "\n", 0644));
        r.add(opts.paths.of(wanted), make_swap_file(opts.paths, wanted, mib, on_instance_store, source));
    }
    const std::string recorded = recorded_file(opts.paths);
    for (const std::string& f : candidate_files(cfg, recorded))
        if (f != wanted) r.add(opts.paths.of(f), remove_swap_file(opts.paths, f));
    // Last, once its file is gone: the record of a file no longer wanted.
    if ((wanted.empty() || wanted == path::swap_file) && fs::exists(opts.paths.of(path::swap_record)))
        r.add(opts.paths.of(path::swap_record), remove_file(opts.paths.of(path::swap_record)));
    if (wanted.empty()) log::info("no settings.swap: no swap file");
    return r;
}

}  // namespace eksnode::steps
