// EKS's CoreDNS service takes the tenth address of the service CIDR. nodeadm
// finds it by string surgery (cut at the last dot, append ".10"), right only
// for a CIDR written as its network address; this computes network + 10 for
// any prefix length.
#include "config/defaults.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::defaults {

namespace {

constexpr std::string_view cidr_field = "spec.cluster.cidr";
constexpr unsigned dns_offset = 10;

[[noreturn]] void not_a_cidr(std::string_view cidr, std::string_view why) {
    throw ConfigError("", std::string(cidr_field), fmt::format("\"{}\" is not a CIDR: {}", cidr, why));
}

}  // namespace

std::string cluster_dns(std::string_view cidr) {
    size_t slash = cidr.find('/');
    if (slash == std::string_view::npos) not_a_cidr(cidr, "no /prefix");
    const std::string address(cidr.substr(0, slash));
    const std::string_view length = cidr.substr(slash + 1);

    std::array<uint8_t, 16> bytes{};  // network byte order; IPv4 uses the first 4
    int family = AF_INET;
    if (inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
        family = AF_INET6;
        if (inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) not_a_cidr(cidr, "bad address");
    }
    const int bits = family == AF_INET ? 32 : 128;

    if (length.empty() || length.size() > 3) not_a_cidr(cidr, "bad prefix length");
    int prefix = 0;
    for (char c : length) {
        if (c < '0' || c > '9') not_a_cidr(cidr, "bad prefix length");
        prefix = prefix * 10 + (c - '0');
    }
    if (prefix > bits) not_a_cidr(cidr, fmt::format("prefix length above {}", bits));
    // + 10 needs 4 host bits; EKS service CIDRs are /12 to /24, so this
    // refuses only nonsense
    if (bits - prefix < 4)
        throw ConfigError("", std::string(cidr_field),
                          fmt::format("\"{}\" is too small to hold the cluster DNS address (network + {})", cidr,
                                      dns_offset));

    // the network address: host bits cleared
    for (int i = 0; i < bits / 8; ++i) {
        int keep = prefix - i * 8;
        if (keep <= 0)
            bytes[i] = 0;
        else if (keep < 8)
            bytes[i] &= static_cast<uint8_t>(0xFF00u >> keep);
    }
    // at least 4 host bits, all zero, in the last byte: + 10 never carries
    bytes[bits / 8 - 1] = static_cast<uint8_t>(bytes[bits / 8 - 1] + dns_offset);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, bytes.data(), text, sizeof text);
    return text;
}

}  // namespace eksnode::defaults
