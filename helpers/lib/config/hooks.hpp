// SPDX-License-Identifier: Apache-2.0
// settings.hooks: commands an image, an admin or user data declare, each run
// by its own unit, eks-node-hook@NAME.service, at one point of the join
// (eks-node-hook(8)). Read here once, for eks-node-config's validation of the
// merged settings and for the generator, which turns each hook into the
// drop-in that gives the template unit its command, order and timeout.
//
// No step of ours runs a hook or spawns a shell: systemd runs the command of
// the hook's own unit, so `systemctl status`, `journalctl -u` and a re-run
// with `systemctl restart` work on it as on any unit.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::config::hooks {

// Where in the join a hook runs (eks-node-hook(8), STAGES).
enum class Stage {
    before_containerd,  // before containerd starts; runs at boot without waiting for the configuration
    before_kubelet,     // after the render steps and containerd, before kubelet
    after_join,         // after kubelet answers its health check (eks-node-joined(8)); never delays kubelet
};

struct Hook {
    std::string name;
    std::vector<std::string> command;  // the program (an absolute path) and its arguments
    Stage stage = Stage::before_kubelet;
    std::chrono::milliseconds timeout = std::chrono::minutes(5);
    bool essential = true;  // a failure holds kubelet back (or stops it, after the join)
    std::string description;
};

// The names of Stage, as written in TOML.
inline constexpr std::string_view stage_names[] = {"before-containerd", "before-kubelet", "after-join"};
std::string_view stage_name(Stage s);

// More hooks than this is a configuration mistake, not a node: each is a unit.
inline constexpr size_t max_hooks = 32;
// Of one command: its words, and the bytes of each.
inline constexpr size_t max_words = 256;
inline constexpr size_t max_word = 4096;

// Problems (as errors show them after the field path), empty when fine.
// A name becomes the instance of eks-node-hook@NAME.service as it is, so only
// characters systemd needs no escaping for: [A-Za-z0-9_-], at most 64.
std::string name_problem(std::string_view name);
// One word of a command: UTF-8 text without control characters (a newline
// would end the ExecStart= line), at most max_word bytes.
std::string word_problem(std::string_view word);

// The hooks of the merged settings.hooks table (null or absent: none), in
// name order. Each must have a command whose first word is an absolute path;
// the rest have defaults. Throws ConfigError(origin(pointer),
// "settings.hooks.NAME[.key]", problem) for the first problem, `origin`
// naming the source of a JSON pointer below /settings/hooks.
std::vector<Hook> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// "eks-node-hook@NAME.service"
std::string unit_name(std::string_view name);

// The command as one ExecStart= value, by the unit-file writer
// (syntax::unit::exec): each word double-quoted, with '\\' and '"' escaped,
// and '%' and '$' doubled, so that systemd neither splits, expands
// specifiers in nor substitutes variables into what the user wrote.
std::string exec_line(const std::vector<std::string>& command);

}  // namespace eksnode::config::hooks
