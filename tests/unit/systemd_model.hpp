// SPDX-License-Identifier: Apache-2.0
// How systemd 252 reads what eks-node writes for it, modelled for the tests
// and fuzz targets that check those files: a unit file or drop-in
// (conf-parser.c's config_parse() and parse_line(), systemd.syntax(7)), the
// specifiers of a setting (systemd.unit(5), SPECIFIERS) and the words of an
// ExecStart= line (systemd.service(5), COMMAND LINES). An independent reading,
// written from systemd's rules, not eks-node's writers run backwards: a test
// that only inverted the writer would agree with any mistake in it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systemd_model {

struct Assignment {
    std::string section;  // "Unit"; empty before the first section header
    std::string key;
    std::string value;  // as the setting's parser gets it: stripped, nothing unescaped yet
};

struct UnitFile {
    std::vector<std::string> sections;  // every header, in order
    std::vector<Assignment> assignments;
    std::vector<std::string> problems;  // what systemd would log as it reads (or refuse the file for)

    std::vector<std::string> values(std::string_view section, std::string_view key) const {
        std::vector<std::string> out;
        for (const Assignment& a : assignments)
            if (a.section == section && a.key == key) out.push_back(a.value);
        return out;
    }
};

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view strip(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// read_line(): a line ends at "\n", "\r", "\r\n" or a NUL byte. Each line
// is copied whole, not a character at a time: the fuzz targets read every
// file they check through here, under ASan and coverage counters.
inline std::vector<std::string> lines(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\n' && c != '\r' && c != '\0') continue;
        out.emplace_back(text.substr(start, i - start));
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < text.size()) out.emplace_back(text.substr(start));
    return out;
}

// Strict UTF-8, as systemd's utf8_is_valid() (a line that is not is ignored).
inline bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        unsigned cp = n == 1 ? c : c & (0x7f >> n);
        for (size_t k = 1; k < n; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

// config_parse(): a comment line is dropped first (so it never continues);
// then a line ending in an odd number of backslashes continues on the next,
// the backslash replaced by a space; then parse_line().
inline UnitFile parse(std::string_view text) {
    UnitFile out;
    std::string section;
    std::optional<std::string> continuation;
    auto parse_line = [&](std::string_view l) {
        l = strip(l);
        if (l.empty()) return;
        if (!valid_utf8(l)) {
            out.problems.emplace_back("not UTF-8, line ignored");
            return;
        }
        if (l.front() == '[') {
            if (l.back() != ']') {
                out.problems.emplace_back("invalid section header: the file is refused");
                return;
            }
            section = std::string(l.substr(1, l.size() - 2));
            out.sections.push_back(section);
            return;
        }
        size_t eq = l.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            out.problems.emplace_back("missing '=' or key, line ignored");
            return;
        }
        if (section.empty()) {
            out.problems.emplace_back("assignment outside of a section, ignored");
            return;
        }
        out.assignments.push_back({section, std::string(strip(l.substr(0, eq))), std::string(strip(l.substr(eq + 1)))});
    };
    for (const std::string& line : lines(text)) {
        std::string_view lead = strip(line);
        if (!lead.empty() && (lead.front() == '#' || lead.front() == ';')) continue;
        std::string joined = continuation ? *continuation + line : line;
        bool escaped = false;
        for (char c : joined) escaped = !escaped && c == '\\';
        if (escaped) {
            joined.back() = ' ';
            continuation = joined;
            continue;
        }
        continuation.reset();
        parse_line(joined);
    }
    if (continuation) parse_line(*continuation);
    return out;
}

// A setting's value with its specifiers resolved, for one that has none but
// "%%": nullopt if another specifier would be expanded.
inline std::optional<std::string> without_specifiers(std::string_view v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '%') {
            out += v[i];
        } else if (i + 1 < v.size() && v[i + 1] == '%') {
            out += '%';
            ++i;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

// The words of an ExecStart= value (specifiers already resolved), as
// extract_first_word() with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE splits them, and
// "$$" turned into "$" as at exec time. nullopt for anything eks-node never
// means to write: a word outside quotes, a C escape other than \\ and \", an
// unquoted ';' or a "$" that would substitute a variable.
inline std::optional<std::vector<std::string>> exec_words(std::string_view v) {
    std::vector<std::string> words;
    size_t i = 0;
    while (true) {
        while (i < v.size() && is_space(v[i])) ++i;
        if (i == v.size()) return words;
        if (v[i] != '"') return std::nullopt;
        std::string w;
        for (++i;; ++i) {
            if (i == v.size()) return std::nullopt;  // unterminated
            char c = v[i];
            if (c == '"') break;
            if (c == '\\') {
                if (i + 1 == v.size() || (v[i + 1] != '\\' && v[i + 1] != '"')) return std::nullopt;
                w += v[++i];
            } else if (c == '$') {
                if (i + 1 == v.size() || v[i + 1] != '$') return std::nullopt;
                w += '$';
                ++i;
            } else {
                w += c;
            }
        }
        ++i;
        if (i < v.size() && !is_space(v[i])) return std::nullopt;  // a quote glued to more text
        words.push_back(std::move(w));
    }
}

// An environment file as EnvironmentFile= reads it (env-file.c's
// parse_env_file_internal(), load_env_file()): the (name, value) pairs in
// order; a name without '=' has no value. Comments start at a line's first
// non-blank '#' or ';' and, like unquoted values, continue past a line break
// escaped with a backslash; inside double quotes \ \" \` \$ are unescaped,
// other backslashes kept, and line breaks kept as they are.
inline std::vector<std::pair<std::string, std::optional<std::string>>> env_file(std::string_view text) {
    enum State {
        pre_key,
        key,
        pre_value,
        value,
        value_escape,
        single_quote,
        double_quote,
        double_quote_escape,
        comment,
        comment_escape
    };
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    auto newline = [](char c) { return c == '\n' || c == '\r'; };
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    State state = pre_key;
    std::string k;
    std::optional<std::string> v;
    size_t key_blank = std::string::npos, value_blank = std::string::npos;
    auto push = [&](bool strip_value) {
        if (key_blank != std::string::npos) k.resize(key_blank);
        if (strip_value && v && value_blank != std::string::npos) v->resize(value_blank);
        out.emplace_back(k, v);
        k.clear();
        v.reset();
    };
    auto add = [&](char c) {
        if (!v) v.emplace();
        v->push_back(c);
    };
    for (char c : text) {
        if (c == '\0') break;  // read as a C string
        switch (state) {
        case pre_key:
            if (c == '#' || c == ';') state = comment;
            else if (!blank(c)) state = key, key_blank = std::string::npos, k += c;
            break;
        case key:
            if (newline(c)) state = pre_key, k.clear();
            else if (c == '=') state = pre_value, value_blank = std::string::npos;
            else {
                if (!blank(c)) key_blank = std::string::npos;
                else if (key_blank == std::string::npos) key_blank = k.size();
                k += c;
            }
            break;
        case pre_value:
            if (newline(c)) state = pre_key, push(false);
            else if (c == '\'') state = single_quote;
            else if (c == '"') state = double_quote;
            else if (c == '\\') state = value_escape;
            else if (!blank(c)) state = value, add(c);
            break;
        case value:
            if (newline(c)) state = pre_key, push(true);
            else if (c == '\\') state = value_escape, value_blank = std::string::npos;
            else {
                if (!blank(c)) value_blank = std::string::npos;
                else if (value_blank == std::string::npos) value_blank = v ? v->size() : 0;
                add(c);
            }
            break;
        case value_escape:
            state = value;
            if (!newline(c)) add(c);
            break;
        case single_quote:
            if (c == '\'') state = pre_value;
            else add(c);
            break;
        case double_quote:
            if (c == '"') state = pre_value;
            else if (c == '\\') state = double_quote_escape;
            else add(c);
            break;
        case double_quote_escape:
            state = double_quote;
            if (c == '"' || c == '\\' || c == '`' || c == '$') add(c);
            else if (c != '\n') add('\\'), add(c);
            break;
        case comment:
            if (c == '\\') state = comment_escape;
            else if (newline(c)) state = pre_key;
            break;
        case comment_escape: state = comment; break;
        }
    }
    if (state == pre_value || state == value || state == value_escape || state == single_quote ||
        state == double_quote || state == double_quote_escape)
        push(state == value);
    return out;
}

}  // namespace systemd_model
