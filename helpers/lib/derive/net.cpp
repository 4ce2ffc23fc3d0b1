// SPDX-License-Identifier: Apache-2.0
// Cluster DNS address and IP family from the service CIDR (input/defaults.cpp
// reads CIDRs, and says how eks-node differs from nodeadm there); AL2's
// service CIDR from the VPC; host of an URL.
#include <arpa/inet.h>

#include <fmt/format.h>

#include "derive/internal.hpp"
#include "input/defaults.hpp"

namespace eksnode::derive {

// One CIDR reader, below both config (the bootstrap.sh flags) and derive.
std::string cluster_dns_from_cidr(std::string_view cidr) { return input::defaults::cluster_dns(cidr); }

namespace {

// The first octet of an IPv4 CIDR's address, or -1 for anything else.
int first_octet(std::string_view cidr) {
    std::string address(cidr.substr(0, cidr.find('/')));
    in_addr a{};
    if (inet_pton(AF_INET, address.c_str(), &a) != 1) return -1;
    return static_cast<int>(ntohl(a.s_addr) >> 24);
}

}  // namespace

std::optional<VpcServiceCidr> service_cidr_from_vpc(const std::vector<std::string>& vpc_ipv4_cidrs) {
    std::vector<std::string> known;
    for (const std::string& c : vpc_ipv4_cidrs) {
        int octet = first_octet(c);
        if (octet == 10) return VpcServiceCidr{"172.20.0.0/16", fmt::format("VPC CIDR {} lies in 10.0.0.0/8", c)};
        if (octet >= 0) known.push_back(c);
    }
    if (known.empty()) return std::nullopt;
    return VpcServiceCidr{"10.100.0.0/16", fmt::format("no VPC CIDR lies in 10.0.0.0/8 ({})", fmt::join(known, ", "))};
}

std::optional<VpcServiceCidr> service_cidr_from_instance(const json& instance) {
    std::vector<std::string> cidrs;
    auto it = instance.find("vpcIpv4CidrBlocks");
    if (it != instance.end() && it->is_array())
        for (const json& c : *it)
            if (c.is_string()) cidrs.push_back(c.get<std::string>());
    return service_cidr_from_vpc(cidrs);
}

namespace detail {

IpFamily cidr_family(std::string_view cidr) {
    return input::defaults::cidr_is_ipv6(cidr) ? IpFamily::ipv6 : IpFamily::ipv4;
}

std::string url_host(std::string_view url) {
    std::size_t scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (authority.starts_with('[')) {
        std::size_t close = authority.find(']');
        return close == std::string_view::npos ? std::string() : std::string(authority.substr(1, close - 1));
    }
    return std::string(authority.substr(0, authority.find(':')));
}

}  // namespace detail

}  // namespace eksnode::derive
