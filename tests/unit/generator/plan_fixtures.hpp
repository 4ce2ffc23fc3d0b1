// SPDX-License-Identifier: Apache-2.0
// What the generator's unit tests ask of a plan (test_generator.cpp, test_escaping.cpp).
#pragma once

#include <string_view>

#include "core/log.hpp"
#include "generator/generator.hpp"

namespace eksnode::test {

// The plan carries a warning whose text holds `fragment`.
inline bool warned(const generator::GeneratorPlan& p, std::string_view fragment) {
    for (const auto& m : p.messages)
        if (m.level == log::Level::warning && m.text.find(fragment) != std::string::npos) return true;
    return false;
}

}  // namespace eksnode::test
