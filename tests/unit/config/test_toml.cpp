// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "format/toml_json.hpp"
#include "input/sources.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::repeat;

namespace {

// What fragment_from_toml says of `text`: "field: problem", or "(accepted)".
std::string toml_problem(const std::string& text) {
    try {
        fragment_from_toml(text, "t");
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "(accepted)";
}

// A key of `parts` parts: "a.a.a".
std::string dotted(int parts) {
    std::string out = "a";
    return out.append(repeat(".a", parts - 1));
}

const std::string too_deep = ": invalid TOML at line 1: nested deeper than 64 levels";

}  // namespace

TEST_CASE("eks-node.toml maps to the NodeConfig spec and [settings]", "[config][toml]") {
    input::Fragment f = fragment_from_toml(R"(
[cluster]
name = "my-cluster"
apiServerEndpoint = "https://example.com"
cidr = "10.100.0.0/16"
enableOutpost = false

[kubelet]
flags = ["--v=2"]
maxPodsExpression = "default_enis * 2"

[kubelet.config]
maxPods = 110
evictionHard = { "memory.available" = "100Mi" }

[containerd.config.plugins."io.containerd.grpc.v1.cri"]
enable_cdi = true

[containerd.baseRuntimeSpec.process.rlimits]
nofile = 1024

[instance.localStorage]
strategy = "RAID0"
disabledMounts = ["PodLogs"]

[instance.environment.default]
HTTP_PROXY = "http://proxy:3128"

[instance.network]
nameservers = ["10.0.0.2"]

[featureGates]
InstanceIdNodeName = true

[settings]
enable = true
logLevel = "debug"

[settings.imds]
deadline = "90s"
requestTimeout = 5

[settings.maxPods]
default = 110
)",
                                           "/etc/eks-node/node.toml.d/10-image.toml");
    CHECK(f.source == "/etc/eks-node/node.toml.d/10-image.toml");
    CHECK(f.spec == json::parse(R"({
        "cluster": {"apiServerEndpoint": "https://example.com", "cidr": "10.100.0.0/16", "enableOutpost": false,
                    "name": "my-cluster"},
        "containerd": {"baseRuntimeSpec": {"process": {"rlimits": {"nofile": 1024}}},
                       "config": {"plugins": {"io.containerd.grpc.v1.cri": {"enable_cdi": true}}}},
        "featureGates": {"InstanceIdNodeName": true},
        "instance": {"environment": {"default": {"HTTP_PROXY": "http://proxy:3128"}},
                     "localStorage": {"disabledMounts": ["PodLogs"], "strategy": "RAID0"},
                     "network": {"nameservers": ["10.0.0.2"]}},
        "kubelet": {"config": {"evictionHard": {"memory.available": "100Mi"}, "maxPods": 110},
                    "flags": ["--v=2"], "maxPodsExpression": "default_enis * 2"}
    })"));
    CHECK(f.settings == json::parse(R"({
        "enable": true, "imds": {"deadline": "90s", "requestTimeout": 5}, "logLevel": "debug",
        "maxPods": {"default": 110}})"));
    CHECK_NOTHROW(validate_fragment(f));
}

TEST_CASE("containerd.config may be TOML text in eks-node.toml too", "[config][toml]") {
    input::Fragment table = fragment_from_toml("[containerd.config]\nversion = 2\n", "t");
    input::Fragment text = fragment_from_toml("[containerd]\nconfig = '''\nversion = 2\n'''\n", "t");
    CHECK(table.spec == text.spec);
    CHECK(text.spec["containerd"]["config"]["version"] == 2);
}

TEST_CASE("TOML values become JSON values", "[config][toml]") {
    input::Fragment f = fragment_from_toml(R"(
[kubelet.config]
int = -3
float = 2.5
bool = false
date = 2026-11-21
time = 07:32:00
datetime = 2026-11-21T07:32:00Z
local = 2026-11-21T07:32:00
list = [[1, 2], ["a"]]
tables = [{ a = 1 }, { b = 2 }]
)",
                                           "t");
    CHECK(f.spec["kubelet"]["config"] == json::parse(R"({
        "bool": false, "date": "2026-11-21", "datetime": "2026-11-21T07:32:00Z", "float": 2.5, "int": -3,
        "list": [[1, 2], ["a"]], "local": "2026-11-21T07:32:00", "tables": [{"a": 1}, {"b": 2}], "time": "07:32:00"})"));
}

TEST_CASE("TOML errors give the line and column", "[config][toml]") {
    try {
        fragment_from_toml("[cluster]\nname = \n", "/etc/eks-node/node.toml.d/10-x.toml");
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "/etc/eks-node/node.toml.d/10-x.toml");
        CHECK(e.field().empty());
        CHECK(e.problem() ==
              "invalid TOML at line 2, column 8: Error while parsing key-value pair: expected value, saw '\\n'");
    }
    CHECK_THROWS_WITH(fragment_from_toml("[kubelet.config]\nx = nan\n", "t"),
                      "t: spec.kubelet.config.x: infinite and NaN numbers have no JSON form");
    CHECK_THROWS_WITH(fragment_from_toml("[containerd]\nconfig = \"version = \"\n", "t"),
                      Catch::StartsWith("t: spec.containerd.config: invalid TOML at line 1, column 11"));
}

TEST_CASE("unknown TOML tables are unknown spec fields", "[config][toml]") {
    input::Fragment f = fragment_from_toml("[clsuter]\nname = \"x\"\n", "t");
    CHECK_THROWS_WITH(
        validate_fragment(f),
        Catch::StartsWith("t: spec.clsuter: unknown field (nearest known field: cluster; known fields: cluster,"));
    input::Fragment s = fragment_from_toml("[settings]\nloglevel = \"debug\"\n", "t");
    CHECK_THROWS_WITH(validate_fragment(s), Catch::StartsWith("t: settings.loglevel: unknown field"));
}

// The root table is one level, each part of a key or header after the first
// one more, each array and inline table one more: 64 in all, as for JSON.
TEST_CASE("TOML nested up to 64 levels is read, deeper is refused before toml++ sees it", "[config][toml]") {
    CHECK(toml_problem(dotted(64) + " = 1\n") == "(accepted)");
    CHECK(toml_problem(dotted(65) + " = 1\n") == too_deep);
    CHECK(toml_problem("[" + dotted(63) + "]\nx = 1\n") == "(accepted)");
    CHECK(toml_problem("[" + dotted(64) + "]\nx = 1\n") == too_deep);
    CHECK(toml_problem("[[" + dotted(62) + "]]\nx = 1\n") == "(accepted)");
    CHECK(toml_problem("[[" + dotted(63) + "]]\nx = 1\n") == too_deep);
    // a header's tables and the key under it add up
    CHECK(toml_problem("[" + dotted(32) + "]\n" + dotted(32) + " = 1\n") == "(accepted)");
    CHECK(toml_problem("[" + dotted(32) + "]\n" + dotted(33) + " = 1\n") ==
          ": invalid TOML at line 2: nested deeper than 64 levels");
    // arrays and inline tables, and dotted keys inside inline tables
    CHECK(toml_problem("x = " + repeat("[", 63) + "1" + repeat("]", 63) + "\n") == "(accepted)");
    CHECK(toml_problem("x = " + repeat("[", 64) + "1" + repeat("]", 64) + "\n") == too_deep);
    CHECK(toml_problem("x = " + repeat("{a = ", 63) + "1" + repeat("}", 63) + "\n") == "(accepted)");
    CHECK(toml_problem("x = " + repeat("{a = ", 64) + "1" + repeat("}", 64) + "\n") == too_deep);
    CHECK(toml_problem("x = {b = 1, " + dotted(63) + " = 1}\n") == "(accepted)");
    CHECK(toml_problem("x = {b = 1, " + dotted(64) + " = 1}\n") == too_deep);
    CHECK(toml_problem("x = [{b = 1}, {" + dotted(62) + " = 1}]\n") == "(accepted)");
    CHECK(toml_problem("x = [{b = 1}, {" + dotted(63) + " = 1}]\n") == too_deep);
    CHECK(toml_problem("x = [\n  1, # [[[\n  " + repeat("[", 63) + repeat("]", 63) + "\n]\n") ==
          ": invalid TOML at line 3: nested deeper than 64 levels");
    // tens of thousands of levels (a 168-byte gzip'd user data) crashed eks-node-config
    CHECK(toml_problem(dotted(40000) + " = 1\n") == too_deep);
    CHECK(toml_problem("[" + dotted(40000) + "]\n") == too_deep);
    CHECK(toml_problem("x = " + repeat("{a.a = ", 40000) + "1\n") == too_deep);
}

TEST_CASE("dots and brackets in TOML strings and comments are no nesting", "[config][toml]") {
    const std::string deep = dotted(100), brackets = repeat("[{", 100);
    const std::string texts[] = {
        "x = \"" + deep + brackets + "\"\n",
        "x = '" + deep + brackets + "'\n",
        "x = \"\"\"\n" + deep + "\n" + brackets + "\"\"\"\n",
        "x = '''\n" + deep + "\n" + brackets + "\n'''\n",
        "x = \"\\\"" + brackets + "\"\n",                       // an escaped quote does not end the string
        "x = \"\"\"a\"\"\"\"\"\ny = '" + brackets + "'\n",      // content may end in quotes
        "# " + deep + " " + brackets + "\nx = 1 # " + brackets + "\n",
        "\"" + deep + "\" = 1\n",
        "'" + deep + "'.b = 1\n",
        "[\"" + deep + "\"]\n",
        "x = {\"" + deep + "\" = \"" + brackets + "\"}\n",
    };
    for (const std::string& text : texts) {
        INFO(text);
        CHECK(toml_problem(text) == "(accepted)");
    }
}

TEST_CASE("spec.containerd.config nested too deep names the field", "[config][toml]") {
    CHECK(toml_problem("[containerd]\nconfig = '''\n" + dotted(65) + " = 1\n'''\n") ==
          "spec.containerd.config: invalid TOML at line 1: nested deeper than 64 levels");
    try {
        fragments_from_nodeconfig(
            test::nodeconfig_yaml("  containerd:\n    config: |\n      [plugins]\n      " + dotted(40000) + " = 1\n"),
            "user data");
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "user data");
        CHECK(e.field() == "spec.containerd.config");
        CHECK(e.problem() == "invalid TOML at line 2: nested deeper than 64 levels");
    }
}

// Each [[a.a]] level is an array and a table, which the scan of one header
// cannot tell; the conversion to JSON counts what toml++ built.
TEST_CASE("TOML arrays of tables nested past the limit are refused when converted", "[config][toml]") {
    std::string text;
    for (int level = 1; level <= 40; ++level) text += "[[" + dotted(level) + "]]\n";
    CHECK(toml_problem(text) == "spec.a" + repeat("[0].a", 32) + ": nested deeper than 64 levels");
}

TEST_CASE("JSON becomes TOML deterministically, or an error names the value", "[config][toml]") {
    json doc = json::parse(R"({"b": 1, "a": {"y": [1, 2], "x": "s", "t": [{"k": true}, {"k": false}]}, "f": 0.5})");
    CHECK(json_to_toml(doc, "test") ==
          "b = 1\nf = 0.5\n\n[a]\nx = \"s\"\ny = [ 1, 2 ]\n\n[[a.t]]\nk = true\n\n[[a.t]]\nk = false\n");
    CHECK_THROWS_WITH(json_to_toml(json::parse(R"({"a": {"b": null}})"), "test"), Catch::Contains("a.b"));
    CHECK_THROWS_AS(json_to_toml(json::parse(R"({"big": 18446744073709551615})"), "test"), Error);
}

TEST_CASE("TOML to JSON and back: the two directions agree", "[config][toml]") {
    // keys in sorted order: json keeps insertion order, and TOML tables come back sorted
    json doc = json::parse(R"({"empty": {}, "list": [{"k": "a"}, {"k": "b"}], "on": true,
        "plugins": {"io.containerd.grpc.v1.cri": {"registry": {"mirrors": {"docker.io": {"endpoint":
        ["https://m.example"]}}}, "sandbox_image": "p:3.9"}}, "ratio": 0.25, "version": 2})");
    std::string text = json_to_toml(doc, "test");
    CHECK(toml_to_json(parse_toml(text, "round trip"), "round trip", "") == doc);
    // and the text is a fixed point: written again, the same bytes
    CHECK(json_to_toml(toml_to_json(parse_toml(text, "t"), "t", ""), "test") == text);
}

TEST_CASE("TOML keys: any printable key reads back as itself, a control character is refused",
          "[config][toml][bad-input]") {
    // keys a user's containerd.config or runtime options may hold: each must
    // come back from the written text as itself (toml++ quotes what is not bare)
    for (const char* key : {"a b", "a.b", "a\"b", "a\\b", "a=b", "a#b", "[a]", "", "ä", "a\u00a0b", "1.5", "-"}) {
        json doc = {{"plugins", {{key, {{key, 1}}}}}};
        std::string text = json_to_toml(doc, "test");
        INFO(text);
        CHECK(toml_to_json(parse_toml(text, "round trip"), "round trip", "") == doc);
    }
    // toml++ 3.3 writes a key with a newline, a tab or an apostrophe (and
    // otherwise bare) unquoted: never written
    for (const char* key : {"a\nb", "a\tb", "\x01", "a\x7f", "a'b"}) {
        json doc = {{"plugins", {{"x", {{key, 1}}}}}};
        CHECK_THROWS_WITH(json_to_toml(doc, "test"), Catch::Contains("a key with a control character"));
    }
    // ... and refused where it enters, naming the key path and the source
    const std::string toml = "[containerd.config.plugins.\"io.containerd.grpc.v1.cri\"]\n\"a\\nb\" = 1\n";
    Fragment f = fragment_from_toml(toml, "node.toml");
    try {
        validate_fragment(f);
        FAIL("a containerd.config key with a newline was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "node.toml");
        CHECK(e.field() == "spec.containerd.config.plugins.io.containerd.grpc.v1.cri.\"a\\nb\"");
        CHECK_THAT(e.problem(), Catch::StartsWith("a key with a control character"));
    }
    Fragment r = fragment_from_toml(
        "[settings.runtimes.crun]\nbinary = \"/usr/bin/crun\"\n"
        "[settings.runtimes.crun.options]\n\"Sys\\ttemd\" = true\n",
        "node.toml");
    CHECK_THROWS_WITH(validate_fragment(r), Catch::Contains("settings.runtimes.crun.options.\"Sys\\ttemd\""));
}

// toml++'s whitespace table ends in an unreachable default for most non-ASCII
// characters it does not list (core/toml.hpp): the sanitizer build stops there
// without the workaround, the release build had undefined behaviour. Each
// character of the two ranges it missed, in the two places toml++ asks: a
// multi-line string's line-ending backslash before it, and a table header.
TEST_CASE("non-ASCII characters toml++'s whitespace table misses are no whitespace", "[config][toml]") {
    for (const char* ch : {"\u00a7", "\u00e9", "\u045a", "\u0499", "\u2fee", "\u3001", "\u33e7"}) {
        CAPTURE(ch);
        const std::string text = std::string("[cluster]\nname = \"\"\"\\\n") + ch + "x\"\"\"\n";
        CHECK(fragment_from_toml(text, "t").spec.at("cluster").at("name") == std::string(ch) + "x");
        CHECK(toml_problem(std::string("[clu") + ch + "ster]\n").find("invalid TOML at line 1") != std::string::npos);
    }
}
