// SPDX-License-Identifier: Apache-2.0
#include "cli/options.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/text.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace eksnode::cli {

namespace {

const OptionSpec* find_option(const CommandSpec& c, std::string_view name) {
    for (const OptionSpec& o : c.options)
        if (o.name == name) return &o;
    return nullptr;
}

}  // namespace

const CommandSpec* find_command(std::string_view name) {
    for (const CommandSpec& c : command_specs())
        if (c.name == name) return &c;
    return nullptr;
}

std::string near_name(std::string_view name, const std::vector<std::string>& known) {
    std::string best = config::text::nearest(name, known);
    if (best.empty()) return best;
    // a third of the name's letters wrong, at least 2: "--rot", "--jsno"; not "--x"
    const size_t limit = std::max<size_t>(2, name.size() / 3);
    return config::text::edit_distance(name.substr(0, 64), best) <= limit ? best : std::string();
}

std::string usage_line(std::string_view command) {
    const CommandSpec* c = find_command(command);
    if (!c) return "Usage: eks-node COMMAND [OPTIONS]";
    std::string line = fmt::format("Usage: eks-node {}", command);
    if (!c->options.empty()) line += " [OPTIONS]";
    if (!c->args.empty()) line += fmt::format(" {}", c->args);
    return line;
}

bool ParsedOptions::has(std::string_view name) const {
    return std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first == name; });
}

std::optional<std::string> ParsedOptions::value(std::string_view name) const {
    std::optional<std::string> v;
    for (const auto& [n, val] : given)
        if (n == name) v = val;
    return v;
}

std::vector<std::string> ParsedOptions::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, val] : given)
        if (n == name) out.push_back(val);
    return out;
}

ParsedOptions parse_options(std::string_view command, const std::vector<std::string>& args) {
    const CommandSpec* c = find_command(command);
    if (!c) throw Error(fmt::format("{}: not in the table of commands (options.tsv)", command));
    ParsedOptions out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            out.args.insert(out.args.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (!a.starts_with("-") || a == "-") {
            out.args.push_back(a);
            continue;
        }
        const size_t eq = a.find('=');
        const std::string name = a.substr(0, eq);
        const OptionSpec* o = find_option(*c, name);
        if (!o) {
            std::vector<std::string> known;
            for (const OptionSpec& k : c->options) known.emplace_back(k.name);
            const std::string near = name.starts_with("--") ? near_name(name, known) : std::string();
            throw UsageError(fmt::format("{}: unknown option {}{}", command, one_line(name, 80),
                                         near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
        }
        std::string value;
        if (o->value.empty()) {
            if (eq != std::string::npos) throw UsageError(fmt::format("{}: {} takes no value", command, name));
        } else if (eq != std::string::npos) {
            value = a.substr(eq + 1);
        } else {
            if (i + 1 == args.size())
                throw UsageError(fmt::format("{}: {} needs a value ({} {} or {}={})", command, name, name, o->value,
                                             name, o->value));
            value = args[++i];
        }
        if (!o->repeatable && out.has(name)) throw UsageError(fmt::format("{}: {} given twice", command, name));
        out.given.emplace_back(name, std::move(value));
    }
    return out;
}

void apply_common(const ParsedOptions& parsed, StepOptions& out) {
    for (const auto& [name, val] : parsed.given) {
        if (name == "--root") out.paths = Paths(val);
        else if (name == "--config") out.config_path = val;
        else if (name == "--imds-endpoint") out.imds_endpoint = val;
        else if (name == "--user-data") out.user_data_file = val;
        else if (name == "--log-level") {
            log::Level l;
            if (!log::parse_level(val, l)) throw UsageError(fmt::format("--log-level: unknown level \"{}\"", val));
            log::set_level(l);
        }
    }
}

std::string step_of_unit(std::string_view name) {
    if (name.ends_with(".service")) name.remove_suffix(8);
    if (name.starts_with("eks-node-")) name.remove_prefix(9);
    return std::string(name);
}

}  // namespace eksnode::cli
