// SPDX-License-Identifier: Apache-2.0
#include "cli/chain.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

using Run = StepResult (*)(const StepOptions&);

// The function of each step the table places in the chain: the one thing
// the table cannot say (core/ is below the steps).
constexpr std::pair<std::string_view, Run> functions[] = {
    {"imds", steps::imds},       {"config", steps::config},         {"system", steps::system}, {"ca", steps::ca},
    {"kubelet", steps::kubelet}, {"containerd", steps::containerd}, {"hosts", steps::hosts},   {"ecs", steps::ecs},
};

std::vector<ChainStep> ordered() {
    std::vector<const units::Unit*> rows;
    for (const units::Unit& u : units::all())
        if (u.chain > 0) rows.push_back(&u);
    std::sort(rows.begin(), rows.end(), [](const units::Unit* a, const units::Unit* b) { return a->chain < b->chain; });
    std::vector<ChainStep> out;
    for (const units::Unit* u : rows) {
        auto f =
            std::find_if(std::begin(functions), std::end(functions), [&](const auto& p) { return p.first == u->step; });
        // units/steps.tsv and this list disagree: a build that cannot render
        if (f == std::end(functions))
            throw std::logic_error("units/steps.tsv places " + std::string(u->step) + " in the chain: no function");
        out.push_back({u->step, f->second, u->kinds});
    }
    return out;
}

}  // namespace

std::span<const ChainStep> chain_steps() {
    static const std::vector<ChainStep> steps = ordered();
    return steps;
}

}  // namespace eksnode::cli
