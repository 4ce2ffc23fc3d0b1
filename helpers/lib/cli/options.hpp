// SPDX-License-Identifier: Apache-2.0
// The operator CLI's commands and options, from helpers/lib/cli/options.tsv (the one
// table --help, this parser and the bash, zsh and fish completions are made from), and
// the one parser every command's options go through.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/step.hpp"

namespace eksnode::cli {

struct OptionSpec {
    std::string_view name;   // "--root"
    std::string_view value;  // its value's name ("DIR"), "" for a flag
    bool repeatable;
    std::string_view help;
};

struct CommandSpec {
    std::string_view name;  // "render", "config check"
    std::string_view args;  // what follows the options ("[SOURCE...]"), "" for nothing
    bool hidden;            // not in `eks-node help` nor the completions
    std::string_view help;
    std::span<const OptionSpec> options;
};

// Every command of options.tsv, in its order (generated: options_table.cpp).
std::span<const CommandSpec> command_specs();
// The command named so ("config check"), nullptr when there is none.
const CommandSpec* find_command(std::string_view name);
// The name of `known` near enough to `name` to be what was meant, "" when none is.
std::string near_name(std::string_view name, const std::vector<std::string>& known);
// "Usage: eks-node CMD [OPTIONS] ARGS": the line a usage error prints.
std::string usage_line(std::string_view command);

// `eks-node COMMAND --help`: `text` (its usage lines, what it does, exit status,
// written with the command) with its line "@OPTIONS@" replaced by the options as
// the table has them, one each with its value and help (wrapped), --help last;
// "config" adds each subcommand's options under its name. Throws Error for a
// command not in the table or a text without that line (a build-time mistake,
// which the cli-options test runs into).
inline constexpr std::string_view options_marker = "@OPTIONS@\n";
std::string command_help(std::string_view command, std::string_view text);
// `eks-node --help`'s list of commands: each visible command of the table with
// its options in short and its help, as the table has them.
std::string commands_help();

struct ParsedOptions {
    std::vector<std::pair<std::string, std::string>> given;  // ("--root", "/x"), in order; "" for a flag
    std::vector<std::string> args;                           // the rest, after "--" too
    bool has(std::string_view name) const;
    std::optional<std::string> value(std::string_view name) const;
    std::vector<std::string> values(std::string_view name) const;
};

// `args` as `command`'s options (options.tsv): "--opt=V" and "--opt V" for an
// option that takes a value, a flag alone; "--" ends the options, "-" is an
// argument. Throws UsageError "CMD: unknown option --X (did you mean --Y?)", or
// for a flag given a value, a value missing, an option given twice.
ParsedOptions parse_options(std::string_view command, const std::vector<std::string>& args);

// An option's value as a number of at least 1; UsageError naming the option otherwise.
int positive_int_option(std::string_view option, const std::string& value);

// --root, --config, --imds-endpoint, --user-data and --log-level given into `out`.
void apply_common(const ParsedOptions& parsed, StepOptions& out);

// The step named by a unit ("eks-node-imds", "eks-node-imds.service") or itself ("imds").
std::string step_of_unit(std::string_view name);

}  // namespace eksnode::cli
