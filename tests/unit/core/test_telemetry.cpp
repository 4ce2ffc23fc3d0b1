// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

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
