// SPDX-License-Identifier: Apache-2.0
// A NodeConfig field eks-node does not know is dropped as nodeadm's
// non-strict decoder drops it (nodeadm/internal/api/bridge/decode.go), at
// every level, with a warning naming the field, its source and the nearest
// known name; settings.strict makes it the error it was. eks-node's own TOML
// keeps refusing keys it does not know.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "format/field_text.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;

namespace {

// A value no warning or error may show: the field is named, never its value.
constexpr std::string_view secret = "s3cr3t-t0ken-value";

bool shows_secret(const std::string& text) { return text.find(secret) != std::string::npos; }

const json strict_settings = {{"strict", true}};

// The document `base` with `value` set at the JSON pointer `at`.
json with(json base, const std::string& at, json value) {
    base[json::json_pointer(at)] = std::move(value);
    return base;
}

json complete() { return test::nodeconfig_document(); }

// The document as YAML: JSON is YAML's flow style; a block style is made
// by the YAML reader's own tests (test_yaml11.cpp). Here both forms of the
// one document go through the reader nodeadm's users write.
std::string as_yaml(const json& doc) {
    std::string out;
    // block style for the top level, flow below: a YAML document that is not JSON
    for (const auto& [key, value] : doc.items()) out += key + ": " + value.dump() + "\n";
    return out;
}

struct UnknownFieldCase {
    std::string pointer;  // where the unknown key goes
    std::string field;    // as the warning names it
    std::string nearest;  // the known name nearest to it
};

}  // namespace

TEST_CASE("an unknown NodeConfig field at any level is dropped, the rest kept, in YAML and JSON",
          "[config][unknown-fields]") {
    const std::vector<UnknownFieldCase> cases = {
        {"/specs", "specs", "spec"},
        {"/spec/clusters", "spec.clusters", "cluster"},
        {"/spec/cluster/nmae", "spec.cluster.nmae", "name"},
        {"/spec/cluster/Name", "spec.cluster.Name", "name"},  // keys match case-sensitively, as in nodeadm
        {"/spec/kubelet/maxPodsExpresion", "spec.kubelet.maxPodsExpresion", "maxPodsExpression"},
        {"/spec/containerd/baseRuntimeSpecs", "spec.containerd.baseRuntimeSpecs", "baseRuntimeSpec"},
        {"/spec/instance/localstorage", "spec.instance.localstorage", "localStorage"},
        {"/spec/instance/localStorage/strategey", "spec.instance.localStorage.strategey", "strategy"},
        {"/spec/instance/network/nameserver", "spec.instance.network.nameserver", "nameservers"},
        {"/spec/featureGates/InstanceIDNodeName", "spec.featureGates.InstanceIDNodeName", "InstanceIdNodeName"},
        {"/spec/featureGates/SomeFutureGate", "spec.featureGates.SomeFutureGate", "InstanceIdNodeName"},
    };
    for (const UnknownFieldCase& c : cases) {
        // a feature gate's value is a boolean, whatever its name (nodeadm's map[Feature]bool)
        const json value = c.pointer.starts_with("/spec/featureGates/") ? json(true) : json(std::string(secret));
        json doc = with(complete(), c.pointer, value);
        for (const auto& [form, text] : {std::pair{"JSON", doc.dump()}, std::pair{"YAML", as_yaml(doc)}}) {
            INFO(c.pointer << " in " << form);
            std::vector<Fragment> fragments = fragments_from_nodeconfig(text, "user data");
            REQUIRE(fragments.size() == 1);
            const Fragment& f = fragments[0];
            // dropped from the spec; what is known stays
            CHECK_FALSE(shows_secret(f.spec.dump()));
            CHECK(f.spec["cluster"]["name"] == "my-cluster");
            CHECK_NOTHROW(validate_fragment(f));
            REQUIRE(f.unknown.size() == 1);
            CHECK(f.unknown[0].field == c.field);
            CHECK(f.unknown[0].nearest == c.nearest);

            std::vector<Warning> w = unknown_field_warnings(fragments, json::object());
            REQUIRE(w.size() == 1);
            CHECK(w[0].source == "user data");
            CHECK(w[0].field == f.unknown[0].field);
            CHECK_THAT(w[0].text(), Catch::StartsWith("user data: " + f.unknown[0].field + ": "));
            CHECK_THAT(w[0].problem, Catch::Contains("ignored as nodeadm ignores it (nearest known "));
            CHECK_THAT(w[0].problem, Catch::EndsWith(": " + c.nearest + ")"));
            CHECK_FALSE(shows_secret(w[0].text()));
            CHECK_FALSE(shows_secret(warnings_json(w).dump()));

            // settings.strict: today's error, exit 6, naming source and field
            try {
                unknown_field_warnings(fragments, strict_settings);
                FAIL("no error with settings.strict");
            } catch (const ConfigError& e) {
                CHECK(e.exit_code() == 6);
                CHECK(e.source() == "user data");
                CHECK(e.field() == f.unknown[0].field);
                CHECK_THAT(e.problem(), Catch::EndsWith("settings.strict = true refuses what nodeadm would ignore"));
                CHECK_FALSE(shows_secret(e.what()));
            }
        }
    }
}

TEST_CASE("the warning and the strict error say what is known there", "[config][unknown-fields]") {
    auto only = [](const json& doc, const json& settings) {
        std::vector<Fragment> fragments = fragments_from_nodeconfig(doc.dump(), "nc.json");
        try {
            std::vector<Warning> w = unknown_field_warnings(fragments, settings);
            REQUIRE(w.size() == 1);
            return w[0].text();
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
    };
    json typo = with(complete(), "/spec/cluster/nmae", "x");
    CHECK(only(typo, json::object()) ==
          "nc.json: spec.cluster.nmae: unknown field, ignored as nodeadm ignores it (nearest known field: name)");
    CHECK(only(typo, strict_settings) ==
          "nc.json: spec.cluster.nmae: unknown field (known fields: name, apiServerEndpoint, certificateAuthority, "
          "cidr, enableOutpost, id); settings.strict = true refuses what nodeadm would ignore");
    json gate = with(complete(), "/spec/featureGates/InstanceIDNodeName", true);
    CHECK(only(gate, json::object()) ==
          "nc.json: spec.featureGates.InstanceIDNodeName: not a feature gate eks-node knows, ignored as nodeadm "
          "ignores it (nearest known gate: InstanceIdNodeName)");
    CHECK(only(gate, strict_settings) ==
          "nc.json: spec.featureGates.InstanceIDNodeName: not a feature gate eks-node knows (InstanceIdNodeName, "
          "FastImagePull, OSManagedNoManageENIs); settings.strict = true refuses what nodeadm would ignore");
    json top = with(complete(), "/specs", json::object());
    CHECK(only(top, strict_settings) ==
          "nc.json: specs: unknown field (known fields: apiVersion, kind, metadata, spec); settings.strict = true "
          "refuses what nodeadm would ignore");
    // strict = false is the default spelt out
    CHECK_THAT(only(typo, {{"strict", false}}), Catch::Contains("ignored as nodeadm ignores it"));
}

TEST_CASE("unknown fields that are not a field's own: free-form tables, maps, metadata", "[config][unknown-fields]") {
    // kubelet.config, containerd.config and baseRuntimeSpec hold what their
    // programs read, any key; environment's keys are the user's names
    json doc = complete();
    doc["spec"]["kubelet"]["config"] = {{"someFutureKubeletField", 1}};
    doc["spec"]["containerd"]["baseRuntimeSpec"] = {{"anything", {{"goes", true}}}};
    doc["spec"]["instance"]["environment"] = {{"default", {{"NO_PROXY", "x"}}}};
    doc["metadata"] = {{"name", "n"}, {"labels", {{"a", "b"}}}};
    doc["status"] = {{"instance", json::object()}};
    std::vector<Fragment> fragments = fragments_from_nodeconfig(doc.dump(), "t");
    REQUIRE(fragments.size() == 1);
    CHECK(fragments[0].unknown.empty());
    CHECK(fragments[0].spec["kubelet"]["config"]["someFutureKubeletField"] == 1);
    CHECK_NOTHROW(validate_fragment(fragments[0]));
}

TEST_CASE("several unknown fields: one warning each, in document order, each naming its document",
          "[config][unknown-fields]") {
    const std::string text = test::nodeconfig_yaml(
                                 "  kubelet:\n    flag: [--v=2]\n    config:\n      maxPods: 12\n"
                                 "  featureGates:\n    FastImagePull: false\n    FastImagePul: true\n    Gate2: no\n") +
                             "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  containerd:\n"
                             "    conifg: x\n  cluster:\n    nmae:\n";
    std::vector<Fragment> fragments =
        fragments_from_nodeconfig(text, "user data (MIME part 1, application/node.eks.aws)");
    REQUIRE(fragments.size() == 2);
    std::vector<Warning> w = unknown_field_warnings(fragments, json::object());
    std::vector<std::string> lines;
    for (const Warning& x : w) lines.push_back(x.text());
    const std::string doc1 = "user data (MIME part 1, application/node.eks.aws, document 1): ";
    const std::string doc2 = "user data (MIME part 1, application/node.eks.aws, document 2): ";
    const std::string field = "unknown field, ignored as nodeadm ignores it (nearest known field: ";
    const std::string gate = "not a feature gate eks-node knows, ignored as nodeadm ignores it (nearest known gate: ";
    CHECK(lines == std::vector<std::string>{
                       doc1 + "spec.kubelet.flag: " + field + "flags)",
                       doc1 + "spec.featureGates.FastImagePul: " + gate + "FastImagePull)",
                       doc1 + "spec.featureGates.Gate2: " + gate + "FastImagePull)",
                       doc2 + "spec.containerd.conifg: " + field + "config)",
                       // "nmae:" with nothing after it is a typo all the same
                       doc2 + "spec.cluster.nmae: " + field + "name)",
                   });
    // the known values stay: the gate that is known, the kubelet config
    CHECK(fragments[0].spec["featureGates"] == json{{"FastImagePull", false}});
    CHECK(fragments[0].spec["kubelet"]["config"]["maxPods"] == 12);
    const json j = warnings_json(w);
    REQUIRE(j.size() == 5);
    CHECK(j[0] == json{{"source", "user data (MIME part 1, application/node.eks.aws, document 1)"},
                       {"field", "spec.kubelet.flag"},
                       {"nearest", "flags"},
                       {"message", "unknown field, ignored as nodeadm ignores it (nearest known field: flags)"}});
}

TEST_CASE("an unknown feature gate must still be a boolean, as nodeadm's decoder wants", "[config][unknown-fields]") {
    try {
        fragments_from_nodeconfig(with(complete(), "/spec/featureGates/SomeFutureGate", std::string(secret)).dump(),
                                  "t");
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == 6);
        CHECK(e.field() == "spec.featureGates.SomeFutureGate");
        CHECK_THAT(e.problem(), Catch::StartsWith("expected a boolean, got \""));
        CHECK_THAT(e.problem(), Catch::EndsWith("(nodeadm refuses it too: featureGates holds booleans, whatever "
                                                "the gate)"));
    }
    // YAML 1.1's "on" is a boolean there, as for nodeadm; a null is "not set"
    CHECK(fragments_from_nodeconfig(test::nodeconfig_yaml("  featureGates:\n    SomeFutureGate: on\n"), "t")[0]
              .unknown.size() == 1);
    CHECK(fragments_from_nodeconfig(test::nodeconfig_yaml("  featureGates:\n    SomeFutureGate:\n"), "t")[0]
              .unknown.size() == 1);
}

TEST_CASE("a known field of the wrong type stays an error", "[config][unknown-fields]") {
    // nodeadm's decoder refuses these too: only unknown names are passed over
    std::vector<Fragment> f =
        fragments_from_nodeconfig(with(complete(), "/spec/cluster/enableOutpost", "yes").dump(), "t");
    CHECK_THROWS_WITH(validate_fragment(f[0]), "t: spec.cluster.enableOutpost: expected a boolean, got \"yes\"");
    f = fragments_from_nodeconfig(with(complete(), "/spec/kubelet", json::array()).dump(), "t");
    CHECK_THROWS_WITH(validate_fragment(f[0]), "t: spec.kubelet: expected an object, got a list");
}

TEST_CASE("a key that is not a name is quoted in the path, and cut short", "[config][unknown-fields]") {
    json doc = complete();
    doc["spec"]["cluster"]["a key\nwith a newline"] = 1;
    doc["spec"]["cluster"][std::string(300, 'k')] = 2;
    std::vector<Fragment> f = fragments_from_nodeconfig(doc.dump(), "t");
    REQUIRE(f[0].unknown.size() == 2);
    std::vector<std::string> fields = {f[0].unknown[0].field, f[0].unknown[1].field};
    std::sort(fields.begin(), fields.end());
    CHECK(fields[0] == "spec.cluster.\"a key\\nwith a newline\"");
    CHECK(fields[1].size() < 100);
    CHECK(fields[1].starts_with("spec.cluster.\"kkkk"));
}

TEST_CASE("eks-node's own TOML still refuses a key it does not know", "[config][unknown-fields]") {
    CHECK_THROWS_WITH(validate_fragment(fragment_from_toml("[cluster]\nnmae = \"x\"\n", "90-x.toml")),
                      Catch::StartsWith("90-x.toml: spec.cluster.nmae: unknown field (nearest known field: name; known "
                                        "fields: name,"));
    CHECK_THROWS_WITH(
        validate_fragment(fragment_from_toml("[featureGates]\nSomeFutureGate = true\n", "90-x.toml")),
        Catch::StartsWith("90-x.toml: spec.featureGates.SomeFutureGate: not a feature gate eks-node "
                          "knows (InstanceIdNodeName, FastImagePull, OSManagedNoManageENIs): eks-node's TOML refuses"));
    CHECK(fragment_from_toml("[cluster]\nname = \"x\"\n", "90-x.toml").unknown.empty());
}

TEST_CASE("settings.strict is a boolean setting of eks-node's TOML", "[config][unknown-fields]") {
    CHECK_NOTHROW(validate_fragment(fragment_from_toml("[settings]\nstrict = true\n", "t")));
    CHECK_THROWS_WITH(validate_fragment(fragment_from_toml("[settings]\nstrict = \"yes\"\n", "t")),
                      "t: settings.strict: expected a boolean, got \"yes\"");
    CHECK(strict({{"strict", true}}));
    CHECK_FALSE(strict({{"strict", false}}));
    CHECK_FALSE(strict(json::object()));
}

TEST_CASE("nearest: the known name fewest edits away, letter case aside", "[config][unknown-fields]") {
    const std::vector<std::string> known = {"name", "apiServerEndpoint", "certificateAuthority", "cidr", "id"};
    CHECK(text::nearest("nmae", known) == "name");
    CHECK(text::nearest("NAME", known) == "name");
    CHECK(text::nearest("apiserverendpoint", known) == "apiServerEndpoint");
    CHECK(text::nearest("certificate-authority", known) == "certificateAuthority");
    CHECK(text::nearest("cdr", known) == "cidr");
    CHECK(text::nearest("x", {}).empty());
    // equals: the first in the table's order
    CHECK(text::nearest("ab", {"ax", "xb"}) == "ax");
    // a key of a megabyte costs no more than its first 64 bytes would
    CHECK_FALSE(text::nearest(std::string(1 << 20, 'x'), known).empty());
}
