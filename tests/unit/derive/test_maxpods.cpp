// SPDX-License-Identifier: Apache-2.0
// Max pods from the embedded ENI table. Expected numbers are computed by hand
// from ENIs * (IPs - 1) + 2 (and match nodeadm's eni-max-pods.txt).
#include <catch2/catch.hpp>

#include "derive/derive.hpp"
#include "derive/tables.hpp"

using namespace eksnode;
using namespace eksnode::derive;

namespace {

int standard_max_pods(std::string_view type) {
    std::optional<derive::EniLimits> l = eni_limits(type);
    REQUIRE(l);
    return max_pods_from_enis(*l, false, false);
}

// Reads like the settings it stands for: Options().prefixes(2).custom_networking().
struct Options {
    derive::MaxPodsOptions o;
    Options& prefixes(int vcpus) {
        o.prefix_delegation = true;
        o.vcpus = vcpus;
        return *this;
    }
    Options& custom_networking() {
        o.custom_networking = true;
        return *this;
    }
    Options& max_enis(int n) {
        o.max_enis = n;
        return *this;
    }
};

derive::MaxPodsValue for_type(std::string_view type, const Options& opts) {
    std::optional<derive::EniLimits> l = eni_limits(type);
    REQUIRE(l);
    return max_pods_for(type, *l, opts.o);
}

}  // namespace

TEST_CASE("max pods from the ENI table match hand-computed values", "[derive][max-pods]") {
    struct Case {
        const char* type;
        int enis, ips, max_pods;
    };
    const Case cases[] = {
        {"m4.xlarge", 4, 15, 58},       {"t3.nano", 2, 2, 4},          {"t3.micro", 2, 2, 4},
        {"t3.small", 3, 4, 11},         {"t3.medium", 3, 6, 17},       {"t2.micro", 2, 2, 4},
        {"m5.large", 3, 10, 29},        {"m5.xlarge", 4, 15, 58},      {"m5.24xlarge", 15, 50, 737},
        {"c5.4xlarge", 8, 30, 234},     {"c5.18xlarge", 15, 50, 737},  {"g4dn.xlarge", 3, 10, 29},
        {"p4d.24xlarge", 15, 50, 737},  {"p5.48xlarge", 2, 50, 100},   {"a1.medium", 2, 4, 8},
        {"c6g.medium", 2, 4, 8},        {"t4g.nano", 2, 2, 4},         {"x1e.xlarge", 3, 10, 29},
        {"i3.large", 3, 10, 29},        {"m5.metal", 15, 50, 737},     {"r5.2xlarge", 4, 15, 58},
        {"trn1.32xlarge", 5, 50, 247},  {"hpc7a.96xlarge", 2, 50, 100}, {"u-24tb1.metal", 15, 50, 737},
    };
    for (const Case& c : cases) {
        INFO(c.type);
        std::optional<derive::EniLimits> l = eni_limits(c.type);
        REQUIRE(l);
        CHECK(l->enis == c.enis);
        CHECK(l->ips_per_eni == c.ips);
        CHECK(max_pods_from_enis(*l, false, false) == c.max_pods);
        CHECK(max_pods_for(c.type, *l, {}).value == c.max_pods);
    }
}

TEST_CASE("the ENI table lookup is exact", "[derive][max-pods]") {
    CHECK_FALSE(eni_limits("m4.xlarg"));
    CHECK_FALSE(eni_limits("m4.xlargee"));
    CHECK_FALSE(eni_limits("M4.XLARGE"));
    CHECK_FALSE(eni_limits(""));
    CHECK_FALSE(eni_limits("zz9.plural"));
    // First and last rows, where an off-by-one in a binary search shows.
    CHECK(eni_limits(tables::instance_eni.front().instance_type));
    CHECK(eni_limits(tables::instance_eni.back().instance_type));
}

TEST_CASE("every table row gives a usable max pods within the expression limit", "[derive][max-pods][data]") {
    // Guards a data refresh: a zero or absurd row would reach kubelet unnoticed.
    REQUIRE(tables::instance_eni.size() > 1000);
    for (const tables::InstanceEni& row : tables::instance_eni) {
        INFO(row.instance_type);
        derive::EniLimits l{row.default_max_enis, row.ipv4_addresses_per_eni};
        CHECK(l.enis >= 1);
        CHECK(l.ips_per_eni >= 2);
        CHECK(max_pods_from_enis(l, true, false) <= max_pods_limit);
    }
}

TEST_CASE("max pods with prefix delegation on Nitro", "[derive][max-pods]") {
    // Uncapped: ENIs * ((IPs - 1) * 16) + 2.
    CHECK(max_pods_from_enis(*eni_limits("t3.medium"), true, false) == 242);
    CHECK(max_pods_from_enis(*eni_limits("t3.nano"), true, false) == 34);
    CHECK(max_pods_from_enis(*eni_limits("m5.24xlarge"), true, false) == 11762);

    // The recommended value is capped: 110 up to 30 vCPUs, 250 above.
    CHECK(for_type("t3.nano", Options().prefixes(2)).value == 34);
    CHECK(for_type("t3.medium", Options().prefixes(2)).value == 110);
    CHECK(for_type("m5.large", Options().prefixes(2)).value == 110);
    CHECK(for_type("m5.24xlarge", Options().prefixes(96)).value == 250);
    CHECK(for_type("c5.4xlarge", Options().prefixes(16)).value == 110);
    derive::MaxPodsValue v = for_type("m5.large", Options().prefixes(2));
    CHECK(v.warning.empty());
    CHECK(v.explanation == "m5.large, 3 ENIs x 10 IPs, prefix delegation (16 addresses per slot), 434 capped at 110 "
                           "for 2 vCPUs");
}

TEST_CASE("the prefix delegation ceiling switches above 30 vCPUs", "[derive][max-pods]") {
    CHECK(prefix_delegation_ceiling(1) == 110);
    CHECK(prefix_delegation_ceiling(30) == 110);
    CHECK(prefix_delegation_ceiling(31) == 250);
    CHECK(prefix_delegation_ceiling(192) == 250);
}

TEST_CASE("prefix delegation is ignored where the VPC CNI cannot delegate prefixes", "[derive][max-pods]") {
    CHECK_FALSE(supports_prefix_delegation("m4.xlarge"));
    CHECK_FALSE(supports_prefix_delegation("t2.micro"));
    CHECK_FALSE(supports_prefix_delegation("i3.large"));
    CHECK_FALSE(supports_prefix_delegation("x1e.xlarge"));
    CHECK(supports_prefix_delegation("i3.metal"));        // bare metal of a Xen family
    CHECK(supports_prefix_delegation("i3en.large"));      // family name extends a Xen one
    CHECK(supports_prefix_delegation("i7i.metal-24xl"));
    CHECK(supports_prefix_delegation("m5.large"));
    CHECK(supports_prefix_delegation("zz9.future"));      // new families are Nitro

    derive::MaxPodsValue v = for_type("m4.xlarge", Options().prefixes(4));
    CHECK(v.value == 58);
    CHECK_THAT(v.warning, Catch::Contains("not a Nitro instance"));
}

TEST_CASE("max pods with custom networking uses one ENI fewer", "[derive][max-pods]") {
    CHECK(max_pods_from_enis(*eni_limits("m5.large"), false, true) == 20);
    CHECK(for_type("m4.xlarge", Options().custom_networking()).value == 44);
    CHECK(for_type("t3.nano", Options().custom_networking()).value == 3);
    // With prefixes: (3 - 1) * 5 * 16 + 2 = 162, under the 250 ceiling above 30 vCPUs.
    CHECK(for_type("t3.medium", Options().prefixes(31).custom_networking()).value == 162);
    CHECK(for_type("t3.medium", Options().prefixes(2).custom_networking()).value == 110);

    derive::MaxPodsValue one_eni = for_type("hpc6id.32xlarge", Options().custom_networking());
    CHECK(one_eni.value == 2);
    CHECK_THAT(one_eni.warning, Catch::Contains("leaves no ENI for pods"));
}

TEST_CASE("settings.maxPods.maxEnis caps the ENIs before custom networking", "[derive][max-pods]") {
    CHECK(for_type("m5.24xlarge", Options().max_enis(4)).value == 4 * 49 + 2);
    CHECK(for_type("m5.24xlarge", Options().custom_networking().max_enis(4)).value == 3 * 49 + 2);
    // A cap above the instance's ENIs changes nothing.
    derive::MaxPodsValue v = for_type("m4.xlarge", Options().max_enis(10));
    CHECK(v.value == 58);
    CHECK(v.explanation == "m4.xlarge, 4 ENIs x 15 IPs");
}

TEST_CASE("standard max pods is what nodeadm computes for its test instance", "[derive][max-pods]") {
    // nodeadm's eni_max_pods_test.go: 3 ENIs x 6 IPs -> 17, 6 x 12 -> 68.
    CHECK(max_pods_from_enis({3, 6}, false, false) == 17);
    CHECK(max_pods_from_enis({6, 12}, false, false) == 68);
    CHECK(standard_max_pods("t3.medium") == 17);
}
