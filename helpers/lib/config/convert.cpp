#include "config/convert.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include "config/sources.hpp"
#include "config/text.hpp"
#include "core/error.hpp"

namespace eksnode {

namespace {

constexpr std::string_view yaml_str_tag = "tag:yaml.org,2002:str";
constexpr const char* no_json_form = "infinite and NaN numbers have no JSON form";

bool all_digits(std::string_view s, int base) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                             : c >= '0' && c < static_cast<char>('0' + base);
        if (!ok) return false;
    }
    return true;
}

size_t digits_at(std::string_view s, size_t pos) {
    size_t n = 0;
    while (pos + n < s.size() && s[pos + n] >= '0' && s[pos + n] <= '9') ++n;
    return n;
}

// YAML 1.2 core schema float: [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
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

bool is_core_special_float(std::string_view s) {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    return s == ".inf" || s == ".Inf" || s == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN";
}

template <typename T>
bool parse_integer(std::string_view s, int base, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return ec == std::errc() && end == s.data() + s.size();
}

class YamlConverter {
public:
    explicit YamlConverter(const std::string& source) : source_(source) {}

    json convert(const YAML::Node& node, const std::string& path, int depth) {
        if (++values_ > limits::document_values)
            throw ConfigError(
                source_, "",
                fmt::format("more than {} values in one document (alias expansion?)", limits::document_values));
        bool container = node.IsMap() || node.IsSequence();
        if (container && depth >= limits::nesting_depth)
            throw ConfigError(source_, path, fmt::format("nested deeper than {} levels", limits::nesting_depth));
        switch (node.Type()) {
        case YAML::NodeType::Map: return mapping(node, path, depth);
        case YAML::NodeType::Sequence: return sequence(node, path, depth);
        case YAML::NodeType::Scalar: return scalar(node, path);
        default: return nullptr;  // Null, or Undefined (an empty document)
        }
    }

private:
    json mapping(const YAML::Node& node, const std::string& path, int depth) {
        json out = json::object();
        for (const auto& entry : node) {
            if (!entry.first.IsScalar()) throw ConfigError(source_, path, "mapping keys must be plain strings");
            const std::string& key = entry.first.Scalar();
            std::string child = text::child_path(path, key);
            // letting either value win would silently hide a mistake
            if (out.contains(key)) throw ConfigError(source_, child, "duplicate key");
            out[key] = convert(entry.second, child, depth + 1);
        }
        return out;
    }

    json sequence(const YAML::Node& node, const std::string& path, int depth) {
        json out = json::array();
        for (size_t i = 0; i < node.size(); ++i)
            out.push_back(convert(node[i], text::element_path(path, i), depth + 1));
        return out;
    }

    // yaml-cpp tags quoted and block scalars "!" and plain ones "?"; only plain
    // scalars are typed (YAML 1.2, 10.3.2 tag resolution).
    json scalar(const YAML::Node& node, const std::string& path) {
        const std::string& s = node.Scalar();
        if (node.Tag() == "!" || node.Tag() == yaml_str_tag) return s;
        return resolve_plain(s, path);
    }

    json resolve_plain(const std::string& s, const std::string& path) {
        if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
        std::string_view v = s;
        if (v.substr(0, 2) == "0o" && all_digits(v.substr(2), 8)) return unsigned_integer(v.substr(2), 8, path);
        if (v.substr(0, 2) == "0x" && all_digits(v.substr(2), 16)) return unsigned_integer(v.substr(2), 16, path);
        std::string_view unsigned_part = (v[0] == '-' || v[0] == '+') ? v.substr(1) : v;
        if (all_digits(unsigned_part, 10)) return decimal_integer(v, path);
        if (is_core_float(v)) {
            std::string_view digits = v[0] == '+' ? v.substr(1) : v;  // from_chars takes no '+'
            double d = 0;
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
            if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(d))
                throw ConfigError(source_, path, no_json_form);
            return d;
        }
        if (is_core_special_float(v)) throw ConfigError(source_, path, no_json_form);
        return s;
    }

    // Signed where it fits, so 0x1F and 31 are the same JSON value.
    json unsigned_integer(std::string_view digits, int base, const std::string& path) {
        uint64_t u = 0;
        if (!parse_integer(digits, base, u)) throw ConfigError(source_, path, "integer out of range");
        if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(u);
        return u;
    }

    json decimal_integer(std::string_view v, const std::string& path) {
        if (v[0] == '+') v.remove_prefix(1);
        int64_t i = 0;
        if (parse_integer(v, 10, i)) return i;
        if (v[0] != '-') return unsigned_integer(v, 10, path);
        throw ConfigError(source_, path, "integer out of range");
    }

    const std::string& source_;
    size_t values_ = 0;
};

[[noreturn]] void throw_yaml_error(const YAML::Exception& e, const std::string& source) {
    if (e.mark.is_null()) throw ConfigError(source, "", fmt::format("invalid YAML: {}", e.msg));
    throw ConfigError(source, "",
                      fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg));
}

}  // namespace

json toml_to_json(const toml::node& node, const std::string& source, const std::string& path) {
    return node.visit([&](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (toml::is_table<T>) {
            json out = json::object();
            for (const auto& [key, child] : v)
                out[std::string(key.str())] = toml_to_json(child, source, text::child_path(path, key.str()));
            return out;
        } else if constexpr (toml::is_array<T>) {
            json out = json::array();
            for (size_t i = 0; i < v.size(); ++i)
                out.push_back(toml_to_json(v[i], source, text::element_path(path, i)));
            return out;
        } else if constexpr (toml::is_floating_point<T>) {
            if (!std::isfinite(v.get())) throw ConfigError(source, path, no_json_form);
            return v.get();
        } else if constexpr (toml::is_string<T> || toml::is_integer<T> || toml::is_boolean<T>) {
            return v.get();
        } else {  // date, time, date-time: their RFC 3339 text
            std::ostringstream out;
            out << v;
            return out.str();
        }
    });
}

std::vector<json> yaml_documents(std::string_view text, const std::string& source) {
    std::vector<YAML::Node> nodes;
    try {
        nodes = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        throw_yaml_error(e, source);
    }
    std::vector<json> docs;
    for (const auto& node : nodes) docs.push_back(YamlConverter(source).convert(node, "", 0));
    return docs;
}

bool is_yaml_mapping(std::string_view text) {
    try {
        std::vector<YAML::Node> nodes = YAML::LoadAll(std::string(text));
        return !nodes.empty() && nodes.front().IsMap();
    } catch (const YAML::Exception&) {
        return false;
    }
}

json json_document(std::string_view text, const std::string& source) {
    auto limit_depth = [&](int depth, json::parse_event_t event, json&) {
        bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (opens && depth >= limits::nesting_depth)
            throw ConfigError(source, "",
                              fmt::format("invalid JSON: nested deeper than {} levels", limits::nesting_depth));
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), limit_depth);
    } catch (const json::parse_error& e) {
        // drop nlohmann's "[json.exception.parse_error.101] " prefix; keep "parse error at line 3, column 5: ..."
        std::string_view what = e.what();
        size_t start = what.find("] ");
        throw ConfigError(source, "", fmt::format("invalid JSON: {}", what.substr(start == what.npos ? 0 : start + 2)));
    }
}

toml::table parse_toml(std::string_view text, const std::string& source, const std::string& field) {
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        throw ConfigError(source, field,
                          fmt::format("invalid TOML at line {}, column {}: {}", at.line, at.column, e.description()));
    }
}

void parse_containerd_config(json& spec, const std::string& source) {
    if (!spec.is_object() || !spec.contains("containerd") || !spec["containerd"].is_object()) return;
    json& containerd = spec["containerd"];
    auto config = containerd.find("config");
    if (config == containerd.end() || !config->is_string()) return;
    const std::string field = "spec.containerd.config";
    *config = toml_to_json(parse_toml(config->get_ref<const std::string&>(), source, field), source, field);
}

}  // namespace eksnode
