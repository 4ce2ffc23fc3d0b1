#include "config/convert.hpp"

#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include "config/sources.hpp"
#include "config/text.hpp"
#include "config/yaml_scalar.hpp"
#include "core/error.hpp"

namespace eksnode {

namespace {


// The "<<" merge key: plain and untagged, or tagged !!merge (go-yaml v2's isMerge).
bool is_merge_key(const YAML::Node& key) {
    return key.IsScalar() && key.Scalar() == "<<" && (key.Tag() == "?" || key.Tag() == "tag:yaml.org,2002:merge");
}

// YAML documents are read the way nodeadm reads them: scalars resolved by
// go-yaml v2 (YAML 1.1) and turned into JSON as sigs.k8s.io/yaml does; the
// facts are in config/yaml_scalar.hpp. Unlike nodeadm, a key given twice in
// one mapping is an error rather than "last wins".
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
        std::set<std::string> explicit_keys;
        for (const auto& entry : node) {
            if (is_merge_key(entry.first)) {
                merge(out, entry.second, text::child_path(path, "<<"), depth);
                continue;
            }
            std::string key = key_of(entry.first, path);
            std::string child = text::child_path(path, key);
            // letting either value win would silently hide a mistake
            if (!explicit_keys.insert(key).second) throw ConfigError(source_, child, "duplicate key");
            out[key] = convert(entry.second, child, depth + 1);
        }
        return out;
    }

    // go-yaml v2 applies "<<" where it stands: the merged mapping's keys
    // overwrite keys before it, keys after it overwrite them; of a list of
    // mappings, the first wins.
    void merge(json& out, const YAML::Node& value, const std::string& path, int depth) {
        auto apply = [&](const YAML::Node& m) {
            if (!m.IsMap()) throw ConfigError(source_, path, "map merge requires map or sequence of maps as the value");
            // through convert(): counted and depth-checked like any value, so
            // a mapping merging itself ends at the nesting limit
            json merged = convert(m, path, depth + 1);
            for (auto& [key, child] : merged.items()) out[key] = std::move(child);
        };
        if (value.IsSequence()) {
            for (size_t i = value.size(); i-- > 0;) apply(value[i]);
            return;
        }
        apply(value);
    }

    std::string key_of(const YAML::Node& key, const std::string& path) {
        if (key.IsNull()) throw ConfigError(source_, path, "a null mapping key has no JSON form");
        if (!key.IsScalar()) throw ConfigError(source_, path, "mapping keys must be scalars");
        return yaml_scalar::to_key(yaml_scalar::resolve(key.Scalar(), key.Tag(), source_, path), source_, path);
    }

    json sequence(const YAML::Node& node, const std::string& path, int depth) {
        json out = json::array();
        for (size_t i = 0; i < node.size(); ++i)
            out.push_back(convert(node[i], text::element_path(path, i), depth + 1));
        return out;
    }

    json scalar(const YAML::Node& node, const std::string& path) {
        return yaml_scalar::to_value(yaml_scalar::resolve(node.Scalar(), node.Tag(), source_, path), source_, path);
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

void parse_containerd_config(json& spec, const std::string& source) {
    if (!spec.is_object() || !spec.contains("containerd") || !spec["containerd"].is_object()) return;
    json& containerd = spec["containerd"];
    auto config = containerd.find("config");
    if (config == containerd.end() || !config->is_string()) return;
    const std::string field = "spec.containerd.config";
    *config = toml_to_json(parse_toml(config->get_ref<const std::string&>(), source, field), source, field);
}

}  // namespace eksnode
