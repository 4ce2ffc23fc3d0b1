// SPDX-License-Identifier: Apache-2.0
// Cluster DNS address and IP family from the service CIDR (config/defaults.cpp
// reads CIDRs, and says how eks-node differs from nodeadm there); host of an URL.
#include "config/defaults.hpp"
#include "derive/internal.hpp"

namespace eksnode::derive {

// One CIDR reader, below both config (the bootstrap.sh flags) and derive.
std::string cluster_dns_from_cidr(std::string_view cidr) { return config::defaults::cluster_dns(cidr); }

namespace detail {

IpFamily cidr_family(std::string_view cidr) {
    return config::defaults::cidr_is_ipv6(cidr) ? IpFamily::ipv6 : IpFamily::ipv4;
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
