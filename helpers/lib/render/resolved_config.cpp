// config.json, the hand-off from eks-node-config to every renderer.
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "render/render.hpp"

namespace eksnode {

json load_resolved_config(const fs::path& file) {
    std::optional<std::string> text = read_file_if_exists(file);
    if (!text) throw ConfigError(file.string(), "", "missing; eks-node-config writes it (did it run?)");
    try {
        return json::parse(*text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
        throw ConfigError(file.string(), "", fmt::format("not valid JSON: {}", e.what()));
    }
}

}  // namespace eksnode
