// SPDX-License-Identifier: Apache-2.0
// Workload profiles (eks-node.toml(5), WORKLOAD PROFILES): settings.profile
// names a set of values (sysctls, kubelet knobs, the maxPods policy) that are
// laid under everything the sources set, so a value any source sets wins per
// key, and each profile value's origin is "profile NAME". settings.sysctls:
// kernel parameters by name, applied by systemd-sysctl (eks-node-system(8)).
#pragma once

#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::input::profiles {

// Every profile, in the order eks-node.toml(5) documents them.
inline constexpr std::string_view names[] = {"default", "high-density", "accelerated", "batch"};

// The values of profile `name` as a fragment: {"spec": {...}, "settings": {...}}
// (empty objects for "default"). Throws std::out_of_range for another name.
json values(std::string_view name);

// Lays the values of the profile settings.profile names under `spec` and
// `settings`: only keys no source set are filled, each with the origin
// "profile NAME (settings.profile, SOURCE)". Nothing when settings.profile is
// absent. The name is checked by the schema before this runs.
void apply(json& spec, json& settings, Origins& origins);

// "" when `name` is a sysctl name eks-node writes (dotted, such as
// "kernel.pid_max"), else why not.
std::string sysctl_name_problem(std::string_view name);

// The text a value of settings.sysctls takes in a sysctl.d file: an integer
// as written, a string as is. "" and `problem` set when it is neither a
// string nor an integer, or a string sysctl.d(5) cannot carry.
std::string sysctl_value(const json& value, std::string& problem);

// The reader of the table settings.sysctls (a schema::Reader): throws
// ConfigError(source, "settings.sysctls[.NAME]", problem) for the first bad
// name or value.
void read_sysctls(const json& table, const std::string& source);

}  // namespace eksnode::input::profiles
