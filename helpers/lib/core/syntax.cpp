// SPDX-License-Identifier: Apache-2.0
#include "core/syntax.hpp"

#include <fmt/format.h>

#include "core/text.hpp"

namespace eksnode::syntax {

namespace {

// The code point of a valid UTF-8 sequence of `len` bytes.
char32_t code_point(std::string_view seq, size_t len) {
    static constexpr unsigned char lead_bits[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    char32_t cp = static_cast<unsigned char>(seq[0]) & lead_bits[len];
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(seq[k]) & 0x3f);
    return cp;
}

bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

// Calls `each(sequence, code point)` for every UTF-8 sequence of `s`, and
// `bad(byte)` for every byte that starts none.
template <typename Each, typename Bad>
void for_each_char(std::string_view s, Each&& each, Bad&& bad) {
    for (size_t i = 0; i < s.size();) {
        size_t len = utf8_length(s.substr(i));
        if (len == 0) {
            bad(static_cast<unsigned char>(s[i]));
            ++i;
            continue;
        }
        each(s.substr(i, len), code_point(s.substr(i), len));
        i += len;
    }
}

std::string byte_escape(unsigned char b) { return fmt::format("\\x{:02x}", b); }

// C0 controls and DEL: what ends or corrupts a line in every format here.
bool has_c0(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string comment(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_char(
        text,
        [&](std::string_view seq, char32_t cp) {
            if (cp == '\\') out += "\\\\";
            else if (cp == '\n') out += "\\n";
            else if (cp == '\t') out += "\\t";
            else if (cp == '\r') out += "\\r";
            else if (is_control(cp))
                for (char b : seq) out += byte_escape(static_cast<unsigned char>(b));
            // YAML 1.1 (libyaml) ends a line at the first two, and refuses the
            // others anywhere, comments included
            else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
                out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
            else out += seq;
        },
        [&](unsigned char b) { out += byte_escape(b); });
    return out;
}

namespace unit {

std::string value_problem(std::string_view value) {
    if (!is_utf8_text(value)) return "not UTF-8 text (systemd ignores the line)";
    if (has_c0(value)) return "has a control character (a line break would start a line of its own)";
    if (!value.empty() && (is_blank(value.front()) || is_blank(value.back())))
        return "starts or ends with a blank (systemd strips it)";
    if (!value.empty() && value.back() == '\\') return "ends in a backslash (systemd would join the next line to it)";
    return {};
}

std::string value(std::string_view value) {
    if (std::string problem = value_problem(value); !problem.empty())
        throw Unwritable(fmt::format("{}: {}", json_quoted(value, 200), problem));
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '%') out += '%';  // "%%" is a literal '%', anything else after '%' a specifier
        out += c;
    }
    return out;
}

std::string path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/') return "not an absolute path";
    for (size_t at = 0; at < path.size();) {
        size_t end = path.find('/', at + 1);
        std::string_view part = path.substr(at + 1, end == std::string_view::npos ? path.npos : end - at - 1);
        if (part == "." || part == "..") return "has a \".\" or \"..\" component";
        at = end == std::string_view::npos ? path.size() : end;
    }
    return value_problem(path);
}

std::string path(std::string_view path) {
    if (std::string problem = path_problem(path); !problem.empty())
        throw Unwritable(fmt::format("{}: {}", json_quoted(path, 200), problem));
    return value(path);
}

std::string paths(const std::vector<std::string>& paths) {
    std::string out;
    for (const std::string& p : paths) {
        if (p.find(' ') != std::string::npos)
            throw Unwritable(fmt::format("{}: has a blank, which would split it in two", json_quoted(p, 200)));
        if (!out.empty()) out += ' ';
        out += path(p);
    }
    return out;
}

std::string exec_word_problem(std::string_view word) {
    if (!is_utf8_text(word)) return "not UTF-8 text (systemd ignores the line)";
    if (has_c0(word)) return "has a control character (a line break would end the command)";
    return {};
}

std::string exec(const std::vector<std::string>& words) {
    if (words.empty() || words.front().empty() || words.front().front() != '/')
        throw Unwritable("ExecStart=: the program must be an absolute path");
    std::string out;
    for (const std::string& word : words) {
        if (std::string problem = exec_word_problem(word); !problem.empty())
            throw Unwritable(fmt::format("ExecStart=: {}: {}", json_quoted(word, 200), problem));
        if (!out.empty()) out += ' ';
        out += '"';
        for (char c : word) {
            switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '%': out += "%%"; break;
            case '$': out += "$$"; break;
            default: out += c;
            }
        }
        out += '"';
    }
    return out;
}

std::vector<Setting> read(std::string_view text) {
    std::vector<Setting> out;
    std::string section, pending;
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        const std::string_view l = trim_line(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (pending.empty() && (l.empty() || l.starts_with('#') || l.starts_with(';'))) continue;
        if (l.ends_with('\\')) {
            pending.append(l.substr(0, l.size() - 1)).push_back(' ');
            continue;
        }
        std::string full = pending + std::string(l);
        pending.clear();
        if (full.starts_with('[')) {
            section = full.ends_with(']') ? full.substr(1, full.size() - 2) : full;
            continue;
        }
        const size_t eq = full.find('=');
        if (eq == std::string::npos) continue;
        const std::string_view f = full;
        out.push_back({section, std::string(trim_line(f.substr(0, eq))), std::string(trim_line(f.substr(eq + 1)))});
    }
    return out;
}

}  // namespace unit

namespace env {

bool valid_name(std::string_view name) {
    auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    if (name.empty() || !alpha(name.front())) return false;
    for (char c : name)
        if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
    return true;
}

std::string value(std::string_view value) {
    if (!is_utf8_text(value))
        throw Unwritable(fmt::format("{}: not UTF-8 text (systemd drops the variable)", json_quoted(value, 200)));
    // Unquoted, systemd strips surrounding whitespace, processes backslashes,
    // treats a leading quote as the start of a quoted value and ends the
    // value at a line break, "\r" as well as "\n" (which would let the rest
    // of the value set a variable of its own). Inside double quotes both are
    // kept as they are.
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    const bool bare = !value.empty() && !space(value.front()) && !space(value.back()) && value.front() != '"' &&
                      value.front() != '\'' && value.find_first_of("\\\n\r") == std::string_view::npos;
    if (bare) return std::string(value);

    std::string out = "\"";
    for (char c : value) {
        if (c == '\\' || c == '"' || c == '`' || c == '$') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string assignment(std::string_view name, std::string_view v) {
    if (!valid_name(name))
        throw Unwritable(fmt::format("{}: not an environment variable name systemd takes", json_quoted(name, 200)));
    return fmt::format("{}={}\n", name, value(v));
}

}  // namespace env

namespace yaml {

std::string string(std::string_view s) {
    std::string out = "\"";
    for_each_char(
        s,
        [&](std::string_view seq, char32_t cp) {
            if (cp == '"') out += "\\\"";
            else if (cp == '\\') out += "\\\\";
            else if (cp == '\n') out += "\\n";
            else if (cp == '\t') out += "\\t";
            else if (cp == '\r') out += "\\r";
            else if (cp < 0x20 || cp == 0x7f) out += fmt::format("\\x{:02x}", static_cast<uint32_t>(cp));
            // not in YAML's printable set, or a line break to YAML 1.1
            else if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
                     cp == 0xffff)
                out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
            else out += seq;
        },
        [&](unsigned char) {
            throw Unwritable(fmt::format("{}: not UTF-8 text, which YAML cannot hold", json_quoted(s, 200)));
        });
    out += '"';
    return out;
}

}  // namespace yaml

}  // namespace eksnode::syntax
