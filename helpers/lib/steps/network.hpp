// SPDX-License-Identifier: Apache-2.0
// eks-node-network's decisions that are not files, exposed for its tests. The
// step itself is declared in steps.hpp with the others.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api.hpp"
#include "render/networkd.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps::detail {

// What eks-node-network weighs at an ENI's first sight on this instance (no
// record of an earlier decision), in the order it weighs them; a fact after
// the one that decides is not asked.
struct FirstSight {
    bool primary = false;
    // kubelet.service started in this boot (off the host: config.json exists)
    bool kubelet_started = false;
    // instance.json lists its MAC (interfaceMacs) and was written before
    // kubelet started
    bool listed_before_kubelet = false;
};

struct OwnerRule {
    render::EniOwner owner;
    std::string why;  // the rule, as the log line names it
};

// The primary and every ENI seen before kubelet started are
// systemd-networkd's, and so is one IMDS listed before kubelet started; the
// rest are the VPC CNI's, which attaches ENIs only once kubelet runs its pod.
OwnerRule first_sight_owner(const FirstSight& sight);

// featureGates.OSManagedNoManageENIs, for an ENI first seen after kubelet
// started with its link down: what EC2's tags of it decide. nullopt while EC2
// does not list it, or lists it with neither tag (tags can follow an attach):
// asked again.
std::optional<OwnerRule> tagged_owner(const aws::EniTags& tags);

// The MACs that instance.json's `text` lists (interfaceMacs) when it is this
// instance's (`instance_id`) and passes eks-node-config's checks
// (imds::check_instance); else nullopt, and `problem` says why (the file of
// an eks-node that did not list interfaces has no key).
std::optional<std::vector<std::string>> interface_macs(std::string_view text, std::string_view instance_id,
                                                       std::string& problem);

// Whether a file last modified at `mtime` was written before `start_usec`
// (both CLOCK_REALTIME, as systemd stamps a unit's start), by a whole
// microsecond: a tie is not "before". No start (0) has nothing before it.
bool written_before(const timespec& mtime, uint64_t start_usec);

}  // namespace eksnode::steps::detail
