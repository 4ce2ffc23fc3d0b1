// SPDX-License-Identifier: Apache-2.0
#include "input/hooks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/syntax.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::input::hooks {

using format::check::has_control;
using settings::expected;

std::string_view stage_name(Stage s) { return stage_names[static_cast<size_t>(s)]; }

std::string name_problem(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (ok) return {};
    return fmt::format(
        "{} is not a hook name (letters, digits, '-' and '_', at most 64: it names the unit "
        "eks-node-hook@NAME.service)",
        format::text::quote(name));
}

std::string value_problem(std::string_view value) {
    if (value.size() > max_word) return fmt::format("a value of more than {} bytes", max_word);
    if (has_control(value)) return "a value with a control character";
    return {};
}

std::string word_problem(std::string_view word) {
    if (word.size() > max_word) return fmt::format("a word of more than {} bytes", max_word);
    // not quoted: an argument may be a secret, and the error is logged
    if (has_control(word)) return "a word with a control character";
    return {};
}

std::vector<Hook> read(const json& table, const std::function<std::string(const std::string&)>& origin) {
    std::vector<Hook> out;
    // in name order: units in name order, every run alike
    for (const settings::Entry& e : settings::entries(table, "hooks", max_hooks, "hooks", origin)) {
        const std::string& name = e.name;
        const json& body = e.body;
        auto fail = [&](const std::string& key, const std::string& problem) {
            // the source that set this key, else any key of the hook
            throw ConfigError(origin(e.pointer + "/" + (key.empty() ? "command" : key)),
                              key.empty() ? e.field : e.field + "." + key, problem);
        };
        if (std::string problem = name_problem(name); !problem.empty()) fail("", problem);
        if (!body.is_object()) fail("", expected("an object", body));
        Hook h;
        h.name = name;
        for (const auto& [key, value] : body.items()) {
            if (key == "command") {
                if (!value.is_array()) fail(key, expected("a list of strings", value));
                if (value.size() > max_words) fail(key, fmt::format("more than {} words", max_words));
                for (size_t i = 0; i < value.size(); ++i) {
                    if (!value[i].is_string()) fail(fmt::format("command[{}]", i), expected("a string", value[i]));
                    const std::string& w = value[i].get_ref<const std::string&>();
                    if (std::string problem = word_problem(w); !problem.empty())
                        fail(fmt::format("command[{}]", i), problem);
                    h.command.push_back(w);
                }
            } else if (key == "stage") {
                auto it = std::find(std::begin(stage_names), std::end(stage_names),
                                    value.is_string() ? value.get<std::string>() : "");
                if (it == std::end(stage_names))
                    fail(key, expected(fmt::format("one of {}", fmt::join(stage_names, ", ")), value));
                h.stage = static_cast<Stage>(it - std::begin(stage_names));
            } else if (key == "timeout") {
                std::string problem;
                auto d = settings::parse_duration(value, problem);
                if (!d) fail(key, problem);
                h.timeout = *d;
            } else if (key == "essential") {
                if (!value.is_boolean()) fail(key, expected("a boolean", value));
                h.essential = value.get<bool>();
            } else if (key == "description") {
                if (!value.is_string()) fail(key, expected("a string", value));
                h.description = value.get<std::string>();
                if (has_control(h.description) || h.description.size() > 256)
                    fail(key, "must be one line of at most 256 bytes");
                // it becomes Description=, which systemd reads verbatim
                if (std::string problem = syntax::unit::value_problem(h.description); !problem.empty())
                    fail(key, fmt::format("{} {}", format::text::quote(h.description), problem));
            } else if (key == "environment") {
                if (!value.is_object()) fail(key, expected("a table of strings", value));
                if (value.size() > max_variables) fail(key, fmt::format("more than {} variables", max_variables));
                for (const auto& [var, v] : value.items()) {
                    const std::string at = format::text::child_path(key, var);
                    if (std::string problem = format::check::env_name(var); !problem.empty()) fail(at, problem);
                    if (!v.is_string()) fail(at, expected("a string", v));
                    // not quoted: the value is likely a secret
                    if (std::string problem = value_problem(v.get_ref<const std::string&>()); !problem.empty())
                        fail(at, problem);
                    h.environment[var] = v.get<std::string>();
                }
            } else {
                fail(key,
                     "unknown field (known fields: command, stage, timeout, essential, description, "
                     "environment)");
            }
        }
        if (h.command.empty()) fail("command", "required: the program to run and its arguments");
        if (std::string problem = format::check::absolute_path(h.command.front()); !problem.empty())
            fail("command[0]", problem + " (hooks run without a shell: name the program by its path)");
        out.push_back(std::move(h));
    }
    return out;
}

std::string unit_name(std::string_view name) { return fmt::format("eks-node-hook@{}.service", name); }

std::string command_file_text(const Hook& h) {
    json j = json::object();
    j["command"] = h.command;
    j["environment"] = h.environment;
    return dump_pretty(j);
}

Command parse_command_file(std::string_view text, std::string_view origin) {
    auto fail = [&](const std::string& problem) { throw ConfigError(std::string(origin), "", problem); };
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("not a hook's command file (JSON)");
    Command c;
    const json* command = j.contains("command") ? &j["command"] : nullptr;
    if (!command || !command->is_array() || command->empty() || command->size() > max_words)
        fail(fmt::format("\"command\" must be a list of 1 to {} words", max_words));
    for (size_t i = 0; i < command->size(); ++i) {
        const json& w = (*command)[i];
        // the position, never the word: it may be a secret
        if (!w.is_string() || !word_problem(w.get_ref<const std::string&>()).empty())
            fail(fmt::format("command[{}] is not a word a hook takes", i));
        c.argv.push_back(w.get<std::string>());
    }
    if (std::string problem = format::check::absolute_path(c.argv.front()); !problem.empty())
        fail("command[0]: " + problem);
    if (j.contains("environment")) {
        const json& env = j["environment"];
        if (!env.is_object() || env.size() > max_variables)
            fail(fmt::format("\"environment\" must be a table of at most {} strings", max_variables));
        for (const auto& [var, v] : env.items()) {
            if (!format::check::env_name(var).empty() || !v.is_string() || !value_problem(v.get<std::string>()).empty())
                fail(fmt::format("environment: {} is not a variable a hook takes", format::text::quote(var)));
            c.environment[var] = v.get<std::string>();
        }
    }
    return c;
}

std::string exec_line(const std::vector<std::string>& command) { return syntax::unit::exec(command); }

}  // namespace eksnode::input::hooks
