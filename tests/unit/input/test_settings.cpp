// SPDX-License-Identifier: Apache-2.0
// Every step that reads a [settings] fragment gives it the same verdict: the
// same static fragments are fed to eks-node-imds's reader, to eks-node-config
// (validation, then the AWS API factory that reads settings.aws and
// settings.imds again) and to the generator, and all must accept or refuse
// alike, naming the same field. Issue 15: deadline = "1m30s" passed
// eks-node-imds and then stopped eks-node-config with exit 6.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <optional>
#include <string>
#include <vector>

#include "aws/api.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "generator/generator.hpp"
#include "imds/imds.hpp"
#include "input/fragments.hpp"
#include "input/settings.hpp"
#include "resolve/resolve.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using namespace eksnode::imds;
using eksnode::resolve::resolve_config;
using eksnode::resolve::ResolveInput;

namespace {

using test::TempRoot;

// What one step made of the fragments: nullopt if it accepted them, else the
// field its ConfigError named (the generator names none: it only warns).
using Verdict = std::optional<std::string>;

std::string shown(const Verdict& v) { return v ? "refused (" + *v + ")" : "accepted"; }

void setup_root(const TempRoot& r, const std::vector<std::string>& fragments) {
    r.write("/sys/devices/system/cpu/online", "0-1\n");
    r.write("/etc/eks/kubelet-version.txt", "v1.29.0\n");
    for (size_t i = 0; i < fragments.size(); ++i)
        r.write(fmt::format("/etc/eks-node/node.toml.d/{}-case.toml", 20 + i), fragments[i]);
}

// eks-node-imds, as its step reads the static fragments.
Verdict imds_step(const Paths& p) {
    try {
        imds_options(json{{"imds", static_settings_table(p, "imds")}}, "");
        return std::nullopt;
    } catch (const ConfigError& e) {
        return e.field();
    }
}

// eks-node-config: the whole resolution, with the API factory of the real
// step run for the settings it reads (its lookups are then stubbed, so no
// request is made).
Verdict config_step(const Paths& p) {
    std::string user_data = read_file(test::source_path("tests/conformance/03-kubeconfig/nodeconfig.yaml"));
    ResolveInput in{p, test::conformance_instance(), user_data};
    in.api = [](const json& spec, const json& settings, const json& instance, const derive::MachineFacts& machine) {
        aws::make_api_lookups(spec, settings, instance, machine);
        return derive::ApiLookups{};
    };
    try {
        resolve_config(in);
        return std::nullopt;
    } catch (const ConfigError& e) {
        return e.field();
    }
}

// The generator reads settings.enable and settings.logLevel from the static
// fragments (config.json is ignored here) and ignores them all, with a
// warning, when the fragments are refused.
Verdict generator_step(const Paths& p) {
    generator::GeneratorPlan plan = generator::plan_units(p, "", generator::ConfigJson::ignore);
    for (const auto& m : plan.messages)
        if (m.text.find("ignoring the static settings") != std::string::npos) return std::string("(static settings)");
    return std::nullopt;
}

struct SettingsCase {
    std::vector<std::string> fragments;
    Verdict expected;  // what every step reading them must say
};

enum Grammar { accepted, refused, not_toml };

// Durations, one grammar (eks-node.toml(5) FIELDS): an integer number of
// seconds, or a string of a positive integer and one unit (ms, s, m, h); from
// 1 ms to 24 h.
const std::vector<std::pair<std::string, Grammar>> durations = {
    {"90", accepted},
    {"\"500ms\"", accepted},
    {"\"90s\"", accepted},
    {"\"2m\"", accepted},
    {"\"24h\"", accepted},
    {"\"1440m\"", accepted},
    {"86400", accepted},
    {"\"1ms\"", accepted},
    {"\"1m30s\"", refused},
    {"\"1m 30s\"", refused},
    {"\"90\"", refused},
    {"\"0\"", refused},
    {"0", refused},
    {"-1", refused},
    {"\"-1s\"", refused},
    {"\"25h\"", refused},
    {"\"1441m\"", refused},
    {"86401", refused},
    {"\"abc\"", refused},
    {"\"\"", refused},
    {"1e300", refused},
    {"1.5", refused},
    {"\"1.5s\"", refused},
    {"\"2min\"", refused},
    {"\"5sec\"", refused},
    {"\" 5s\"", refused},
    {"\"5s \"", refused},
    {"\"5S\"", refused},
    {"\"+5s\"", refused},
    {"true", refused},
    {"[5]", refused},
    {"{ s = 5 }", refused},
    {"9223372036854775807", refused},
    {"\"99999999999999999999s\"", refused},
    // toml++ refuses the file: every step stops at its syntax error, naming no field.
    {"1e400", not_toml},
};

std::vector<SettingsCase> cases() {
    std::vector<SettingsCase> out;
    for (const auto& [value, grammar] : durations) {
        for (std::string table : {"imds", "aws"}) {
            for (std::string key : {"deadline", "requestTimeout"}) {
                Verdict expected = grammar == accepted  ? Verdict()
                                   : grammar == refused ? Verdict("settings." + table + "." + key)
                                                        : Verdict("");
                out.push_back({{fmt::format("[settings.{}]\n{} = {}\n", table, key, value)}, expected});
            }
        }
    }
    auto add = [&](std::vector<std::string> fragments, const char* field) {
        out.push_back({std::move(fragments), field ? Verdict(field) : Verdict()});
    };
    // One request may not outlast the deadline, wherever the two are set.
    add({"[settings.imds]\ndeadline = \"5s\"\nrequestTimeout = \"5s\"\n"}, nullptr);
    add({"[settings.imds]\ndeadline = \"5s\"\nrequestTimeout = \"6s\"\n"}, "settings.imds.requestTimeout");
    add({"[settings.imds]\ndeadline = 5\n", "[settings.imds]\nrequestTimeout = \"5001ms\"\n"},
        "settings.imds.requestTimeout");
    // The endpoint is what the IMDS client can reach: http:// and an IP literal.
    add({"[settings.imds]\nendpoint = \"http://169.254.169.254\"\n"}, nullptr);
    add({"[settings.imds]\nendpoint = \"http://[fd00:ec2::254]:80/\"\n"}, nullptr);
    add({"[settings.imds]\nendpoint = \"https://169.254.169.254\"\n"}, "settings.imds.endpoint");
    add({"[settings.imds]\nendpoint = \"http://instance-data\"\n"}, "settings.imds.endpoint");
    add({"[settings.imds]\nendpoint = \"http://10.0.0.1/?q\"\n"}, "settings.imds.endpoint");
    add({"[settings.imds]\nendpoint = 5\n"}, "settings.imds.endpoint");
    add({"[settings.imds]\nendpointMode = \"ipv6\"\n"}, nullptr);
    add({"[settings.imds]\nendpointMode = \"IPv4\"\n"}, "settings.imds.endpointMode");
    add({"[settings.imds]\nendpointMode = 4\n"}, "settings.imds.endpointMode");
    add({"[settings.imds]\ntimeout = 5\n"}, "settings.imds.timeout");
    add({"[settings]\nimds = 5\n"}, "settings.imds");
    add({"[settings.aws]\nregion = \"us-east-1\"\n"}, "settings.aws.region");
    add({"[settings]\naws = \"fast\"\n"}, "settings.aws");
    // Attempts of one API request (AWS_MAX_ATTEMPTS in TOML).
    add({"[settings.aws]\nmaxAttempts = 1\n"}, nullptr);
    add({"[settings.aws]\nmaxAttempts = 1000\n"}, nullptr);
    add({"[settings.aws]\nmaxAttempts = 0\n"}, "settings.aws.maxAttempts");
    add({"[settings.aws]\nmaxAttempts = 1001\n"}, "settings.aws.maxAttempts");
    add({"[settings.aws]\nmaxAttempts = -3\n"}, "settings.aws.maxAttempts");
    add({"[settings.aws]\nmaxAttempts = \"3\"\n"}, "settings.aws.maxAttempts");
    add({"[settings.aws]\nmaxAttempts = 3.0\n"}, "settings.aws.maxAttempts");
    add({"[settings.aws]\nmaxAttempts = 9223372036854775807\n"}, "settings.aws.maxAttempts");
    // The generator's own keys.
    add({"[settings]\nlogLevel = \"debug\"\n"}, nullptr);
    add({"[settings]\nlogLevel = \"warn\"\n"}, "settings.logLevel");
    add({"[settings]\nenable = \"yes\"\n"}, "settings.enable");
    return out;
}

}  // namespace

TEST_CASE("every step accepts or refuses a [settings] fragment alike", "[settings]") {
    for (const SettingsCase& c : cases()) {
        TempRoot r;
        setup_root(r, c.fragments);
        INFO("fragments: " << fmt::format("{}", fmt::join(c.fragments, "---\n")));
        Verdict config = config_step(r.paths());
        Verdict gen = generator_step(r.paths());
        std::string expected = shown(c.expected);
        CHECK(shown(config) == expected);
        // The generator names no field; it only has to refuse what the config step refuses.
        CHECK(gen.has_value() == config.has_value());
        // eks-node-imds reads [settings.imds] alone.
        bool reads_imds = false;
        for (const std::string& f : c.fragments) reads_imds |= f.find("imds") != std::string::npos;
        if (reads_imds) CHECK(shown(imds_step(r.paths())) == expected);
    }
}

TEST_CASE("durations: one grammar, from JSON values TOML cannot write too", "[settings]") {
    using std::chrono::milliseconds;
    auto parse = [](const json& v) {
        std::string problem;
        std::optional<milliseconds> d = settings::parse_duration(v, problem);
        CHECK(d.has_value() == problem.empty());
        return d;
    };
    CHECK(parse(json(90)) == milliseconds{90'000});
    CHECK(parse(json(86400u)) == milliseconds{86'400'000});
    CHECK(parse(json("500ms")) == milliseconds{500});
    CHECK(parse(json("2m")) == milliseconds{120'000});
    CHECK(parse(json("24h")) == milliseconds{86'400'000});
    CHECK(parse(json("86400000ms")) == milliseconds{86'400'000});
    for (const json& bad : {json(std::numeric_limits<double>::infinity()), json(std::nan("")), json(1e300), json(90.0),
                            json(std::numeric_limits<uint64_t>::max()), json(std::numeric_limits<int64_t>::min()),
                            json("86400001ms"), json("18446744073709551617ms"), json(std::string("\xff") + "5s"),
                            json(nullptr), json::object(), json::array()}) {
        INFO(bad.dump(-1, ' ', false, json::error_handler_t::replace));
        CHECK_FALSE(parse(bad).has_value());
    }
    std::string problem;
    settings::parse_duration(json("1m30s"), problem);
    CHECK(problem == "expected " + std::string(settings::duration_expected) + ", got \"1m30s\"");
}

TEST_CASE("the settings readers name the source and the field; exit 6", "[settings]") {
    try {
        settings::read_aws(json{{"requestTimeout", "1m30s"}}, "/etc/eks-node/node.toml.d/90-admin.toml");
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "/etc/eks-node/node.toml.d/90-admin.toml");
        CHECK(e.field() == "settings.aws.requestTimeout");
        CHECK(e.exit_code() == EXIT_CONFIG);
    }
    // The rule between keys is for the merged table only: a later fragment may raise the deadline.
    json table = {{"deadline", "1s"}, {"requestTimeout", "2s"}};
    CHECK_NOTHROW(settings::read_imds(table, "f", settings::Table::fragment));
    CHECK_THROWS_AS(settings::read_imds(table, "f", settings::Table::merged), ConfigError);
    settings::ImdsSettings s =
        settings::read_imds(json{{"endpoint", "http://10.0.0.1:8080//"}, {"endpointMode", "ipv6"}, {"deadline", 30}},
                            "f", settings::Table::merged);
    CHECK(s.endpoint == "http://10.0.0.1:8080");
    CHECK(s.endpoint_mode == settings::EndpointMode::ipv6);
    CHECK(s.deadline == std::chrono::milliseconds{30'000});
    CHECK_FALSE(s.request_timeout.has_value());
}
