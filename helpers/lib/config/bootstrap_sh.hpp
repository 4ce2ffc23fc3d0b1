// SPDX-License-Identifier: Apache-2.0
// AL2 user data: shell scripts that call /etc/eks/bootstrap.sh CLUSTER [flags].
//
// Two ways in, one mapping. eks-node-config reads the script statically (never
// runs it, config/shell.hpp), enough to find the one bootstrap.sh call and its
// arguments. When cloud-init later runs the
// script, /etc/eks/bootstrap.sh is our shim (`eks-node bootstrap-sh`), which
// gets the arguments from the shell itself. Both map the same flags to the same
// Fragment. What is understood, and how each flag maps: eks-node-config(8),
// "AL2 BOOTSTRAP.SH USER DATA".
//
// Owner area: helpers/lib/config/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/sources.hpp"

namespace eksnode::config::bootstrap_sh {

inline constexpr std::string_view script_path = "/etc/eks/bootstrap.sh";
// Written by the shim when it runs under systemd on the host: the script has
// called bootstrap.sh on this boot, so kubelet no longer waits for cloud-init
// and eks-node-config queues no eks-node-cloud-init job (steps/config.cpp).
inline constexpr std::string_view called_marker = "/run/eks-node/bootstrap-sh-called";

// One argument of the call. `unresolved` says why its value cannot be known
// without running the script ("$(curl ...) is a command substitution"); the
// shim's arguments are always resolved.
struct Arg {
    std::string value;
    std::string unresolved;
    std::string raw;  // as written in the script, for messages
};

// The content of a file a flag names (--containerd-config-file): the script's
// own here-document for it (static path), or the file on the node (shim).
// nullopt: unknown; the string in `why` then says why.
using FileReader = std::function<std::optional<std::string>(const std::string& path, std::string& why)>;

// Maps the arguments after "bootstrap.sh" to a fragment whose source is
// `source`. Throws ConfigError(source, "bootstrap.sh --flag", why) for a flag
// that is unknown, unsupported (dockerd), malformed or unresolved.
Fragment fragment_from_args(const std::vector<Arg>& args, const std::string& source, const FileReader& read_file);
Fragment fragment_from_args(const std::vector<std::string>& args, const std::string& source,
                            const FileReader& read_file);

// Reads a shell script. nullopt if it never calls /etc/eks/bootstrap.sh; the
// fragment of its call otherwise, with source "<label> (bootstrap.sh, line N)".
// Throws ConfigError for a second call, an argument it cannot resolve, or
// expansions beyond limits::script_value_bytes (one word, variable or
// here-document) or limits::script_expansion_bytes (all of them).
std::optional<Fragment> fragment_from_script(std::string_view script, const std::string& label);

// True if the fragment came from a bootstrap.sh call in user data.
bool is_bootstrap_fragment(const Fragment& f);

// User data as fragments_from_user_data() reads it, but with shell scripts
// carrying no configuration (the behaviour before this front end): what the
// shim keeps of user data beside the flags it was run with.
std::vector<Fragment> fragments_from_user_data_without_scripts(std::string_view raw, std::string_view label);

}  // namespace eksnode::config::bootstrap_sh
