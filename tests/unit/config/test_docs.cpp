// SPDX-License-Identifier: Apache-2.0
// eks-node.toml(5) cannot drift from the code: every field of the schema is
// documented under FIELDS with its type (and nothing else is), the limits,
// media types and names are the ones the code uses, and the examples are
// valid configuration.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "derive/derive.hpp"
#include "fixtures.hpp"
#include "format/limits.hpp"
#include "input/fragments.hpp"
#include "input/schema.hpp"
#include "input/sources.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using namespace eksnode::derive;

namespace {

std::string toml_man_page() {
    std::ifstream in(test::source_path("man/eks-node.toml.5.scd"));
    REQUIRE(in);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The lines of the top-level section "# TITLE", up to the next one.
std::vector<std::string> section(const std::string& page, std::string_view title) {
    std::vector<std::string> out;
    bool inside = false, fenced = false;
    for (const std::string& line : lines_of(page)) {
        if (line == "```") fenced = !fenced;
        if (!fenced && line.starts_with("# ")) {
            if (inside) break;
            inside = line.substr(2) == title;
            continue;
        }
        if (inside) out.push_back(line);
    }
    REQUIRE_FALSE(out.empty());
    return out;
}

struct Term {
    std::string type;         // "string", "one of RAID0, RAID10, Mount", "table", ...
    std::string annotation;   // the whole parenthetical
    bool described = false;   // a tab-indented description follows
};

// Definition terms of FIELDS: a paragraph starting "*cluster.name* (string;
// required)", then a tab-indented description. scdoc escapes '*' as "\*".
std::map<std::string, Term> documented_fields(const std::string& page) {
    std::vector<std::string> lines = section(page, "FIELDS");
    std::map<std::string, Term> out;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        // a term starts a paragraph
        if (!line.starts_with("*") || (i > 0 && !lines[i - 1].empty())) continue;
        std::string name;
        size_t pos = 1;
        for (; pos < line.size() && line[pos] != '*'; ++pos) {
            if (line[pos] == '\\' && pos + 1 < line.size()) ++pos;
            name += line[pos];
        }
        INFO(line);
        REQUIRE(pos < line.size());
        std::string rest = line.substr(pos + 1);
        REQUIRE(rest.starts_with(" ("));
        REQUIRE(rest.ends_with(")"));
        Term t;
        t.annotation = rest.substr(2, rest.size() - 3);
        t.type = t.annotation.substr(0, t.annotation.find(';'));
        t.described = i + 1 < lines.size() && lines[i + 1].starts_with("\t") && lines[i + 1].size() > 1;
        CHECK(out.count(name) == 0);
        out[name] = t;
    }
    return out;
}

// The type as FIELDS writes it.
std::string type_word(const input::schema::Field& f) {
    switch (f.kind) {
    case input::schema::Kind::object:
    case input::schema::Kind::map: return "table";
    case input::schema::Kind::free_object: return "free-form table";
    case input::schema::Kind::list: return "array";
    case input::schema::Kind::string:
        return f.choices.empty() ? "string" : fmt::format("one of {}", fmt::join(f.choices, ", "));
    case input::schema::Kind::boolean: return "boolean";
    case input::schema::Kind::integer: return "integer";
    case input::schema::Kind::duration: return "duration";
    }
    return "?";
}

// Every field as eks-node.toml writes it: the spec's fields at the top level.
std::map<std::string, const input::schema::Field*> schema_fields() {
    std::map<std::string, const input::schema::Field*> out;
    input::schema::for_each_field(input::schema::spec(), "spec",
                                  [&](const std::string& path, const input::schema::Field& f) {
                                      if (path != "spec") out[path.substr(5)] = &f;
                                  });
    input::schema::for_each_field(input::schema::settings(), "settings",
                                  [&](const std::string& path, const input::schema::Field& f) { out[path] = &f; });
    return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// Runs of whitespace as one space.
std::string normalized(std::string_view text) {
    std::string out;
    for (char c : text) {
        bool space = c == ' ' || c == '\t' || c == '\n';
        if (!space) out += c;
        else if (!out.empty() && out.back() != ' ') out += ' ';
    }
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
}

// The ``` blocks of a section.
std::vector<std::string> code_blocks(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    std::string block;
    bool inside = false;
    for (const std::string& line : lines) {
        if (line == "```") {
            if (inside) out.push_back(block);
            block.clear();
            inside = !inside;
        } else if (inside) {
            block += line + "\n";
        }
    }
    CHECK_FALSE(inside);
    return out;
}

}  // namespace

TEST_CASE("eks-node.toml(5) documents every schema field, and only those", "[config][docs]") {
    const std::string page = toml_man_page();
    std::map<std::string, Term> documented = documented_fields(page);
    std::map<std::string, const input::schema::Field*> fields = schema_fields();
    REQUIRE(fields.size() > 40);

    for (const auto& [path, field] : fields) {
        INFO(path);
        auto it = documented.find(path);
        CHECK(it != documented.end());
        if (it == documented.end()) continue;
        const Term& t = it->second;
        CHECK(t.type == type_word(*field));
        CHECK(t.described);
        // every setting a source may leave out says what happens then; a
        // nodeadm field eks-node refuses says so
        bool element = path.ends_with("[]") || path.ends_with(".*");
        bool container = field->kind == input::schema::Kind::object || field->kind == input::schema::Kind::map;
        if (!field->refused.empty()) CHECK(contains(t.annotation, "refused"));
        else if (!element && !container)
            CHECK((contains(t.annotation, "default") || contains(t.annotation, "required")));
    }
    for (const auto& [name, term] : documented) {
        INFO(name);
        CHECK(fields.count(name) == 1);  // a documented field the code does not know
    }
}

TEST_CASE("eks-node.toml(5) states the limits, names and numbers the code uses", "[config][docs]") {
    const std::string page = toml_man_page();
    // with whitespace collapsed: a number and its unit may sit on two lines
    const std::string lim = normalized(joined(section(page, "LIMITS")));
    CHECK(contains(lim, fmt::format("over {} MiB", format::limits::user_data_bytes >> 20)));
    CHECK(contains(lim, fmt::format("more than {} MiB", format::limits::decompressed_bytes >> 20)));
    CHECK(contains(lim, fmt::format("more than {} nested base64/gzip layers", format::limits::encoding_layers)));
    CHECK(contains(lim, fmt::format("more than {} MIME parts", format::limits::mime_parts)));
    CHECK(contains(lim, fmt::format("multiparts nested more than {} levels", format::limits::mime_depth)));
    CHECK(contains(lim, fmt::format("document nested more than {} levels", format::limits::nesting_depth)));
    CHECK(contains(lim, fmt::format("more than {} values", format::limits::document_values)));
    CHECK(contains(lim, "a YAML, JSON or TOML document"));
    CHECK(contains(lim, fmt::format("longer than {} MiB", format::limits::script_value_bytes >> 20)));
    CHECK(contains(lim, fmt::format("more than {} MiB in all", format::limits::script_expansion_bytes >> 20)));

    const std::string all = normalized(page);
    CHECK(contains(all, toml_media_type));
    CHECK(contains(all, nodeconfig_media_type));
    CHECK(contains(all, fmt::format("*{}.toml*", user_data_slot)));
    for (std::string_view dir : config_dirs) CHECK(contains(all, fmt::format("*{}/*", dir)));
    CHECK(contains(all, fmt::format("kubelet {}", assumed_kubelet_version)));
    CHECK(contains(all, fmt::format("containerd {}", assumed_containerd_version)));
    CHECK(contains(all, fmt::format("from 1 to {}", max_pods_limit)));
    CHECK(contains(all, fmt::format("else {} (nodeadm's default)", fallback_max_pods)));
    CHECK(contains(all, fmt::format("eks/pause:{}", pause_image_tag)));
}

TEST_CASE("eks-node.toml(5)'s examples are valid configuration", "[config][docs]") {
    const std::string placeholder_ca = "LS0tLS1CRUdJTi...LS0tCg==";
    int checked = 0;
    for (std::string block : code_blocks(section(toml_man_page(), "EXAMPLES"))) {
        INFO(block);
        if (block.starts_with("ln -s")) continue;  // shell commands
        for (size_t at; (at = block.find(placeholder_ca)) != std::string::npos;)
            block.replace(at, placeholder_ca.size(), test::ca_base64());
        json spec = json::object(), settings = json::object();
        Origins origins;
        std::vector<input::Fragment> fragments = fragments_from_user_data(block, "example");
        CHECK_FALSE(fragments.empty());
        for (const input::Fragment& f : fragments) {
            CHECK_NOTHROW(validate_fragment(f));
            merge_fragment(spec, settings, f, origins);
        }
        // an example that names a cluster is a complete configuration
        if (spec.contains("cluster")) CHECK_NOTHROW(validate_merged(spec, settings, origins));
        ++checked;
    }
    CHECK(checked == 4);
}
