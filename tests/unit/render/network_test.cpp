// SPDX-License-Identifier: Apache-2.0
// eks-node-network's files: what a configured ENI gets, what the VPC CNI's
// gets, and the numbers shared with amazon-ec2-net-utils and nodeadm. The
// whole files are golden trees (tests/golden/network/).
#include <catch2/catch.hpp>

#include "render/networkd.hpp"

using namespace eksnode::render;

namespace {

Eni secondary() {
    Eni e;
    e.name = "ens6";
    e.mac = "0e:49:61:0f:c3:22";
    e.interface_id = "eni-0b1b2c3d";
    e.device_number = 2;
    e.network_card = 1;
    e.ipv4s = {"172.16.40.10"};
    e.ipv4_subnet = "172.16.40.0/24";
    return e;
}

}  // namespace

TEST_CASE("an ENI's route table and metric come from its network card and device number", "[render][network]") {
    Eni e = secondary();
    CHECK(route_table(e) == 10102);
    CHECK(route_metric(e) == 614);
    e.network_card = 0;
    e.device_number = 0;
    CHECK(route_table(e) == 10000);
    CHECK(route_metric(e) == 512);
}

TEST_CASE("a secondary ENI answers from its own table", "[render][network]") {
    std::string text = eni_network_text(secondary(), EniOwner::systemd);
    CHECK_THAT(text, Catch::Contains("PermanentMACAddress=0e:49:61:0f:c3:22\n"));
    CHECK_THAT(text, Catch::Contains("MTUBytes=9001\n"));
    CHECK_THAT(text, Catch::Contains("DHCP=ipv4\n"));
    CHECK_THAT(text, Catch::Contains("UseDNS=no\n"));
    CHECK_THAT(text, Catch::Contains("[Route]\nTable=10102\nGateway=_dhcp4\n"));
    CHECK_THAT(text, Catch::Contains("Destination=172.16.40.0/24\nScope=link\n"));
    CHECK_THAT(text, Catch::Contains("[RoutingPolicyRule]\nFrom=172.16.40.10/32\nTable=10102\nPriority=32765\n"));
    CHECK_THAT(text, !Catch::Contains("_ipv6ra"));
}

TEST_CASE("the primary ENI has no table or rule of its own, and the name servers", "[render][network]") {
    Eni e = secondary();
    e.primary = true;
    std::string text = eni_network_text(e, EniOwner::systemd);
    CHECK_THAT(text, Catch::Contains("UseDNS=yes\n"));
    CHECK_THAT(text, Catch::Contains("DNSDefaultRoute=yes\n"));
    CHECK_THAT(text, !Catch::Contains("[Route]"));
    CHECK_THAT(text, !Catch::Contains("[RoutingPolicyRule]"));
}

TEST_CASE("IPv6 addresses turn DHCPv6 on and get rules of their own", "[render][network]") {
    Eni e = secondary();
    e.ipv6s = {"2600:1f14:abc:de01::10"};
    e.ipv6_subnets = {"2600:1f14:abc:de01::/64"};
    std::string text = eni_network_text(e, EniOwner::systemd);
    CHECK_THAT(text, Catch::Contains("DHCP=yes\n"));
    CHECK_THAT(text, Catch::Contains("[IPv6AcceptRA]\nRouteMetric=614\n"));
    CHECK_THAT(text, Catch::Contains("Table=10102\nGateway=_ipv6ra\n"));
    CHECK_THAT(text, Catch::Contains("From=2600:1f14:abc:de01::10/128\n"));
}

TEST_CASE("the VPC CNI's ENI is left alone", "[render][network]") {
    std::string text = eni_network_text(secondary(), EniOwner::cni);
    CHECK_THAT(text, Catch::EndsWith("[Match]\nPermanentMACAddress=0e:49:61:0f:c3:22\n\n[Link]\nUnmanaged=yes\n"));
    CHECK_THAT(text, !Catch::Contains("DHCP"));
}

TEST_CASE("the files are named after the interface", "[render][network]") {
    CHECK(eni_network_path("ens6") == "/run/systemd/network/70-eks-node-ens6.network");
    CHECK(fallback_dropin_text("0e:49:61:0f:c3:11").ends_with("[Match]\nPermanentMACAddress=0e:49:61:0f:c3:11\n"));
}
