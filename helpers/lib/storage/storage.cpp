// SPDX-License-Identifier: Apache-2.0
#include "storage/storage.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"
#include "storage/ebs.hpp"

namespace eksnode::storage {

namespace {

std::optional<std::string> read_attr(const fs::path& p) {
    try {
        std::optional<std::string> text = read_file_if_exists(p);
        if (!text) return std::nullopt;
        return std::string(trim_line(*text));
    } catch (const std::exception&) {
        return std::nullopt;  // a vanished or unreadable attribute: as if absent
    }
}

// nvme0c0n1: the per-path node of a multipath namespace (the kernel marks it
// hidden; the usable node is nvme0n1).
bool is_path_node(std::string_view name) {
    size_t c = name.find('c', 4);
    if (c == std::string_view::npos || c == 4) return false;
    for (size_t i = 4; i < c; ++i)
        if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    return name.find('n', c) != std::string_view::npos;
}

std::string unescape_octal(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

std::vector<detail::MountEntry> detail::read_mountinfo(const Paths& paths) {
    std::vector<detail::MountEntry> out;
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(paths.of("/proc/self/mountinfo"));
    } catch (const std::exception&) {
        return out;
    }
    if (!text) return out;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t end = text->find('\n', pos);
        if (end == std::string::npos) end = text->size();
        std::string_view line(text->data() + pos, end - pos);
        pos = end + 1;
        std::vector<std::string_view> f;
        size_t i = 0;
        while (i < line.size() && f.size() < 5) {
            size_t j = line.find(' ', i);
            if (j == std::string_view::npos) j = line.size();
            f.push_back(line.substr(i, j - i));
            i = j + 1;
        }
        if (f.size() == 5) out.push_back({std::string(f[2]), unescape_octal(f[4])});
    }
    return out;
}

namespace {

using detail::MountEntry;
using detail::read_mountinfo;

bool under(std::string_view path, std::string_view dir) {
    if (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
    return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// The md device (md127) /dev/md/eks-node points to, if assembled.
std::string our_array(const Paths& paths) {
    std::error_code ec;
    fs::path target = fs::read_symlink(paths.of(array_device), ec);
    return ec ? std::string() : target.filename().string();
}

std::string udev_id_part(std::string_view s) {
    // udev's string_escape=replace: whitespace and characters not allowed in
    // a link name become '_'.
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        bool ok = std::isalnum(u) || std::string_view("#+-.:=@_").find(c) != std::string_view::npos;
        out += ok ? c : '_';
    }
    return out;
}

}  // namespace

std::string Disk::by_id() const {
    return fmt::format("/dev/disk/by-id/nvme-{}_{}_{}", udev_id_part(model), udev_id_part(serial), nsid);
}

Discovery discover(const Paths& paths, std::string_view mount_path) {
    Discovery out;
    const fs::path sys_block = paths.of("/sys/block");
    std::error_code ec;
    fs::directory_iterator it(sys_block, ec);
    if (ec) throw Error(fmt::format("{}: cannot list: {}", sys_block.string(), ec.message()));
    std::vector<MountEntry> mounts = read_mountinfo(paths);
    const std::string ours = our_array(paths);

    for (const fs::directory_entry& e : it) {
        const std::string name = e.path().filename().string();
        const fs::path& dir = e.path();
        if (name.rfind("nvme", 0) != 0) continue;
        if (is_path_node(name) || read_attr(dir / "hidden") == "1") continue;
        if (fs::exists(dir / "partition", ec)) continue;
        std::optional<std::string> model = read_attr(dir / "device" / "model");
        if (model != instance_store_model) continue;  // EBS, or not NVMe at all

        Disk d;
        d.name = name;
        d.model = *model;
        d.serial = read_attr(dir / "device" / "serial").value_or("");
        d.dev = read_attr(dir / "dev").value_or("");
        if (auto nsid = read_attr(dir / "nsid")) {
            try {
                d.nsid = static_cast<unsigned>(std::stoul(*nsid));
            } catch (const std::exception&) {
                // keep 1: only the by-id name uses it
            }
        }

        // The disk and its partitions: held by anything but our array, or
        // mounted anywhere but under mountPath, means someone else's.
        std::vector<fs::path> nodes{dir};
        std::vector<std::string> devs{d.dev};
        for (const fs::directory_entry& sub : fs::directory_iterator(dir, ec)) {
            if (sub.path().filename().string().rfind(name, 0) == 0 && fs::exists(sub.path() / "partition", ec)) {
                nodes.push_back(sub.path());
                devs.push_back(read_attr(sub.path() / "dev").value_or(""));
            }
        }
        std::string why;
        for (const fs::path& n : nodes) {
            for (const fs::directory_entry& h : fs::directory_iterator(n / "holders", ec)) {
                std::string holder = h.path().filename().string();
                if (holder != ours && why.empty())
                    why = fmt::format("in use by {} (/sys/block/{}/holders)", holder, n.filename().string());
            }
        }
        for (const MountEntry& m : mounts) {
            if (!why.empty()) break;
            if (std::find(devs.begin(), devs.end(), m.dev) != devs.end() && !m.dev.empty() &&
                !under(m.where, mount_path))
                why = fmt::format("mounted on {}", m.where);
        }
        if (!why.empty()) {
            out.skipped.push_back({name, why});
            continue;
        }
        out.disks.push_back(std::move(d));
    }
    std::sort(out.disks.begin(), out.disks.end(), [](const Disk& a, const Disk& b) {
        return std::tie(a.serial, a.nsid, a.name) < std::tie(b.serial, b.nsid, b.name);
    });
    std::sort(out.skipped.begin(), out.skipped.end(),
              [](const Discovery::Skipped& a, const Discovery::Skipped& b) { return a.name < b.name; });
    return out;
}

std::string_view strategy_name(Strategy s) {
    switch (s) {
    case Strategy::raid0: return "RAID0";
    case Strategy::raid10: return "RAID10";
    case Strategy::mount: return "Mount";
    }
    return "";
}

const std::vector<Bind>& binds_for(Node node) {
    // The reference (amazon-eks-ami setup-local-disks, nodeadm's
    // disabledMounts) moves these onto the array: kubelet always, the others
    // unless disabled. The directory names on the array are the reference's.
    static const std::vector<Bind> eks = {
        {"kubelet", "/var/lib/kubelet", "", {"eks-node-kubelet.service", "kubelet.service"}},
        {"containerd", "/var/lib/containerd", "Containerd", {"containerd.service"}},
        {"pods", "/var/log/pods", "PodLogs", {"kubelet.service"}},
        {"soci-snapshotter", "/var/lib/soci-snapshotter", "SOCI", {"soci-snapshotter.service"}},
    };
    // No reference here: the ECS-optimized AMIs leave instance-store disks
    // alone, and AWS's ECS guide points Docker's data root at them. The same
    // array, with Docker's state where an EKS node has kubelet's.
    static const std::vector<Bind> ecs = {
        {"docker", "/var/lib/docker", "", {"docker.service"}},
        {"containerd", "/var/lib/containerd", "Containerd", {"containerd.service"}},
    };
    return node == Node::ecs ? ecs : eks;
}

std::string_view primary_consumer(Node node) { return node == Node::ecs ? "docker.service" : "kubelet.service"; }

std::optional<Settings> settings_from_config(const json& config, std::string_view source) {
    const std::string src(source);
    auto bad = [&](const std::string& field, const json& v, const std::string& want) {
        return ConfigError(src, field, fmt::format("{} is not {}", v.dump(), want));
    };
    if (!config.is_object() || !config.contains("spec")) return std::nullopt;
    const json& spec = config["spec"];
    if (!spec.is_object() || !spec.contains("instance") || !spec["instance"].is_object()) return std::nullopt;
    const json& inst = spec["instance"];
    if (!inst.contains("localStorage")) return std::nullopt;
    const json& ls = inst["localStorage"];
    if (!ls.is_object()) throw bad("spec.instance.localStorage", ls, "an object");
    if (!ls.contains("strategy")) return std::nullopt;

    Settings s;
    if (auto set = config.find("settings"); set != config.end() && set->is_object())
        if (auto node = set->find("node"); node != set->end() && *node == "ecs") s.node = Node::ecs;
    const json& st = ls["strategy"];
    if (st == "RAID0") s.strategy = Strategy::raid0;
    else if (st == "RAID10") s.strategy = Strategy::raid10;
    else if (st == "Mount") s.strategy = Strategy::mount;
    else throw bad("spec.instance.localStorage.strategy", st, "one of RAID0, RAID10, Mount");

    if (ls.contains("mountPath")) {
        const json& mp = ls["mountPath"];
        std::string p = mp.is_string() ? mp.get<std::string>() : std::string();
        // It becomes What=, Where= and RequiresMountsFor= of mount units: a
        // path the unit-file writer takes, without a blank (which would split
        // the RequiresMountsFor= list).
        bool ok = p.size() > 1 && syntax::unit::path_problem(p).empty() && p.find(' ') == std::string::npos;
        if (!ok) throw bad("spec.instance.localStorage.mountPath", mp, "an absolute path");
        while (p.size() > 1 && p.back() == '/') p.pop_back();
        s.mount_path = p;
    }
    // The directories the generator writes mount units for (plan_layout()):
    // MOUNTPATH/0 for an array, MOUNTPATH/1..N for disks; the swap file of
    // settings.swap.location = instance-store is MOUNTPATH/0/swapfile.
    const std::string first = normalise_path(s.mount_path) + "/" + (s.strategy == Strategy::mount ? "1" : "0");
    const std::string longest =
        s.strategy == Strategy::mount ? fmt::format("{}/{}", normalise_path(s.mount_path), max_disk_number) : first;
    auto refuse = [&](const std::string& problem) {
        return ConfigError(src, "spec.instance.localStorage.mountPath",
                           fmt::format("{}: {}", json(s.mount_path).dump(), problem));
    };
    if (std::string problem = mount_point_problem(first); !problem.empty()) throw refuse(problem);
    if (std::string problem = unit_name_problem(longest, ".mount"); !problem.empty()) throw refuse(problem);
    if (const json* loc = path_in(config, {"settings", "swap", "location"}); loc && *loc == "instance-store")
        if (std::string problem =
                unit_name_problem(normalise_path(s.mount_path) + "/0/" + std::string(path::swap_file_name), ".swap");
            !problem.empty())
            throw refuse("with settings.swap.location = \"instance-store\" the swap file " + problem);
    if (ls.contains("disabledMounts")) {
        const json& dm = ls["disabledMounts"];
        if (!dm.is_array()) throw bad("spec.instance.localStorage.disabledMounts", dm, "a list");
        for (size_t i = 0; i < dm.size(); ++i) {
            bool known = false;
            // Either node's: PodLogs and SOCI keep nothing off an ECS node's
            // array (it binds neither), and are no error there.
            for (Node n : {Node::eks, Node::ecs})
                for (const Bind& b : binds_for(n)) known |= !b.disable.empty() && dm[i] == b.disable;
            if (!known)
                throw bad(fmt::format("spec.instance.localStorage.disabledMounts[{}]", i), dm[i],
                          "one of Containerd, PodLogs, SOCI");
            s.disabled_mounts.push_back(dm[i].get<std::string>());
        }
    }
    return s;
}

Layout plan_layout(const Settings& settings, const std::vector<Disk>& disks, std::string_view source) {
    Layout l{settings.strategy, disks, {}, {}, {}};
    if (settings.strategy == Strategy::mount) {
        for (size_t i = 0; i < disks.size(); ++i)
            l.mounts.push_back({disks[i].by_id(), fmt::format("{}/{}", settings.mount_path, i + 1), false,
                                fmt::format("instance-store disk {} (serial {})", i + 1, disks[i].serial), {}});
        return l;
    }
    if (settings.strategy == Strategy::raid10 && disks.size() < 4)
        throw ConfigError(std::string(source), "spec.instance.localStorage.strategy",
                          fmt::format("RAID10 needs at least 4 instance-store disks, this instance has {}; "
                                      "use RAID0 or Mount",
                                      disks.size()));
    l.array_mount = settings.mount_path + "/0";
    l.mounts.push_back({std::string(array_device), l.array_mount, false,
                        fmt::format("instance-store {} array of {} disks", strategy_name(settings.strategy),
                                    disks.size()),
                        {}});
    for (const Bind& b : binds_for(settings.node)) {
        const auto& off = settings.disabled_mounts;
        if (!b.disable.empty() && std::find(off.begin(), off.end(), b.disable) != off.end()) continue;
        l.binds.push_back(b);
        l.mounts.push_back({l.array_mount + "/" + b.name, b.where, true,
                            fmt::format("{} on the instance-store array", b.where), b.consumers});
    }
    return l;
}

Probe classify_probe(int status, std::string_view output) {
    if (status == 2) return {Content::blank, ""};
    if (status != 0) throw Error(fmt::format("blkid exited with status {}", status));
    std::string type, label, pttype;
    size_t pos = 0;
    while (pos < output.size()) {
        size_t end = output.find('\n', pos);
        if (end == std::string_view::npos) end = output.size();
        std::string_view line = output.substr(pos, end - pos);
        pos = end + 1;
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view key = line.substr(0, eq);
        std::string value;
        for (size_t i = eq + 1; i < line.size(); ++i) {  // -o export escapes with backslashes
            if (line[i] == '\\' && i + 1 < line.size()) ++i;
            value += line[i];
        }
        if (key == "TYPE") type = value;
        else if (key == "LABEL") label = value;
        else if (key == "PTTYPE") pttype = value;
    }
    if (type == "linux_raid_member" && label == fmt::format("any:{}", array_name))
        return {Content::our_member, "TYPE=linux_raid_member LABEL=" + label};
    if (type == "xfs" && label == fs_label) return {Content::our_filesystem, "TYPE=xfs LABEL=" + label};
    if (type == "xfs" && label == fs_label_unfinished)
        return {Content::our_unfinished_filesystem, "TYPE=xfs LABEL=" + label};
    std::string what;
    if (!type.empty()) what = "TYPE=" + type + (label.empty() ? "" : " LABEL=" + label);
    else if (!pttype.empty()) what = "a partition table (PTTYPE=" + pttype + ")";
    else what = "an unrecognised signature";
    return {Content::foreign, what};
}

std::string escape_path(std::string_view path) {
    std::string simple;
    for (char c : path)  // collapse "//"
        if (!(c == '/' && !simple.empty() && simple.back() == '/')) simple += c;
    std::string_view p = simple;
    while (!p.empty() && p.front() == '/') p.remove_prefix(1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    if (p.empty()) return "-";
    std::string out;
    for (size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        auto u = static_cast<unsigned char>(c);
        if (c == '/') out += '-';
        else if ((std::isalnum(u) || c == ':' || c == '_' || (c == '.' && i > 0)) && u < 0x80) out += c;
        else out += fmt::format("\\x{:02x}", u);
    }
    return out;
}

std::string unit_name_problem(std::string_view path, std::string_view suffix) {
    const std::string name = escape_path(path) + std::string(suffix);
    if (name.size() <= max_unit_name) return {};
    return fmt::format(
        "{} needs the systemd unit name {}..., {} bytes: over the {} a unit name may have (systemd-escape --path: "
        "each byte outside A-Z a-z 0-9 : _ . takes four), so the unit could not be written and nothing would be "
        "mounted there; use a shorter path",
        json(std::string(path)).dump(), name.substr(0, 40), name.size(), max_unit_name);
}

std::string mount_point_problem(std::string_view path) {
    // below these, too: mounting over any part of them breaks the OS or eks-node
    static constexpr std::string_view trees[] = {
        "/proc", "/sys",   "/dev",   "/boot",   "/etc",          "/usr",         "/bin",      "/sbin",
        "/lib",  "/lib32", "/lib64", "/libx32", "/run/eks-node", "/run/systemd", "/run/udev", "/var/lib/eks-node"};
    // only these: what lives directly in them is in use, their subdirectories are anyone's
    static constexpr std::string_view exact[] = {"/", "/run", "/var", "/var/lib"};
    for (std::string_view e : exact)
        if (path == e || (e == "/" && path.empty()))
            return fmt::format("{} is in use by the running system: a mount there would hide it",
                               json(std::string(e)).dump());
    for (std::string_view t : trees)
        if (under(path, t))
            return fmt::format(
                "{} is {}{}, which the running system (or eks-node) owns: a mount there would hide "
                "or break it",
                json(std::string(path)).dump(), path == t ? "" : "inside ", json(std::string(t)).dump());
    return {};
}

}  // namespace eksnode::storage
