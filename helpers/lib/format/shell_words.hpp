// SPDX-License-Identifier: Apache-2.0
// The static shell reader's words and commands (format/shell.cpp): a word
// as read, with what quoting and expansion made of each character, the
// redirections and here-documents of a command, and the shell's name and
// metacharacter classes. Internal to the reader and its tests.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eksnode::format::shell::detail {

struct Var {
    std::string value;
    std::string unresolved;
    int line = 0;  // of its last assignment
};

// A word as read: its text after quote removal and expansion, which characters
// came from unquoted expansions (the shell splits fields there), and why it
// cannot be known, if so.
struct RawWord {
    std::string text;
    std::vector<bool> splittable;
    std::string unresolved;
    std::string raw;
    bool solid = false;   // a literal or quoted part: the word never vanishes
    bool quoted = false;  // any quoting (a here-document delimiter so written is not expanded)

    void add(char c, bool split) {
        text.push_back(c);
        splittable.push_back(split);
    }
    void fail(std::string why) {
        if (unresolved.empty()) unresolved = std::move(why);
    }
};

struct Redirect {
    std::string op;
    RawWord target;
    std::string body;  // here-document
    std::string body_unresolved;
};

struct Command {
    int line = 0;
    int seq = 0;
    std::vector<RawWord> words;
    std::vector<Redirect> redirects;
};

inline bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
inline bool is_meta(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' ||
           c == '>';
}

// "NAME=..." as written (the name unquoted): an assignment.
inline bool is_assignment(const RawWord& w) {
    if (w.raw.empty() || !is_name_start(w.raw[0])) return false;
    size_t k = 1;
    while (k < w.raw.size() && is_name_char(w.raw[k])) ++k;
    return k < w.raw.size() && w.raw[k] == '=';
}

}  // namespace eksnode::format::shell::detail
