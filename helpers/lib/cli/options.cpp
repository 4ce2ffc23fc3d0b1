// SPDX-License-Identifier: Apache-2.0
#include "cli/options.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "format/field_text.hpp"

namespace eksnode::cli {

namespace {

const OptionSpec* find_option(const CommandSpec& c, std::string_view name) {
    for (const OptionSpec& o : c.options)
        if (o.name == name) return &o;
    return nullptr;
}

// Words of `text` in lines of at most `width` (a longer word alone), each
// after `indent`, the first after `first` instead.
std::string wrap(std::string_view text, size_t width, std::string_view first, std::string_view indent) {
    std::string out(first), line;
    size_t start = 0;
    auto flush = [&](bool last) {
        out += line;
        if (!last) out += "\n" + std::string(indent);
        line.clear();
    };
    while (start < text.size()) {
        size_t end = text.find(' ', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view word = text.substr(start, end - start);
        start = end + 1;
        if (word.empty()) continue;
        if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) flush(false);
        if (!line.empty()) line += ' ';
        line += word;
    }
    flush(true);
    return out + "\n";
}

constexpr size_t help_width = 96;

// "--root=DIR" or "--json"
std::string option_words(const OptionSpec& o) {
    return o.value.empty() ? std::string(o.name) : fmt::format("{}={}", o.name, o.value);
}

std::string options_block(std::span<const OptionSpec> options, bool with_help) {
    static constexpr OptionSpec help_option{"--help", "", false, "show this help"};
    std::vector<const OptionSpec*> all;
    for (const OptionSpec& o : options) all.push_back(&o);
    if (with_help) all.push_back(&help_option);
    size_t col = 0;
    for (const OptionSpec* o : all) col = std::max(col, option_words(*o).size());
    col = std::min<size_t>(col, 30) + 5;  // two before, at least three after
    std::string out;
    for (const OptionSpec* o : all) {
        std::string head = "  " + option_words(*o);
        if (o->repeatable) head += " (repeatable)";
        if (head.size() + 1 > col) {
            out += head + "\n";
            head.clear();
        }
        head.resize(col, ' ');
        out += wrap(o->help, help_width, head, std::string(col, ' '));
    }
    return out;
}

}  // namespace

std::string command_help(std::string_view command, std::string_view text) {
    const size_t at = text.find(options_marker);
    if (at == std::string_view::npos || (at > 0 && text[at - 1] != '\n'))
        throw Error(fmt::format("{}: its help has no line {}", command, options_marker.substr(0, 9)));
    const CommandSpec* c = find_command(command);
    if (!c) throw Error(fmt::format("{}: not in the table of commands (options.tsv)", command));
    std::string out(text.substr(0, at));
    out += options_block(c->options, true);
    // a command's subcommands ("config check"), each with its options
    const std::string prefix = std::string(command) + " ";
    for (const CommandSpec& sub : command_specs()) {
        if (!sub.name.starts_with(prefix) || sub.options.empty()) continue;
        out += fmt::format("\n{}{}:\n", sub.name, sub.args.empty() ? "" : fmt::format(" {}", sub.args));
        out += options_block(sub.options, false);
    }
    out += text.substr(at + options_marker.size());
    return out;
}

std::string commands_help() {
    std::string out;
    const auto specs = command_specs();
    for (const CommandSpec& c : specs) {
        // "config" is its subcommands' rows
        const std::string prefix = std::string(c.name) + " ";
        if (c.hidden ||
            std::any_of(specs.begin(), specs.end(), [&](const CommandSpec& s) { return s.name.starts_with(prefix); }))
            continue;
        std::string head = fmt::format("  {}", c.name);
        for (const OptionSpec& o : c.options) head += fmt::format(" [{}]", option_words(o));
        if (!c.args.empty()) head += fmt::format(" {}", c.args);
        // the options in short on the command's line while they fit, else [OPTIONS]
        if (head.size() > help_width)
            head = fmt::format("  {}{}{}", c.name, c.options.empty() ? "" : " [OPTIONS]",
                               c.args.empty() ? "" : fmt::format(" {}", c.args));
        out += head + "\n";
        out += wrap(c.help, help_width, std::string(23, ' '), std::string(23, ' '));
    }
    return out;
}

const CommandSpec* find_command(std::string_view name) {
    for (const CommandSpec& c : command_specs())
        if (c.name == name) return &c;
    return nullptr;
}

std::string near_name(std::string_view name, const std::vector<std::string>& known) {
    std::string best = format::text::nearest(name, known);
    if (best.empty()) return best;
    // a third of the name's letters wrong, at least 2: "--rot", "--jsno"; not "--x"
    const size_t limit = std::max<size_t>(2, name.size() / 3);
    return format::text::edit_distance(name.substr(0, 64), best) <= limit ? best : std::string();
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

int positive_int_option(std::string_view option, const std::string& value) {
    int n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1)
        throw UsageError(fmt::format("{}: \"{}\" is not a positive number", option, one_line(value, 80)));
    return n;
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
