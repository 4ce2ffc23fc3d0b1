// SPDX-License-Identifier: Apache-2.0
// The one table of every configuration field eks-node knows, with its type
// and syntax. Validation walks it, the tests iterate it, and eks-node.toml(5)
// documents the same names (internal to the library).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::input::schema {

enum class Kind {
    object,       // fixed members; any other key is an error
    free_object,  // anything goes (kubelet.config, containerd.config, containerd.baseRuntimeSpec)
    map,          // keys chosen by the user, checked by `check`; values described by element()
    list,         // values described by element()
    string,       // optionally one of `choices`, optionally checked by `check`
    boolean,
    integer,   // within [min, max]
    duration,  // settings::parse_duration() (input/settings.hpp)
};

// "" if the value is fine, else the problem (see format/checks.hpp).
using Check = std::string (*)(std::string_view);

// Checks a whole value, throwing ConfigError naming `source`: the reader the
// steps themselves call (input/settings.hpp), so validation cannot accept
// what a step refuses, nor the reverse.
using Reader = void (*)(const json& value, const std::string& source);

struct Field {
    std::string name;
    Kind kind;
    std::string doc;                  // one line, for eks-node.toml(5) and `eks-node config`
    std::vector<Field> members = {};  // object: the known keys; map and list: one entry, the element
    std::vector<std::string> choices = {};
    Check check = nullptr;  // string: checks the value; map: checks each key
    Reader read = nullptr;  // object: checks it instead of `members`, which then only document it
    // A nodeadm field eks-node does not implement: setting it is an error
    // "not supported by eks-node: <refused>", never "unknown field", and
    // never silently ignored. Its zero value (false, "", {}) asks for
    // nothing and is accepted: a feature gate turned off is its default.
    std::string refused = {};
    // object: what a key it does not know is not, and why that is an error
    // ("not a feature gate eks-node knows", "nodeadm would ignore it; ..."),
    // instead of "unknown field"
    std::string unknown_what = {};
    std::string unknown_why = {};
    int64_t min = std::numeric_limits<int64_t>::min();
    int64_t max = std::numeric_limits<int64_t>::max();

    const Field& element() const { return members.front(); }
    const Field* member(std::string_view key) const;
};

const Field& spec();      // config.json "spec": the NodeConfig spec, NodeConfig field names
const Field& settings();  // config.json "settings": eks-node's own knobs (TOML [settings])

// "not supported by eks-node: <why>" for a refused field with value `v`,
// "" when `v` is the field's zero value (false, "", {}), which asks for nothing.
std::string refusal(const Field& f, const json& v);

// What a value of the field must be, as errors say it: "a boolean",
// "one of RAID0, RAID10, Mount".
std::string expected(const Field& f);

// Calls fn(path, field) for `root` and every field below it, depth first in
// table order. Map and list elements get the paths "<parent>.*" and "<parent>[]".
void for_each_field(const Field& root, const std::string& path,
                    const std::function<void(const std::string&, const Field&)>& fn);

}  // namespace eksnode::input::schema
