// SPDX-License-Identifier: Apache-2.0
// NodeConfig front end: nodeadm's configuration document in YAML or JSON.
#include <algorithm>

#include <fmt/format.h>

#include "config/convert.hpp"
#include "config/schema.hpp"
#include "config/sources.hpp"
#include "config/text.hpp"
#include "core/error.hpp"

namespace eksnode::config {

namespace {

// nodeadm registers only v1alpha1 with its decoder (nodeadm/internal/api/bridge/scheme.go:
// v1alpha1.AddToScheme plus its internal version), so no other apiVersion works there either.
constexpr std::string_view api_version = "node.eks.aws/v1alpha1";
constexpr std::string_view kind = "NodeConfig";

void require_type_meta(const json& doc, const char* key, std::string_view want, const std::string& source) {
    auto it = doc.find(key);
    if (it == doc.end()) throw ConfigError(source, key, fmt::format("missing (expected {})", text::quote(want)));
    if (*it != want)
        throw ConfigError(source, key,
                          fmt::format("{} is not supported (expected {})", text::describe(*it), text::quote(want)));
}

// metadata is Kubernetes object metadata and status describes the instance
// (nodeadm's internal type has one); neither is configuration, so both are ignored.
void check_top_level(const json& doc, const std::string& source) {
    static const std::vector<std::string> known = {"apiVersion", "kind", "metadata", "spec", "status"};
    for (const auto& [key, value] : doc.items())
        if (std::find(known.begin(), known.end(), key) == known.end())
            throw ConfigError(source, key, "unknown field (known fields: apiVersion, kind, metadata, spec)");
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

Fragment fragment_from_document(json doc, const std::string& source) {
    if (!doc.is_object())
        throw ConfigError(source, "", fmt::format("a NodeConfig must be a mapping, got {}", kind_of(doc)));
    require_type_meta(doc, "apiVersion", api_version, source);
    require_type_meta(doc, "kind", kind, source);
    check_top_level(doc, source);
    Fragment f{source};
    auto spec = doc.find("spec");
    if (spec != doc.end() && !spec->is_null()) {
        if (!spec->is_object())
            throw ConfigError(source, "spec", fmt::format("expected an object, got {}", text::describe(*spec)));
        f.spec = std::move(*spec);
    }
    drop_nulls(f.spec, schema::spec());
    parse_containerd_config(f.spec, source);
    return f;
}

}  // namespace

std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source) {
    ReadBudget budget{source};
    return fragments_from_nodeconfig(text, source, budget);
}

std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source, ReadBudget& budget) {
    std::vector<json> docs;
    if (text::trim_left(text).substr(0, 1) == "{") docs.push_back(json_document(text, source, budget));
    else docs = yaml_documents(text, source, budget);
    std::erase_if(docs, [](const json& d) { return d.is_null(); });  // "---" with nothing after it
    if (docs.empty()) throw ConfigError(source, "", "holds no NodeConfig document");

    std::vector<Fragment> out;
    for (size_t i = 0; i < docs.size(); ++i) {
        std::string label = docs.size() == 1 ? source : text::qualify(source, fmt::format("document {}", i + 1));
        out.push_back(fragment_from_document(std::move(docs[i]), label));
    }
    return out;
}

}  // namespace eksnode::config
