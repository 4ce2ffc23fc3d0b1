// SPDX-License-Identifier: Apache-2.0
// eks-node.toml front end: the NodeConfig spec's fields at the top level,
// plus [settings] for eks-node's own knobs.
#include "config/convert.hpp"
#include "config/sources.hpp"

namespace eksnode::config {

Fragment fragment_from_toml(std::string_view text, const std::string& source) {
    ReadBudget budget{source};
    return fragment_from_toml(text, source, budget);
}

Fragment fragment_from_toml(std::string_view text, const std::string& source, ReadBudget& budget) {
    Fragment f{source};
    ++budget.documents;
    // Everything but [settings] is spec; validate_fragment names unknown keys.
    for (const auto& [key, node] : parse_toml(text, source)) {
        std::string name(key.str());
        if (name == "settings") f.settings = toml_to_json(node, source, "settings", &budget);
        else f.spec[name] = toml_to_json(node, source, "spec." + name, &budget);
    }
    parse_containerd_config(f.spec, source, &budget);
    return f;
}

}  // namespace eksnode::config
