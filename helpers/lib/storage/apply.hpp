// SPDX-License-Identifier: Apache-2.0
// The instance-store operations on devices: make the array and filesystems
// the generated .mount units mount. See eks-node-instance-store(8).
#pragma once

#include <string>
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

}  // namespace eksnode::storage
