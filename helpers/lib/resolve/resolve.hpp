// eks-node-config: gathers every configuration source in order, validates,
// derives, and returns the single resolved truth (config.json).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/sources.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode {

// Drop-in directories searched for node.toml.d/*.toml, lowest priority first.
inline constexpr std::string_view config_dirs[] = {"/usr/lib/eks-node", "/run/eks-node", "/etc/eks-node"};
// The slot user data takes among the fragments (sorts between 10-* and 90-*).
inline constexpr std::string_view user_data_slot = "50-user-data";

struct FragmentFile {
    std::string name;   // file name, e.g. "10-image.toml" (decides the order)
    fs::path path;      // the winning file across the three directories
};

// Fragment files in merge order, after systemd drop-in rules: sorted by name
// across the three directories, a same-named file in /etc hides /run hides
// /usr/lib, a symlink to /dev/null (or an empty file) masks.
std::vector<FragmentFile> fragment_files(const Paths& paths);

// Only the static TOML fragments' settings (no user data): what eks-node-imds
// and the generator may read before user data is known.
json static_settings(const Paths& paths);

struct ResolveInput {
    Paths paths;
    json instance;                          // instance.json
    std::optional<std::string> user_data;   // raw bytes, as IMDS served them
    std::string user_data_label = "user data";
};

// Returns config.json. Throws ConfigError (exit 6) before anything is written.
json resolve_config(const ResolveInput& in);

}  // namespace eksnode
