// SPDX-License-Identifier: Apache-2.0
// The static shell reader's meaning of what shell.cpp reads
// (format/shell_reader.hpp): parameter expansion and field splitting,
// assignments and the environment a command sees (export, declare, set -a),
// the watched command's calls and the commands that name watched paths, and
// the files here-documents write. Nothing is run.
#include "format/shell_reader.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/limits.hpp"

namespace eksnode::format::shell::detail {

// At a '$'.
void ScriptReader::expand(RawWord& w, bool quoted) {
    char n = at(i_ + 1);
    w.solid = w.solid || quoted;
    if (n == '(') {
        bool arithmetic = at(i_ + 2) == '(';
        ++i_;
        skip_parens();
        w.solid = true;
        w.fail(arithmetic ? "$((...)) is arithmetic, which eks-node does not evaluate"
                          : fmt::format("$(...) {}", command_substitution));
        return;
    }
    if (n == '{') {
        size_t end = s_.find('}', i_ + 2);
        if (end == std::string_view::npos) syntax("unterminated ${...}");
        std::string_view inner = s_.substr(i_ + 2, end - i_ - 2);
        i_ = end + 1;
        size_t k = 0;
        while (k < inner.size() && is_name_char(inner[k])) ++k;
        std::string name(inner.substr(0, k));
        std::string_view op = inner.substr(k);
        if (name.empty() || !is_name_start(name[0])) {
            w.fail(fmt::format("${{{}}} is a positional or special parameter, known only when the script runs", inner));
            return;
        }
        if (op.empty()) return substitute(w, name, quoted, std::nullopt);
        bool colon = op.starts_with(":-");
        if (colon || op.starts_with("-")) {
            std::string_view word = op.substr(colon ? 2 : 1);
            if (word.find_first_of("$`\"'\\") != std::string_view::npos) {
                w.fail(fmt::format("${{{}}} has a default eks-node does not evaluate", inner));
                return;
            }
            return substitute(w, name, quoted, std::pair(std::string(word), colon));
        }
        w.fail(fmt::format("${{{}}} uses an operator eks-node does not evaluate", inner));
        return;
    }
    if (is_name_start(n)) {
        size_t k = i_ + 1;
        while (k < s_.size() && is_name_char(s_[k])) ++k;
        std::string name(s_.substr(i_ + 1, k - i_ - 1));
        i_ = k;
        return substitute(w, name, quoted, std::nullopt);
    }
    if (n != '\0' && std::string_view("0123456789@*#?$!-").find(n) != std::string_view::npos) {
        w.fail(fmt::format("${} is a positional or special parameter, known only when the script runs", n));
        i_ += 2;
        return;
    }
    w.add('$', false);
    w.solid = true;
    ++i_;
}

// `fallback`: the word of ${NAME-word} (second: ":-", also for an empty value).
void ScriptReader::substitute(RawWord& w, const std::string& name, bool quoted,
                              const std::optional<std::pair<std::string, bool>>& fallback) {
    auto it = vars_.find(name);
    bool use_fallback = fallback && (it == vars_.end() ||
                                     (fallback->second && it->second.unresolved.empty() && it->second.value.empty()));
    if (use_fallback) {
        expanding(w.text.size(), fallback->first.size(), line_);
        for (char c : fallback->first) w.add(c, !quoted);
        w.solid = true;
        return;
    }
    if (it == vars_.end()) return w.fail(fmt::format("${} is not set by the script before this line", name));
    if (!it->second.unresolved.empty()) return w.fail(fmt::format("${} {}", name, it->second.unresolved));
    expanding(w.text.size(), it->second.value.size(), line_);
    for (char c : it->second.value) w.add(c, !quoted);
}

// Expansion makes much text of little: ten lines of A=$A$A make A a
// thousand times longer. So one word, variable or here-document may
// grow to limits::script_value_bytes, and all expansions and copies of
// here-documents together to limits::script_expansion_bytes. Called
// before `added` bytes join `size` bytes, on `line` of the script.
void ScriptReader::expanding(size_t size, size_t added, int line) {
    if (size + added > limits::script_value_bytes)
        throw ConfigError(label_, "",
                          fmt::format("line {}: a word, variable or here-document expands to more than {} MiB", line,
                                      limits::script_value_bytes >> 20));
    expanded_ += added;
    if (expanded_ > limits::script_expansion_bytes)
        throw ConfigError(label_, "",
                          fmt::format("line {}: expansions and here-documents make more than {} MiB in all", line,
                                      limits::script_expansion_bytes >> 20));
}

std::vector<RawWord> ScriptReader::split(const RawWord& w) {
    if (!w.unresolved.empty()) return {w};
    std::vector<RawWord> out;
    RawWord cur;
    bool have = false;
    for (size_t k = 0; k < w.text.size(); ++k) {
        char c = w.text[k];
        if (w.splittable[k] && (c == ' ' || c == '\t' || c == '\n')) {
            if (have) out.push_back(std::move(cur));
            cur = RawWord{};
            have = false;
            continue;
        }
        cur.add(c, false);
        have = true;
    }
    if (have) out.push_back(std::move(cur));
    if (out.empty() && w.solid) out.emplace_back();
    for (RawWord& f : out) {
        f.quoted = w.quoted;
        f.solid = true;
    }
    // The raw text serves messages about unresolved words, which are
    // never split; a copy in each of thousands of fields of a long word
    // would cost the square of its length.
    if (out.size() == 1) out.front().raw = w.raw;
    return out;
}

void ScriptReader::assign(const RawWord& w, int line) {
    std::string name = name_of(w);
    if (w.unresolved.empty()) vars_[name] = {w.text.substr(name.size() + 1), "", line};
    else  // a later assignment replaces it: only the value at the call matters
        vars_[name] = {"", fmt::format("is set on line {}: {}", line, w.unresolved), line};
    if (allexport_) exported_.insert(name);  // set -a
}

void ScriptReader::save(std::vector<Saved>& saved, const RawWord& w) {
    std::string name = name_of(w);
    for (const Saved& s : saved)
        if (s.name == name) return;  // A=1 A=2 cmd: the value before the first
    auto it = vars_.find(name);
    saved.push_back({name, it == vars_.end() ? std::nullopt : std::optional(it->second), exported_.count(name) > 0});
}

void ScriptReader::restore(std::vector<Saved>& saved) {
    for (Saved& s : saved) {
        if (s.var) vars_[s.name] = std::move(*s.var);
        else vars_.erase(s.name);
        if (!s.exported) exported_.erase(s.name);
    }
    saved.clear();
}

bool ScriptReader::is_name(std::string_view s) {
    return !s.empty() && is_name_start(s[0]) && std::all_of(s.begin(), s.end(), is_name_char);
}

// export, declare, typeset, local, readonly at ws[k]: assignments, and the
// export attribute (export NAME, export -n NAME, declare -x, declare +x).
void ScriptReader::declare(const std::vector<RawWord>& ws, size_t k, int line) {
    const bool is_export = ws[k].text == "export";
    int exporting = is_export ? 1 : 0;  // 1 export, -1 unexport, 0 leave
    for (size_t a = k + 1; a < ws.size(); ++a) {
        const RawWord& w = ws[a];
        if (!w.unresolved.empty() && !is_assignment(w)) continue;  // an assignment's value may be unknown
        std::string_view t = w.text;
        if (!is_assignment(w) && t.size() > 1 && (t[0] == '-' || t[0] == '+') && t != "--") {
            if (is_export && t[0] == '-' && t.find('n') != t.npos) exporting = -1;
            if (!is_export && ws[k].text != "readonly" && t.find('x') != t.npos) exporting = t[0] == '-' ? 1 : -1;
            continue;
        }
        std::string name = is_assignment(w) ? name_of(w) : std::string(t);
        if (is_assignment(w)) assign(w, line);
        else if (!is_name(name)) continue;
        if (exporting == 1) exported_.insert(name);
        else if (exporting == -1) exported_.erase(name);
    }
}

// set -a / set -o allexport (and + to end it); the rest of set's options
// change nothing read here.
void ScriptReader::set_options(const std::vector<RawWord>& ws, size_t k) {
    for (size_t a = k + 1; a < ws.size(); ++a) {
        std::string_view t = ws[a].text;
        if (!ws[a].unresolved.empty() || t.size() < 2 || (t[0] != '-' && t[0] != '+') || t == "--") return;
        const bool on = t[0] == '-';
        if (t.substr(1) == "o") {
            if (a + 1 < ws.size() && ws[a + 1].text == "allexport") allexport_ = on;
            ++a;
        } else if (t.find('a') != t.npos) {
            allexport_ = on;
        }
    }
}

// The watched variables as the command at `line` sees them.
std::map<std::string, Variable> ScriptReader::environment(const std::vector<RawWord>& ws,
                                                          const std::vector<EnvStep>& steps, int line) {
    std::map<std::string, Variable> out;
    for (const std::string& name : watch_.variables) {
        if (auto it = vars_.find(name); it != vars_.end())
            out[name] = {it->second.value, it->second.unresolved, it->second.line,
                         exported_.count(name) ? "" : "not exported"};
    }
    for (const EnvStep& step : steps) {
        if (step.assignment == std::string::npos) {
            for (auto& [name, v] : out)
                if (v.absent.empty()) v.absent = step.reset;
            continue;
        }
        const RawWord& w = ws[step.assignment];
        std::string name = name_of(w);
        if (std::find(watch_.variables.begin(), watch_.variables.end(), name) == watch_.variables.end()) continue;
        std::string value = w.unresolved.empty() ? w.text.substr(name.size() + 1) : "";
        std::string why = w.unresolved.empty() ? "" : fmt::format("is set on line {}: {}", line, w.unresolved);
        out[name] = {std::move(value), std::move(why), line, ""};
    }
    for (const auto& [name, v] : out) expanding(0, v.value.size(), line);
    return out;
}

// A command naming a watched path, from ws[k] (its name) on.
void ScriptReader::mention(const Command& cmd, size_t k) {
    for (const std::string& path : watch_.paths) {
        const std::string suffix = "=" + path;
        bool named = false;
        for (size_t a = k; a < cmd.words.size(); ++a) {
            const RawWord& w = cmd.words[a];
            if (w.unresolved.empty() && (w.text == path || w.text.ends_with(suffix))) named = true;
        }
        Mention m{cmd.line, cmd.seq, path, {}, {}};
        for (const Redirect& r : cmd.redirects)
            if (r.target.unresolved.empty() && r.target.text == path) m.redirects.push_back(r.op);
        if (!named && m.redirects.empty()) continue;
        for (size_t a = k; a < cmd.words.size(); ++a) {
            const RawWord& w = cmd.words[a];
            expanding(0, w.text.size(), cmd.line);
            m.words.push_back({w.text, w.unresolved, w.raw});
        }
        mentions_.push_back(std::move(m));
    }
}

void ScriptReader::run(const Command& cmd) {
    static const std::set<std::string> prefixes = {"if",    "then",    "do",    "else", "elif", "while",
                                                   "until", "!",       "{",     "}",    "time", "exec",
                                                   "sudo",  "command", "nohup", "fi",   "done", "esac"};
    static const std::set<std::string> declarations = {"export", "readonly", "declare", "typeset", "local"};
    static const std::set<std::string> shells = {"bash",         "sh",  "/bin/bash", "/bin/sh", "/usr/bin/bash",
                                                 "/usr/bin/env", "env", "source",    "."};
    size_t k = 0;
    const auto& ws = cmd.words;
    auto resolved_is = [&](size_t at, const std::set<std::string>& names) {
        return at < ws.size() && ws[at].unresolved.empty() && !ws[at].quoted && names.count(ws[at].text);
    };
    std::vector<EnvStep> steps;
    for (; k < ws.size(); ++k) {
        if (is_assignment(ws[k])) steps.push_back({k, ""});
        else if (!resolved_is(k, prefixes)) break;
        // sudo's env_reset (the default, and AL2's sudoers): only
        // assignments given to sudo itself reach the command
        else if (ws[k].text == "sudo") steps.push_back({std::string::npos, "sudo resets the environment"});
    }
    if (k == ws.size()) {
        // only assignments after a prefix ("then A=1"): they stay, as
        // leading ones do (assigning a leading one again changes nothing)
        for (const EnvStep& step : steps)
            if (step.assignment != std::string::npos) assign(ws[step.assignment], cmd.line);
        return;
    }
    if (resolved_is(k, declarations)) return declare(ws, k, cmd.line);
    if (resolved_is(k, {"unset"})) {
        for (size_t a = k + 1; a < ws.size(); ++a)
            if (ws[a].unresolved.empty() && is_name(ws[a].text)) {
                vars_.erase(ws[a].text);
                exported_.erase(ws[a].text);
            }
        return;
    }
    if (resolved_is(k, {"set"})) return set_options(ws, k);
    if (resolved_is(k, shells)) {
        const bool env = ws[k].text == "env" || ws[k].text == "/usr/bin/env";
        ++k;
        for (; k < ws.size() && ws[k].unresolved.empty() && ws[k].text.starts_with("-"); ++k)
            if (env && (ws[k].text == "-" || ws[k].text == "-i" || ws[k].text == "--ignore-environment"))
                steps.push_back({std::string::npos, "env -i empties the environment"});
        for (; env && k < ws.size() && is_assignment(ws[k]); ++k) steps.push_back({k, ""});
    }
    if (k >= ws.size() || !ws[k].unresolved.empty() || ws[k].text != command_) return mention(cmd, k);
    Call call{cmd.line, 0, {}, {}};
    for (size_t a = k + 1; a < ws.size(); ++a) call.args.push_back({ws[a].text, ws[a].unresolved, ws[a].raw});
    call.seq = seq_;
    call.variables = environment(ws, steps, cmd.line);
    calls_.push_back(std::move(call));
}

// An unquoted here-document delimiter: $NAME, ${NAME} and \ escapes.
std::string ScriptReader::expand_body(std::string_view body, std::string& unresolved, int line) {
    std::string out;
    for (size_t k = 0; k < body.size(); ++k) {
        char c = body[k];
        if (c == '\\' && k + 1 < body.size() &&
            std::string_view("$`\\\n").find(body[k + 1]) != std::string_view::npos) {
            if (body[k + 1] != '\n') out.push_back(body[k + 1]);
            ++k;
        } else if (c == '`' || (c == '$' && k + 1 < body.size() && body[k + 1] == '(')) {
            unresolved = fmt::format("has a command substitution, which eks-node does not run");
            return {};
        } else if (c == '$' && k + 1 < body.size() && (is_name_start(body[k + 1]) || body[k + 1] == '{')) {
            bool braced = body[k + 1] == '{';
            size_t start = k + (braced ? 2 : 1), end = start;
            while (end < body.size() && is_name_char(body[end])) ++end;
            if (braced && (end >= body.size() || body[end] != '}')) {
                unresolved = "has a ${...} form eks-node does not evaluate";
                return {};
            }
            std::string name(body.substr(start, end - start));
            auto it = vars_.find(name);
            if (it == vars_.end() || !it->second.unresolved.empty()) {
                unresolved = fmt::format("uses ${}, which is not known without running the script", name);
                return {};
            }
            expanding(out.size(), it->second.value.size(), line);
            out += it->second.value;
            k = braced ? end : end - 1;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// cat > PATH <<EOF / cat <<EOF >> PATH / tee [-a] PATH <<EOF
void ScriptReader::record_file_write(const Command& cmd) {
    const Redirect* doc = nullptr;
    for (const Redirect& r : cmd.redirects)
        if (r.op == "<<" || r.op == "<<-") doc = &r;
    if (!doc || cmd.words.empty() || !cmd.words[0].unresolved.empty()) return;
    auto write = [&](const RawWord& target, bool append) {
        if (!target.unresolved.empty()) return;
        expanding(0, doc->body.size(), cmd.line);  // `tee a b c <<EOF` copies the body thrice
        writes_.push_back({cmd.seq, target.text, doc->body, doc->body_unresolved, append});
    };
    const std::string& name = cmd.words[0].text;
    if (name == "cat") {
        for (const Redirect& r : cmd.redirects)
            if (r.op == ">" || r.op == ">>" || r.op == ">|") write(r.target, r.op == ">>");
    } else if (name == "tee" || name == "sudo") {
        bool append = false;
        for (size_t a = 1; a < cmd.words.size(); ++a) {
            const std::string& t = cmd.words[a].text;
            if (t == "tee") continue;
            if (t == "-a" || t == "--append") append = true;
            else if (!t.starts_with("-")) write(cmd.words[a], append);
        }
    }
}

}  // namespace eksnode::format::shell::detail
