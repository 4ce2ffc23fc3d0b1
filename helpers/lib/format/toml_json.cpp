// SPDX-License-Identifier: Apache-2.0
// TOML text into JSON values. Apart from convert.cpp (YAML and JSON) so that
// a step reading only TOML (eks-node-imds's [settings.imds],
// input/fragments.cpp) links toml++ and not libyaml; apart from
// json_toml.cpp (the other direction) so that it links no writer either.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"
#include "format/toml_json.hpp"

namespace eksnode::format {

namespace {

constexpr const char* no_json_form = "infinite and NaN numbers have no JSON form";

// toml++ 3.x recurses once per level of a dotted key or table header and has
// no limit for them, so `a.a.a...= 1` with some 30,000 levels overflows the
// stack. This scan measures how deep a document nests before toml++ sees it:
// the root table, each part of a table header or dotted key, each array and
// inline table. It follows TOML's grammar only as far as depth needs (where
// keys are, where strings and comments begin and end); text it misreads is
// not TOML, and toml++ refuses it afterwards. (An array of tables adds a
// level the scan cannot see in a later header: toml_to_json counts what
// toml++ built and refuses that.)
class DepthScan {
public:
    DepthScan(std::string_view text, const std::string& source, const std::string& field)
        : s_(text), source_(source), field_(field) {}

    void run() {
        while (i_ < s_.size()) {
            skip_blanks();
            if (i_ >= s_.size()) break;
            char c = s_[i_];
            if (c == '\n' || c == '#') {
                skip_line();
            } else if (c == '[') {
                header();
            } else {
                key_value(base_);
            }
        }
    }

private:
    // `depth` counts containers from the root table (1) down.
    void check(int depth) const {
        if (depth > limits::nesting_depth)
            throw ConfigError(
                source_, field_,
                fmt::format("invalid TOML at line {}: nested deeper than {} levels", line_, limits::nesting_depth));
    }

    void skip_blanks() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }

    void skip_line() {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
        if (i_ < s_.size()) {
            ++i_;
            ++line_;
        }
    }

    // At a quote: past the string, whichever of TOML's four kinds it is. A
    // one-line string stops at the line's end (where toml++ reports it).
    void skip_string() {
        char q = s_[i_];
        bool escapes = q == '"';
        if (s_.substr(i_, 3) == std::string_view(q == '"' ? "\"\"\"" : "'''")) {
            i_ += 3;
            while (i_ < s_.size()) {
                char c = s_[i_];
                if (c == '\n') ++line_;
                if (escapes && c == '\\') {
                    if (i_ + 1 < s_.size() && s_[i_ + 1] == '\n') ++line_;
                    i_ += 2;
                    continue;
                }
                if (c == q) {
                    size_t run = 0;
                    while (i_ + run < s_.size() && s_[i_ + run] == q) ++run;
                    i_ += std::min<size_t>(run, 5);  // up to two quotes may end the content
                    if (run >= 3) return;
                    continue;
                }
                ++i_;
            }
            return;
        }
        for (++i_; i_ < s_.size() && s_[i_] != '\n'; ++i_) {
            if (escapes && s_[i_] == '\\') {
                ++i_;
                if (i_ >= s_.size() || s_[i_] == '\n') break;
            } else if (s_[i_] == q) {
                ++i_;
                return;
            }
        }
    }

    // A key up to `stop` ('=' or ']'): how many parts it has.
    int key_parts(char stop) {
        int parts = 1;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == stop || c == '\n' || c == '#') break;
            if (c == '"' || c == '\'') {
                skip_string();
                continue;
            }
            if (c == '.') ++parts;
            ++i_;
        }
        return parts;
    }

    // [a.b.c] opens three tables under the root; [[a.b]] also the array.
    void header() {
        bool array = s_.substr(i_, 2) == "[[";
        i_ += array ? 2 : 1;
        base_ = 1 + key_parts(']') + (array ? 1 : 0);
        check(base_);
        skip_line();  // the rest of a header line holds no value (a comment at most)
    }

    // key = value, in a table at `depth`.
    void key_value(int depth) {
        depth += key_parts('=') - 1;
        check(depth);
        if (i_ >= s_.size() || s_[i_] != '=') {  // not a key-value line: toml++ says why
            skip_line();
            return;
        }
        ++i_;
        value(depth);
    }

    // One value in a table at `depth`, up to the end of its line or, for an
    // array or inline table, its closing bracket.
    void value(int depth) {
        struct Open {
            char bracket;  // '[' or '{'
            int depth;     // of the array or table it opened
        };
        std::vector<Open> open;
        int holder = depth;  // the depth of what holds the next value
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == '"' || c == '\'') {
                skip_string();
                continue;
            }
            if (c == '#' || c == '\n') {
                if (open.empty()) return;  // the line ends the value
                skip_line();               // arrays span lines and hold comments
                continue;
            }
            ++i_;
            if (c == '[' || c == '{') {
                open.push_back({c, holder + 1});
                check(holder + 1);
                holder = c == '[' ? holder + 1 : inline_key(holder + 1);
            } else if ((c == ']' || c == '}') && !open.empty()) {
                open.pop_back();
                if (open.empty()) return;
                holder = open.back().depth;
            } else if (c == ',' && !open.empty()) {
                holder = open.back().bracket == '[' ? open.back().depth : inline_key(open.back().depth);
            }
        }
    }

    // After "{" or "," in an inline table at `depth`: past "a.b =", giving
    // the depth of the table that holds the key's value.
    int inline_key(int depth) {
        // (TOML 1.0 keeps an inline table on one line; passing newlines and
        // comments too keeps the count right should toml++ ever allow them)
        for (skip_blanks(); i_ < s_.size() && (s_[i_] == '\n' || s_[i_] == '#'); skip_blanks()) skip_line();
        if (i_ >= s_.size() || s_[i_] == '}') return depth;
        depth += key_parts('=') - 1;
        check(depth);
        if (i_ < s_.size() && s_[i_] == '=') ++i_;
        return depth;
    }

    std::string_view s_;
    const std::string& source_;
    const std::string& field_;
    size_t i_ = 0;
    int line_ = 1;
    int base_ = 1;  // the root, and the tables the last header opened
};

}  // namespace

toml::table parse_toml(std::string_view text, const std::string& source, const std::string& field) {
    DepthScan(text, source, field).run();
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        throw ConfigError(source, field,
                          fmt::format("invalid TOML at line {}, column {}: {}", at.line, at.column, e.description()));
    }
}

namespace {

// Where a value sits: a chain up to the root, made into a field path only for
// an error. (Building each child's path on the way down held every prefix of
// the path at once: memory quadratic in the depth.)
struct Where {
    const Where* parent;
    std::string_view key;  // in a table, or
    size_t index;          // in an array
    bool element;

    std::string path(const std::string& base) const {
        std::vector<const Where*> chain;
        for (const Where* w = this; w; w = w->parent) chain.push_back(w);
        std::string out = base;
        for (auto it = chain.rbegin(); it != chain.rend(); ++it)
            out = (*it)->element ? text::element_path(out, (*it)->index) : text::child_path(out, (*it)->key);
        return out;
    }
};

class TomlToJson {
public:
    TomlToJson(const std::string& source, const std::string& base, ReadBudget* budget)
        : source_(source), base_(base), budget_(budget) {}

    json convert(const toml::node& node, const Where* at, int depth) {
        // Values are counted as the YAML and JSON readers count them: a source
        // of many values costs every reader of config.json time (issue 58: a
        // [kubelet.config] of 80,000 keys in 242 KB of user data).
        if (budget_ && ++budget_->values > limits::document_values)
            throw ConfigError(source_, path(at),
                              fmt::format("more than {} values in {}", limits::document_values, scope()));
        return node.visit([&](const auto& v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (toml::is_table<T> || toml::is_array<T>) {
                // parse_toml keeps documents within the limit; this keeps the
                // recursion bounded for any node
                if (depth >= limits::nesting_depth)
                    throw ConfigError(source_, path(at),
                                      fmt::format("nested deeper than {} levels", limits::nesting_depth));
            }
            if constexpr (toml::is_table<T>) {
                json out = json::object();
                for (const auto& [key, child] : v) {
                    Where here{at, key.str(), 0, false};
                    out[std::string(key.str())] = convert(child, &here, depth + 1);
                }
                return out;
            } else if constexpr (toml::is_array<T>) {
                json out = json::array();
                for (size_t i = 0; i < v.size(); ++i) {
                    Where here{at, {}, i, true};
                    out.push_back(convert(v[i], &here, depth + 1));
                }
                return out;
            } else if constexpr (toml::is_floating_point<T>) {
                if (!std::isfinite(v.get())) throw ConfigError(source_, path(at), no_json_form);
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

private:
    std::string path(const Where* at) const { return at ? at->path(base_) : base_; }

    std::string scope() const {
        if (budget_->documents <= 1) return "one document";
        if (budget_->source == source_) return fmt::format("{} documents", budget_->documents);
        return fmt::format("{} documents of {}", budget_->documents, budget_->source);
    }

    const std::string& source_;
    const std::string& base_;
    ReadBudget* budget_;
};

}  // namespace

json toml_to_json(const toml::node& node, const std::string& source, const std::string& path, ReadBudget* budget) {
    return TomlToJson(source, path, budget).convert(node, nullptr, 0);
}

}  // namespace eksnode::format
