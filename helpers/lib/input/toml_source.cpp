// SPDX-License-Identifier: Apache-2.0
// eks-node.toml front end: the NodeConfig spec's fields at the top level,
// plus [settings] for eks-node's own knobs.
#include "format/convert.hpp"
#include "format/limits.hpp"
#include "input/sources.hpp"

namespace eksnode::input {

Fragment fragment_from_toml(std::string_view text, const std::string& source) {
    format::ReadBudget budget{source};
    return fragment_from_toml(text, source, budget);
}

Fragment fragment_from_toml(std::string_view text, const std::string& source, format::ReadBudget& budget) {
    Fragment f{source};
    ++budget.documents;
    // Everything but [settings] is spec; validate_fragment names unknown keys.
    for (const auto& [key, node] : format::parse_toml(text, source)) {
        std::string name(key.str());
        if (name == "settings") f.settings = format::toml_to_json(node, source, "settings", &budget);
        else f.spec[name] = format::toml_to_json(node, source, "spec." + name, &budget);
    }
    format::parse_containerd_config(f.spec, source, &budget);
    return f;
}

}  // namespace eksnode::input
