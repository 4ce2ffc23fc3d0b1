// SPDX-License-Identifier: Apache-2.0
// settings.runtimes: containerd runtime handlers an image, an admin or user
// data declare (eks-node.toml(5), RUNTIME HANDLERS). Read here once, for
// eks-node-config's validation of the merged settings, for the containerd
// renderer, for the generator (which has systemd load each handler's kernel
// modules before containerd starts), and for `eks-node runtime-class`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode::config::runtimes {

// containerd's runtime type for an OCI runtime that runc's shim runs.
inline constexpr std::string_view runc_v2 = "io.containerd.runc.v2";

// Each handler is a containerd runtime, a RuntimeClass and, with modules, a
// drop-in: more than this is a configuration mistake, not a node.
inline constexpr size_t max_handlers = 16;

// The handler names eks-node defines itself (the default runtime: runc, or
// NVIDIA's wrapper): a handler of the same name would silently replace it.
inline constexpr std::string_view builtin_names[] = {"runc", "nvidia"};

struct Handler {
    std::string name;
    std::string type{runc_v2};
    std::string binary;  // the OCI runtime (runc.v2) or the shim, an absolute path
    json options = json::object();
    bool privileged_without_host_devices = false;
    std::vector<std::string> pod_annotations;
    std::vector<std::string> kernel_modules;
    bool is_default = false;
    std::string binary_source;   // where binary was set, for errors about the file
    std::string modules_source;  // where kernelModules was set
};

// The handlers of the merged settings.runtimes table (null or absent: none),
// in name order. Throws ConfigError(origin(pointer), "settings.runtimes.NAME[.key]",
// problem) for the first problem: a name of a built-in handler, no binary,
// options.BinaryName beside binary, more than one default, more than
// max_handlers. `origin` names the source of a JSON pointer below
// /settings/runtimes.
std::vector<Handler> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// The handlers of config.json (its settings.runtimes, validated when it was
// written), errors naming the source recorded in its origins.
std::vector<Handler> of_config(const json& cfg);

// The kernel's name for a module: modprobe takes '-' and '_' alike, the
// kernel (and /sys/module) knows '_'.
std::string module_name(std::string_view name);

// Whether a module can be loaded on the machine under `paths`: loaded or
// built in (/sys/module/NAME), or listed in modules.builtin or modules.dep of
// the running kernel. `checked` is false when the kernel's release cannot be
// read there (/proc/sys/kernel/osrelease: a render into a test tree).
struct ModuleCheck {
    bool checked = false;
    std::string problem;  // empty: available
};
ModuleCheck check_module(std::string_view name, const Paths& paths);

// Whether a module is in the running kernel on the machine under `paths`:
// loaded (/sys/module/NAME) or built in (modules.builtin).
bool module_loaded(std::string_view name, const Paths& paths);

// The problem with a handler's binary on the machine under `paths` (empty
// when it is an executable regular file).
std::string binary_problem(const Handler& h, const Paths& paths);
// The same for any program a rendered file names (a credential provider's).
std::string executable_problem(std::string_view binary, const Paths& paths);

// The RuntimeClass (node.k8s.io/v1) for a handler, as YAML.
std::string runtime_class_yaml(const Handler& h, const json& node_selector);

// Why `key` is not a Kubernetes label key ([PREFIX/]NAME: PREFIX a DNS
// subdomain, NAME a qualified name), or why `value` is not a label value;
// empty if it is. kube-apiserver refuses a RuntimeClass whose nodeSelector
// breaks them, and a key with a newline or ": " would change the YAML.
std::string label_key_problem(std::string_view key);
std::string label_value_problem(std::string_view value);

}  // namespace eksnode::config::runtimes
