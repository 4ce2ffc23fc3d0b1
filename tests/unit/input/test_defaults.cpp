// SPDX-License-Identifier: Apache-2.0
// What EKS and kubelet take when configuration is silent (input/defaults.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "core/error.hpp"
#include "derive/derive.hpp"
#include "input/defaults.hpp"

using namespace eksnode;
using namespace eksnode::input;
using namespace eksnode::derive;

TEST_CASE("kubelet's default max pods is 110, also derive's fallback", "[config][defaults]") {
    STATIC_REQUIRE(input::defaults::kubelet_max_pods == 110);
    STATIC_REQUIRE(fallback_max_pods == input::defaults::kubelet_max_pods);
}

TEST_CASE("the cluster DNS address is the service CIDR's network + 10", "[config][defaults][cluster-dns]") {
    CHECK(input::defaults::cluster_dns("10.100.0.0/16") == "10.100.0.10");
    CHECK(input::defaults::cluster_dns("172.20.0.0/16") == "172.20.0.10");
    CHECK(input::defaults::cluster_dns("10.1.2.240/28") == "10.1.2.250");
    CHECK(input::defaults::cluster_dns("10.100.5.7/16") == "10.100.0.10");  // the network counts, not the text
    CHECK(input::defaults::cluster_dns("10.100.31.0/19") == "10.100.0.10");
    CHECK(input::defaults::cluster_dns("0.0.0.0/0") == "0.0.0.10");
    CHECK(input::defaults::cluster_dns("fd00::ff:ffff/104") == "fd00::a");
    CHECK(input::defaults::cluster_dns("FD00:0:0:0:0:0:0:0/108") == "fd00::a");
    CHECK(input::defaults::cluster_dns("2600:1f14:abcd:ef00::/56") == "2600:1f14:abcd:ef00::a");
    CHECK_THROWS_WITH(input::defaults::cluster_dns("10.1.2.0/29"),
                      Catch::EndsWith("\"10.1.2.0/29\" is too small to hold the cluster DNS address (network + 10)"));
    for (const char* bad : {"10.100.0.0", "10.100.0.0/33", "fd00::/129", "10.100.0/16", "10.100.0.0/1a", "", "abc/16",
                            "10.100.0.0/", "10.100.0.0/ 16", "10.100.0.0/1000", "10.100.0.0/+16"}) {
        INFO(bad);
        try {
            input::defaults::cluster_dns(bad);
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(e.source().empty());
            CHECK(e.field() == "spec.cluster.cidr");
            CHECK_THAT(e.problem(), Catch::StartsWith("\"" + std::string(bad) + "\" is not a CIDR: "));
        }
    }
}
