// SPDX-License-Identifier: Apache-2.0
#include "core/units.hpp"

namespace eksnode::units {

std::vector<std::string_view> eks_only() {
    std::vector<std::string_view> out;
    for (const Unit& u : all())
        if (u.kinds == Kinds::eks) out.push_back(u.unit);
    return out;
}

std::vector<std::string_view> started_on_demand() {
    std::vector<std::string_view> out;
    for (const Unit& u : all())
        if (u.start != Start::target) out.push_back(u.unit);
    return out;
}

}  // namespace eksnode::units
