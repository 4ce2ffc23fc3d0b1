// SPDX-License-Identifier: Apache-2.0
// Cluster DNS from the service CIDR, IP family, API server host, sandbox image.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/error.hpp"
#include "derive/derive.hpp"
#include "derive/internal.hpp"

using namespace eksnode;
using namespace eksnode::derive;

TEST_CASE("cluster DNS is the network address + 10", "[derive][cluster-dns]") {
    struct Case {
        const char* cidr;
        const char* dns;
    };
    const Case cases[] = {
        {"10.100.0.0/16", "10.100.0.10"},
        {"172.20.0.0/16", "172.20.0.10"},
        {"10.96.0.0/12", "10.96.0.10"},
        {"172.16.0.0/12", "172.16.0.10"},
        {"10.0.0.0/8", "10.0.0.10"},
        {"0.0.0.0/0", "0.0.0.10"},
        {"192.168.1.128/25", "192.168.1.138"},
        {"10.1.2.240/28", "10.1.2.250"},
        // Host bits set: the network address counts, not the text (nodeadm would say 10.100.5.10).
        {"10.100.5.7/16", "10.100.0.10"},
        {"10.100.0.0/13", "10.96.0.10"},
        {"10.100.0.0/20", "10.100.0.10"},
        {"10.100.31.0/19", "10.100.0.10"},
        // IPv6: + 0xa, printed in canonical form.
        {"fd00::/108", "fd00::a"},
        {"fd12:3456:789a::/108", "fd12:3456:789a::a"},
        {"2600:1f14:abcd:ef00::/56", "2600:1f14:abcd:ef00::a"},
        {"fd00::1234/108", "fd00::a"},
        {"FD00:0:0:0:0:0:0:0/108", "fd00::a"},
        {"fd00::ff:ffff/104", "fd00::a"},
    };
    for (const Case& c : cases) {
        INFO(c.cidr);
        CHECK(cluster_dns_from_cidr(c.cidr) == c.dns);
    }
}

TEST_CASE("a malformed service CIDR is a config error", "[derive][cluster-dns]") {
    const char* bad[] = {"10.100.0.0", "10.100.0.0/33", "fd00::/129", "10.100.0/16", "10.100.0.0/1a",
                         "",           "abc/16",        "10.100.0.0/", "10.100.0.0/ 16", "10.100.0.0/1000"};
    for (const char* cidr : bad) {
        INFO(cidr);
        try {
            cluster_dns_from_cidr(cidr);
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(e.field() == "spec.cluster.cidr");
            CHECK_THAT(e.problem(), Catch::Contains("is not a CIDR"));
        }
    }
    CHECK_THROWS_WITH(cluster_dns_from_cidr("10.1.2.0/29"), Catch::Contains("too small to hold the cluster DNS"));
    CHECK_THROWS_WITH(cluster_dns_from_cidr("fd00::/125"), Catch::Contains("too small"));
}

TEST_CASE("IP family follows the service CIDR", "[derive][cluster-dns]") {
    CHECK(derive::detail::cidr_family("10.100.0.0/16") == derive::detail::IpFamily::ipv4);
    CHECK(derive::detail::cidr_family("fd00::/108") == derive::detail::IpFamily::ipv6);
    CHECK_THROWS_AS(derive::detail::cidr_family("nope"), ConfigError);
}

TEST_CASE("API server host is the URL's host without port or brackets", "[derive][api-server]") {
    using derive::detail::url_host;
    CHECK(url_host("https://example.com") == "example.com");
    CHECK(url_host("https://ABC123.gr7.us-west-2.eks.amazonaws.com:443/path?q#f") ==
          "ABC123.gr7.us-west-2.eks.amazonaws.com");
    CHECK(url_host("https://user:pw@host.internal:6443") == "host.internal");
    CHECK(url_host("https://[fd00::1]:6443/") == "fd00::1");
    CHECK(url_host("https://10.0.0.1") == "10.0.0.1");
    CHECK(url_host("example.com:443") == "example.com");
    CHECK(url_host("https://").empty());
    CHECK(url_host("https://[fd00::1").empty());
}

TEST_CASE("sandbox image from the regional EKS registry", "[derive][sandbox-image]") {
    CHECK(sandbox_image("us-west-2", "amazonaws.com", false) ==
          "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10");
    CHECK(sandbox_image("af-south-1", "amazonaws.com", false) ==
          "877085696533.dkr.ecr.af-south-1.amazonaws.com/eks/pause:3.10");
    CHECK(sandbox_image("cn-north-1", "amazonaws.com.cn", false) ==
          "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn/eks/pause:3.10");
    CHECK(sandbox_image("us-isob-west-1", "sc2s.sgov.gov", false) ==
          "321162350305.dkr.ecr.us-isob-west-1.sc2s.sgov.gov/eks/pause:3.10");
    CHECK(sandbox_image("eusc-de-east-1", "amazonaws.eu", false) ==
          "877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu/eks/pause:3.10");
}

TEST_CASE("sandbox image of a region without a registry comes from its partition's", "[derive][sandbox-image]") {
    struct Case {
        const char* region;
        const char* account;
        const char* registry_region;
    };
    const Case cases[] = {
        {"cn-south-9", "961992271922", "cn-northwest-1"},
        {"us-gov-central-1", "013241004608", "us-gov-west-1"},
        {"us-iso-north-9", "725322719131", "us-iso-east-1"},
        {"us-isob-north-9", "187977181151", "us-isob-east-1"},   // not the shorter us-iso- row
        {"us-isof-west-9", "676585237158", "us-isof-south-1"},
        {"eu-isoe-north-1", "249663109785", "eu-isoe-west-1"},
        {"eusc-fr-west-1", "877088126301", "eusc-de-east-1"},
        {"mars-east-1", "602401143452", "us-west-2"},
    };
    for (const Case& c : cases) {
        INFO(c.region);
        derive::detail::SandboxImageChoice s = derive::detail::choose_sandbox_image(c.region, "example.net", false);
        CHECK(s.fallback);
        CHECK(s.account == c.account);
        CHECK(s.registry_region == c.registry_region);
        CHECK(s.image == fmt::format("{}.dkr.ecr.{}.example.net/eks/pause:3.10", c.account, c.registry_region));
    }
    CHECK_FALSE(derive::detail::choose_sandbox_image("us-west-2", "amazonaws.com", false).fallback);
}

TEST_CASE("sandbox image with FIPS uses ecr-fips where ECR has a FIPS endpoint", "[derive][sandbox-image]") {
    CHECK(sandbox_image("us-east-1", "amazonaws.com", true) ==
          "602401143452.dkr.ecr-fips.us-east-1.amazonaws.com/eks/pause:3.10");
    CHECK(sandbox_image("us-gov-west-1", "amazonaws.com", true) ==
          "013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/eks/pause:3.10");
    CHECK(sandbox_image("eu-west-1", "amazonaws.com", true) ==
          "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/pause:3.10");
    // The registry's region decides, not the node's.
    CHECK(sandbox_image("mars-east-1", "amazonaws.com", true) ==
          "602401143452.dkr.ecr-fips.us-west-2.amazonaws.com/eks/pause:3.10");
}

TEST_CASE("AL2's service CIDR from the VPC: 172.20.0.0/16 beside a 10.x VPC, else 10.100.0.0/16",
          "[derive][cluster-dns][al2]") {
    struct Case {
        std::vector<std::string> vpc;
        const char* cidr;
        const char* dns;
    };
    const Case cases[] = {
        {{"10.0.0.0/16"}, "172.20.0.0/16", "172.20.0.10"},
        {{"10.100.0.0/16"}, "172.20.0.0/16", "172.20.0.10"},
        {{"10.0.0.0/8"}, "172.20.0.0/16", "172.20.0.10"},
        {{"192.168.0.0/16"}, "10.100.0.0/16", "10.100.0.10"},
        {{"172.31.0.0/16"}, "10.100.0.0/16", "10.100.0.10"},
        {{"172.16.0.0/12"}, "10.100.0.0/16", "10.100.0.10"},
        // 100.x, 11.x and 110.x are not 10.0.0.0/8, however they read
        {{"100.64.0.0/16"}, "10.100.0.0/16", "10.100.0.10"},
        {{"11.0.0.0/16", "110.0.0.0/16"}, "10.100.0.0/16", "10.100.0.10"},
        // several blocks (a secondary CIDR added to the VPC): any in 10.0.0.0/8 decides, in any position
        {{"172.31.0.0/16", "10.1.0.0/16"}, "172.20.0.0/16", "172.20.0.10"},
        {{"10.1.0.0/16", "100.64.0.0/16"}, "172.20.0.0/16", "172.20.0.10"},
        {{"192.168.0.0/16", "100.64.0.0/10"}, "10.100.0.0/16", "10.100.0.10"},
    };
    for (const Case& c : cases) {
        INFO(fmt::format("{}", fmt::join(c.vpc, ", ")));
        std::optional<VpcServiceCidr> got = service_cidr_from_vpc(c.vpc);
        REQUIRE(got);
        CHECK(got->cidr == c.cidr);
        CHECK(cluster_dns_from_cidr(got->cidr) == c.dns);
    }
    // the reason names what decided
    CHECK(service_cidr_from_vpc({"172.31.0.0/16", "10.1.0.0/16"})->because ==
          "VPC CIDR 10.1.0.0/16 lies in 10.0.0.0/8");
    CHECK(service_cidr_from_vpc({"192.168.0.0/16", "100.64.0.0/10"})->because ==
          "no VPC CIDR lies in 10.0.0.0/8 (192.168.0.0/16, 100.64.0.0/10)");
}

TEST_CASE("AL2's service CIDR from the VPC needs a VPC CIDR to go by", "[derive][cluster-dns][al2]") {
    CHECK_FALSE(service_cidr_from_vpc(std::vector<std::string>{}));
    CHECK_FALSE(service_cidr_from_vpc(std::vector<std::string>{"not a CIDR", ""}));
    // from instance.json, as eks-node-imds writes it
    json instance = {{"vpcIpv4CidrBlocks", {"10.20.0.0/16"}}};
    CHECK(service_cidr_from_instance(instance)->cidr == "172.20.0.0/16");
    CHECK_FALSE(service_cidr_from_instance(json{{"vpcIpv4CidrBlocks", json::array()}}));
    CHECK_FALSE(service_cidr_from_instance(json::object()));  // an instance.json of an older eks-node-imds
}
