// SPDX-License-Identifier: Apache-2.0
// EC2 instance-store disks: which disks are there (from sysfs, under the root
// prefix), what instance.localStorage asks for, and the mounts that follow.
// The generator turns a Layout into .mount units; eks-node-instance-store
// (apply.cpp) builds the array and the filesystems those units mount.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode::storage {

// The NVMe model string of every EC2 instance-store disk (what `nvme list`
// shows; sysfs pads it with spaces). EBS volumes say "Amazon Elastic Block Store".
inline constexpr std::string_view instance_store_model = "Amazon EC2 NVMe Instance Storage";
// The md array's name. Created with --homehost=any, so it is assembled as
// /dev/md/eks-node on any host, never renamed to eks-node_0 after a reboot.
inline constexpr std::string_view array_name = "eks-node";
inline constexpr std::string_view array_device = "/dev/md/eks-node";
// The label of every XFS filesystem we make: what tells ours from a foreign one.
inline constexpr std::string_view fs_label = "eks-node";
// The label mkfs.xfs writes first: mkfs writes the superblock (label
// included) before the rest, so a mkfs that failed or was cut off by a
// power loss leaves a filesystem that blkid reports as XFS but that does not
// mount. Only once mkfs has succeeded does xfs_admin set fs_label; a device
// still labelled this way is ours and unfinished, and is made again.
inline constexpr std::string_view fs_label_unfinished = "eks-node-mk";
inline constexpr std::string_view default_mount_path = "/mnt/k8s-disks";

// The programs eks-node-instance-store runs (apply.cpp), by the names it looks them up by in
// its PATH, each with the argument that makes it print its version and exit 0
// (`eks-node validate --image` checks that an image has them and that they run).
struct Tool {
    std::string_view name;
    std::string_view version_arg;
};
namespace tool {
inline constexpr Tool blkid{"blkid", "-V"};  // probes a disk for signatures before anything writes
inline constexpr Tool mdadm{"mdadm", "--version"};
inline constexpr Tool mkfs_xfs{"mkfs.xfs", "-V"};
inline constexpr Tool xfs_admin{"xfs_admin", "-V"};  // the final label, once mkfs has succeeded
inline constexpr Tool cp{"cp", "--version"};         // a directory's content onto the array
}  // namespace tool
inline constexpr Tool tools[] = {tool::blkid, tool::mdadm, tool::mkfs_xfs, tool::xfs_admin, tool::cp};

// One instance-store disk (a whole namespace, never a partition).
struct Disk {
    std::string name;    // "nvme1n1"
    std::string model;   // trimmed
    std::string serial;  // trimmed; the stable sort key
    unsigned nsid = 1;
    std::string dev;     // "259:1", to find it in mountinfo

    std::string device() const { return "/dev/" + name; }
    // The udev link that names this disk the same way on every boot:
    // /dev/disk/by-id/nvme-<model>_<serial>_<nsid> (60-persistent-storage.rules).
    std::string by_id() const;
    bool operator==(const Disk&) const = default;
};

struct Discovery {
    std::vector<Disk> disks;  // sorted by serial, then namespace
    struct Skipped {
        std::string name;
        std::string why;
    };
    std::vector<Skipped> skipped;  // instance-store disks left alone, and why
};

// Instance-store disks under /sys/block (read under `paths`): model as above,
// not a partition, not a hidden multipath path (nvmeXcYnZ), not mounted or
// held (md, dm) by anything but our own mounts under `mount_path` and our own
// array (/dev/md/eks-node). Reads /sys, /proc/self/mountinfo and /dev/md only;
// never opens a device. Throws Error only when /sys/block cannot be listed.
Discovery discover(const Paths& paths, std::string_view mount_path);

enum class Strategy { raid0, raid10, mount };
std::string_view strategy_name(Strategy s);

// Which node the disks serve: what lives on them and who waits for them.
enum class Node { eks, ecs };

// Directories moved onto the array, as the reference setup-local-disks does.
struct Bind {
    std::string name;       // "containerd": the directory on the array, and a disabledMounts value's subject
    std::string where;      // "/var/lib/containerd"
    std::string disable;    // the disabledMounts value that keeps it off ("" = always bound)
    std::vector<std::string> consumers;  // units that use it: ordered after the bind mount
};
// An EKS node's: /var/lib/kubelet always, and unless disabledMounts says so
// /var/lib/containerd, /var/log/pods, /var/lib/soci-snapshotter. An ECS
// container instance's: /var/lib/docker always (Docker's images, containers
// and volumes, what an EKS node keeps under kubelet and containerd), and
// /var/lib/containerd unless "Containerd" is disabled (Docker's containerd
// image store, where Docker uses one).
const std::vector<Bind>& binds_for(Node node);
// The unit that must not start until the disks are set up: kubelet.service,
// or docker.service on an ECS container instance.
std::string_view primary_consumer(Node node);

// instance.localStorage from config.json.
struct Settings {
    Node node = Node::eks;  // settings.node
    Strategy strategy = Strategy::raid0;
    std::string mount_path{default_mount_path};
    std::vector<std::string> disabled_mounts;
};
// nullopt when no strategy is set (or "None"). Throws ConfigError naming
// `source` and the field on a value eks-node-config would have refused.
std::optional<Settings> settings_from_config(const json& config, std::string_view source);

// What the units mount.
struct Mount {
    std::string what;     // device, or the directory on the array for a bind
    std::string where;
    bool bind = false;
    std::string description;
    std::vector<std::string> before;  // consumers (binds only)
};
struct Layout {
    Strategy strategy;
    std::vector<Disk> disks;
    std::vector<Mount> mounts;       // the array or each disk first, then the binds
    std::vector<Bind> binds;         // the binds in effect
    std::string array_mount;         // RAID: "<mountPath>/0"
};
// The mounts for these settings and disks (disks non-empty). RAID: the array
// at <mountPath>/0 and the binds; Mount: disk i (by serial) at
// <mountPath>/<i+1>, no binds (the reference's layout). The binds are
// binds_for(settings.node) less the disabled ones. Throws ConfigError
// (exit 6) for RAID10 with fewer than 4 disks.
Layout plan_layout(const Settings& settings, const std::vector<Disk>& disks, std::string_view source);

// What a low-level probe (`blkid -p -o export DEVICE`) found on a device.
enum class Content { blank, our_member, our_filesystem, our_unfinished_filesystem, foreign };
struct Probe {
    Content content = Content::blank;
    std::string what;  // "TYPE=ext4", for messages
};
// From blkid's exit status and output: 2 = no signature at all; 0 = KEY=value
// lines. Ours: an md member whose array is "any:eks-node", XFS labelled
// eks-node, or XFS labelled eks-node-mk (a mkfs that did not finish). Anything else (another filesystem, a partition table, another
// array, LVM) is foreign. Throws Error on any other status.
Probe classify_probe(int status, std::string_view output);

namespace detail {
// One line of /proc/self/mountinfo ("36 35 98:0 /root /mount/point opts ...
// - type source opts"): the device number and the mount point, unescaped.
struct MountEntry {
    std::string dev;    // "259:1"
    std::string where;  // "/var/lib/containerd"
};
// /proc/self/mountinfo under `paths`; empty when it cannot be read.
std::vector<MountEntry> read_mountinfo(const Paths& paths);
}  // namespace detail

// systemd's unit name escaping for a path ("/mnt/k8s-disks/0" ->
// "mnt-k8s\x2ddisks-0"), as `systemd-escape --path`.
std::string escape_path(std::string_view path);

// The longest unit name systemd takes (UNIT_NAME_MAX less its NUL), which is
// also the longest file name (NAME_MAX): the generator writes the unit under it.
inline constexpr size_t max_unit_name = 255;
// Why the unit systemd needs for `path` (escape_path(path) + suffix, ".mount"
// or ".swap") cannot be written, or "". A name over max_unit_name fails the
// generator's write ("File name too long"), and systemd then drops the path
// from every RequiresMountsFor= without a word: the mount would silently not
// happen. Each byte outside [A-Za-z0-9:_.] takes four ("\xNN").
std::string unit_name_problem(std::string_view path, std::string_view suffix);

// Why eks-node must not mount a filesystem on the directory `path`
// (normalised, as normalise_path() gives it), or "": an API file system
// (/proc, /sys, /dev) or the OS's own trees (/etc, /usr, /boot, /bin, /sbin,
// /lib*) and anything below them, eks-node's and systemd's runtime state
// (/run/eks-node, /run/systemd) and eks-node's state (/var/lib/eks-node);
// /run, /var and /var/lib themselves, whose live content a mount would hide.
// Directories below /run, /var, /var/lib (such as /var/lib/containerd),
// /mnt, /data, /srv, /opt, /home stay allowed.
std::string mount_point_problem(std::string_view path);

// The highest disk number a Mount strategy names (MOUNTPATH/N): no instance
// type has more instance-store disks (24 at most in 2026), and two digits is
// the longest unit name such a mount can have.
inline constexpr unsigned max_disk_number = 99;

}  // namespace eksnode::storage
