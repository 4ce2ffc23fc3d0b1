// SPDX-License-Identifier: Apache-2.0
// Every field of nodeadm's NodeConfig (tests/data/nodeadm-fields.md) is
// accepted with nodeadm's meaning or refused with a reason; none is taken for
// an unknown field (which eks-node, as nodeadm, would ignore). The table and the schema are checked against each other,
// so a field added to one without the other fails here.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/schema.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::replace_all;

namespace {

struct Row {
    std::string path;      // "spec.instance.storage.volumes[].device"
    std::string handling;  // accepted, differs, ignored, refused
    json sample;
};

std::string unquoted(std::string cell) {
    if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') return cell.substr(1, cell.size() - 2);
    return cell;
}

// The rows of the table: lines "| `path` | handling | `sample` | why |".
std::vector<Row> rows() {
    std::ifstream in(test::source_path("tests/data/nodeadm-fields.md"));
    REQUIRE(in);
    std::vector<Row> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("| `")) continue;
        INFO(line);
        REQUIRE(line.ends_with("|"));
        // cells between the bars, trimmed (no sample holds a '|')
        std::vector<std::string> cells;
        std::istringstream bars(line.substr(1, line.size() - 2));
        for (std::string cell; std::getline(bars, cell, '|');) {
            cell.erase(0, cell.find_first_not_of(' '));
            cell.erase(cell.find_last_not_of(' ') + 1);
            cells.push_back(cell);
        }
        REQUIRE(cells.size() == 4);
        std::string sample = replace_all(unquoted(cells[2]), "@CA@", test::ca_base64());
        json value = json::parse(sample, nullptr, false);
        REQUIRE_FALSE(value.is_discarded());
        out.push_back({unquoted(cells[0]), cells[1], value});
    }
    return out;
}

// The path as errors name it: a list's first element is "[0]".
std::string error_path(const std::string& path) { return replace_all(path, "[]", "[0]"); }

// A NodeConfig (JSON) setting `path` to `value`, and nothing else.
std::string document(const std::string& path, const json& value) {
    json doc = {{"apiVersion", "node.eks.aws/v1alpha1"}, {"kind", "NodeConfig"}};
    std::string pointer = ".";  // (not "." + ...: GCC 12's -Wrestrict misfires on it)
    pointer = replace_all(replace_all(pointer.append(error_path(path)), ".", "/"), "[0]", "/0");
    doc[json::json_pointer(pointer)] = value;
    return doc.dump();
}

// The error validating one NodeConfig gives, or nullopt.
std::optional<ConfigError> field_error_of(const std::string& text, const std::string& source = "nc.json") {
    try {
        for (const Fragment& f : fragments_from_nodeconfig(text, source)) validate_fragment(f);
    } catch (const ConfigError& e) {
        return e;
    }
    return std::nullopt;
}

// The fields of one NodeConfig eks-node does not know (dropped with a warning).
std::vector<std::string> unknown_of(const std::string& text) {
    std::vector<std::string> out;
    for (const Fragment& f : fragments_from_nodeconfig(text, "nc.json"))
        for (const UnknownField& u : f.unknown) out.push_back(u.field);
    return out;
}

// The member `key` of `f`, or nullptr; a list of objects ("volumes[]") is
// stepped through to its element's members.
const input::schema::Field* member_of(const input::schema::Field* f, const std::string& key) {
    if (f->kind == input::schema::Kind::list && !f->members.empty()) f = &f->element();
    return f->member(key);
}

// Whether the schema knows `path`, or a section above it that it refuses whole.
bool known_to_schema(const std::string& path) {
    if (!path.starts_with("spec.")) return true;  // apiVersion, kind, metadata, status
    const input::schema::Field* f = &input::schema::spec();
    std::istringstream keys(replace_all(path.substr(5), "[]", ""));
    for (std::string key; std::getline(keys, key, '.');) {
        f = member_of(f, key);
        if (!f) return false;
        if (!f->refused.empty()) return true;
    }
    return true;
}

// `field` is `path` or a section holding it ("spec.hybrid" for spec.hybrid.ssm.activationId).
bool names(const std::string& field, const std::string& path) {
    return field == path || path.starts_with(field + ".") || path.starts_with(field + "[");
}

}  // namespace

TEST_CASE("every field of nodeadm's NodeConfig is accepted or refused with a reason, never unknown to eks-node",
          "[config][nodeadm-fields]") {
    std::vector<Row> table = rows();
    REQUIRE(table.size() >= 35);
    std::map<std::string, int> count;
    for (const Row& r : table) {
        INFO(r.path << " = " << r.sample.dump());
        ++count[r.handling];
        std::optional<ConfigError> e = field_error_of(document(r.path, r.sample));
        if (r.handling == "accepted" || r.handling == "differs" || r.handling == "ignored") {
            if (e) FAIL_CHECK(e->what());
            // a field eks-node knows is never taken for an unknown one; one
            // it does not (a gate of a newer nodeadm) is passed over, named
            std::vector<std::string> unknown = unknown_of(document(r.path, r.sample));
            if (known_to_schema(r.path)) CHECK(unknown.empty());
            else CHECK(unknown == std::vector<std::string>{r.path});
            continue;
        }
        REQUIRE(r.handling == "refused");
        REQUIRE(e.has_value());
        INFO(e->what());
        CHECK(e->source() == "nc.json");
        CHECK(names(e->field(), error_path(r.path)));
        CHECK_FALSE(e->problem().starts_with("unknown field"));
        CHECK_THAT(e->problem(), Catch::Contains("eks-node"));
    }
    CHECK(count.size() == 4);  // each kind of handling is there, and no other
    CHECK(count["refused"] >= 11);
}

TEST_CASE("the nodeadm field table and the schema agree", "[config][nodeadm-fields]") {
    std::vector<Row> table = rows();
    // every field eks-node knows, the sections it refuses whole included,
    // has a row (on it or below it), refused in the table iff in the schema
    input::schema::for_each_field(input::schema::spec(), "spec",
                                  [&](const std::string& path, const input::schema::Field& f) {
                                      if (path.ends_with(".*") || path.ends_with("[]")) return;
                                      if (path.find(".*.") != std::string::npos) return;
                                      bool section = f.kind == input::schema::Kind::object && !f.members.empty();
                                      if (section) return;
                                      INFO(path);
                                      int found = 0;
                                      for (const Row& r : table) {
                                          if (!names(path, r.path)) continue;
                                          ++found;
                                          CHECK((r.handling == "refused") == !f.refused.empty());
                                      }
                                      CHECK(found >= 1);
                                  });
    // and every row is a field the schema knows, or lies below a field it
    // refuses whole, or is a feature gate it does not know (ignored, as
    // nodeadm ignores it)
    for (const Row& r : table) {
        if (!r.path.starts_with("spec.")) continue;
        INFO(r.path);
        const input::schema::Field* f = &input::schema::spec();
        std::istringstream keys(replace_all(r.path.substr(5), "[]", ""));
        bool refused = false, unknown = false;
        for (std::string key; !refused && std::getline(keys, key, '.');) {
            const input::schema::Field* m = member_of(f, key);
            if (!m) {
                CHECK(f->name == "featureGates");
                unknown = true;
                break;
            }
            f = m;
            refused = !f->refused.empty();
        }
        if (unknown) CHECK(r.handling == "ignored");
        else CHECK(refused == (r.handling == "refused"));
    }
}

TEST_CASE("a refused field says why, and its zero value asks for nothing", "[config][nodeadm-fields]") {
    auto problem = [](const std::string& path, const json& value) {
        std::optional<ConfigError> e = field_error_of(document(path, value));
        return e ? e->field() + ": " + e->problem() : std::string();
    };
    CHECK(problem("spec.hybrid.ssm.activationId", "id") ==
          "spec.hybrid: not supported by eks-node: EKS Hybrid Nodes (SSM or IAM Roles Anywhere credentials) are "
          "machines outside EC2; eks-node joins EC2 instances only (hybrid nodes use nodeadm from aws/eks-hybrid)");
    CHECK(problem("spec.cluster.region", "us-west-2") ==
          "spec.cluster.region: not supported by eks-node: an EKS Hybrid Nodes setting; eks-node joins EC2 "
          "instances, whose region comes from instance metadata");
    // implemented (eks-node-network(8)): accepted, as a boolean
    CHECK(problem("spec.featureGates.OSManagedNoManageENIs", true).empty());
    CHECK(problem("spec.featureGates.OSManagedNoManageENIs", "yes") ==
          "spec.featureGates.OSManagedNoManageENIs: expected a boolean, got \"yes\"");
    CHECK(problem("spec.featureGates.OSManagedNoManageENIs", false).empty());
    CHECK(problem("spec.cluster.region", "").empty());
    CHECK(problem("spec.hybrid", json::object()).empty());
    CHECK(problem("spec.instance.storage", json::object()).empty());
    // YAML's "not set" is not set here either
    CHECK_FALSE(field_error_of(test::nodeconfig_yaml("  hybrid:\n"), "nc.yaml").has_value());
}

TEST_CASE("an unknown feature gate is ignored as nodeadm ignores it; settings.strict refuses it",
          "[config][nodeadm-fields]") {
    const std::string text = document("spec.featureGates.InstanceIDNodeName", true);
    CHECK_FALSE(field_error_of(text).has_value());
    std::vector<Fragment> fragments = fragments_from_nodeconfig(text, "nc.json");
    std::vector<Warning> w = unknown_field_warnings(fragments, json::object());
    REQUIRE(w.size() == 1);
    CHECK(w[0].field == "spec.featureGates.InstanceIDNodeName");
    CHECK(w[0].nearest == "InstanceIdNodeName");
    CHECK_THROWS_WITH(
        unknown_field_warnings(fragments, {{"strict", true}}),
        "nc.json: spec.featureGates.InstanceIDNodeName: not a feature gate eks-node knows "
        "(InstanceIdNodeName, FastImagePull, OSManagedNoManageENIs); settings.strict = true refuses what nodeadm would ignore");
    // elsewhere an unknown field likewise, its strict error naming the fields that may be set
    fragments = fragments_from_nodeconfig(document("spec.cluster.nmae", "x"), "nc.json");
    CHECK_THROWS_WITH(unknown_field_warnings(fragments, {{"strict", true}}),
                      "nc.json: spec.cluster.nmae: unknown field (known fields: name, apiServerEndpoint, "
                      "certificateAuthority, cidr, enableOutpost, id); settings.strict = true refuses what nodeadm "
                      "would ignore");
}

TEST_CASE("eks-node's TOML refuses the same fields", "[config][nodeadm-fields]") {
    auto toml_problem = [](const std::string& text) {
        try {
            validate_fragment(fragment_from_toml(text, "90-x.toml"));
        } catch (const ConfigError& e) {
            CHECK(e.source() == "90-x.toml");
            return e.field() + ": " + e.problem();
        }
        return std::string();
    };
    CHECK_THAT(toml_problem("[hybrid.ssm]\nactivationId = \"id\"\n"),
               Catch::StartsWith("spec.hybrid: not supported by eks-node: EKS Hybrid Nodes"));
    CHECK_THAT(toml_problem("[cluster]\nregion = \"us-west-2\"\n"),
               Catch::StartsWith("spec.cluster.region: not supported by eks-node: an EKS Hybrid Nodes setting"));
    CHECK(toml_problem("[featureGates]\nOSManagedNoManageENIs = true\n").empty());
}
