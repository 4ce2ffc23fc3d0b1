// SPDX-License-Identifier: Apache-2.0
// eks-node-ebs-volumes on the host: finds each volume's device, formats a
// blank one (copying what its targets held), links it for its .mount unit.
// See eks-node-ebs-volumes(8).
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "storage/apply.hpp"
#include "storage/ebs.hpp"

namespace eksnode::storage {

namespace {

using namespace std::chrono_literals;
using detail::must_run;

// A volume attached at launch is there when the step runs; one attached by
// a launch script or a controller after boot takes seconds to a minute to
// appear. After this the step exits 75 (systemd.exec(5): temporary).
constexpr auto device_timeout = 90s;

std::optional<std::string> attr(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    try {
        std::optional<std::string> t = read_file_if_exists(p);
        if (t) return std::string(trim_line(*t));
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

// The controller's Identify data (NVMe admin command 0x06, CNS 1): 4096 bytes.
std::string identify_controller(const std::string& controller) {
    int fd = ::open(controller.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    std::string buf(4096, '\0');
    nvme_admin_cmd cmd{};
    cmd.opcode = 0x06;
    cmd.addr = reinterpret_cast<uintptr_t>(buf.data());
    cmd.data_len = static_cast<uint32_t>(buf.size());
    cmd.cdw10 = 1;
    int rc = ::ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);
    ::close(fd);
    return rc == 0 ? buf : std::string();
}

// Whole NVMe namespaces with EBS's model, by kernel name.
std::vector<std::string> ebs_namespaces(const Paths& paths) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(paths.of("/sys/block"), ec)) {
        std::string name = e.path().filename().string();
        if (name.rfind("nvme", 0) != 0 || attr(e.path() / "hidden") == "1") continue;
        if (attr(e.path() / "device" / "model") == ebs_model) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The kernel name of the disk the volume's device names, or "" while it is not there.
std::string find_device(const Volume& v, const Paths& paths) {
    std::error_code ec;
    if (fs::exists(v.device, ec)) return fs::canonical(v.device, ec).filename().string();
    // On Nitro, /dev/xvdb exists only as a udev link made from the NVMe
    // identify data (amazon-ec2-utils' rules); without them, read it here.
    for (const std::string& name : ebs_namespaces(paths)) {
        // nvme1n1 -> its controller nvme1 (/sys/block/nvme1n1/device is the controller)
        std::string ctrl = fs::canonical(paths.of("/sys/block") / name / "device", ec).filename().string();
        if (ec || ctrl.rfind("nvme", 0) != 0) continue;
        std::string id = identify_controller("/dev/" + ctrl);
        std::string ebs_name = ebs_name_from_identify(id);
        if (!ebs_name.empty() && ebs_name_matches(v.device, ebs_name)) return name;
    }
    return "";
}

// Refuses what is not an EBS volume of its own: a partition, another kind of
// disk, a disk with partitions, held (md, dm) or mounted elsewhere.
void check_device(const Volume& v, const std::string& name, const Paths& paths) {
    const fs::path sys = paths.of("/sys/class/block") / name;
    auto refuse = [&](const std::string& why) {
        throw ConfigError(v.device, v.field() + ".device", fmt::format("(/dev/{}) {}", name, why));
    };
    std::error_code ec;
    if (fs::exists(sys / "partition", ec)) refuse("is a partition; name the whole volume");
    if (name.rfind("nvme", 0) == 0) {
        std::string model = attr(sys / "device" / "model").value_or("");
        if (model != ebs_model)
            refuse(fmt::format("is not an EBS volume: its NVMe model is \"{}\", not \"{}\"", model, ebs_model));
    } else if (name.rfind("xvd", 0) != 0) {  // Xen instances: EBS volumes are xvd disks
        refuse(
            "is not an EBS volume (neither an NVMe namespace of model \"Amazon Elastic Block Store\" nor a "
            "Xen xvd disk)");
    }
    for (const fs::directory_entry& h : fs::directory_iterator(sys / "holders", ec))
        refuse(fmt::format("is in use by {}", h.path().filename().string()));
    for (const fs::directory_entry& sub : fs::directory_iterator(sys, ec))
        if (sub.path().filename().string().rfind(name, 0) == 0 && fs::exists(sub.path() / "partition", ec))
            refuse(fmt::format("has partitions ({}); it is not a data volume", sub.path().filename().string()));
    const std::string dev = attr(sys / "dev").value_or("");
    for (const detail::MountEntry& m : detail::read_mountinfo(paths))
        if (!dev.empty() && m.dev == dev && std::find(v.targets.begin(), v.targets.end(), m.where) == v.targets.end())
            refuse(fmt::format("is mounted on {}", m.where));
}

VolumeProbe probe(const Volume& v, const std::string& device) {
    Command c = run_command({std::string(tool::blkid.name), "-p", "-o", "export", device});
    try {
        return classify_volume(c.status, c.out, v);
    } catch (const Error& e) {
        throw Error(
            fmt::format("{}: cannot probe for signatures: {}: {}", device, e.what(), detail::first_line(c.err)));
    }
}

// A filesystem with the unfinished label, the targets' contents copied onto
// it, then the final label: a crash anywhere before the last leaves a volume
// the next run makes again, never a half-copied one taken as finished.
void make_filesystem(const Volume& v, const std::string& device, bool again) {
    if (v.fs_type == "ext4")
        // -E nodiscard: a new EBS volume is blank; discarding it first only costs time
        must_run({std::string(tool::mkfs_ext4.name), "-q", "-F", "-E", "nodiscard", "-L",
                  std::string(ebs_label_unfinished), device});
    else {
        std::vector<std::string> argv{std::string(tool::mkfs_xfs.name), "-q", "-K", "-L",
                                      std::string(ebs_label_unfinished)};
        if (again) argv.emplace_back("-f");  // over our own unfinished attempt only
        argv.push_back(device);
        must_run(argv);
    }

    {
        detail::PrivateMount m(device, v.fs_type, "ebs-volume");
        std::error_code ec;
        for (const std::string& t : v.targets) {
            if (!fs::is_directory(t, ec) || fs::is_empty(t, ec)) continue;
            must_run({std::string(tool::cp.name), "-a", "-T", t, m.dir});
            log::info("{}: copied what it held onto {} ({})", t, v.device, device);
        }
        fs::permissions(m.dir, fs::perms(0755), ec);  // the volume's root is the target: not mkdtemp's 0700
        m.sync();
    }
    if (v.fs_type == "ext4") must_run({std::string(tool::e2label.name), device, std::string(ebs_label)});
    else must_run({std::string(tool::xfs_admin.name), "-L", std::string(ebs_label), device});
    detail::announce_change(device);
}

// ebs_link_dir/<index> -> /dev/<name>, replaced atomically.
WriteResult link_device(const Volume& v, const std::string& device) {
    std::error_code ec;
    fs::create_directories(ebs_link_dir, ec);
    if (fs::read_symlink(v.link(), ec) == fs::path(device)) return WriteResult::unchanged;
    const std::string tmp = v.link() + ".new";
    fs::remove(tmp, ec);
    fs::create_symlink(device, tmp);
    fs::rename(tmp, v.link());
    return WriteResult::written;
}

}  // namespace

StepResult apply_volumes(const std::vector<Volume>& volumes, const Paths& paths) {
    StepResult result;
    for (const Volume& v : volumes) {
        std::string name;
        const auto start = std::chrono::steady_clock::now(), deadline = start + device_timeout;
        WaitNotice notice(start, deadline);
        bool told = false;
        while ((name = find_device(v, paths)).empty()) {
            const auto now = std::chrono::steady_clock::now();
            notice.retrying(now, fmt::format("{} ({})", v.device, v.field()), "not attached yet");
            if (now > deadline)
                throw TempError(
                    fmt::format("{}.device {}: no such EBS volume attached after {}s (is it attached, "
                                "under this device name?)",
                                v.field(), v.device, device_timeout.count()));
            if (!told)
                log::info("{}: waiting for {} to appear (up to {}s)", v.field(), v.device, device_timeout.count());
            told = true;
            std::this_thread::sleep_for(500ms);
        }
        check_device(v, name, paths);
        const std::string device = "/dev/" + name;
        VolumeProbe p = probe(v, device);
        switch (p.content) {
        case VolumeContent::foreign:
            throw ConfigError(v.device, v.field(),
                              fmt::format("({}) holds {}, not {}; eks-node-ebs-volumes formats only blank volumes, so "
                                          "it is not mounted. If its data is not needed, `wipefs -a {}` and restart "
                                          "eks-node-ebs-volumes; else set fsType to what it holds",
                                          device, p.what, v.fs_type_set ? v.fs_type : "xfs or ext4", device));
        case VolumeContent::usable:
            log::info("{}: {} ({}) holds {}: mounted as it is", v.field(), v.device, device, p.what);
            result.add(device, WriteResult::unchanged);
            break;
        case VolumeContent::unfinished:
            log::warning("{}: an earlier format of {} did not finish ({}); making it again", v.field(), device, p.what);
            [[fallthrough]];
        case VolumeContent::blank:
            make_filesystem(v, device, p.content == VolumeContent::unfinished);
            log::info("{}: {} ({}) formatted {} (label {})", v.field(), v.device, device, v.fs_type, ebs_label);
            result.add(device, WriteResult::written);
            break;
        }
        result.add(v.link(), link_device(v, device));
    }
    return result;
}

}  // namespace eksnode::storage
