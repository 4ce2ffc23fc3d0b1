// SPDX-License-Identifier: Apache-2.0
// The instance-store operations on devices: make the array and filesystems
// the generated .mount units mount. See eks-node-instance-store(8).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/step.hpp"
#include "storage/storage.hpp"

namespace eksnode::storage {

// Makes what the layout needs, on the host's devices. RAID0/RAID10:
// assembles /dev/md/eks-node (or creates it, only from blank disks), makes XFS
// on it only when it holds no signature at all, and copies what each bound
// directory already holds onto the array the first time; Mount: makes XFS on
// each blank disk. A foreign signature on any device is a ConfigError naming
// the device (exit 6); nothing is ever overwritten.
StepResult apply_layout(const Layout& layout);

// An external program's result.
struct Command {
    int status = -1;  // exit status; -1 if it could not run or was killed
    std::string out, err;
};
// Runs argv (no shell; argv[0] looked up in PATH), stdin from /dev/null,
// capturing stdout and stderr.
Command run_command(const std::vector<std::string>& argv);

// Shared by eks-node-instance-store and eks-node-ebs-volumes (ebs_apply.cpp).
namespace detail {
// A tool's output on one line (its lines joined with " / "), cut at 400 bytes.
std::string first_line(const std::string& s);
// Runs a tool that must succeed; the Error names the command and what it said.
Command must_run(const std::vector<std::string>& argv);
// A "change" uevent for the device, so udev's database (by-label, findmnt)
// sees the label a tool just wrote; a failure is only a warning.
void announce_change(const std::string& device);
// A filesystem mounted on a new directory /run/eks-node/NAME.XXXXXX, in this
// process's own mount namespace (entered on first use): never seen outside,
// gone with the process; unmounted and removed on every path out.
struct PrivateMount {
    std::string dir;
    PrivateMount(const std::string& device, const std::string& type, std::string_view name);
    ~PrivateMount();
    PrivateMount(const PrivateMount&) = delete;
    PrivateMount& operator=(const PrivateMount&) = delete;
    void sync() const;  // syncfs(): what was copied is on the disk before its label says "finished"
};
}  // namespace detail

}  // namespace eksnode::storage
