// SPDX-License-Identifier: Apache-2.0
#include "format/mime.hpp"

#include <optional>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"

namespace eksnode::format::mime {

namespace {

struct Line {
    std::string_view content;  // without the line break (LF or CRLF)
    size_t start;              // offset of the line
    size_t next;               // offset of the following line
    bool broken;               // ended by a line break (not by the end of the text)
};

Line line_at(std::string_view s, size_t pos) {
    size_t nl = s.find('\n', pos);
    bool broken = nl != std::string_view::npos;
    size_t end = broken ? nl : s.size();
    std::string_view content = s.substr(pos, end - pos);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    return {content, pos, broken ? nl + 1 : s.size(), broken};
}

// RFC 5322 2.2: printable US-ASCII except the colon.
bool valid_header_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (c <= 32 || c >= 127 || c == ':') return false;
    return true;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
    for (const auto& [n, v] : headers)
        if (n == name) return v;
    return std::nullopt;
}

// A quoted-string (RFC 5322 3.2.4) starting at s[pos] == '"'; pos ends past the closing quote.
std::string quoted_string(std::string_view s, size_t& pos, const std::string& source) {
    std::string out;
    for (++pos; pos < s.size(); ++pos) {
        if (s[pos] == '"') {
            ++pos;
            return out;
        }
        if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
        out += s[pos];
    }
    throw ConfigError(source, "", fmt::format("unterminated quoted string in Content-Type {}", text::quote(s)));
}

// `; name=value` pairs after the media type (RFC 2045 5.1).
void parse_params(std::string_view value, size_t pos, Entity& e, const std::string& source) {
    while (pos < value.size()) {
        if (value[pos] == ';' || text::is_space(value[pos])) {
            ++pos;
            continue;
        }
        size_t eq = value.find('=', pos);
        if (eq == std::string_view::npos)
            throw ConfigError(source, "", fmt::format("malformed Content-Type parameter in {}", text::quote(value)));
        std::string name = text::lower(text::trim(value.substr(pos, eq - pos)));
        pos = eq + 1;
        while (pos < value.size() && text::is_space(value[pos])) ++pos;
        if (pos < value.size() && value[pos] == '"') {
            e.params[name] = quoted_string(value, pos, source);
        } else {
            size_t end = std::min(value.find(';', pos), value.size());
            e.params[name] = std::string(text::trim(value.substr(pos, end - pos)));
            pos = end;
        }
    }
}

void parse_content_type(std::string_view value, Entity& e, const std::string& source) {
    size_t semi = std::min(value.find(';'), value.size());
    std::string media = text::lower(text::trim(value.substr(0, semi)));
    size_t slash = media.find('/');
    bool ok = slash != std::string::npos && slash > 0 && slash + 1 < media.size() &&
              media.find_first_of(" \t") == std::string::npos;
    if (!ok) throw ConfigError(source, "", fmt::format("malformed Content-Type {}", text::quote(value)));
    e.media_type = media;
    parse_params(value, semi, e, source);
}

enum class Delimiter { none, next, close };

// RFC 2046 5.1.1: "--boundary" at the start of a line, "--" after it on the
// last one, then only transport padding (whitespace).
Delimiter delimiter_kind(std::string_view line, std::string_view delimiter) {
    if (line.substr(0, delimiter.size()) != delimiter) return Delimiter::none;
    std::string_view rest = line.substr(delimiter.size());
    bool close = rest.substr(0, 2) == "--";
    if (close) rest.remove_prefix(2);
    if (!text::trim(rest).empty()) return Delimiter::none;
    return close ? Delimiter::close : Delimiter::next;
}

// A part ends before the line break that precedes the next delimiter: that
// line break belongs to the delimiter (RFC 2046 5.1.1).
std::string_view part_between(std::string_view body, size_t start, size_t delimiter_start) {
    size_t end = delimiter_start;
    if (end > start && body[end - 1] == '\n') --end;
    if (end > start && body[end - 1] == '\r') --end;
    return body.substr(start, end - start);
}

}  // namespace

bool starts_with_header(std::string_view text) {
    std::string_view first = line_at(text, 0).content;
    size_t colon = first.find(':');
    if (colon == std::string_view::npos || !valid_header_name(first.substr(0, colon))) return false;
    std::string name = text::lower(first.substr(0, colon));
    return name == "mime-version" || name.rfind("content-", 0) == 0;
}

Entity parse_entity(std::string_view text, const std::string& source) {
    Entity e;
    if (text.empty()) return e;  // a part with neither headers nor body: empty text/plain
    Headers headers;
    size_t pos = 0;
    for (;;) {
        if (pos >= text.size()) throw ConfigError(source, "", "MIME headers are not followed by an empty line");
        Line line = line_at(text, pos);
        pos = line.next;
        if (line.content.empty()) break;
        if (text::is_space(line.content.front())) {  // folded header (RFC 5322 2.2.3)
            if (headers.empty()) throw ConfigError(source, "", "MIME headers start with a continuation line");
            std::string& value = headers.back().second;
            value += ' ';
            value += text::trim(line.content);
            continue;
        }
        size_t colon = line.content.find(':');
        std::string_view name = line.content.substr(0, colon);
        if (colon == std::string_view::npos || !valid_header_name(name))
            throw ConfigError(source, "", fmt::format("malformed MIME header line {}", text::quote(line.content)));
        headers.emplace_back(text::lower(name), std::string(text::trim(line.content.substr(colon + 1))));
    }
    e.body = text.substr(pos);
    if (auto type = find_header(headers, "content-type")) parse_content_type(*type, e, source);
    if (auto encoding = find_header(headers, "content-transfer-encoding")) e.transfer_encoding = text::lower(*encoding);
    return e;
}

bool is_multipart(const Entity& e) { return e.media_type.rfind("multipart/", 0) == 0; }

std::vector<std::string_view> split_multipart(std::string_view body, const Entity& e, const std::string& source) {
    auto boundary = e.params.find("boundary");
    if (boundary == e.params.end() || boundary->second.empty())
        throw ConfigError(source, "", fmt::format("{} without a boundary parameter", e.media_type));
    std::string delimiter = "--" + boundary->second;

    std::vector<std::string_view> parts;
    bool open = false;
    size_t part_start = 0;
    for (size_t pos = 0; pos < body.size();) {
        Line line = line_at(body, pos);
        pos = line.next;
        Delimiter kind = delimiter_kind(line.content, delimiter);
        if (kind == Delimiter::none) continue;  // preamble, part content or epilogue
        if (open) parts.push_back(part_between(body, part_start, line.start));
        if (kind == Delimiter::close) return parts;
        open = true;
        part_start = line.next;
    }
    if (!open)
        throw ConfigError(
            source, "",
            fmt::format("MIME multipart body never contains its boundary {}", text::quote(boundary->second)));
    throw ConfigError(
        source, "",
        fmt::format("MIME multipart body is not terminated (no closing {} line)", text::quote(delimiter + "--")));
}

std::string decode_body(const Entity& e, const std::string& source) {
    const std::string& te = e.transfer_encoding;
    if (te == "7bit" || te == "8bit" || te == "binary") return std::string(e.body);
    if (te == "base64") return base64_decode(e.body, source);
    if (te == "quoted-printable") return decode_quoted_printable(e.body, source);
    throw ConfigError(source, "", fmt::format("unsupported Content-Transfer-Encoding {}", text::quote(te)));
}

// RFC 2045 6.7: "=XX" is a byte, "=" at the end of a line joins it with the
// next, and trailing whitespace on a line was added in transport.
std::string decode_quoted_printable(std::string_view data, const std::string& source) {
    std::string out;
    out.reserve(data.size());
    for (size_t pos = 0; pos < data.size();) {
        Line line = line_at(data, pos);
        pos = line.next;
        std::string_view s = line.content;
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        bool soft_break = !s.empty() && s.back() == '=';
        if (soft_break) s.remove_suffix(1);
        for (size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '=') {
                out += s[i];
                continue;
            }
            int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                throw ConfigError(source, "",
                                  fmt::format("invalid quoted-printable escape {}", text::quote(s.substr(i, 3))));
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (line.broken && !soft_break) out += '\n';
    }
    return out;
}

}  // namespace eksnode::format::mime
