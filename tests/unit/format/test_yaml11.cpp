// SPDX-License-Identifier: Apache-2.0
// NodeConfig YAML is typed as nodeadm types it: go-yaml v2 (YAML 1.1) into
// interface{}, then JSON via sigs.k8s.io/yaml (format/yaml_scalar.hpp).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "config/support.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "fixtures.hpp"
#include "format/yaml_scalar.hpp"
#include "input/sources.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::spec_of;
using namespace eksnode::render;

namespace {

// The JSON a YAML scalar becomes, written as the value of kubelet.config.x.
json value_of(std::string_view yaml) {
    return spec_of("  kubelet:\n    config:\n      x: " + std::string(yaml) + "\n")["kubelet"]["config"]["x"];
}

// The JSON object key a YAML scalar becomes, as a key of kubelet.config.
std::string key_of(std::string_view yaml) {
    json config = spec_of("  kubelet:\n    config:\n      " + std::string(yaml) + ": v\n")["kubelet"]["config"];
    REQUIRE(config.size() == 1);
    return config.begin().key();
}

std::string yaml11_problem(std::string_view config_lines) {
    try {
        spec_of("  kubelet:\n    config:\n" + std::string(config_lines));
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "(no error)";
}

struct Yaml11Case {
    std::string yaml;
    json value;
};

void check_values(const std::vector<Yaml11Case>& cases) {
    for (const Yaml11Case& c : cases) {
        INFO(c.yaml);
        json got = value_of(c.yaml);
        CHECK(got == c.value);
        CHECK(got.type() == c.value.type());
    }
}

}  // namespace

TEST_CASE("YAML 1.1 booleans and nulls resolve as go-yaml v2 resolves them", "[config][nodeconfig][yaml11]") {
    check_values({
        {"y", true},
        {"Y", true},
        {"yes", true},
        {"Yes", true},
        {"YES", true},
        {"true", true},
        {"True", true},
        {"TRUE", true},
        {"on", true},
        {"On", true},
        {"ON", true},
        {"n", false},
        {"N", false},
        {"no", false},
        {"No", false},
        {"NO", false},
        {"false", false},
        {"False", false},
        {"FALSE", false},
        {"off", false},
        {"Off", false},
        {"OFF", false},
        // only those spellings
        {"yES", "yES"},
        {"oN", "oN"},
        {"tRUE", "tRUE"},
        {"nO", "nO"},
        {"yes please", "yes please"},
        {"~", nullptr},
        {"null", nullptr},
        {"Null", nullptr},
        {"NULL", nullptr},
        {"", nullptr},
        {"nULL", "nULL"},
        {"nil", "nil"},
        {"None", "None"},
    });
}

TEST_CASE("quoted and block scalars and !!str stay strings", "[config][nodeconfig][yaml11]") {
    check_values({
        {"\"yes\"", "yes"},
        {"'no'", "no"},
        {"\"on\"", "on"},
        {"'off'", "off"},
        {"\"true\"", "true"},
        {"'0755'", "0755"},
        {"\"1e3\"", "1e3"},
        {"\"null\"", "null"},
        {"'~'", "~"},
        {"''", ""},
        {"!!str yes", "yes"},
        {"!!str 0x1F", "0x1F"},
        {"!!str", ""},
        {"|\n        yes\n", "yes\n"},
        {">\n        on\n", "on\n"},
    });
}

TEST_CASE("YAML 1.1 integers: Go's ParseInt with base prefixes, underscores dropped", "[config][nodeconfig][yaml11]") {
    check_values({
        {"110", 110},
        {"-5", -5},
        {"+7", 7},
        {"0", 0},
        {"-0", 0},
        {"00", 0},
        {"0x1F", 31},
        {"0X1f", 31},
        {"-0x1F", -31},
        {"+0x1F", 31},
        {"0o17", 15},
        {"0O17", 15},
        {"-0o17", -15},
        {"0755", 493},
        {"-0755", -493},
        {"0_755", 493},  // YAML 1.1 octal
        {"0b101", 5},
        {"0B101", 5},
        {"-0b101", -5},
        {"0b+1", 1},
        {"1_000", 1000},
        {"1__0_", 10},
        {"0x_1F", 31},
        {"-_1", -1},
        {"_1", "_1"},
        {"9223372036854775807", 9223372036854775807LL},
        {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
        {"9223372036854775808", 9223372036854775808ULL},
        {"18446744073709551615", 18446744073709551615ULL},
        {"0xFFFFFFFFFFFFFFFF", 18446744073709551615ULL},
        {"0x10000000000000000", "0x10000000000000000"},  // no float form: a string
        {"08", 8},
        {"0999", 999},  // not octal, so floats, and integral ones
        {"0x", "0x"},
        {"0b", "0b"},
        {"0b2", "0b2"},
        {"0xG", "0xG"},
        {"1-2", "1-2"},
    });
}

TEST_CASE("YAML 1.1 floats, written to JSON as encoding/json writes them", "[config][nodeconfig][yaml11]") {
    check_values({
        {"1.5", 1.5},
        {".5", 0.5},
        {"-.5", -0.5},
        {"+.5", 0.5},
        {"-2.5E-1", -0.25},
        {"1.29", 1.29},
        {"0.1", 0.1},
        {"1_0.5", 10.5},
        {".5e1", 5},
        {"1.5e300", 1.5e300},
        // an integral float is written without fraction or exponent below 1e21
        {"1.0", 1},
        {"1.", 1},
        {"1e3", 1000},
        {"1E3", 1000},
        {"1e+3", 1000},
        {"-1e3", -1000},
        {"1e18", 1000000000000000000LL},
        {"-0.0", 0},
        {"1e-999", 0},
        {"18446744073709551616", 18446744073709551616.0},
        {"1e20", 1e20},
        {"1e21", 1e21},
        // not floats
        {".5_0", ".5_0"},
        {"1e999", "1e999"},
        {"1e", "1e"},
        {"e3", "e3"},
        {".", "."},
        {"1.2.3", "1.2.3"},
        {"0x1p3", "0x1p3"},
        {"inf", "inf"},
        {"+inf", "+inf"},
        {"nan", "nan"},
        {"-.nan", "-.nan"},
        {".nAn", ".nAn"},
        {"0.0.0.0", "0.0.0.0"},
        {"10.100.0.0/16", "10.100.0.0/16"},
        {"v1.29", "v1.29"},
    });
}

TEST_CASE("base 60 and timestamps stay strings, as in go-yaml v2", "[config][nodeconfig][yaml11]") {
    check_values({
        {"1:20", "1:20"},
        {"190:20:30", "190:20:30"},
        {"-1:20", "-1:20"},
        {"2001-12-14", "2001-12-14"},
        {"2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"},
        {"2001-12-14 21:59:43.10", "2001-12-14 21:59:43.10"},
        {"<<", "<<"},
    });
}

TEST_CASE("explicit tags ask for a type", "[config][nodeconfig][yaml11]") {
    check_values({
        {"!!int \"5\"", 5},
        {"!!int 0x10", 16},
        {"!!float 1", 1},
        {"!!float 1.5", 1.5},
        {"!!bool \"yes\"", true},
        {"!!bool off", false},
        {"!!null \"\"", nullptr},
        {"!!null ~", nullptr},
        {"! 5", "5"},
        {"!custom yes", "yes"},
        {"!!timestamp 2001-12-14", "2001-12-14"},
        {"!!binary aGVsbG8=", "hello"},
    });
    CHECK(yaml11_problem("      x: !!int yes\n") == "spec.kubelet.config.x: cannot decode !!bool `yes` as a !!int");
    CHECK(yaml11_problem("      x: !!bool 1\n") == "spec.kubelet.config.x: cannot decode !!int `1` as a !!bool");
    CHECK(yaml11_problem("      x: !!null x\n") == "spec.kubelet.config.x: cannot decode !!str `x` as a !!null");
    CHECK(yaml11_problem("      x: !!float 18446744073709551615\n") ==
          "spec.kubelet.config.x: cannot decode !!int `18446744073709551615` as a !!float");
    CHECK(yaml11_problem("      x: !!binary /w==\n") ==
          "spec.kubelet.config.x: !!binary data is not UTF-8 text, which JSON cannot carry");
}

TEST_CASE("infinities and NaN resolve but have no JSON form", "[config][nodeconfig][yaml11]") {
    for (const char* v : {".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.INF", ".nan", ".NaN", ".NAN"}) {
        INFO(v);
        CHECK(yaml11_problem(fmt::format("      x: {}\n", v)) ==
              "spec.kubelet.config.x: infinite and NaN numbers have no JSON form");
    }
}

TEST_CASE("mapping keys resolve too and become strings as sigs.k8s.io/yaml makes them",
          "[config][nodeconfig][yaml11]") {
    struct KeyCase {
        std::string yaml, key;
    };
    // clang-format off
    for (const KeyCase& c : std::vector<KeyCase>{
             {"yes", "true"}, {"No", "false"}, {"on", "true"}, {"\"yes\"", "yes"}, {"'on'", "on"},
             {"1", "1"}, {"-1", "-1"}, {"0x10", "16"}, {"0755", "493"}, {"1_000", "1000"},
             {"9223372036854775807", "9223372036854775807"},
             // floats: Go's %g of the value rounded to float32
             {"1.5", "1.5"}, {"1e3", "1000"}, {"1.0", "1"}, {"100000.0", "100000"}, {"1e6", "1e+06"},
             {"0.0001", "0.0001"}, {"0.00001", "1e-05"}, {"1e-7", "1e-07"}, {"3.14159265358979", "3.1415927"},
             {"123456789.0", "1.2345679e+08"}, {"0.0", "0"}, {"-0.0", "-0"}, {"1e40", ".inf"},
             {".inf", ".inf"}, {"+.INF", ".inf"}, {"-.inf", "-.inf"}, {".NaN", ".nan"},
             {"2001-12-14", "2001-12-14"}, {"'~'", "~"}, {"memory.available", "memory.available"},
         }) {
        // clang-format on
        INFO(c.yaml);
        CHECK(key_of(c.yaml) == c.key);
    }
    CHECK(yaml11_problem("      ~: 1\n") == "spec.kubelet.config: a null mapping key has no JSON form");
    CHECK(yaml11_problem("      null: 1\n") == "spec.kubelet.config: a null mapping key has no JSON form");
    CHECK(yaml11_problem("      9223372036854775808: 1\n") ==
          "spec.kubelet.config: mapping key 9223372036854775808 is beyond int64, which nodeadm's YAML decoder "
          "refuses too");
    // two spellings of one key are still one key given twice
    CHECK(yaml11_problem("      yes: 1\n      true: 2\n") == "spec.kubelet.config.true: duplicate key");
}

TEST_CASE("<< merges mappings where it stands, as go-yaml v2 does", "[config][nodeconfig][yaml11]") {
    json config = spec_of(R"(  kubelet:
    config:
      base: &base {a: 1, b: 2}
      over: &over {b: 3, c: 4}
      after: {<<: *base, b: 9}
      before: {b: 9, <<: *base}
      list: {<<: [*over, *base]}
      inline: {<<: {d: yes}}
      quoted: {"<<": 1}
      tagged: {!!merge <<: *over}
)")["kubelet"]["config"];
    CHECK(config["after"] == json::parse(R"({"a": 1, "b": 9})"));
    CHECK(config["before"] == json::parse(R"({"b": 2, "a": 1})"));        // the merge came later
    CHECK(config["list"] == json::parse(R"({"a": 1, "b": 3, "c": 4})"));  // the first mapping wins
    CHECK(config["inline"] == json::parse(R"({"d": true})"));
    CHECK(config["quoted"] == json::parse(R"({"<<": 1})"));
    CHECK(config["tagged"] == json::parse(R"({"b": 3, "c": 4})"));
    CHECK(yaml11_problem("      x: {<<: 1}\n") ==
          "spec.kubelet.config.x.<<: map merge requires map or sequence of maps as the value");
    CHECK(yaml11_problem("      x: {<<: [{a: 1}, 2]}\n") ==
          "spec.kubelet.config.x.<<: map merge requires map or sequence of maps as the value");
}

TEST_CASE("JSON and TOML are not YAML: yes and 0755 mean nothing special there", "[config][nodeconfig][yaml11]") {
    auto from_json = fragments_from_nodeconfig(
        R"({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
            "spec": {"kubelet": {"config": {"a": "yes", "b": 10, "c": 1.0}}}})",
        "json");
    REQUIRE(from_json.size() == 1);
    CHECK(from_json[0].spec["kubelet"]["config"]["a"] == "yes");
    CHECK(from_json[0].spec["kubelet"]["config"]["c"].is_number_float());
    input::Fragment toml = fragment_from_toml("[kubelet.config]\na = \"yes\"\nb = 0o755\n", "toml");
    CHECK(toml.spec["kubelet"]["config"]["a"] == "yes");
    CHECK(toml.spec["kubelet"]["config"]["b"] == 493);
}

TEST_CASE("a NodeConfig written for nodeadm with yes/no/on/off works end to end", "[config][nodeconfig][yaml11]") {
    // user data as nodeadm users write it: YAML 1.1 booleans and a hex number,
    // in typed fields and in the free-form kubelet.config and baseRuntimeSpec
    std::string user_data = test::nodeconfig_yaml(R"(    enableOutpost: no
  kubelet:
    config:
      serializeImagePulls: no
      registryBurst: 0x14
      featureGates:
        DisableKubeletCloudCredentialProviders: on
    flags: ["--node-labels=team=yes"]
  containerd:
    baseRuntimeSpec:
      process:
        noNewPrivileges: Yes
      annotations: {"example.com/on": "yes", "off": 'no'}
  featureGates:
    InstanceIdNodeName: yes
    FastImagePull: off
)");

    test::TempRoot r;
    r.write("/sys/devices/system/cpu/online", "0-1\n");
    r.write("/etc/eks/kubelet-version.txt", "v1.31.0\n");
    // as base64, the way EC2 user data often arrives
    json cfg = resolve::resolve_config({r.paths(), test::conformance_instance(), test::base64(user_data)});

    const json& spec = cfg["spec"];
    CHECK(spec["cluster"]["enableOutpost"] == false);
    CHECK(spec["kubelet"]["config"]["serializeImagePulls"] == false);
    CHECK(spec["kubelet"]["config"]["registryBurst"] == 20);
    CHECK(spec["kubelet"]["config"]["featureGates"]["DisableKubeletCloudCredentialProviders"] == true);
    CHECK(spec["kubelet"]["flags"] == json::parse(R"(["--node-labels=team=yes"])"));
    CHECK(spec["containerd"]["baseRuntimeSpec"]["process"]["noNewPrivileges"] == true);
    // quoted keys and values stay strings
    CHECK(spec["containerd"]["baseRuntimeSpec"]["annotations"] ==
          json::parse(R"({"example.com/on": "yes", "off": "no"})"));
    CHECK(spec["featureGates"] == json::parse(R"({"InstanceIdNodeName": true, "FastImagePull": false})"));
    // the gate took effect: the node is named after its instance ID
    CHECK(cfg["derived"]["nodeName"] == "i-1234567890abcdef0");

    // and kubelet reads the booleans and numbers as such, from the user drop-in
    render_kubelet(cfg, r.paths());
    json dropin = json::parse(read_file(r.dir / "etc/kubernetes/kubelet/config.json.d/40-user.conf"));
    CHECK(dropin["serializeImagePulls"] == false);
    CHECK(dropin["registryBurst"] == 20);
    CHECK(dropin["featureGates"]["DisableKubeletCloudCredentialProviders"] == true);
}

// Out-of-range numbers found with UBSan: an exponent near LONG_MAX overflowed
// the float reader's arithmetic, and maxPods: 10e9223372036854775807 became 0.
// Go's ParseFloat saturates: too large is ErrRange (go-yaml then keeps the
// text a string, which an integer field refuses), too small is 0.
TEST_CASE("huge exponents saturate: too large stays text, too small is 0", "[config][yaml11]") {
    auto resolved = [](std::string_view text) {
        return format::yaml_scalar::to_value(format::yaml_scalar::resolve(text, "?", "t", "x"), "t", "x");
    };
    for (std::string_view text :
         {"10e9223372036854775807", "1e9223372036854775807", "-1e9223372036854775807", ".1e9223372036854775807",
          "0.001e9223372036854775807", "1e99999999999999999999999", "1_0e9223372036854775807"}) {
        INFO(text);
        CHECK(resolved(text) == json(std::string(text)));
    }
    for (std::string_view text : {"1e-9223372036854775808", "0.01e-9223372036854775808", "100e-9223372036854775807",
                                  "1e-99999999999999999999999", ".5e-9223372036854775808"}) {
        INFO(text);
        json v = resolved(text);
        CHECK(v == 0);
        CHECK(v.is_number_integer());
    }
    // and so, where an integer is wanted, a type error rather than 0
    CHECK(value_of("10e9223372036854775807") == "10e9223372036854775807");
}

// The integer readers check every multiplication before it is made; each
// form at the edge of 64 bits, and one past it.
TEST_CASE("integers at the edge of 64 bits, in every base", "[config][yaml11]") {
    check_values({
        {"0xFFFF_FFFF_FFFF_FFFF", 18446744073709551615ULL},
        {"0x1_0000_0000_0000_0000", "0x1_0000_0000_0000_0000"},
        {"-0x8000000000000000", std::numeric_limits<int64_t>::min()},
        {"-0x8000000000000001", "-0x8000000000000001"},
        {"0o1777777777777777777777", 18446744073709551615ULL},
        {"0o2000000000000000000000", "0o2000000000000000000000"},
        {"01777777777777777777777", 18446744073709551615ULL},
        {"02000000000000000000000", 2e21},  // beyond uint64 a decimal float, as in Go
        {"0b" + std::string(64, '1'), 18446744073709551615ULL},
        {"0b1" + std::string(64, '0'), "0b1" + std::string(64, '0')},
        {"-0b1" + std::string(63, '0'), std::numeric_limits<int64_t>::min()},
        {"-0b1" + std::string(64, '0'), "-0b1" + std::string(64, '0')},
        {"18_446_744_073_709_551_615", 18446744073709551615ULL},
        {"18_446_744_073_709_551_616", 18446744073709551616.0},
        {"-9_223_372_036_854_775_809", -9223372036854775809.0},
        {"1" + std::string(400, '0'), "1" + std::string(400, '0')},  // beyond a double: text
        // base 60 is text in go-yaml v2, however large
        {"1:20:30", "1:20:30"},
        {"9223372036854775807:59:59", "9223372036854775807:59:59"},
    });
}
