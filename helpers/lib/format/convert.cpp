// SPDX-License-Identifier: Apache-2.0
#include "format/convert.hpp"

#include <map>
#include <new>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <yaml.h>

#include "core/error.hpp"
#include "core/toml.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"
#include "format/yaml_scalar.hpp"

// YAML is read with libyaml's event parser rather than yaml-cpp's node tree.
// Debian 12's yaml-cpp 0.7.0 never returns from LoadAll on some two-byte
// inputs (",\n") while allocating without bound, and it copies an aliased
// node's text once per alias before any limit of ours can look at it.
// libyaml (the C reader behind PyYAML, fuzzed continuously by OSS-Fuzz) keeps
// its own state in heap stacks, never recurses, does not expand aliases,
// and hands us one event at a time, so every limit below is checked while
// the text is read: nesting before a collection is entered, values and
// bytes (aliases expanded) before anything is copied.
namespace eksnode::format {

namespace {

// One libyaml parser over a string; next() yields the events in order.
class Events {
public:
    Events(std::string_view text, const std::string& source) : source_(source), text_(text) {
        if (!yaml_parser_initialize(&parser_)) throw std::bad_alloc();
        yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    }
    ~Events() {
        if (have_event_) yaml_event_delete(&event_);
        yaml_parser_delete(&parser_);
    }
    Events(const Events&) = delete;
    Events& operator=(const Events&) = delete;

    // The next event; valid until the following call.
    const yaml_event_t& next() {
        if (have_event_) yaml_event_delete(&event_);
        have_event_ = false;
        if (!yaml_parser_parse(&parser_, &event_)) fail();
        have_event_ = true;
        return event_;
    }

private:
    [[noreturn]] void fail() const {
        if (parser_.error == YAML_MEMORY_ERROR) throw std::bad_alloc();
        std::string problem = parser_.problem ? parser_.problem : "unreadable text";
        if (parser_.error == YAML_READER_ERROR)  // encoding: no line/column, a byte offset
            throw ConfigError(source_, "", fmt::format("invalid YAML at byte {}: {}", parser_.problem_offset, problem));
        if (parser_.context)
            problem = fmt::format("{} ({} at line {}, column {})", problem, parser_.context,
                                  parser_.context_mark.line + 1, parser_.context_mark.column + 1);
        // libyaml's words for a tab where YAML wants spaces say nothing of
        // tabs; the fix is to say it
        if (parser_.problem_mark.index < text_.size() && text_[parser_.problem_mark.index] == '\t')
            problem += "; it is a tab: YAML indents with spaces only";
        throw ConfigError(source_, "",
                          fmt::format("invalid YAML at line {}, column {}: {}", parser_.problem_mark.line + 1,
                                      parser_.problem_mark.column + 1, problem));
    }

    const std::string& source_;
    std::string_view text_;
    yaml_parser_t parser_{};
    yaml_event_t event_{};
    bool have_event_ = false;
};

std::string text_of(const yaml_char_t* s) { return s ? reinterpret_cast<const char*>(s) : ""; }

// A scalar's tag as yaml_scalar::resolve() takes it: "?" for a plain scalar
// without a tag, "!" for a quoted or block one, else the full tag (libyaml
// expands "!!int" to "tag:yaml.org,2002:int").
std::string tag_of(const yaml_event_t& e) {
    if (e.data.scalar.tag) return text_of(e.data.scalar.tag);
    return e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? "?" : "!";
}

// Anything yaml_scalar::resolve() makes null of, plain and untagged.
bool is_null_text(std::string_view text, std::string_view tag) {
    return tag == "?" && (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
}

// The "<<" merge key: plain and untagged, or tagged !!merge (go-yaml v2's isMerge).
bool is_merge_key(std::string_view text, std::string_view tag) {
    return text == "<<" && (tag == "?" || tag == "tag:yaml.org,2002:merge");
}

// What an anchor stands for: its JSON, its scalar text and tag (an alias may
// be a mapping key), and what it cost, charged again for every alias.
struct Anchor {
    json value;
    bool scalar = false;
    std::string text, tag;
    size_t values = 0, bytes = 0;
};

// One YAML document's events turned into JSON the way nodeadm reads YAML:
// scalars resolved by go-yaml v2 (YAML 1.1) and turned into JSON as
// sigs.k8s.io/yaml does; the facts are in format/yaml_scalar.hpp. Unlike
// nodeadm, a key given twice in one mapping is an error rather than "last
// wins", and an alias costs what its anchored node cost, so a handful of
// aliases cannot stand for gigabytes.
class YamlConverter {
public:
    YamlConverter(Events& events, const std::string& source, ReadBudget& budget)
        : events_(events), source_(source), budget_(budget) {
        ++budget_.documents;
    }

    // The node starting at `e` (the current event), up to its last event.
    json convert(const yaml_event_t& e, const std::string& path, int depth) {
        switch (e.type) {
        case YAML_ALIAS_EVENT: return alias(anchor_named(text_of(e.data.alias.anchor), path), path);
        case YAML_SCALAR_EVENT: {
            count(path, 1, e.data.scalar.length);
            std::string text(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
            std::string tag = tag_of(e);
            std::string anchor = text_of(e.data.scalar.anchor);
            json value = is_null_text(text, tag) ? json(nullptr) : scalar(text, tag, path);
            if (!anchor.empty())
                anchors_[anchor] = Anchor{value, true, std::move(text), std::move(tag), 1, e.data.scalar.length};
            return value;
        }
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            if (depth >= limits::nesting_depth)
                throw ConfigError(source_, path, fmt::format("nested deeper than {} levels", limits::nesting_depth));
            bool is_mapping = e.type == YAML_MAPPING_START_EVENT;
            std::string anchor = text_of(is_mapping ? e.data.mapping_start.anchor : e.data.sequence_start.anchor);
            size_t values_before = budget_.values, bytes_before = budget_.bytes;
            count(path, 1, 0);
            json value = is_mapping ? mapping(path, depth) : sequence(path, depth);
            if (!anchor.empty()) {
                Anchor a{value, false, "", "", budget_.values - values_before, budget_.bytes - bytes_before};
                // the stored copy is memory too
                count(path, 0, a.bytes);
                anchors_[anchor] = std::move(a);
            }
            return value;
        }
        default: throw ConfigError(source_, path, "invalid YAML: a node was expected");
        }
    }

private:
    // Values and bytes of text, aliases expanded, bounded before anything is
    // copied. The budget is the source's, shared by all its documents: per
    // document, a stream of many documents multiplied the caps.
    void count(const std::string& path, size_t values, size_t bytes) {
        budget_.values += values;
        budget_.bytes += bytes;
        if (budget_.values > limits::document_values)
            throw ConfigError(source_, path,
                              fmt::format("more than {} values in {}{}", limits::document_values, scope(),
                                          aliased_ ? " (alias expansion?)" : ""));
        if (budget_.bytes > limits::document_bytes)
            throw ConfigError(source_, path,
                              fmt::format("more than {} MiB of text in {}{}", limits::document_bytes >> 20, scope(),
                                          aliased_ ? " (alias expansion?)" : ""));
    }

    std::string scope() const {
        if (budget_.documents <= 1) return "one document";
        if (budget_.source == source_) return fmt::format("{} documents", budget_.documents);
        return fmt::format("{} documents of {}", budget_.documents, budget_.source);
    }

    const Anchor& anchor_named(const std::string& name, const std::string& path) {
        auto it = anchors_.find(name);
        // libyaml leaves this to the composer; an anchor is defined once its
        // node is complete, so no node can contain an alias of itself
        if (it == anchors_.end())
            throw ConfigError(source_, path, fmt::format("alias *{} refers to no anchor defined before it", name));
        return it->second;
    }

    json alias(const Anchor& a, const std::string& path) {
        aliased_ = true;
        count(path, a.values, a.bytes);
        return a.value;
    }

    json mapping(const std::string& path, int depth) {
        json out = json::object();
        std::set<std::string> explicit_keys;
        for (;;) {
            const yaml_event_t& k = events_.next();
            if (k.type == YAML_MAPPING_END_EVENT) return out;
            std::string text, tag;
            if (k.type == YAML_SCALAR_EVENT) {
                count(path, 1, k.data.scalar.length);
                text.assign(reinterpret_cast<const char*>(k.data.scalar.value), k.data.scalar.length);
                tag = tag_of(k);
                std::string anchor = text_of(k.data.scalar.anchor);
                if (!anchor.empty()) anchors_[anchor] = Anchor{nullptr, true, text, tag, 1, text.size()};
            } else if (k.type == YAML_ALIAS_EVENT) {
                const Anchor& a = anchor_named(text_of(k.data.alias.anchor), path);
                if (!a.scalar) throw ConfigError(source_, path, "mapping keys must be scalars");
                aliased_ = true;
                count(path, 1, a.text.size());
                text = a.text;
                tag = a.tag;
            } else {
                throw ConfigError(source_, path, "mapping keys must be scalars");
            }
            if (is_merge_key(text, tag)) {
                std::string child = text::child_path(path, "<<");
                merge(out, convert(events_.next(), child, depth + 1), child);
                continue;
            }
            std::string key = key_of(text, tag, path);
            std::string child = text::child_path(path, key);
            // letting either value win would silently hide a mistake
            if (!explicit_keys.insert(key).second) throw ConfigError(source_, child, "duplicate key");
            out[key] = convert(events_.next(), child, depth + 1);
        }
    }

    // go-yaml v2 applies "<<" where it stands: the merged mapping's keys
    // overwrite keys before it, keys after it overwrite them; of a list of
    // mappings, the first wins. Only a mapping becomes a JSON object.
    void merge(json& out, json value, const std::string& path) {
        auto apply = [&](json& m) {
            if (!m.is_object())
                throw ConfigError(source_, path, "map merge requires map or sequence of maps as the value");
            for (auto& [key, child] : m.items()) out[key] = std::move(child);
        };
        if (value.is_array()) {
            for (size_t i = value.size(); i-- > 0;) apply(value[i]);
            return;
        }
        apply(value);
    }

    std::string key_of(const std::string& text, const std::string& tag, const std::string& path) {
        if (is_null_text(text, tag)) throw ConfigError(source_, path, "a null mapping key has no JSON form");
        return yaml_scalar::to_key(yaml_scalar::resolve(text, tag, source_, path), source_, path);
    }

    json sequence(const std::string& path, int depth) {
        json out = json::array();
        for (size_t i = 0;; ++i) {
            const yaml_event_t& e = events_.next();
            if (e.type == YAML_SEQUENCE_END_EVENT) return out;
            out.push_back(convert(e, text::element_path(path, i), depth + 1));
        }
    }

    json scalar(const std::string& text, const std::string& tag, const std::string& path) {
        return yaml_scalar::to_value(yaml_scalar::resolve(text, tag, source_, path), source_, path);
    }

    Events& events_;
    const std::string& source_;
    ReadBudget& budget_;
    std::map<std::string, Anchor> anchors_;  // anchors are scoped to their document
    bool aliased_ = false;                   // for the error's hint
};

// Walks a YAML stream; `document` is called with the first event of each
// document's root node and must consume the node.
template <typename F>
void each_document(Events& events, F&& document) {
    for (;;) {
        const yaml_event_t& e = events.next();
        if (e.type == YAML_STREAM_END_EVENT) return;
        if (e.type != YAML_DOCUMENT_START_EVENT) continue;  // STREAM_START, DOCUMENT_END
        document(events.next());
    }
}

// Skips the rest of a node whose first event was `e`, checking its syntax only.
void skip_node(Events& events, const yaml_event_t& e) {
    if (e.type != YAML_MAPPING_START_EVENT && e.type != YAML_SEQUENCE_START_EVENT) return;
    for (size_t open = 1; open > 0;) {
        yaml_event_type_t t = events.next().type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) ++open;
        if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) --open;
    }
}

}  // namespace

std::vector<json> yaml_documents(std::string_view text, const std::string& source, ReadBudget& budget) {
    Events events(text, source);
    std::vector<json> docs;
    each_document(events, [&](const yaml_event_t& root) {
        docs.push_back(YamlConverter(events, source, budget).convert(root, "", 0));
    });
    return docs;
}

std::vector<json> yaml_documents(std::string_view text, const std::string& source) {
    ReadBudget budget{source};
    return yaml_documents(text, source, budget);
}

bool is_yaml_mapping(std::string_view text) {
    const std::string source = "YAML";
    try {
        Events events(text, source);
        std::optional<bool> first;
        each_document(events, [&](const yaml_event_t& root) {
            if (!first) first = root.type == YAML_MAPPING_START_EVENT;
            skip_node(events, root);
        });
        return first.value_or(false);
    } catch (const ConfigError&) {
        return false;
    }
}

json json_document(std::string_view text, const std::string& source, ReadBudget& budget) {
    ++budget.documents;
    const std::string scope = budget.documents <= 1 ? std::string("one document")
                              : budget.source == source
                                  ? fmt::format("{} documents", budget.documents)
                                  : fmt::format("{} documents of {}", budget.documents, budget.source);
    auto limit = [&](int depth, json::parse_event_t event, json&) {
        bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
        if (opens && depth >= limits::nesting_depth)
            throw ConfigError(source, "",
                              fmt::format("invalid JSON: nested deeper than {} levels", limits::nesting_depth));
        // the same bound as YAML's and TOML's: each value is read again by
        // every step that reads config.json
        if ((opens || event == json::parse_event_t::value) && ++budget.values > limits::document_values)
            throw ConfigError(source, "", fmt::format("more than {} values in {}", limits::document_values, scope));
        return true;
    };
    try {
        return json::parse(text.begin(), text.end(), limit);
    } catch (const json::exception& e) {
        // parse_error, or out_of_range for a number no double holds (1e400);
        // drop nlohmann's "[json.exception.parse_error.101] " prefix and keep
        // "parse error at line 3, column 5: ..."
        std::string_view what = e.what();
        size_t start = what.find("] ");
        throw ConfigError(source, "", fmt::format("invalid JSON: {}", what.substr(start == what.npos ? 0 : start + 2)));
    }
}

void parse_containerd_config(json& spec, const std::string& source, ReadBudget* budget) {
    if (!spec.is_object() || !spec.contains("containerd") || !spec["containerd"].is_object()) return;
    json& containerd = spec["containerd"];
    auto config = containerd.find("config");
    if (config == containerd.end() || !config->is_string()) return;
    const std::string field = "spec.containerd.config";
    *config = toml_to_json(parse_toml(config->get_ref<const std::string&>(), source, field), source, field, budget);
}

}  // namespace eksnode::format
