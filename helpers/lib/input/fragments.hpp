// SPDX-License-Identifier: Apache-2.0
// Where the TOML fragments live (node.toml.d/ in three directories, systemd's
// drop-in rules) and the settings steps read before user data is known.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode::input {

// Drop-in directories searched for node.toml.d/*.toml, lowest priority first.
inline constexpr std::string_view config_dirs[] = {"/usr/lib/eks-node", "/run/eks-node", "/etc/eks-node"};
// The slot user data takes among the fragments (sorts between 10-* and 90-*).
inline constexpr std::string_view user_data_slot = "50-user-data";

struct FragmentFile {
    std::string name;  // file name, e.g. "10-image.toml" (decides the order)
    fs::path path;     // the winning file across the three directories
};

// Fragment files in merge order, after systemd drop-in rules: sorted by name
// across the three directories, a same-named file in /etc hides /run hides
// /usr/lib, a symlink to /dev/null (or an empty file) masks. Throws
// ConfigError naming the file for a fragment whose name has a control
// character or is not UTF-8: generated files name their sources, and such a
// name would add lines to them.
std::vector<FragmentFile> fragment_files(const Paths& paths);

// nodeadm's drop-in directory: NodeConfig files (.yaml, .yml, .json) baked
// into an image or written before eks-node-config runs. nodeadm merges them
// after user data, in name order, and they win over it; eks-node merges them
// right after the user data slot (so before 60-* and later TOML fragments).
inline constexpr std::string_view nodeadm_dropin_dir = "/etc/eks/nodeadm.d";

// The NodeConfig files of nodeadm_dropin_dir, sorted by name: regular files
// (or symlinks to them) whose names end in .yaml, .yml or .json and do not
// start with a dot. None when the directory does not exist. Throws
// ConfigError for a name as fragment_files() does.
std::vector<fs::path> nodeadm_dropins(const Paths& paths);

// The text of a node.toml.d fragment: a regular file, or a symlink to one, of
// at most limits::user_data_bytes (1 MiB, the bound of user data and of
// nodeadm.d's files). Anything else is refused before a byte is read, as a
// ConfigError naming the file: a symlink to /dev/zero would be read without
// end, a FIFO would block the read (and the boot) forever, a device could act
// on being opened. Opened with O_NONBLOCK and checked again with fstat(), so
// a file swapped for a FIFO after the first check does not block either.
// Throws Error for an I/O error.
std::string read_fragment_file(const fs::path& p);

// systemd's rule: a drop-in that is a symlink to /dev/null, or empty, masks
// every lower-priority file of the same name.
bool is_mask(const fs::path& p);

// settings.<table> of the static fragments (no user data), merged key by key,
// read with toml++ alone: for eks-node-imds, which must not pull in the whole
// config model. The caller validates the values (imds_options() does). Throws
// ConfigError naming the file on a TOML syntax error.
json static_settings_table(const Paths& paths, std::string_view table);

}  // namespace eksnode::input
