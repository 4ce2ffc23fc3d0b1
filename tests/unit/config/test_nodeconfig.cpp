// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::spec_of;

namespace {

std::string nodeconfig_problem(std::string_view text) {
    try {
        fragments_from_nodeconfig(text, "t");
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("conformance NodeConfigs read the same as YAML and as JSON", "[config][nodeconfig]") {
    std::vector<std::filesystem::path> samples;
    for (const auto& entry : std::filesystem::directory_iterator(test::conformance_root()))
        if (std::filesystem::exists(entry.path() / "nodeconfig.yaml"))
            samples.push_back(entry.path() / "nodeconfig.yaml");
    REQUIRE(samples.size() >= 4);
    for (const auto& sample : samples) {
        INFO(sample);
        auto from_yaml = fragments_from_nodeconfig(read_file(sample), "yaml");
        REQUIRE(from_yaml.size() == 1);
        json as_json = {{"apiVersion", "node.eks.aws/v1alpha1"}, {"kind", "NodeConfig"}, {"spec", from_yaml[0].spec}};
        auto from_json = fragments_from_nodeconfig(as_json.dump(2), "json");
        REQUIRE(from_json.size() == 1);
        CHECK(from_json[0].spec == from_yaml[0].spec);
        CHECK(from_yaml[0].spec["cluster"]["cidr"] == "10.100.0.0/16");
        CHECK_NOTHROW(validate_fragment(from_yaml[0]));
    }
}

TEST_CASE("kubelet.config as inline JSON and as a YAML mapping give the same JSON", "[config][nodeconfig]") {
    const auto dir = test::conformance_root();
    auto inline_json = fragments_from_nodeconfig(read_file(dir / "01-kubelet-config-json/nodeconfig.yaml"), "01");
    auto yaml_mapping = fragments_from_nodeconfig(read_file(dir / "02-kubelet-config-yaml/nodeconfig.yaml"), "02");
    REQUIRE(inline_json.size() == 1);
    REQUIRE(yaml_mapping.size() == 1);
    json expected = json::parse(R"({"logging": {"verbosity": 5}, "clusterDNS": ["0.0.0.0", "1.1.1.1"]})");
    CHECK(inline_json[0].spec["kubelet"]["config"] == expected);
    CHECK(yaml_mapping[0].spec["kubelet"]["config"] == expected);
    CHECK(inline_json[0].spec == yaml_mapping[0].spec);
}

TEST_CASE("YAML values JSON cannot hold are errors", "[config][nodeconfig]") {
    CHECK(nodeconfig_problem(
              "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      x: .inf\n") ==
          "spec.kubelet.config.x: infinite and NaN numbers have no JSON form");
    CHECK(nodeconfig_problem(
              "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      x: "
              "1\n      x: 2\n") == "spec.kubelet.config.x: duplicate key");
    CHECK(nodeconfig_problem(
              "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      [a]: 1\n") ==
          "spec.kubelet.config: mapping keys must be scalars");
}

TEST_CASE("alias expansion and deep nesting are bounded", "[config][nodeconfig]") {
    std::string bomb =
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
        "      a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = 'b'; level <= 'h'; ++level) {
        std::string prev(1, static_cast<char>(level - 1));
        bomb +=
            fmt::format("      {0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n", level, prev);
    }
    CHECK(nodeconfig_problem(bomb) ==
          "spec.kubelet.config.d[7]: more than 10000 values in one document (alias expansion?)");

    std::string deep_json = R"({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": )" +
                            std::string(100, '[') + std::string(100, ']') + "}";
    CHECK(nodeconfig_problem(deep_json) == ": invalid JSON: nested deeper than 64 levels");
    std::string deep_yaml = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: " + std::string(80, '[') +
                            std::string(80, ']') + "\n";
    CHECK_THAT(nodeconfig_problem(deep_yaml), Catch::EndsWith("nested deeper than 64 levels"));
}

TEST_CASE("anchors and aliases read as go-yaml reads them, and cost what they stand for", "[config][nodeconfig]") {
    // an alias is a copy of its anchored node, also as a mapping key
    CHECK(spec_of("  kubelet:\n    config:\n      a: &v {x: 1}\n      b: *v\n      &k c: 2\n      d: {*k : 3}\n")["kubelet"]
                 ["config"] == json::parse(R"({"a":{"x":1},"b":{"x":1},"c":2,"d":{"c":3}})"));
    // ... but a key given through its alias is still given twice
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
                             "      &k c: 2\n      *k : 3\n") == "spec.kubelet.config.c: duplicate key");
    // "<<" merges aliased mappings; of a list, the first wins; later keys win over merged ones
    CHECK(spec_of("  kubelet:\n    config:\n      a: &a {p: 1, q: 1}\n      b: &b {q: 2, r: 2}\n"
                  "      m: {<<: [*b, *a], r: 3}\n")["kubelet"]["config"]["m"] ==
          json::parse(R"({"p":1,"q":2,"r":3})"));
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
                             "      a: &s text\n      m: {<<: *s}\n") ==
          "spec.kubelet.config.m.<<: map merge requires map or sequence of maps as the value");
    // an alias before its anchor, or of a mapping as a key, is refused
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
                             "      a: *later\n      b: &later 1\n") ==
          "spec.kubelet.config.a: alias *later refers to no anchor defined before it");
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
                             "      a: &m {x: 1}\n      *m : 1\n") ==
          "spec.kubelet.config: mapping keys must be scalars");
    // anchors belong to their document
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: &s {}\n---\n"
                             "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: *s\n") ==
          "spec: alias *s refers to no anchor defined before it");
    // bytes, not only values: one long string aliased a few times is refused
    // before it is copied (the anchor's stored copy counts as well)
    std::string big(3u << 20, 'x');
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flags: [&a " +
                             big + ", *a, *a]\n") ==
          "spec.kubelet.flags[2]: more than 8 MiB of text in one document (alias expansion?)");
    CHECK(spec_of("  kubelet:\n    flags: [&a " + big + ", *a]\n")["kubelet"]["flags"].size() == 2);
}

// A document standing for 3 MiB of text through an alias of an aliased
// sequence, in 1,500 bytes: under the cap alone, and valid (metadata is ignored).
std::string three_mib_document() {
    std::string aliases_a, aliases_b;
    for (int i = 0; i < 96; ++i) aliases_a += i ? ", *a" : "*a";
    for (int i = 0; i < 31; ++i) aliases_b += i ? ", *b" : "*b";
    return fmt::format(
        "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata:\n  a: &a {}\n  b: &b [{}]\n"
        "  c: [{}]\n",
        std::string(1000, 'x'), aliases_a, aliases_b);
}

TEST_CASE("a YAML stream shares one alias budget across its documents", "[config][nodeconfig][bad-input]") {
    // alone, each document is under 8 MiB of text...
    CHECK(fragments_from_nodeconfig(three_mib_document(), "t").size() == 1);
    CHECK(fragments_from_nodeconfig(three_mib_document() + three_mib_document(), "t").size() == 2);
    // ... but the stream's third one takes its source past it: 270 such
    // documents stood for 2 GB while the cap was per document
    std::string stream;
    for (int i = 0; i < 270; ++i) stream += three_mib_document();
    CHECK(nodeconfig_problem(stream) == "metadata.c[19]: more than 8 MiB of text in 3 documents (alias expansion?)");

    // values too: 4,000 per document is under the 10,000 cap, three are not
    std::string many;
    for (int i = 0; i < 3; ++i) {
        many += "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata: {a: [";
        for (int j = 0; j < 4000; ++j) many += j ? ",0" : "0";
        many += "]}\n";
    }
    CHECK_THAT(nodeconfig_problem(many), Catch::EndsWith("more than 10000 values in 3 documents"));
}

TEST_CASE("the parts of one user data share one alias budget", "[config][userdata][bad-input]") {
    std::string message = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n";
    for (int i = 0; i < 3; ++i)
        message += "--B\nContent-Type: application/node.eks.aws\n\n" + three_mib_document() + "\n";
    message += "--B--\n";
    try {
        fragments_from_user_data(message);
        FAIL("three parts of 3 MiB of aliased text each were accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "user data (MIME part 3, application/node.eks.aws)");
        CHECK(e.problem() == "more than 8 MiB of text in 3 documents of user data (alias expansion?)");
    }
}

TEST_CASE("YAML syntax errors name the line and column, and come at once", "[config][nodeconfig]") {
    // inputs that made Debian 12's yaml-cpp 0.7 allocate without end
    CHECK_THAT(nodeconfig_problem("---\n,\n"), Catch::StartsWith(": invalid YAML at line 2, column 1: "));
    CHECK_THAT(nodeconfig_problem(","), Catch::StartsWith(": invalid YAML at line 1, column 1: "));
    CHECK_THAT(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: {\n"),
               Catch::StartsWith(": invalid YAML at line 4, column 1: "));
    // not UTF-8: a byte offset, as libyaml has no line for it
    CHECK_THAT(nodeconfig_problem("apiVersion: \xff\n"), Catch::StartsWith(": invalid YAML at byte 12: "));
}

TEST_CASE("apiVersion and kind are checked", "[config][nodeconfig]") {
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1beta1\nkind: NodeConfig\n") ==
          "apiVersion: \"node.eks.aws/v1beta1\" is not supported (expected \"node.eks.aws/v1alpha1\")");
    CHECK(nodeconfig_problem("kind: NodeConfig\n") == "apiVersion: missing (expected \"node.eks.aws/v1alpha1\")");
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: Pod\n") ==
          "kind: \"Pod\" is not supported (expected \"NodeConfig\")");
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\n") == "kind: missing (expected \"NodeConfig\")");
    // a key nodeadm does not know either is ignored, as nodeadm ignores it
    // (test_unknown_fields.cpp)
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspecs: {}\n") == "(no error)");
    CHECK(nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: [1]\n") ==
          "spec: expected an object, got a list");
    CHECK(nodeconfig_problem("- apiVersion: node.eks.aws/v1alpha1\n") ==
          ": a NodeConfig must be a mapping, got a list");
    // issue 34: what is not a NodeConfig is named by its kind, its text never
    // quoted (a symlink to /etc/passwd had its first lines in the error)
    CHECK(nodeconfig_problem("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n") ==
          ": a NodeConfig must be a mapping, got a string");
    CHECK(nodeconfig_problem("42\n") == ": a NodeConfig must be a mapping, got a number");
    CHECK(nodeconfig_problem("---\n---\n") == ": holds no NodeConfig document");
}

TEST_CASE("metadata and status are ignored", "[config][nodeconfig]") {
    auto fragments = fragments_from_nodeconfig(
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata:\n  name: x\nstatus:\n  instance: {}\n", "t");
    REQUIRE(fragments.size() == 1);
    CHECK(fragments[0].spec == json::object());
}

TEST_CASE("several YAML documents become fragments in order", "[config][nodeconfig]") {
    auto fragments = fragments_from_nodeconfig(test::nodeconfig_yaml() + "---\n" +
                                                   "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\n"
                                                   "spec:\n  cluster:\n    name: other\n",
                                               "user data");
    REQUIRE(fragments.size() == 2);
    CHECK(fragments[0].source == "user data (document 1)");
    CHECK(fragments[1].source == "user data (document 2)");
    CHECK(fragments[1].spec["cluster"]["name"] == "other");
}

TEST_CASE("null means not set, except inside free-form objects", "[config][nodeconfig]") {
    json spec = spec_of("  cluster:\n    name: c\n    cidr:\n  kubelet:\n    flags:\n    config:\n      x: null\n");
    CHECK(spec == json::parse(R"({"cluster": {"name": "c"}, "kubelet": {"config": {"x": null}}})"));
}

TEST_CASE("containerd.config TOML text becomes an object", "[config][nodeconfig]") {
    json spec = spec_of(
        "  containerd:\n    config: |\n      version = 2\n      [plugins.\"io.containerd.grpc.v1.cri\"]\n"
        "      enable_cdi = true\n      max_concurrent_downloads = 10\n"
        "      stamp = 2026-11-21T10:00:00Z\n      sizes = [1, 2.5]\n");
    CHECK(spec["containerd"]["config"] == json::parse(R"({
        "plugins": {"io.containerd.grpc.v1.cri": {"enable_cdi": true, "max_concurrent_downloads": 10,
                                                  "sizes": [1, 2.5], "stamp": "2026-11-21T10:00:00Z"}},
        "version": 2})"));
    CHECK(spec["containerd"]["config"]["version"].is_number_integer());
}

TEST_CASE("containerd.config TOML errors name the field and the TOML position", "[config][nodeconfig]") {
    CHECK(
        nodeconfig_problem("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  containerd:\n    config: |\n"
                           "      version = 2\n      [plugins\n") ==
        "spec.containerd.config: invalid TOML at line 2, column 9: Error while parsing table header: expected ']', "
        "saw '\\n'");
}
