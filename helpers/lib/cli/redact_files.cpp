// SPDX-License-Identifier: Apache-2.0
// Redaction by file format, for `collect-logs` and `config dump`: JSON and
// TOML documents walked key by key (secret keys and tables masked, hooks'
// commands, environments), containerd's rendered config.toml, environment
// files. The decisions (which key or value is a secret) are redact.cpp's.

#include <sstream>

#include <fmt/format.h>

#include "cli/redact.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/toml.hpp"
#include "format/field_text.hpp"
#include "format/toml_json.hpp"

namespace eksnode::cli {

namespace {

// The kubelet flags eks-node derived: kept, but "--secret-name=value" masked.
constexpr std::string_view flags_variable = "NODEADM_KUBELET_ARGS";

// An environment variable's value: kept when harmless (URL credentials
// masked, and secret kubelet flags), else masked whole.
std::string environment_value(Redactor& r, std::string_view name, std::string_view value) {
    if (!harmless_environment_name(name)) {
        r.remember(value);
        return std::string(redacted);
    }
    std::string kept = redact_url_userinfo(value, &r);
    if (format::text::lower(name) == format::text::lower(flags_variable)) kept = redact_flags(std::move(kept), r);
    return kept;
}

void walk(json& j, Redactor& r, std::string_view key);

// spec.instance.environment.<service>.<NAME> (config.json) or
// instance.environment.<service>.<NAME> (TOML): every string is a value
void walk_environment(json& j, Redactor& r) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it->is_string()) *it = environment_value(r, it.key(), it->get<std::string>());
        else if (it->is_object()) walk_environment(*it, r);
        else walk(*it, r, it.key());
    }
}

std::string string_value(Redactor& r, std::string_view key, const std::string& s) {
    if (secret_key(key, s) && !s.empty()) {
        r.remember(s);
        return std::string(redacted);
    }
    // a value may be a document of its own (a TOML or YAML text): line by line
    return r.text(s);
}

std::string masked(Redactor& r, const std::string& s) {
    r.remember(s);
    return std::string(redacted);
}

// Every string under `j`, whatever its key: the values of a headers table.
void mask_all(json& j, Redactor& r) {
    if (j.is_string() && !j.get_ref<const std::string&>().empty()) j = masked(r, j.get<std::string>());
    else if (j.is_structured())
        for (json& e : j) mask_all(e, r);
}

// settings.hooks: a hook's arguments are its author's to fill, and a token
// passed as "--token", "VALUE" has no key to tell it by: every word but the
// program (an absolute path, kept to tell the hooks apart) is masked.
void mask_hooks(json& hooks, Redactor& r) {
    for (auto& [name, hook] : hooks.items()) {
        if (!hook.is_object() || !hook.contains("command") || !hook["command"].is_array()) continue;
        json& command = hook["command"];
        for (size_t i = 1; i < command.size(); ++i)
            if (command[i].is_string()) command[i] = masked(r, command[i].get<std::string>());
    }
}

void walk(json& j, Redactor& r, std::string_view key) {
    if (j.is_object()) {
        if (key == "settings" && j.contains("hooks") && j["hooks"].is_object()) mask_hooks(j["hooks"], r);
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (secret_table(it.key()) && it->is_structured()) {
                mask_all(*it, r);
            } else if ((it.key() == "environment" || it.key() == "env") && it->is_object()) {
                // settings.credentialProviders.NAME.env: a provider's environment, by the same allow list
                walk_environment(*it, r);
            } else if (it.key() == "origins" && it->is_object() && key.empty()) {
                // config.json's origins: field pointers ("/spec/instance/
                // environment/default/DB_PWD") to where each value came from.
                // The keys name fields, not secrets, and the labels (file
                // names, "user data (document 2)") are no secrets either:
                // read as text, for a URL a label might quote
                for (auto o = it->begin(); o != it->end(); ++o)
                    if (o->is_string()) *o = r.text(o->get<std::string>());
            } else if (it.key() == "env" && it->is_array()) {
                // [{"name": "AWS_PROFILE", "value": "..."}]: a credential provider's or exec plugin's environment;
                // ["NAME=value"]: an OCI runtime spec's process.env (baseRuntimeSpec)
                for (json& e : *it) {
                    if (e.is_object() && e.contains("name") && e["name"].is_string() && e.contains("value") &&
                        e["value"].is_string()) {
                        e["value"] = environment_value(r, e["name"].get<std::string>(), e["value"].get<std::string>());
                    } else if (e.is_string()) {
                        const std::string& s = e.get_ref<const std::string&>();
                        size_t eq = s.find('=');
                        if (eq == std::string::npos) e = string_value(r, "env", s);
                        else
                            e = s.substr(0, eq + 1) + environment_value(r, std::string_view(s).substr(0, eq),
                                                                        std::string_view(s).substr(eq + 1));
                    } else {
                        walk(e, r, "env");
                    }
                }
            } else if (it->is_string()) {
                *it = string_value(r, it.key(), it->get<std::string>());
            } else {
                walk(*it, r, it.key());
            }
        }
    } else if (j.is_array()) {
        for (json& e : j) {
            if (e.is_string()) e = string_value(r, key, e.get<std::string>());
            else walk(e, r, key);
        }
    }
}

json toml_as_json(const toml::node& n) {
    if (const auto* t = n.as_table()) {
        json o = json::object();
        for (auto&& [k, v] : *t) o[std::string(k.str())] = toml_as_json(v);
        return o;
    }
    if (const auto* a = n.as_array()) {
        json arr = json::array();
        for (const toml::node& e : *a) arr.push_back(toml_as_json(e));
        return arr;
    }
    if (const auto* s = n.as_string()) return s->get();
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* f = n.as_floating_point()) return f->get();
    if (const auto* b = n.as_boolean()) return b->get();
    // dates and times: their TOML text
    std::ostringstream os;
    n.visit([&](const auto& v) { os << v; });
    return os.str();
}

}  // namespace

std::string Redactor::json_text(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        // not e.what(): it quotes the text near the error, which may be a secret
        throw Error(fmt::format("not valid JSON (byte {})", e.byte));
    }
    walk(j, *this, "");
    return dump_pretty(j) + "\n";
}

std::string Redactor::toml_text(std::string_view text) {
    json j;
    try {
        j = toml_as_json(toml::parse(text));
    } catch (const toml::parse_error& e) {
        // not the description: it may quote the text near the error
        throw Error(fmt::format("not valid TOML (line {})", e.source().begin.line));
    }
    walk(j, *this, "");
    return format::json_to_toml(j, "collect-logs");
}

std::string Redactor::rendered_toml(std::string_view t) {
    size_t body = 0;
    while (body < t.size() && t[body] == '#') {
        size_t eol = t.find('\n', body);
        body = eol == std::string_view::npos ? t.size() : eol + 1;
    }
    std::string out = toml_text(t);  // first: a text that is not TOML is left out whole
    return text(t.substr(0, body)) + out;
}

std::string Redactor::environment_file(std::string_view t) {
    std::string out;
    size_t i = 0;
    while (i < t.size()) {
        size_t eol = t.find('\n', i);
        if (eol == std::string_view::npos) eol = t.size();
        std::string_view line = t.substr(i, eol - i);
        size_t lead = line.find_first_not_of(" \t");
        if (lead == std::string_view::npos || line[lead] == '#' || line[lead] == ';') {
            out += text(line);  // blank, or a comment (which may quote a secret too)
            out += '\n';
            i = eol + 1;
            continue;
        }
        size_t eq = line.find('=');
        std::string_view name = eq == std::string_view::npos ? std::string_view() : line.substr(lead, eq - lead);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            })) {
            out += "# [a line collect-logs could not read: left out]\n";
            i = eol + 1;
            continue;
        }
        // the value: quoted (may span lines, backslash escapes in "..."), or
        // to the end of the line, backslash-newline continuing it
        size_t v = i + eq + 1;
        while (v < t.size() && (t[v] == ' ' || t[v] == '\t')) ++v;
        size_t end = v;
        std::string value;
        if (v < t.size() && (t[v] == '"' || t[v] == '\'')) {
            char q = t[v];
            end = v + 1;
            while (end < t.size() && t[end] != q) {
                if (t[end] == '\\' && q == '"' && end + 1 < t.size()) ++end;
                value += t[end++];
            }
            end = std::min(end + 1, t.size());
            while (end < t.size() && t[end] != '\n') ++end;  // after the closing quote
        } else {
            while (end < t.size() && t[end] != '\n') {
                if (t[end] == '\\' && end + 1 < t.size() && t[end + 1] == '\n') {
                    end += 2;
                    continue;
                }
                value += t[end++];
            }
        }
        std::string_view raw = t.substr(v, end - v);
        if (harmless_environment_name(name)) {
            out += fmt::format("{}={}\n", name, environment_value(*this, name, raw));
        } else {
            remember(value);
            remember(raw);
            out += fmt::format("{}={}\n", name, redacted);
        }
        i = end + 1;
    }
    if (!t.empty() && t.back() != '\n' && !out.empty()) out.pop_back();
    return out;
}

}  // namespace eksnode::cli
