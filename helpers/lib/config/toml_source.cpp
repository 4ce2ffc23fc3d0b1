// SPDX-License-Identifier: Apache-2.0
// eks-node.toml front end: the NodeConfig spec's fields at the top level,
// plus [settings] for eks-node's own knobs.
#include "config/convert.hpp"
#include "config/sources.hpp"

namespace eksnode::config {

Fragment fragment_from_toml(std::string_view text, const std::string& source) {
    Fragment f{source};
    // Everything but [settings] is spec; validate_fragment names unknown keys.
    for (const auto& [key, node] : parse_toml(text, source)) {
        std::string name(key.str());
        if (name == "settings")
            f.settings = toml_to_json(node, source, "settings");
        else
            f.spec[name] = toml_to_json(node, source, "spec." + name);
    }
    parse_containerd_config(f.spec, source);
    return f;
}

}  // namespace eksnode::config
