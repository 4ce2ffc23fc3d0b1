// SPDX-License-Identifier: Apache-2.0
// NodeConfig front end: nodeadm's configuration document in YAML or JSON.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "format/convert.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"
#include "input/schema.hpp"
#include "input/sources.hpp"

namespace eksnode::input {

namespace {

// nodeadm registers only v1alpha1 with its decoder (nodeadm/internal/api/bridge/scheme.go:
// v1alpha1.AddToScheme plus its internal version), so no other apiVersion works there either.
constexpr std::string_view api_version = "node.eks.aws/v1alpha1";
constexpr std::string_view kind = "NodeConfig";

void require_type_meta(const json& doc, const char* key, std::string_view want, const std::string& source) {
    auto it = doc.find(key);
    if (it == doc.end())
        throw ConfigError(source, key, fmt::format("missing (expected {})", format::text::quote(want)));
    if (*it != want)
        throw ConfigError(
            source, key,
            fmt::format("{} is not supported (expected {})", format::text::describe(*it), format::text::quote(want)));
}

// metadata is Kubernetes object metadata and status describes the instance
// (nodeadm's internal type has one); neither is configuration, so both are
// ignored without a word. Any other key is unknown to nodeadm too.
void top_level_unknowns(const json& doc, std::vector<UnknownField>& out) {
    static const std::vector<std::string> known = {"apiVersion", "kind", "metadata", "spec"};
    for (const auto& [key, value] : doc.items())
        if (key != "status" && std::find(known.begin(), known.end(), key) == known.end())
            out.push_back({format::text::key_in_path(key), format::text::nearest(key, known), known});
}

// The names a value may be given to under an object field: a refused field
// is known, but no help with a typo (its own error says why).
std::vector<std::string> settable(const schema::Field& f) {
    std::vector<std::string> names;
    for (const schema::Field& m : f.members)
        if (m.refused.empty()) names.push_back(m.name);
    return names;
}

// nodeadm's decoder is apimachinery's UniversalDecoder, not the strict one
// (nodeadm/internal/api/bridge/decode.go): encoding/json's rules with keys
// matched case-sensitively (sigs.k8s.io/json), where a key the Go types lack
// is skipped whatever its value. A document with a stray key, or written for
// a newer nodeadm, joins there; so it does here: every such key is dropped
// from `value` and recorded. What remains is validated as before, so a known
// field of the wrong type is still an error, as it is for nodeadm.
void drop_unknowns(json& value, const schema::Field& field, const std::string& path, const std::string& source,
                   std::vector<UnknownField>& out) {
    // a refused section is refused whole, a field with a reader of its own read whole
    if (!field.refused.empty() || field.read) return;
    if (field.kind == schema::Kind::list && value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i)
            drop_unknowns(value[i], field.element(), format::text::element_path(path, i), source, out);
        return;
    }
    if (field.kind == schema::Kind::map && value.is_object()) {
        for (auto& [key, child] : value.items())
            drop_unknowns(child, field.element(), format::text::child_path(path, format::text::key_in_path(key)),
                          source, out);
        return;
    }
    // anything else of the wrong type is left for validation to name
    if (field.kind != schema::Kind::object || !value.is_object()) return;
    // featureGates is a map[Feature]bool in nodeadm's types: any name decodes,
    // and a name nodeadm does not check (featuregates.go) changes nothing; a
    // value that is not a boolean fails its decoding all the same.
    const bool gates = field.name == "featureGates";
    for (auto it = value.begin(); it != value.end();) {
        std::string child = format::text::child_path(path, format::text::key_in_path(it.key()));
        if (const schema::Field* member = field.member(it.key())) {
            drop_unknowns(*it, *member, child, source, out);
            ++it;
            continue;
        }
        if (gates && !it->is_boolean() && !it->is_null())
            throw ConfigError(source, child,
                              fmt::format("expected a boolean, got {} (nodeadm refuses it too: featureGates holds "
                                          "booleans, whatever the gate)",
                                          format::text::describe(*it)));
        std::vector<std::string> known = settable(field);
        std::string nearest = format::text::nearest(it.key(), known);
        out.push_back({std::move(child), std::move(nearest), std::move(known), gates});
        it = value.erase(it);
    }
}

// In YAML and JSON a null ("flags:" with nothing after it) means "not set",
// as it does for nodeadm; only free-form objects keep their nulls.
void drop_nulls(json& value, const schema::Field& field) {
    if (field.kind == schema::Kind::list && value.is_array()) {
        for (json& element : value) drop_nulls(element, field.element());
        return;
    }
    bool keyed = field.kind == schema::Kind::object || field.kind == schema::Kind::map;
    if (!keyed || !value.is_object()) return;
    for (auto it = value.begin(); it != value.end();) {
        if (it->is_null()) {
            it = value.erase(it);
            continue;
        }
        const schema::Field* child = field.kind == schema::Kind::map ? &field.element() : field.member(it.key());
        if (child) drop_nulls(*it, *child);
        ++it;
    }
}

// What a document is, never what it says: a file that is no NodeConfig at
// all may be a symlink to one that is not ours to show (/etc/passwd as an
// /etc/eks/nodeadm.d/ file had its first lines quoted in the error).
std::string_view kind_of(const json& doc) {
    if (doc.is_object()) return "an object";
    if (doc.is_array()) return "a list";
    if (doc.is_string()) return "a string";
    if (doc.is_boolean()) return "a boolean";
    if (doc.is_null()) return "null";
    return "a number";
}

Fragment fragment_from_document(json doc, const std::string& source, format::ReadBudget& budget) {
    if (!doc.is_object())
        throw ConfigError(source, "", fmt::format("a NodeConfig must be a mapping, got {}", kind_of(doc)));
    require_type_meta(doc, "apiVersion", api_version, source);
    require_type_meta(doc, "kind", kind, source);
    Fragment f{source};
    top_level_unknowns(doc, f.unknown);
    auto spec = doc.find("spec");
    if (spec != doc.end() && !spec->is_null()) {
        if (!spec->is_object())
            throw ConfigError(source, "spec", fmt::format("expected an object, got {}", format::text::describe(*spec)));
        f.spec = std::move(*spec);
    }
    // before the nulls go: "nmae:" with nothing after it is a typo all the same
    drop_unknowns(f.spec, schema::spec(), "spec", source, f.unknown);
    drop_nulls(f.spec, schema::spec());
    format::parse_containerd_config(f.spec, source, &budget);
    return f;
}

constexpr std::string_view strict_why = "settings.strict = true refuses what nodeadm would ignore";

}  // namespace

std::string Warning::text() const { return fmt::format("{}: {}: {}", source, field, problem); }

bool strict(const json& settings) {
    auto it = settings.find("strict");
    return it != settings.end() && *it == true;
}

std::vector<Warning> unknown_field_warnings(const std::vector<Fragment>& fragments, const json& settings) {
    const bool refuse = strict(settings);
    std::vector<Warning> out;
    for (const Fragment& f : fragments) {
        for (const UnknownField& u : f.unknown) {
            const std::string_view what = u.feature_gate ? "not a feature gate eks-node knows" : "unknown field";
            if (refuse)
                throw ConfigError(
                    f.source, u.field,
                    u.feature_gate
                        ? fmt::format("{} ({}); {}", what, fmt::join(u.known, ", "), strict_why)
                        : fmt::format("{} (known fields: {}); {}", what, fmt::join(u.known, ", "), strict_why));
            out.push_back({f.source, u.field, u.nearest,
                           fmt::format("{}, ignored as nodeadm ignores it (nearest known {}: {})", what,
                                       u.feature_gate ? "gate" : "field", u.nearest)});
        }
    }
    return out;
}

json warnings_json(const std::vector<Warning>& warnings) {
    json out = json::array();
    for (const Warning& w : warnings) {
        json j = json::object();
        j["source"] = w.source;
        j["field"] = w.field;
        j["nearest"] = w.nearest;
        j["message"] = w.problem;
        if (w.kind == Warning::Kind::kubelet_field) j["kind"] = "kubeletField";
        out.push_back(std::move(j));
    }
    return out;
}

Warning::Kind warning_kind(const json& warning) {
    auto it = warning.find("kind");
    return it != warning.end() && *it == "kubeletField" ? Warning::Kind::kubelet_field : Warning::Kind::ignored;
}

size_t warning_count(const json& warnings, Warning::Kind kind) {
    return std::count_if(warnings.begin(), warnings.end(), [&](const json& w) { return warning_kind(w) == kind; });
}

std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source) {
    format::ReadBudget budget{source};
    return fragments_from_nodeconfig(text, source, budget);
}

std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source,
                                                format::ReadBudget& budget) {
    std::vector<json> docs;
    if (format::text::trim_left(text).substr(0, 1) == "{") docs.push_back(format::json_document(text, source, budget));
    else docs = format::yaml_documents(text, source, budget);
    std::erase_if(docs, [](const json& d) { return d.is_null(); });  // "---" with nothing after it
    if (docs.empty()) throw ConfigError(source, "", "holds no NodeConfig document");

    std::vector<Fragment> out;
    for (size_t i = 0; i < docs.size(); ++i) {
        std::string label =
            docs.size() == 1 ? source : format::text::qualify(source, fmt::format("document {}", i + 1));
        out.push_back(fragment_from_document(std::move(docs[i]), label, budget));
    }
    return out;
}

}  // namespace eksnode::input
