// SPDX-License-Identifier: Apache-2.0
// AL2 user data: shell scripts that call /etc/eks/bootstrap.sh CLUSTER [flags].
//
// Two ways in, one mapping. eks-node-config reads the script statically (never
// runs it, format/shell.hpp), enough to find the one bootstrap.sh call, its
// arguments and the variables the script exports to it. When cloud-init later
// runs the script, /etc/eks/bootstrap.sh is our shim (`eks-node bootstrap-sh`),
// which gets the arguments and the environment from the shell itself. Both map
// the same flags and variables to the same Fragment. What is understood, and
// how each flag maps: eks-node-config(8), "AL2 BOOTSTRAP.SH USER DATA".
//
// Owner area: helpers/lib/input/.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "input/sources.hpp"

namespace eksnode::input::bootstrap_sh {

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

// A variable of bootstrap.sh's environment (environment_names()).
struct Variable {
    std::string value;
    std::string unresolved;  // why the script's value cannot be known; empty if it is
    std::string where;       // "line 3" (the script's assignment), "" for the shim's environment
};

// What user data's edits of /etc/eks/bootstrap.sh add to KUBELET_EXTRA_ARGS:
// eksctl's --max-pods edit (eks-node-config(8)), the one edit understood.
// The file is never run, so that is all an edit can still do.
struct Edits {
    std::string after_flag;   // after --kubelet-extra-args's value, when the call passes that flag
    std::string after_value;  // after the value, whether from the flag, the environment or neither
};

// What reaches bootstrap.sh beside its arguments.
struct Inputs {
    std::map<std::string, Variable> environment;  // only names of environment_names()
    Edits edits;
};

// The variables bootstrap.sh reads from its environment (every flag's but
// --help's, PAUSE_CONTAINER_IMAGE, IS_LOCAL_OUTPOST_DETECTED):
// tests/data/bootstrap-sh-environment.tsv.
const std::vector<std::string>& environment_names();

// The shim's inputs: those variables of a process environment (`environ`).
Inputs inputs_from_environment(const char* const* envp);

// The content of a file a flag names (--containerd-config-file): the script's
// own here-document for it (static path), or the file on the node (shim).
// nullopt: unknown; the string in `why` then says why.
using FileReader = std::function<std::optional<std::string>(const std::string& path, std::string& why)>;

// Maps the arguments after "bootstrap.sh" to a fragment whose source is
// `source`. Throws ConfigError(source, "bootstrap.sh --flag", why) for a flag
// that is unknown, unsupported (dockerd), malformed or unresolved.
// A variable of `inputs` stands for its flag when the call lacks the flag
// and the value is not empty (bootstrap.sh's ${VAR:-default}); the edits
// then extend --kubelet-extra-args. An unresolved variable is refused like an
// unresolved argument.
Fragment fragment_from_args(const std::vector<Arg>& args, const std::string& source, const FileReader& read_file,
                            const Inputs& inputs = {});
Fragment fragment_from_args(const std::vector<std::string>& args, const std::string& source,
                            const FileReader& read_file, const Inputs& inputs = {});

// Reads a shell script. nullopt if it never calls /etc/eks/bootstrap.sh; the
// fragment of its call otherwise, with source "<label> (bootstrap.sh, line N)".
// Throws ConfigError for a second call, an argument it cannot resolve, or
// expansions beyond limits::script_value_bytes (one word, variable or
// here-document) or limits::script_expansion_bytes (all of them).
std::optional<Fragment> fragment_from_script(std::string_view script, const std::string& label);

// The shell scripts of one user data, in the order cloud-init runs them (MIME
// part order): an edit of /etc/eks/bootstrap.sh in one applies to a call in a
// later one, as eksctl's part before the managed node group's does. Every
// other write to the file is logged as a warning: it has no effect.
class Scripts {
public:
    // The fragment of the script's call, as fragment_from_script(), with the
    // edits made before it in this script or an earlier one.
    std::optional<Fragment> read(std::string_view script, const std::string& label);
    // Only the edits, quietly (the shim's way: the boot said it): a script
    // that cannot be read adds none.
    void read_edits(std::string_view script, const std::string& label);
    const Edits& edits() const { return edits_; }

private:
    Edits edits_;
    bool called_ = false;  // a script called bootstrap.sh: later edits come too late
};

// True if the fragment came from a bootstrap.sh call in user data.
bool is_bootstrap_fragment(const Fragment& f);

// User data as fragments_from_user_data() reads it, but with shell scripts
// carrying no configuration (the behaviour before this front end): what the
// shim keeps of user data beside the flags it was run with.
// `edits`, if given, receives the edits of /etc/eks/bootstrap.sh its scripts make.
std::vector<Fragment> fragments_from_user_data_without_scripts(std::string_view raw, std::string_view label,
                                                               Edits* edits = nullptr);

namespace detail {

// N of --max-pods=N as the mapping takes it: digits, at most six of them.
bool is_pod_count(std::string_view n);
// The flag bootstrap.sh's variable NAME stands for, empty for none (or no such variable).
std::string_view flag_of_variable(std::string_view name);

}  // namespace detail

}  // namespace eksnode::input::bootstrap_sh
