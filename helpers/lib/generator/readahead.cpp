// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: the join's files read ahead at boot (eks-node-readahead(8)).
#include <fmt/format.h>

#include "generator/plan.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::generator::detail {

namespace {

constexpr std::string_view readahead_unit = "eks-node-readahead.service";

}  // namespace

// When the image has a list of the join's files (or an admin has one in
// /etc), sysinit.target wants eks-node-readahead, so that it starts with the
// first units of the boot: a generator's link is in place before systemd
// starts anything, which no step could arrange. Without a list, or with /etc's
// masked, nothing: the unit would only be skipped by its condition.
void add_readahead(GeneratorPlan& plan, const Paths& paths) {
    const readahead::ListFile list = readahead::find_list(paths);
    if (list.path.empty()) return;
    if (list.masked) {
        plan.messages.push_back(
            {Level::debug, fmt::format("{} is a link to /dev/null: nothing read ahead", list.path)});
        return;
    }
    add_wants(plan, "sysinit.target", readahead_unit);
    plan.messages.push_back({Level::debug, fmt::format("{}: pulling in {}", list.path, readahead_unit)});
}

}  // namespace eksnode::generator::detail
