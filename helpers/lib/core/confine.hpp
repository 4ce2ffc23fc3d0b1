// SPDX-License-Identifier: Apache-2.0
// File-system confinement a step applies to itself (Landlock), in place of
// the mount-namespace settings systemd would need for the same (eks-node(7),
// CONFINEMENT): on systemd 252 those cost ~7 ms of a step's start, on the
// node's join path; Landlock costs a few system calls.
//
// After confine_step() the process may read everything it could read before,
// may create, write, rename and remove files only beneath the step's writable
// directories, and may execute nothing at all (no step runs another program)
// but the programs its policy names (eks-node-prepull: kubelet's credential
// provider plugins).
// Devices, capabilities, system calls and the network stay the unit's business.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/paths.hpp"

namespace eksnode::confine {

// The Landlock ABI version this kernel offers, 0 when it has none (not built,
// not in the lsm= list, or refused by a container's seccomp filter).
int landlock_abi();

// A writable directory: "/etc/containerd"; "-/etc/x" is optional (skipped
// when absent, as systemd's "-" prefix); every other one is created (0755)
// when missing and Landlock is enforced, since a rule needs the directory (one
// that cannot be created gets no rule).
struct Policy {
    std::vector<std::string> writable;
    // Directories beneath which execve() is allowed (re-rooted like
    // writable; "-" optional): only eks-node-prepull has one, the credential
    // provider plugins' directory.
    std::vector<std::string> executable = {};
    // Also the host's /usr, not re-rooted: a plugin that is a script or a
    // dynamic executable needs its interpreter or ld.so, which the kernel
    // opens for execution too (Landlock checks both). /usr holds only what
    // the packages installed, and a step with no writable directory cannot
    // add to it. Such programs may also write /dev/null (the file alone).
    bool system_executables = false;
};

// A step's policy from the output registry (core/outputs.hpp): the directory
// of each file it writes, since the atomic write makes its temporary file
// there and renames it into place; "-" for an output whose directory belongs
// to another package (existing_dir). Sorted, without a directory that another
// one already contains.
Policy derive_policy(std::string_view step);

// The policy of a step by name ("containerd"): nullptr for a step that is not
// confined this way (instance-store runs mdadm and mkfs, and has no output in
// the registry); policy_of throws.
const Policy* find_policy(std::string_view step);
const Policy& policy_of(std::string_view step);
std::vector<std::string_view> step_names();  // the confined steps

enum class Outcome { enforced, unsupported, disabled };

struct Applied {
    Outcome outcome;
    int abi = 0;                               // the ABI used when enforced
    std::vector<std::string> writable;         // the directories granted, re-rooted
    std::vector<std::string> executable = {};  // the same for execution, /usr included
};

// Restricts this process (and its future children) to `policy`, with every
// path under `paths`' root. EKS_NODE_LANDLOCK=0 in the environment turns it
// off (Outcome::disabled). Throws Error when the kernel refuses a rule or the
// restriction itself: a step must not run half-confined.
Applied apply(const Policy& policy, const Paths& paths);

// The step runner's call: apply(policy_of(step)) and one log line saying what
// was done (debug when enforced, notice when the kernel has no Landlock).
void confine_step(std::string_view step, const Paths& paths);

}  // namespace eksnode::confine
