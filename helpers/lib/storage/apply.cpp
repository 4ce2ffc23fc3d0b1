// SPDX-License-Identifier: Apache-2.0
#include "storage/apply.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/text.hpp"
#include "storage/storage.hpp"

namespace eksnode::storage {

namespace {

using namespace std::chrono_literals;

// udev makes /dev/md/eks-node and the by-id links a moment after the kernel
// has the device; on EC2 that is milliseconds, this is a generous bound.
constexpr auto link_timeout = 30s;

std::string errno_text() { return std::strerror(errno); }

std::string joined(const std::vector<std::string>& v, std::string_view sep = " ") { return fmt::format("{}", fmt::join(v, sep)); }

}  // namespace

namespace detail {

// What a tool said, on one line: its lines joined, cut at 400 bytes. Not
// just the first line: mkfs.xfs prints its warnings before the error.
std::string first_line(const std::string& s) {
    std::string out;
    std::string_view rest = trim_line(s);
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = trim_line(rest.substr(0, nl));
        rest = nl == rest.npos ? std::string_view() : rest.substr(nl + 1);
        if (line.empty()) continue;
        if (!out.empty()) out += " / ";
        out += line;
    }
    if (out.size() > 400) out = out.substr(0, 400) + "...";
    return out;
}

// Runs a tool that must succeed; the error names the command and what it said.
Command must_run(const std::vector<std::string>& argv) {
    Command c = run_command(argv);
    if (c.status != 0)
        throw Error(fmt::format("`{}` failed (exit {}): {}", joined(argv), c.status,
                                first_line(c.err.empty() ? c.out : c.err)));
    return c;
}

}  // namespace detail

namespace {

using detail::first_line;
using detail::must_run;

// blkid -p: a low-level probe of the device itself, not blkid's cache, that
// knows every filesystem, partition table, RAID and LVM signature libblkid
// does (hundreds). Reading a few magic numbers ourselves would miss the rest,
// and a miss here means formatting over someone's data.
Probe probe(const std::string& device) {
    Command c = run_command({std::string(tool::blkid.name), "-p", "-o", "export", device});
    try {
        return classify_probe(c.status, c.out);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: cannot probe for signatures: {}: {}", device, e.what(), first_line(c.err)));
    }
}

[[noreturn]] void refuse(const std::string& device, const std::string& what, std::string_view use) {
    throw ConfigError(device, "",
                      fmt::format("holds {}; eks-node-instance-store only formats blank disks, so it is not used {}. "
                                  "If its data is not needed, `wipefs -a {}` and restart eks-node-instance-store",
                                  what, use, device));
}

void wait_for(const std::string& path) {
    const auto start = std::chrono::steady_clock::now(), deadline = start + link_timeout;
    WaitNotice notice(start, deadline);
    std::error_code ec;
    while (!fs::exists(path, ec)) {
        const auto now = std::chrono::steady_clock::now();
        notice.retrying(now, path, "udev has not made it yet");
        if (now > deadline)
            throw Error(fmt::format("{}: did not appear within {}s (is udev running?)", path, link_timeout.count()));
        std::this_thread::sleep_for(50ms);
    }
}

// "active", "clean", "inactive", ... of the assembled array, or "" if none.
std::string array_state() {
    std::error_code ec;
    fs::path md = fs::read_symlink(array_device, ec);
    if (ec) return "";
    std::optional<std::string> s = read_file_if_exists(fs::path("/sys/block") / md.filename() / "md" / "array_state");
    return s ? std::string(trim_line(*s)) : "";
}

bool array_running() {
    std::string s = array_state();
    return !s.empty() && s != "inactive" && s != "clear";
}

// The array from the disks: running already, assembled from our members, or
// created from blank disks. Never anything else.
void ensure_array(const Layout& l, StepResult& result) {
    std::vector<std::string> members, blank;
    for (const Disk& d : l.disks) {
        Probe p = probe(d.device());
        if (p.content == Content::our_member) members.push_back(d.device());
        else if (p.content == Content::blank) blank.push_back(d.device());
        else refuse(d.device(), p.what, "for the array");
    }
    if (!members.empty() && !blank.empty())
        throw ConfigError(blank.front(), "",
                          fmt::format("is blank but {} belong to an {} array: refusing to guess which array this "
                                      "is. Wipe the members (`wipefs -a`) to build a new one",
                                      joined(members, ", "), array_name));

    if (!members.empty()) {
        if (array_running()) {
            log::debug("{} is assembled and running", array_device);
            result.add(array_device, WriteResult::unchanged);
            return;
        }
        // udev's incremental assembly may hold a partial, inactive array: start over.
        if (!array_state().empty()) must_run({std::string(tool::mdadm.name), "--stop", std::string(array_device)});
        std::vector<std::string> argv{std::string(tool::mdadm.name), "--assemble", std::string(array_device), "--run"};
        for (const std::string& m : members) argv.push_back(m);
        Command c = run_command(argv);
        if (c.status != 0 && !array_running())  // lost a race with udev's assembly: fine if it is running
            throw Error(fmt::format("`{}` failed (exit {}): {}", joined(argv), c.status, first_line(c.err)));
        log::info("assembled {} from {} after a reboot", array_device, joined(members, ", "));
    } else {
        std::string level = l.strategy == Strategy::raid10 ? "10" : "0";
        std::vector<std::string> argv{
            std::string(tool::mdadm.name), "--create", std::string(array_device), "--name=" + std::string(array_name),
            // the name is then stored as "any:eks-node": assembled as
            // /dev/md/eks-node on whatever host name the instance has
            "--homehost=any", "--metadata=1.2", "--level=" + level, fmt::format("--raid-devices={}", l.disks.size()),
            // no "Continue creating array?" question (stdin is /dev/null anyway)
            "--run"};
        for (const std::string& d : blank) argv.push_back(d);
        must_run(argv);
        log::info("created {} ({}) from {}", array_device, strategy_name(l.strategy), joined(blank, ", "));
    }
    result.add(array_device, WriteResult::written);
    wait_for(std::string(array_device));
}

}  // namespace

// udev probes a device again only on a uevent, and it does not watch md
// devices for writes (60-block.rules lists nvme, sd, vd...): without one,
// its database (findmnt's LABEL, /dev/disk/by-label) keeps the label it read
// between mkfs and xfs_admin until the next boot. A failure here changes
// nothing on the disk, so it is only a warning.
void detail::announce_change(const std::string& device) {
    std::error_code ec;
    fs::path real = fs::canonical(device, ec);
    std::string uevent = "/sys/class/block/" + real.filename().string() + "/uevent";
    FILE* f = ec ? nullptr : std::fopen(uevent.c_str(), "we");
    bool ok = f && std::fputs("change\n", f) >= 0;
    if (f && std::fclose(f) != 0) ok = false;
    if (!ok) log::warning("{}: could not ask udev to read its new label ({}): {}", device, uevent, errno_text());
}

namespace {

using detail::announce_change;

// XFS on the device unless it has it already; never over another signature.
void ensure_filesystem(const std::string& device, std::string_view use, StepResult& result) {
    Probe p = probe(device);
    if (p.content == Content::our_filesystem) {
        log::debug("{}: has our XFS filesystem", device);
        result.add(device, WriteResult::unchanged);
        return;
    }
    bool unfinished = p.content == Content::our_unfinished_filesystem;
    if (p.content != Content::blank && !unfinished) refuse(device, p.what, use);
    if (unfinished) log::warning("{}: an earlier mkfs did not finish ({}); making the filesystem again", device, p.what);
    // -K: instance-store disks come blank, so discarding every block first
    // would only add minutes on the large ones. -l su=8b: the log stripe unit
    // mkfs would take from the array (512k) exceeds the log's maximum (256k);
    // 32k is what mkfs falls back to anyway, without the warning (the
    // reference does the same).
    // -f: over our own unfinished attempt only (refused above otherwise)
    std::vector<std::string> mkfs = {std::string(tool::mkfs_xfs.name), "-q", "-K",   "-L",
                                     std::string(fs_label_unfinished), "-l", "su=8b"};
    if (unfinished) mkfs.emplace_back("-f");
    mkfs.push_back(device);
    must_run(mkfs);
    must_run({std::string(tool::xfs_admin.name), "-L", std::string(fs_label), device});
    announce_change(device);
    log::info("{}: made an XFS filesystem (label {})", device, fs_label);
    result.add(device, WriteResult::written);
}

// The first time a directory is bound, what it holds is copied onto the
// array, so the bind mount does not hide it (kubelet's kubeconfig, an image
// cache baked into the AMI). The copy goes to a temporary name and is renamed
// into place: a crash leaves either nothing or the whole copy.
void seed_binds(const Layout& l, StepResult& result) {
    detail::PrivateMount m(std::string(array_device), "xfs", "instance-store");

    std::error_code ec;
    for (const Bind& b : l.binds) {
        fs::path dst = fs::path(m.dir) / b.name;
        if (fs::exists(dst, ec)) {
            result.add(l.array_mount + "/" + b.name, WriteResult::unchanged);
            continue;
        }
        fs::path stage = fs::path(m.dir) / ("." + b.name + ".new");
        fs::remove_all(stage, ec);  // a crashed earlier copy
        if (fs::is_directory(b.where, ec)) {
            must_run({std::string(tool::cp.name), "-a", "-T", b.where, stage.string()});
            log::info("{}: copied what it held onto the instance-store array", b.where);
        } else {
            fs::create_directory(stage);
            fs::permissions(stage, fs::perms(0755));
        }
        fs::rename(stage, dst);
        result.add(l.array_mount + "/" + b.name, WriteResult::written);
    }
    m.sync();
}

}  // namespace

detail::PrivateMount::PrivateMount(const std::string& device, const std::string& type, std::string_view name) {
    // Our own mount namespace (once per process), so the temporary mount is
    // never seen outside this process and goes away with it, even if we are killed.
    static bool unshared = false;
    if (!unshared) {
        if (::unshare(CLONE_NEWNS) < 0) throw Error("unshare(CLONE_NEWNS): " + errno_text());
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
            throw Error("making / a slave mount: " + errno_text());
        unshared = true;
    }
    std::string tmpl = fmt::format("{}/{}.XXXXXX", path::run_dir, name);
    if (!::mkdtemp(tmpl.data())) throw Error(fmt::format("{}: mkdtemp: {}", tmpl, errno_text()));
    dir = tmpl;
    if (::mount(device.c_str(), dir.c_str(), type.c_str(), MS_NOATIME | MS_NOSUID | MS_NODEV, nullptr) < 0) {
        std::string why = errno_text();
        ::rmdir(dir.c_str());
        throw Error(fmt::format("mounting {} on {}: {}", device, dir, why));
    }
}

detail::PrivateMount::~PrivateMount() {
    ::umount2(dir.c_str(), MNT_DETACH);
    ::rmdir(dir.c_str());
}

void detail::PrivateMount::sync() const {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::syncfs(fd);
        ::close(fd);
    }
}

Command run_command(const std::vector<std::string>& argv) {
    // 1 MiB of each stream: mdadm and blkid say a few lines, and only the
    // first line of an error reaches a message
    ProcessResult p = run_process(argv);
    Command c;
    if (!p.started) {
        c.err = fmt::format("cannot run {}: {}", argv.empty() ? "" : argv[0], std::strerror(p.spawn_error));
        return c;
    }
    c.status = p.exited ? p.exit_status : -1;
    c.out = std::move(p.out);
    c.err = std::move(p.err);
    return c;
}

StepResult apply_layout(const Layout& l) {
    StepResult result;
    if (l.strategy == Strategy::mount) {
        for (const Disk& d : l.disks) {
            ensure_filesystem(d.device(), "for a mount", result);
            wait_for(d.by_id());  // what its .mount unit names
        }
        return result;
    }
    ensure_array(l, result);
    ensure_filesystem(std::string(array_device), "as the array's filesystem", result);
    seed_binds(l, result);
    return result;
}

}  // namespace eksnode::storage
