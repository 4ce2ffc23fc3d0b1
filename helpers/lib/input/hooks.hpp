// SPDX-License-Identifier: Apache-2.0
// settings.hooks: commands an image, an admin or user data declare, each run
// by its own unit, eks-node-hook@NAME.service, at one point of the join
// (eks-node-hook(8)). Read here once, for eks-node-config's validation of the
// merged settings and for the generator, which turns each hook into the
// drop-in that gives the template unit its command, order and timeout.
//
// No step of ours runs a hook or spawns a shell: systemd runs the hook's own
// unit, so `systemctl status`, `journalctl -u` and a re-run with `systemctl
// restart` work on it as on any unit. Its command and environment are not in
// the unit, though: systemd shows every setting of a unit to every user
// (`systemctl show`, D-Bus), and a hook's words may carry a token. The
// generator writes them to a file only root reads (command_file_text), and
// the unit's ExecStart= runs eks-node-hook NAME, which reads it and becomes
// the command (execv: the same process, exit status and signals).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::input::hooks {

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
    // Variables set for the command only: where a secret belongs, since a
    // process's arguments are visible to every user (ps), its environment
    // only to root.
    std::map<std::string, std::string> environment;
};

// The names of Stage, as written in TOML.
inline constexpr std::string_view stage_names[] = {"before-containerd", "before-kubelet", "after-join"};
std::string_view stage_name(Stage s);

// More hooks than this is a configuration mistake, not a node: each is a unit.
inline constexpr size_t max_hooks = 32;
// Of one command: its words, and the bytes of each.
inline constexpr size_t max_words = 256;
inline constexpr size_t max_word = 4096;
// Of its environment: the variables (each value at most max_word bytes).
inline constexpr size_t max_variables = 64;

// Problems (as errors show them after the field path), empty when fine.
// A name becomes the instance of eks-node-hook@NAME.service as it is, so only
// characters systemd needs no escaping for: [A-Za-z0-9_-], at most 64.
std::string name_problem(std::string_view name);
// One word of a command: UTF-8 text without control characters (a newline
// would end the ExecStart= line), at most max_word bytes.
std::string word_problem(std::string_view word);
// A value of its environment: the same, and the problem never quotes it.
std::string value_problem(std::string_view value);

// The hooks of the merged settings.hooks table (null or absent: none), in
// name order. Each must have a command whose first word is an absolute path;
// the rest have defaults. Throws ConfigError(origin(pointer),
// "settings.hooks.NAME[.key]", problem) for the first problem, `origin`
// naming the source of a JSON pointer below /settings/hooks.
std::vector<Hook> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// "eks-node-hook@NAME.service"
std::string unit_name(std::string_view name);

// What eks-node-hook runs: the hook's command and environment, as the
// generator writes them for it (JSON, keys sorted: the same hook, the same
// bytes) and reads them back.
struct Command {
    std::vector<std::string> argv;
    std::map<std::string, std::string> environment;
};
std::string command_file_text(const Hook& h);
// Throws ConfigError naming `origin` when the text is not such a file, or holds a
// command read() would refuse (no words, a first word not an absolute path,
// a word or a variable it does not take).
Command parse_command_file(std::string_view text, std::string_view origin);

// The command as one ExecStart= value, by the unit-file writer
// (syntax::unit::exec): each word double-quoted, with '\\' and '"' escaped,
// and '%' and '$' doubled, so that systemd neither splits, expands
// specifiers in nor substitutes variables into what the user wrote.
std::string exec_line(const std::vector<std::string>& command);

}  // namespace eksnode::input::hooks
