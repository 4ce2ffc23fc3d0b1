// SPDX-License-Identifier: Apache-2.0
// The static shell reader (format/shell.hpp): reads POSIX shell just far
// enough to find the runs of one command and the here-documents written to
// files, line by line, each line's here-document bodies after it. What the
// words mean (expansions, assignments, the calls): shell_expand.cpp.
#include "format/shell.hpp"
#include "format/shell_reader.hpp"
#include "format/shell_words.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/limits.hpp"

namespace eksnode::format::shell {

namespace detail {

Script ScriptReader::read() {
    while (i_ < s_.size()) read_line();
    return {std::move(calls_), std::move(writes_), std::move(mentions_)};
}

void ScriptReader::syntax(const std::string& problem) const {
    throw ConfigError(label_, "", fmt::format("line {}: {}", line_, problem));
}

// One line of commands, then the bodies of its here-documents.
void ScriptReader::read_line() {
    std::vector<Command> cmds;
    Command cmd;
    bool leading = true;  // every word of cmd so far is an assignment
    // What cmd's leading assignments replaced: they last only for the
    // command they prefix (the command's environment), and stay only
    // when the command is nothing but assignments.
    std::vector<Saved> saved;
    auto finish = [&] {
        if (!cmd.words.empty() || !cmd.redirects.empty()) {
            cmd.seq = ++seq_;
            run(cmd);
            cmds.push_back(std::move(cmd));
        }
        cmd = Command{};
        leading = true;
        saved.clear();
    };
    while (true) {
        skip_blanks();
        char c = at(i_);
        if (i_ >= s_.size()) break;
        if (c == '\n') {
            ++i_;
            ++line_;
            break;
        }
        if (c == '#') {
            while (i_ < s_.size() && s_[i_] != '\n') ++i_;
            continue;
        }
        if (cmd.words.empty() && cmd.redirects.empty()) cmd.line = line_;
        if ((c == '<' || c == '>') && at(i_ + 1) == '(') {
            cmd.words.push_back(read_process_substitution());
            leading = false;
            continue;
        }
        if ((c == '&' && at(i_ + 1) == '>') || c == '<' || c == '>') {
            read_redirect(cmd);
            continue;
        }
        if (c == ';' || c == '&' || c == '|' || c == '(' || c == ')') {
            ++i_;
            if ((c == ';' || c == '&' || c == '|') && at(i_) == c) ++i_;
            finish();
            continue;
        }
        RawWord w = read_word();
        // "2>file": the digits name a file descriptor
        if (!w.quoted && !w.text.empty() && (at(i_) == '<' || at(i_) == '>') &&
            std::all_of(w.raw.begin(), w.raw.end(), [](char d) { return d >= '0' && d <= '9'; }))
            continue;
        if (is_assignment(w)) {
            // the shell does not split an assignment's value; a leading one
            // takes effect for the assignments after it
            if (leading) {
                save(saved, w);
                assign(w, cmd.line);
            }
            cmd.words.push_back(std::move(w));
            continue;
        }
        if (leading) restore(saved);
        for (RawWord& field : split(w)) {
            cmd.words.push_back(std::move(field));
            leading = false;
        }
    }
    finish();
    read_heredoc_bodies(cmds);
    for (const Command& done : cmds) record_file_write(done);
}

void ScriptReader::skip_blanks() {
    while (i_ < s_.size()) {
        if (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r') {
            ++i_;
        } else if (s_[i_] == '\\' && at(i_ + 1) == '\n') {
            i_ += 2;
            ++line_;
        } else {
            break;
        }
    }
}

void ScriptReader::read_redirect(Command& cmd) {
    static constexpr std::string_view ops[] = {"<<-", "<<<", "&>>", "<<", "<&", "<>", ">>", ">&", ">|", "&>", "<", ">"};
    Redirect r;
    for (std::string_view op : ops)
        if (s_.substr(i_, op.size()) == op) {
            r.op = op;
            break;
        }
    i_ += r.op.size();
    skip_blanks();
    if ((at(i_) == '<' || at(i_) == '>') && at(i_ + 1) == '(') {
        r.target = read_process_substitution();
        cmd.redirects.push_back(std::move(r));
        return;
    }
    if (i_ >= s_.size() || s_[i_] == '\n' || (is_meta(s_[i_]) && s_[i_] != ' '))
        syntax(fmt::format("{} without a target", r.op));
    r.target = read_word();
    if (r.op == "<<" || r.op == "<<-")
        pending_.push_back({cmd.redirects.size(), r.target.text, r.op == "<<-", !r.target.quoted});
    cmd.redirects.push_back(std::move(r));
}

// "<(list)" or ">(list)" at i_ (bash): a /dev/fd/N path, known only when
// the script runs. AWS's documented user-data logging line redirects to
// one: exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1
RawWord ScriptReader::read_process_substitution() {
    RawWord w;
    const size_t start = i_++;
    skip_parens(s_[start] == '<' ? "<(...)" : ">(...)");
    w.raw = std::string(s_.substr(start, i_ - start));
    w.solid = true;
    w.fail(fmt::format("{}(...) is a process substitution, known only when the script runs", s_[start]));
    return w;
}

RawWord ScriptReader::read_word() {
    RawWord w;
    size_t start = i_;
    while (i_ < s_.size()) {
        char c = s_[i_];
        if (is_meta(c) || c == '\r') break;
        if (c == '\\') {
            if (at(i_ + 1) == '\n') {
                i_ += 2;
                ++line_;
                continue;
            }
            if (i_ + 1 < s_.size()) w.add(s_[i_ + 1], false);
            w.solid = w.quoted = true;
            i_ += 2;
        } else if (c == '\'') {
            size_t end = s_.find('\'', i_ + 1);
            if (end == std::string_view::npos) syntax("unterminated single quote");
            for (size_t k = i_ + 1; k < end; ++k) {
                if (s_[k] == '\n') ++line_;
                w.add(s_[k], false);
            }
            w.solid = w.quoted = true;
            i_ = end + 1;
        } else if (c == '"') {
            read_double_quoted(w);
        } else if (c == '$') {
            expand(w, false);
        } else if (c == '`') {
            skip_backticks();
            w.solid = true;
            w.fail(fmt::format("`...` {}", command_substitution));
        } else {
            w.add(c, false);
            w.solid = true;
            ++i_;
        }
    }
    w.raw = std::string(s_.substr(start, i_ - start));
    return w;
}

void ScriptReader::read_double_quoted(RawWord& w) {
    w.solid = w.quoted = true;
    ++i_;
    while (true) {
        if (i_ >= s_.size()) syntax("unterminated double quote");
        char c = s_[i_];
        if (c == '"') {
            ++i_;
            return;
        }
        if (c == '\\') {
            char n = at(i_ + 1);
            if (n == '\n') {
                ++line_;
            } else if (n == '$' || n == '`' || n == '"' || n == '\\') {
                w.add(n, false);
            } else {
                w.add('\\', false);
                ++i_;
                continue;
            }
            i_ += 2;
        } else if (c == '$') {
            expand(w, true);
        } else if (c == '`') {
            skip_backticks();
            w.fail(fmt::format("`...` {}", command_substitution));
        } else {
            if (c == '\n') ++line_;
            w.add(c, false);
            ++i_;
        }
    }
}

void ScriptReader::skip_backticks() {
    for (size_t k = i_ + 1; k < s_.size(); ++k) {
        if (s_[k] == '\\') {
            ++k;
        } else if (s_[k] == '\n') {
            ++line_;
        } else if (s_[k] == '`') {
            i_ = k + 1;
            return;
        }
    }
    syntax("unterminated `...`");
}

// From the "(" at i_ to its matching ")", quotes respected.
void ScriptReader::skip_parens(std::string_view what) {
    int depth = 0;
    for (; i_ < s_.size(); ++i_) {
        char c = s_[i_];
        if (c == '\n') ++line_;
        if (c == '\\') {
            ++i_;
        } else if (c == '\'') {
            size_t end = s_.find('\'', i_ + 1);
            if (end == std::string_view::npos) break;
            line_ += static_cast<int>(std::count(s_.begin() + i_, s_.begin() + end, '\n'));
            i_ = end;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && --depth == 0) {
            ++i_;
            return;
        }
    }
    syntax(fmt::format("unterminated {}", what));
}

void ScriptReader::read_heredoc_bodies(std::vector<Command>& cmds) {
    // bodies follow the line in the order the here-documents appear in it
    std::vector<size_t> heredocs;  // per command, counted once
    for (const Command& c : cmds)
        heredocs.push_back(std::count_if(c.redirects.begin(), c.redirects.end(),
                                         [](const Redirect& r) { return r.op == "<<" || r.op == "<<-"; }));
    size_t next_cmd = 0, seen_in_cmd = 0;
    for (Pending& p : pending_) {
        while (next_cmd < cmds.size() && seen_in_cmd >= heredocs[next_cmd]) {
            ++next_cmd;
            seen_in_cmd = 0;
        }
        std::string body;
        while (i_ < s_.size()) {
            size_t nl = s_.find('\n', i_);
            std::string_view line = s_.substr(i_, (nl == std::string_view::npos ? s_.size() : nl) - i_);
            i_ = nl == std::string_view::npos ? s_.size() : nl + 1;
            ++line_;
            if (p.strip_tabs) line.remove_prefix(std::min(line.find_first_not_of('\t'), line.size()));
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line == p.delimiter) break;
            body.append(line).push_back('\n');
        }
        if (next_cmd < cmds.size()) {
            Redirect& r = cmds[next_cmd].redirects[p.redirect];
            r.body = p.expand ? expand_body(body, r.body_unresolved, cmds[next_cmd].line) : body;
            ++seen_in_cmd;
        }
    }
    pending_.clear();
}

}  // namespace detail

using detail::ScriptReader;

Script read(std::string_view text, std::string_view command, const std::string& label, const Watch& watch) {
    return ScriptReader(text, command, label, watch).read();
}

std::optional<std::string> file_before(const Script& script, const Call& call, const std::string& path,
                                       std::string& why) {
    std::optional<std::string> content;
    for (const FileWrite& w : script.writes) {
        if (w.seq > call.seq || w.path != path) continue;
        if (!w.unresolved.empty()) {
            why = fmt::format("the here-document writing {} {}", path, w.unresolved);
            return std::nullopt;
        }
        if (w.append && content) content->append(w.content);
        else content = w.content;
        // appending grows a file past what one here-document may hold
        if (content->size() > limits::script_value_bytes) {
            why = fmt::format("the here-documents writing {} make more than {} MiB", path,
                              limits::script_value_bytes >> 20);
            return std::nullopt;
        }
    }
    if (!content)
        why = fmt::format(
            "{} is not written by the script before the call (cat > {} <<EOF ... EOF); "
            "user data is read before the script runs",
            path, path);
    return content;
}

}  // namespace eksnode::format::shell
