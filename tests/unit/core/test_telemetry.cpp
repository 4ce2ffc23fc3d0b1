// SPDX-License-Identifier: Apache-2.0
#include <algorithm>

#include <catch2/catch.hpp>

#include "core/systemd.hpp"
#include "core/telemetry.hpp"

using namespace eksnode;

TEST_CASE("telemetry counts requests and retries by API, in order of first use", "[core][telemetry]") {
    telemetry::reset();
    telemetry::count_request("imds", false);
    telemetry::count_request("ec2", false);
    telemetry::count_request("imds", true);
    telemetry::count_request("imds", false);
    const auto& c = telemetry::calls();
    REQUIRE(c.size() == 2);
    CHECK(c[0].api == "imds");
    CHECK(c[0].requests == 3);
    CHECK(c[0].retries == 1);
    CHECK(c[1].api == "ec2");
    CHECK(c[1].requests == 1);
    CHECK(c[1].retries == 0);
    CHECK(telemetry::to_json(c).dump() == R"({"imds":{"requests":3,"retries":1},"ec2":{"requests":1,"retries":0}})");
    telemetry::reset();
    CHECK(telemetry::calls().empty());
    CHECK(telemetry::to_json(telemetry::calls()).dump() == "{}");
}

TEST_CASE("telemetry reads back what it wrote, and nothing else", "[core][telemetry]") {
    auto back = telemetry::from_json(R"({"imds":{"requests":9,"retries":2},"eks":{"requests":1,"retries":0}})");
    REQUIRE(back);
    REQUIRE(back->size() == 2);
    CHECK((*back)[0].api == "imds");
    CHECK((*back)[0].requests == 9);
    CHECK((*back)[0].retries == 2);
    CHECK((*back)[1].api == "eks");
    CHECK(telemetry::from_json("{}") == std::optional<std::vector<telemetry::Calls>>(std::vector<telemetry::Calls>{}));

    // the journal takes entries from any local process: a forged or cut one is ignored
    for (const char* bad :
         {"", "{", "[]", "3", R"({"imds":3})", R"({"imds":{"requests":1}})", R"({"imds":{"requests":-1,"retries":0}})",
          R"({"imds":{"requests":1.5,"retries":0}})", R"({"imds":{"requests":1,"retries":2}})",
          R"({"imds":{"requests":"1","retries":0}})", R"({"imds":{"requests":99999999999,"retries":0}})",
          R"({"":{"requests":1,"retries":0}})", R"({"IMDS":{"requests":1,"retries":0}})",
          R"({"a\"b":{"requests":1,"retries":0}})", R"({"a}b":{"requests":1,"retries":0}})"}) {
        INFO(bad);
        CHECK_FALSE(telemetry::from_json(bad));
    }
}

TEST_CASE("telemetry refuses a field over its bounds: 64 KiB, 64 APIs", "[core][telemetry]") {
    // written out, not built as a json object: that would cost the scan per name this is about
    auto names = [](size_t n) {
        std::string out = "{";
        for (size_t i = 0; i < n; ++i)
            out += (i ? ",\"a" : "\"a") + std::to_string(i) + R"(":{"requests":1,"retries":0})";
        return out + "}";
    };
    auto at_bound = telemetry::from_json(names(telemetry::max_apis));
    REQUIRE(at_bound);
    CHECK(at_bound->size() == telemetry::max_apis);
    CHECK_FALSE(telemetry::from_json(names(telemetry::max_apis + 1)));
    // issue 34: a forged 5.5 MB field of 100,000 names, read and summed by
    // status and telemetry with a scan per name, took minutes; it is refused
    // on its size, before it is parsed
    std::string forged = names(100000);
    REQUIRE(forged.size() > 3'000'000);
    CHECK_FALSE(telemetry::from_json(forged));
    // valid JSON of the right shape, padded past the bound with blanks
    std::string padded = R"({"imds":{"requests":1,"retries":0}})" + std::string(telemetry::max_field_bytes, ' ');
    CHECK(telemetry::from_json(padded.substr(0, telemetry::max_field_bytes)));
    CHECK_FALSE(telemetry::from_json(padded));
}

TEST_CASE("status reads a run's journal entries only from uid 0 and that run", "[core][telemetry]") {
    // issue 34: any local user could log MESSAGE_ID=, PRIORITY=, EKS_NODE_CALLS=
    // and OBJECT_SYSTEMD_UNIT= and have status and telemetry show them
    auto groups = sd::journal_match_groups("eks-node-imds.service", "0123456789abcdef0123456789abcdef", {"PRIORITY=3"});
    REQUIRE(groups.size() == 2);
    for (const auto& g : groups) {
        auto has = [&](const std::string& m) { return std::find(g.begin(), g.end(), m) != g.end(); };
        CHECK(has("_UID=0"));
        CHECK(has("PRIORITY=3"));
    }
    CHECK(std::find(groups[0].begin(), groups[0].end(), "_SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef") !=
          groups[0].end());
    CHECK(std::find(groups[1].begin(), groups[1].end(),
                    "OBJECT_SYSTEMD_INVOCATION_ID=0123456789abcdef0123456789abcdef") != groups[1].end());
    // without a run there is no answer at all, rather than any run's
    CHECK_FALSE(sd::last_error_line("eks-node-imds.service", ""));
    CHECK_FALSE(sd::run_field("eks-node-imds.service", "", telemetry::calls_field));
}
