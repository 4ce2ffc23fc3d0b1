// SPDX-License-Identifier: Apache-2.0
#include "cli/chain.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "steps/steps.hpp"

namespace eksnode::cli {

namespace {

// steps/entries.hpp's list is generated from units/steps.tsv in its chain order
// (tools/gen-steps.py); the node kinds each step runs for come from the same table.
std::vector<ChainStep> ordered() {
    std::vector<ChainStep> out;
    for (const steps::ChainFunction& c : steps::chain_functions) {
        auto u = std::find_if(units::all().begin(), units::all().end(),
                              [&](const units::Unit& row) { return row.chain > 0 && row.step == c.step; });
        if (u == units::all().end())  // two outputs of one generator run disagree: a broken build
            throw std::logic_error("steps/entries.hpp names " + std::string(c.step) + ": not in units/steps.tsv");
        out.push_back({u->step, c.run, u->kinds});
    }
    return out;
}

}  // namespace

std::span<const ChainStep> chain_steps() {
    static const std::vector<ChainStep> steps = ordered();
    return steps;
}

}  // namespace eksnode::cli
