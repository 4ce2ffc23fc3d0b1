// SPDX-License-Identifier: Apache-2.0
// AL2 user data's scripts (input/bootstrap_sh.hpp, Scripts): the one call of
// bootstrap.sh a script makes, read statically (format/shell.hpp) and mapped
// as the shim's arguments are (bootstrap_sh.cpp), and the script's edits of
// bootstrap.sh itself: eksctl's --max-pods edit applied as that kubelet flag,
// every other write warned of, as it has no effect.
#include <climits>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "format/field_text.hpp"
#include "format/shell.hpp"
#include "input/bootstrap_sh.hpp"

namespace eksnode::input::bootstrap_sh {

namespace {

using detail::is_pod_count;

// eksctl's edit for a managed node group's maxPodsPerNode, and the like: sed
// -i putting " --max-pods=N" into one of bootstrap.sh's KUBELET_EXTRA_ARGS
// assignments. The text added, and whether after the flag's value (eksctl's
// pattern KUBELET_EXTRA_ARGS=$2 is the flag loop's line) or after the value
// whichever way it came (the ${KUBELET_EXTRA_ARGS:-} line after the loop).
struct MaxPodsEdit {
    std::string added;
    bool after_flag;
};

// A sed address or replacement as the text it stands for here: without a
// leading ^ and without backslashes (the -E form escapes { and }).
std::string plain(std::string_view s) {
    if (s.starts_with("^")) s.remove_prefix(1);
    std::string out;
    for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == '\\' && k + 1 < s.size()) ++k;
        out.push_back(s[k]);
    }
    return out;
}

std::optional<MaxPodsEdit> max_pods_edit(const format::shell::Mention& m) {
    const std::vector<format::shell::Word>& w = m.words;
    if (w.empty() || w[0].value != "sed" || !m.redirects.empty()) return std::nullopt;
    bool in_place = false, file = false;
    std::optional<std::string> script;
    for (size_t k = 1; k < w.size(); ++k) {
        const std::string& t = w[k].value;
        if (!w[k].unresolved.empty() || file) return std::nullopt;
        if (t == "-i" || t == "--in-place") in_place = true;
        else if (t == "-E" || t == "-r" || t == "--regexp-extended") continue;
        else if (t == "-e" && !script && k + 1 < w.size()) script = w[++k].value;
        else if (!t.starts_with("-") && !script) script = t;
        else if (t == script_path && script) file = true;
        else return std::nullopt;
    }
    if (!in_place || !file || !script || !script->starts_with("s/")) return std::nullopt;
    // s/PATTERN/REPLACEMENT/ with an optional g; neither part holds a /
    std::string_view body = std::string_view(*script).substr(2);
    size_t mid = body.find('/'), end = mid == body.npos ? body.npos : body.find('/', mid + 1);
    if (end == body.npos || (!body.substr(end + 1).empty() && body.substr(end + 1) != "g")) return std::nullopt;
    const std::string pattern = plain(body.substr(0, mid)), replacement = plain(body.substr(mid + 1, end - mid - 1));
    auto max_pods = [](std::string_view added) {
        constexpr std::string_view flag = " --max-pods=";
        std::string_view n = added.substr(std::min(flag.size(), added.size()));
        return added.starts_with(flag) && is_pod_count(n);
    };
    const std::string flag_line = "KUBELET_EXTRA_ARGS=$2", quoted = "KUBELET_EXTRA_ARGS=\"$2";
    if (pattern == flag_line && replacement.starts_with(quoted) && replacement.ends_with("\"")) {
        std::string added = replacement.substr(quoted.size(), replacement.size() - quoted.size() - 1);
        if (max_pods(added)) return MaxPodsEdit{added, true};
    }
    const std::string value_line = "KUBELET_EXTRA_ARGS=\"${KUBELET_EXTRA_ARGS:-}";
    if (pattern == value_line && replacement.starts_with(value_line)) {
        std::string added = replacement.substr(value_line.size());
        if (max_pods(added)) return MaxPodsEdit{added, false};
    }
    return std::nullopt;
}

enum class Use { reads, writes, unknown };

// What a command naming bootstrap.sh does to it, by what it is.
Use use_of(const format::shell::Mention& m) {
    for (const std::string& op : m.redirects)
        if (op != "<" && op != "<<<" && op != "<&") return Use::writes;
    if (m.words.empty()) return Use::reads;
    if (!m.words[0].unresolved.empty()) return Use::unknown;
    std::string_view name = m.words[0].value;
    name.remove_prefix(std::min(name.size(), name.rfind('/') + 1));
    const std::vector<format::shell::Word>& w = m.words;
    auto operand_at = [&](size_t k) { return k < w.size() && w[k].unresolved.empty() && w[k].value == m.path; };
    static const std::set<std::string_view> readers = {
        "cat",      "chmod",    "chown", "chgrp", "grep",     "egrep",  "fgrep",     "head",      "tail",
        "less",     "more",     "ls",    "stat",  "test",     "[",      "[[",        "file",      "md5sum",
        "wc",       "sha1sum",  "cmp",   "diff",  "echo",     "printf", "sha256sum", "sha512sum", "cksum",
        "readlink", "realpath", "touch", "awk",   "basename", "dirname"};
    static const std::set<std::string_view> writers = {"tee", "mv", "rm", "unlink", "truncate", "shred", "patch"};
    if (writers.count(name)) return Use::writes;
    if (name == "sed" || name == "perl") {
        for (size_t k = 1; k < w.size(); ++k) {
            std::string_view t = w[k].value;
            if (t.starts_with("--in-place") || (t.starts_with("-") && !t.starts_with("--") && t.find('i') != t.npos))
                return Use::writes;
        }
        return Use::reads;
    }
    if (name == "cp" || name == "install" || name == "ln" || name == "rsync")
        return operand_at(w.size() - 1) ? Use::writes : Use::reads;
    // the option naming the output file, alone or ending a cluster ("-sSo")
    auto names_output = [&](size_t k, char letter, std::string_view long_name) {
        std::string_view before = k > 0 ? std::string_view(w[k - 1].value) : "";
        return operand_at(k) && (before == long_name ||
                                 (before.starts_with("-") && !before.starts_with("--") && before.ends_with(letter)));
    };
    for (size_t k = 1; k < w.size(); ++k) {
        std::string_view t = w[k].value;
        bool output =
            (name == "dd" && t == "of=" + m.path) ||
            (name == "curl" && (t == "--output=" + m.path || names_output(k, 'o', "--output"))) ||
            (name == "wget" && (t == "--output-document=" + m.path || names_output(k, 'O', "--output-document")));
        if (output) return Use::writes;
    }
    if (name == "dd" || name == "curl" || name == "wget" || readers.count(name)) return Use::reads;
    return Use::unknown;
}

const format::shell::Watch& watch() {
    static const format::shell::Watch w{environment_names(), {std::string(script_path)}};
    return w;
}

// The script's edits of bootstrap.sh: eksctl's --max-pods edit before the
// call (in this script, or in an earlier one when `called` is false) joins
// `edits`; every other write is logged unless `quiet`.
void take_edits(Edits& edits, const format::shell::Script& s, const std::string& label, bool called, bool quiet) {
    const int call_seq = s.calls.empty() ? INT_MAX : s.calls.front().seq;
    for (const format::shell::Mention& m : s.mentions) {
        const bool late = called || m.seq > call_seq;
        if (std::optional<MaxPodsEdit> e = max_pods_edit(m); e && !late) {
            if (!quiet)
                log::info(
                    "{} edits {} on line {} to add{} to KUBELET_EXTRA_ARGS (eksctl's maxPodsPerNode): applied "
                    "as that kubelet flag",
                    label, script_path, m.line, e->added);
            // Each run of the sed puts its text right after the line's
            // start, before what an earlier run put there
            std::string& into = e->after_flag ? edits.after_flag : edits.after_value;
            into = e->added + into;
            continue;
        }
        if (quiet) continue;
        switch (use_of(m)) {
        case Use::reads: break;
        case Use::writes:
            log::warning("{} edits {} on line {}: eks-node does not run that file; the edit has no effect", label,
                         script_path, m.line);
            break;
        case Use::unknown:
            log::warning(
                "{} runs {} on {} on line {}: eks-node does not run that file; if this edits it, the edit has no "
                "effect",
                label, m.words[0].raw, script_path, m.line);
            break;
        }
    }
}

}  // namespace

std::optional<Fragment> Scripts::read(std::string_view script, const std::string& label) {
    format::shell::Script read = format::shell::read(script, script_path, label, watch());
    take_edits(edits_, read, label, called_, false);
    if (read.calls.empty()) return std::nullopt;
    // bootstrap.sh joins the node; a second call would change what the first
    // configured, and which one wins depends on control flow not followed
    if (read.calls.size() > 1) {
        std::vector<int> lines;
        for (const format::shell::Call& c : read.calls) lines.push_back(c.line);
        throw ConfigError(label, "",
                          fmt::format("calls {} {} times (lines {}); eks-node reads exactly one call", script_path,
                                      read.calls.size(), fmt::join(lines, ", ")));
    }
    called_ = true;
    format::shell::Call& call = read.calls.front();
    std::string source = format::text::qualify(label, fmt::format("bootstrap.sh, line {}", call.line));
    FileReader files = [&](const std::string& path, std::string& why) {
        return format::shell::file_before(read, call, path, why);
    };
    std::set<std::string> flags_given;
    for (const format::shell::Word& w : call.args)
        if (w.unresolved.empty() && w.value.starts_with("--")) flags_given.insert(w.value.substr(0, w.value.find('=')));
    Inputs inputs{{}, edits_};
    for (auto& [name, v] : call.variables) {
        if (v.absent.empty()) {
            inputs.environment[name] = {std::move(v.value), std::move(v.unresolved), fmt::format("line {}", v.line)};
            continue;
        }
        // As on AL2, bootstrap.sh does not see it; said, since the script
        // meant something by it, unless the call passes the flag anyway
        // (AWS's templates set B64_CLUSTER_CA=... to pass it as the flag)
        if (std::string_view flag = detail::flag_of_variable(name);
            !flag.empty() && flags_given.count(std::string(flag)))
            continue;
        log::warning(
            "{}: {} is set on line {} but does not reach bootstrap.sh's environment ({}): not applied, as "
            "on AL2",
            source, name, v.line, v.absent);
    }
    std::vector<Arg> args;
    args.reserve(call.args.size());
    for (format::shell::Word& w : call.args)
        args.push_back({std::move(w.value), std::move(w.unresolved), std::move(w.raw)});
    return fragment_from_args(args, source, files, inputs);
}

void Scripts::read_edits(std::string_view script, const std::string& label) {
    try {
        format::shell::Script read = format::shell::read(script, script_path, label, watch());
        take_edits(edits_, read, label, called_, true);
        called_ = called_ || !read.calls.empty();
    } catch (const ConfigError&) {
        // the shell ran it all the same; what it did to bootstrap.sh is not known here
    }
}

std::optional<Fragment> fragment_from_script(std::string_view script, const std::string& label) {
    return Scripts().read(script, label);
}

}  // namespace eksnode::input::bootstrap_sh
