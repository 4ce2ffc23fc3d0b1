// SPDX-License-Identifier: Apache-2.0
// EBS data volumes (spec.instance.storage.volumes, nodeadm's since
// amazon-eks-ami PR #2759): what the configuration asks for, which block
// device each entry names, and what is on it. The generator turns the
// entries into .mount units; eks-node-ebs-volumes (ebs_apply.cpp) finds the
// devices and makes the filesystems those units mount. See
// eks-node-ebs-volumes(8); tests/data/nodeadm-ebs-volumes.md compares it with
// nodeadm behaviour by behaviour.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"
#include "storage/storage.hpp"

namespace eksnode::storage {

// The NVMe model string of an EBS volume on a Nitro instance (sysfs pads it).
inline constexpr std::string_view ebs_model = "Amazon Elastic Block Store";
// Labels of the filesystems eks-node-ebs-volumes makes (what tells them from
// a volume someone else formatted): mkfs writes the unfinished one, which is
// replaced only once the filesystem is made and the targets' contents are
// copied onto it; a volume still labelled so is ours and is made again.
// Both fit XFS's 12 bytes.
inline constexpr std::string_view ebs_label = "eks-node-ebs";
inline constexpr std::string_view ebs_label_unfinished = "eks-ebs-mk";
// Where the step links each entry's device for its .mount unit: the
// generator cannot know it (an EBS device name lives in the NVMe controller's
// identify data, read with an ioctl), the step can; /run goes with the boot.
inline constexpr std::string_view ebs_link_dir = "/run/eks-node/ebs-volumes";

namespace tool {
inline constexpr Tool mkfs_ext4{"mkfs.ext4", "-V"};
// e2fsprogs: the final label of an ext4 volume. It has no option that prints
// a version and exits 0, so `validate --image` checks mkfs.ext4, its package's.
inline constexpr Tool e2label{"e2label", ""};
}  // namespace tool
// What `eks-node validate --image` runs with its version option.
inline constexpr Tool ebs_tools[] = {tool::blkid, tool::mkfs_xfs, tool::xfs_admin, tool::mkfs_ext4, tool::cp};

// One entry of spec.instance.storage.volumes.
struct Volume {
    size_t index = 0;
    std::string device;                // as written ("/dev/xvdb", "/dev/disk/by-id/nvme-...")
    std::vector<std::string> targets;  // normalised absolute paths, at least one
    std::string fs_type;               // "xfs" or "ext4"
    bool fs_type_set = false;          // false: xfs for a blank volume; an existing xfs or ext4 used as is
    std::string field() const;         // "spec.instance.storage.volumes[0]"
    std::string link() const;          // ebs_link_dir + "/<index>": What= of the first target's mount
};

// The source that set the value at a JSON pointer ("/spec/instance/storage/volumes/0/device").
using SourceOf = std::function<std::string(const std::string& pointer)>;

// spec.instance.storage.volumes from config.json (or a merged config with
// "spec" and "settings"), checked: device an absolute path under /dev;
// mountTargets (a list) or mountTarget (one path), not both, at least one
// target; fsType "xfs", "ext4" or unset; no target twice (compared
// normalised: "/var/lib/containerd/" is "/var/lib/containerd"), no device
// twice; no target inside or above what instance.localStorage claims (its
// mountPath, and with RAID its bind mounts). Throws ConfigError naming the
// field and its source (exit 6). Empty when there are none.
std::vector<Volume> volumes_from_config(const json& config, const SourceOf& source_of);

// An absolute path made canonical for comparisons and unit files: "//" and a
// trailing "/" dropped; "" when it is not absolute, is "/", or has "." or "..".
std::string normalise_path(std::string_view path);

// The units that must not start before the volumes are mounted (each gets
// RequiresMountsFor= every target): the runtime's and kubelet's, and the
// steps that write under their directories (eks-node-kubelet: the kubeconfig
// in /var/lib/kubelet).
std::vector<std::string> ebs_consumers(Node node);

// The EBS block device name an NVMe controller's identify data holds in its
// vendor-specific area (bytes 3072..3103, space or NUL padded), as Amazon's
// ebsnvme-id reads it: "sdf", "/dev/xvdb". "" when absent.
std::string ebs_name_from_identify(std::string_view identify);

// Whether a volume's device, as written, names this EBS block device name:
// the same name with or without /dev/, and sdX and xvdX alike (EC2 accepts
// either in a block device mapping; nodeadm's AL2023 udev links both).
bool ebs_name_matches(std::string_view device, std::string_view ebs_name);

// What a probe of the volume found, and what the step does with it.
enum class VolumeContent { blank, unfinished, usable, foreign };
struct VolumeProbe {
    VolumeContent content = VolumeContent::blank;
    std::string type;  // the filesystem's TYPE, when usable
    std::string what;  // for messages
};
// From `blkid -p -o export` (status, output) for a volume asking for
// fs_type (fs_type_set: asked explicitly): blank; an unfinished one of ours;
// usable (the asked type, or with fsType unset an xfs or ext4); anything else
// foreign. Throws Error on a status blkid does not give.
VolumeProbe classify_volume(int status, std::string_view output, const Volume& v);

// eks-node-ebs-volumes on the host: for each volume, waits (bounded) for its
// device, checks it is an EBS volume no one else uses, formats it if blank
// (copying what the targets held), and links it for its mount unit.
StepResult apply_volumes(const std::vector<Volume>& volumes, const Paths& paths);

}  // namespace eksnode::storage
