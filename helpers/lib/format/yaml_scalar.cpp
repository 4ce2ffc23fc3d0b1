// SPDX-License-Identifier: Apache-2.0
// YAML 1.1 scalar resolution as nodeadm's go-yaml v2 does it; the facts are
// listed in yaml_scalar.hpp. Written from those facts, not from go-yaml's code.
#include "format/yaml_scalar.hpp"

#include <algorithm>
#include <array>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"

namespace eksnode::format::yaml_scalar {

namespace {

using Type = Scalar::Type;

constexpr std::string_view tag_prefix = "tag:yaml.org,2002:";

struct Word {
    std::string_view text;
    Type type;
    bool value;
};

// go-yaml v2's resolve table, less the IEEE specials (below) and "<<", which
// no value reaches ('<' starts no candidate) and keys test for themselves.
constexpr std::array<Word, 26> words = {{
    {"y", Type::boolean, true},      {"Y", Type::boolean, true},      {"yes", Type::boolean, true},
    {"Yes", Type::boolean, true},    {"YES", Type::boolean, true},    {"true", Type::boolean, true},
    {"True", Type::boolean, true},   {"TRUE", Type::boolean, true},   {"on", Type::boolean, true},
    {"On", Type::boolean, true},     {"ON", Type::boolean, true},     {"n", Type::boolean, false},
    {"N", Type::boolean, false},     {"no", Type::boolean, false},    {"No", Type::boolean, false},
    {"NO", Type::boolean, false},    {"false", Type::boolean, false}, {"False", Type::boolean, false},
    {"FALSE", Type::boolean, false}, {"off", Type::boolean, false},   {"Off", Type::boolean, false},
    {"OFF", Type::boolean, false},   {"~", Type::null, false},        {"null", Type::null, false},
    {"Null", Type::null, false},     {"NULL", Type::null, false},
}};

std::optional<double> ieee_special(std::string_view s) {
    double sign = 1;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        s.remove_prefix(1);
        if (s.substr(0, 2) == ".n" || s.substr(0, 2) == ".N") return std::nullopt;  // no "-.nan"
    }
    if (s == ".inf" || s == ".Inf" || s == ".INF") return sign * std::numeric_limits<double>::infinity();
    if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
}

// The candidates a plain scalar's first character allows (go-yaml's "hint").
enum class Hint { string, word, dot, number };

Hint hint_of(std::string_view s) {
    if (s.empty()) return Hint::word;
    char c = s[0];
    if (c == '+' || c == '-' || is_digit(c)) return Hint::number;
    if (c == '.') return Hint::dot;
    if (std::string_view("yYnNtTfFoO~").find(c) != std::string_view::npos) return Hint::word;
    return Hint::string;
}

int digit_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Go's strconv.ParseUint(s, base, 64) for base 0 (prefixes) or 2..36, on text
// that holds no '_'. nullopt for a syntax or range error.
std::optional<uint64_t> go_parse_uint(std::string_view s, int base) {
    if (s.empty()) return std::nullopt;
    if (base == 0) {
        base = 10;
        if (s[0] == '0') {
            char p = s.size() >= 3 ? lower(s[1]) : '\0';
            base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 8;
            s.remove_prefix(p == 'b' || p == 'o' || p == 'x' ? 2 : 1);
        }
    }
    uint64_t n = 0;
    for (char c : s) {
        int d = digit_value(c);
        if (d >= base) return std::nullopt;
        uint64_t b = static_cast<uint64_t>(base), digit = static_cast<uint64_t>(d);
        if (n > (std::numeric_limits<uint64_t>::max() - digit) / b) return std::nullopt;
        n = n * b + digit;
    }
    return n;
}

// Go's strconv.ParseInt(s, base, 64): an optional sign, then ParseUint.
std::optional<int64_t> go_parse_int(std::string_view s, int base) {
    if (s.empty()) return std::nullopt;
    bool negative = s[0] == '-';
    if (s[0] == '+' || s[0] == '-') s.remove_prefix(1);
    std::optional<uint64_t> u = go_parse_uint(s, base);
    constexpr uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (!u || *u > max + (negative ? 1 : 0)) return std::nullopt;
    if (negative) return *u == max + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(*u);
    return static_cast<int64_t>(*u);
}

size_t digits_at(std::string_view s, size_t pos) {
    size_t n = 0;
    while (pos + n < s.size() && is_digit(s[pos + n])) ++n;
    return n;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (go-yaml v2.4.0's yamlStyleFloat)
bool is_yaml_float(std::string_view s) {
    size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    size_t whole = digits_at(s, i);
    i += whole;
    bool dot = i < s.size() && s[i] == '.';
    size_t fraction = dot ? digits_at(s, i + 1) : 0;
    if (dot) i += 1 + fraction;
    if (whole == 0 && fraction == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
        size_t exponent = digits_at(s, i);
        if (exponent == 0) return false;
        i += exponent;
    }
    return i == s.size();
}

// Go's strconv.ParseFloat(s, 64) on text is_yaml_float accepts: nullopt when
// the value overflows a double (Go's ErrRange); an underflow is a signed 0.
std::optional<double> go_parse_float(std::string_view s) {
    bool negative = !s.empty() && s[0] == '-';
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
    if (ec == std::errc() && end == s.data() + s.size()) return negative ? -d : d;
    if (ec != std::errc::result_out_of_range) return std::nullopt;
    // Out of range: overflow or underflow? The decimal exponent of the first
    // significant digit tells.
    size_t e = s.find_first_of("eE");
    std::string_view mantissa = s.substr(0, e);
    // The exponent saturates far beyond any double's range, so that adding
    // the mantissa's magnitude (at most the text's length) cannot overflow:
    // "1e9223372036854775807" is too large, not 0. Go's ParseFloat saturates
    // its exponent too.
    constexpr long saturated = 1'000'000'000;
    long exponent = 0;
    if (e != std::string_view::npos) {
        std::string_view x = s.substr(e + 1);
        if (!x.empty() && x[0] == '+') x.remove_prefix(1);
        auto parsed = std::from_chars(x.data(), x.data() + x.size(), exponent);
        if (parsed.ec != std::errc()) exponent = x[0] == '-' ? -saturated : saturated;  // beyond long
        exponent = std::clamp(exponent, -saturated, saturated);
    }
    long point = static_cast<long>(std::min(mantissa.find('.'), mantissa.size()));
    size_t first_digit = mantissa.find_first_of("123456789");
    if (first_digit == std::string_view::npos) return negative ? -0.0 : 0.0;
    long first = static_cast<long>(first_digit);
    // the power of ten of the first significant digit: "12.5" -> 1, "0.05" -> -2
    long magnitude = first < point ? point - first - 1 : point - first;
    if (magnitude + exponent < 0) return negative ? -0.0 : 0.0;
    return std::nullopt;
}

// A plain, untagged scalar (go-yaml v2 resolve with an empty tag).
Scalar resolve_plain(std::string_view in) {
    Scalar out;
    Hint hint = hint_of(in);
    if (hint != Hint::string) {
        for (const Word& w : words)
            if (w.text == in) {
                out.type = w.type;
                out.boolean = w.value;
                return out;
            }
        if (std::optional<double> special = ieee_special(in)) {
            out.type = Type::floating;
            out.floating = *special;
            return out;
        }
    }
    if (in.empty()) {
        out.type = Type::null;
        return out;
    }
    if (hint == Hint::dot && is_yaml_float(in)) {
        if (std::optional<double> d = go_parse_float(in)) {
            out.type = Type::floating;
            out.floating = *d;
            return out;
        }
    }
    if (hint == Hint::number) {
        std::string plain;
        for (char c : in)
            if (c != '_') plain += c;
        if (std::optional<int64_t> i = go_parse_int(plain, 0)) {
            out.type = Type::integer;
            out.integer = *i;
            return out;
        }
        if (std::optional<uint64_t> u = go_parse_uint(plain, 0)) {
            out.type = Type::unsigned_integer;
            out.unsigned_integer = *u;
            return out;
        }
        if (is_yaml_float(plain))
            if (std::optional<double> d = go_parse_float(plain)) {
                out.type = Type::floating;
                out.floating = *d;
                return out;
            }
        // go-yaml's own binary fallback, reached only by texts such as "0b+1"
        std::string_view p = plain;
        std::optional<int64_t> i;
        std::optional<uint64_t> u;
        if (p.starts_with("0b")) {
            i = go_parse_int(p.substr(2), 2);
            if (!i) u = go_parse_uint(p.substr(2), 2);
        } else if (p.starts_with("-0b")) {
            std::string negated = plain.substr(2);  // "-0b101" -> "-101"
            negated[0] = '-';
            i = go_parse_int(negated, 2);
        }
        if (i) {
            out.type = Type::integer;
            out.integer = *i;
            return out;
        }
        if (u) {
            out.type = Type::unsigned_integer;
            out.unsigned_integer = *u;
            return out;
        }
    }
    out.string = in;
    return out;
}

std::string_view short_tag(std::string_view tag) {
    return tag.starts_with(tag_prefix) ? tag.substr(tag_prefix.size()) : tag;
}

std::string_view type_tag(Type t) {
    switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "bool";
    case Type::integer:
    case Type::unsigned_integer: return "int";
    case Type::floating: return "float";
    case Type::string: return "str";
    }
    return "str";
}

Scalar string_scalar(std::string_view text) {
    Scalar s;
    s.string = text;
    return s;
}

// !!binary: base64, decoded; JSON strings must be text.
Scalar binary_scalar(std::string_view text, const std::string& source, const std::string& path) {
    std::string compact;
    for (char c : text)
        if (!text::is_space(c)) compact += c;
    std::string data = base64_decode(compact, source);
    if (!is_utf8_text(data))
        throw ConfigError(source, path, "!!binary data is not UTF-8 text, which JSON cannot carry");
    return string_scalar(data);
}

}  // namespace

Scalar resolve(std::string_view text, std::string_view tag, const std::string& source, const std::string& path) {
    if (tag == "?") return resolve_plain(text);
    std::string_view wanted = short_tag(tag);
    if (!tag.starts_with(tag_prefix) || wanted == "str") return string_scalar(text);  // "!", custom tags
    if (wanted == "binary") return binary_scalar(text, source, path);
    // A timestamp decoded into interface{} stays its text. (go-yaml would
    // also refuse a !!timestamp value that is no timestamp; that is not
    // checked here.)
    if (wanted == "timestamp") return string_scalar(text);
    if (wanted != "null" && wanted != "bool" && wanted != "int" && wanted != "float") return string_scalar(text);
    Scalar s = resolve_plain(text);
    std::string_view got = type_tag(s.type);
    if (got == wanted) return s;
    if (wanted == "float" && s.type == Type::integer) {
        s.type = Type::floating;
        s.floating = static_cast<double>(s.integer);
        return s;
    }
    throw ConfigError(source, path, fmt::format("cannot decode !!{} `{}` as a !!{}", got, text, wanted));
}

json go_json_number(double d) {
    if (d != std::trunc(d) || std::fabs(d) >= 1e21) return d;
    // encoding/json prints the shortest digits that round-trip, padded with
    // zeros: below 2^53 that is the exact integer, above it may not be.
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(d), std::chars_format::scientific);
    if (ec != std::errc()) return d;
    std::string_view sci(buf.data(), static_cast<size_t>(end - buf.data()));
    size_t e = sci.find('e');
    int exponent = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
    std::string digits;
    for (char c : sci.substr(0, e))
        if (c != '.') digits += c;
    if (digits == "0") return 0;
    digits.resize(static_cast<size_t>(exponent) + 1, '0');
    uint64_t u = 0;
    auto [uend, uec] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
    if (uec != std::errc() || uend != digits.data() + digits.size()) return d;
    constexpr uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (d > 0) return u <= max ? json(static_cast<int64_t>(u)) : json(u);
    if (u <= max) return -static_cast<int64_t>(u);
    if (u == max + 1) return std::numeric_limits<int64_t>::min();
    return d;
}

std::string go_key_float(double d) {
    // Go's float64 -> float32 conversion rounds to nearest and overflows to
    // an infinity; half an ulp above FLT_MAX is where that happens.
    const double overflow = static_cast<double>(FLT_MAX) + std::ldexp(1.0, 103);
    if (std::isnan(d)) return ".nan";
    if (std::fabs(d) >= overflow) return d > 0 ? ".inf" : "-.inf";
    float f = static_cast<float>(d);
    std::string sign = std::signbit(f) ? "-" : "";
    if (f == 0) return sign + "0";
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(f), std::chars_format::scientific);
    std::string_view sci(buf.data(), ec == std::errc() ? static_cast<size_t>(end - buf.data()) : 0);
    size_t e = sci.find('e');
    if (e == std::string_view::npos) return sign + "0";
    int exponent = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
    std::string digits;
    for (char c : sci.substr(0, e))
        if (c != '.') digits += c;
    // %g with the shortest digits: %e when the exponent is below -4 or at
    // least 6 (Go's eprec for the shortest form), else %f.
    int count = static_cast<int>(digits.size());
    if (exponent < -4 || exponent >= 6) {
        std::string out = sign + digits.substr(0, 1);
        if (count > 1) out += "." + digits.substr(1);
        int a = std::abs(exponent);
        return out + fmt::format("e{}{}{}", exponent < 0 ? '-' : '+', a < 10 ? "0" : "", a);
    }
    int point = exponent + 1;  // digits before the decimal point
    std::string out = sign;
    if (point <= 0) {
        out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    } else if (point >= count) {
        out += digits + std::string(static_cast<size_t>(point - count), '0');
    } else {
        out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
    }
    return out;
}

json to_value(const Scalar& s, const std::string& source, const std::string& path) {
    switch (s.type) {
    case Type::null: return nullptr;
    case Type::boolean: return s.boolean;
    case Type::integer: return s.integer;
    case Type::unsigned_integer: return s.unsigned_integer;
    case Type::floating:
        if (!std::isfinite(s.floating)) throw ConfigError(source, path, "infinite and NaN numbers have no JSON form");
        return go_json_number(s.floating);
    case Type::string: return s.string;
    }
    return s.string;
}

std::string to_key(const Scalar& s, const std::string& source, const std::string& path) {
    switch (s.type) {
    case Type::null: throw ConfigError(source, path, "a null mapping key has no JSON form");
    case Type::boolean: return s.boolean ? "true" : "false";
    case Type::integer: return std::to_string(s.integer);
    case Type::unsigned_integer:
        throw ConfigError(source, path,
                          fmt::format("mapping key {} is beyond int64, which nodeadm's YAML decoder refuses too",
                                      s.unsigned_integer));
    case Type::floating: return go_key_float(s.floating);
    case Type::string: return s.string;
    }
    return s.string;
}

}  // namespace eksnode::format::yaml_scalar
