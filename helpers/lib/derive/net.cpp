// Cluster DNS address and IP family from the service CIDR; host of an URL.
//
// EKS's CoreDNS service takes the tenth address of the service CIDR
// (nodeadm's GetClusterDns, nodeadm/internal/api/). nodeadm gets there by
// string surgery ("10.100.0.0/16" -> cut at the last dot, append ".10"; IPv6:
// append "a"), which is right only when the CIDR is written as its network
// address. eks-node computes network + 10 for any prefix, so "10.100.5.7/16"
// gives 10.100.0.10, and refuses a CIDR too small to hold the address.
#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"
#include "derive/internal.hpp"

namespace eksnode {

namespace {

constexpr std::string_view cidr_field = "spec.cluster.cidr";
constexpr int dns_offset = 10;

struct Cidr {
    derive_detail::IpFamily family;
    std::array<std::uint8_t, 16> address{};   // network byte order; IPv4 in the first 4 bytes
    int prefix = 0;
    int bits() const { return family == derive_detail::IpFamily::ipv4 ? 32 : 128; }
};

[[noreturn]] void bad_cidr(std::string_view cidr, std::string_view why) {
    throw ConfigError("", std::string(cidr_field), fmt::format("\"{}\" is not a CIDR: {}", cidr, why));
}

Cidr parse_cidr(std::string_view text) {
    std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) bad_cidr(text, "no /prefix");
    std::string address(text.substr(0, slash));
    std::string_view prefix = text.substr(slash + 1);
    Cidr c;
    if (inet_pton(AF_INET, address.c_str(), c.address.data()) == 1) c.family = derive_detail::IpFamily::ipv4;
    else if (inet_pton(AF_INET6, address.c_str(), c.address.data()) == 1) c.family = derive_detail::IpFamily::ipv6;
    else bad_cidr(text, "bad address");
    if (prefix.empty() || prefix.size() > 3) bad_cidr(text, "bad prefix length");
    for (char ch : prefix) {
        if (ch < '0' || ch > '9') bad_cidr(text, "bad prefix length");
        c.prefix = c.prefix * 10 + (ch - '0');
    }
    if (c.prefix > c.bits()) bad_cidr(text, fmt::format("prefix length above {}", c.bits()));
    return c;
}

// Clears the host bits, leaving the network address.
void mask_host_bits(Cidr& c) {
    int bytes = c.bits() / 8;
    for (int i = 0; i < bytes; ++i) {
        int keep = std::clamp(c.prefix - i * 8, 0, 8);
        c.address[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(0xff00u >> keep);
    }
}

// Adds a small offset to the address, carrying across bytes.
void add_offset(Cidr& c, unsigned offset) {
    for (int i = c.bits() / 8 - 1; i >= 0 && offset > 0; --i) {
        unsigned sum = c.address[static_cast<std::size_t>(i)] + offset;
        c.address[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sum & 0xff);
        offset = sum >> 8;
    }
}

std::string format_address(const Cidr& c) {
    char buf[INET6_ADDRSTRLEN];
    int af = c.family == derive_detail::IpFamily::ipv4 ? AF_INET : AF_INET6;
    inet_ntop(af, c.address.data(), buf, sizeof buf);
    return buf;
}

}  // namespace

std::string cluster_dns_from_cidr(std::string_view cidr) {
    Cidr c = parse_cidr(cidr);
    // Offset 10 needs at least 4 host bits (16 addresses). EKS service CIDRs
    // are /12 to /24, so this only rejects nonsense.
    int host_bits = c.bits() - c.prefix;
    if (host_bits < 4)
        throw ConfigError("", std::string(cidr_field),
                          fmt::format("\"{}\" is too small to hold the cluster DNS address (network + {})", cidr,
                                      dns_offset));
    mask_host_bits(c);
    add_offset(c, dns_offset);
    return format_address(c);
}

namespace derive_detail {

IpFamily cidr_family(std::string_view cidr) { return parse_cidr(cidr).family; }

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

}  // namespace derive_detail

}  // namespace eksnode
