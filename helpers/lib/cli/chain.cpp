// SPDX-License-Identifier: Apache-2.0
#include "cli/chain.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

std::vector<ChainStep> ordered() {
    std::vector<const units::Unit*> rows;
    for (const units::Unit& u : units::all())
        if (u.chain > 0) rows.push_back(&u);
    std::sort(rows.begin(), rows.end(), [](const units::Unit* a, const units::Unit* b) { return a->chain < b->chain; });
    std::vector<ChainStep> out;
    for (const units::Unit* u : rows) {
        // steps/entries.hpp's list is generated from the same table (tools/gen-steps.py)
        auto f = std::find_if(std::begin(steps::chain_functions), std::end(steps::chain_functions),
                              [&](const steps::ChainFunction& c) { return c.step == u->step; });
        if (f == std::end(steps::chain_functions))
            throw std::logic_error("units/steps.tsv places " + std::string(u->step) + " in the chain: no function");
        out.push_back({u->step, f->run, u->kinds});
    }
    return out;
}

}  // namespace

std::span<const ChainStep> chain_steps() {
    static const std::vector<ChainStep> steps = ordered();
    return steps;
}

}  // namespace eksnode::cli
