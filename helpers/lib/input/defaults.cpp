// SPDX-License-Identifier: Apache-2.0
// EKS's CoreDNS service takes the tenth address of the service CIDR. nodeadm
// finds it by string surgery (cut at the last dot, append ".10"), right only
// for a CIDR written as its network address; this computes network + 10 for
// any prefix length.
#include "input/defaults.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::input::defaults {

namespace {

constexpr std::string_view cidr_field = "spec.cluster.cidr";
constexpr unsigned dns_offset = 10;

[[noreturn]] void not_a_cidr(std::string_view cidr, std::string_view why) {
    throw ConfigError("", std::string(cidr_field), fmt::format("\"{}\" is not a CIDR: {}", cidr, why));
}

struct Cidr {
    std::array<uint8_t, 16> bytes{};  // network byte order; IPv4 uses the first 4
    int family = AF_INET;
    int prefix = 0;
    int bits() const { return family == AF_INET ? 32 : 128; }
};

Cidr parse_cidr(std::string_view cidr) {
    size_t slash = cidr.find('/');
    if (slash == std::string_view::npos) not_a_cidr(cidr, "no /prefix");
    const std::string address(cidr.substr(0, slash));
    const std::string_view length = cidr.substr(slash + 1);

    Cidr c;
    if (inet_pton(AF_INET, address.c_str(), c.bytes.data()) != 1) {
        c.family = AF_INET6;
        if (inet_pton(AF_INET6, address.c_str(), c.bytes.data()) != 1) not_a_cidr(cidr, "bad address");
    }
    if (length.empty() || length.size() > 3) not_a_cidr(cidr, "bad prefix length");
    for (char ch : length) {
        if (ch < '0' || ch > '9') not_a_cidr(cidr, "bad prefix length");
        c.prefix = c.prefix * 10 + (ch - '0');
    }
    if (c.prefix > c.bits()) not_a_cidr(cidr, fmt::format("prefix length above {}", c.bits()));
    return c;
}

}  // namespace

bool cidr_is_ipv6(std::string_view cidr) { return parse_cidr(cidr).family == AF_INET6; }

std::string cluster_dns(std::string_view cidr) {
    Cidr c = parse_cidr(cidr);
    const int bits = c.bits();
    // + 10 needs 4 host bits; EKS service CIDRs are /12 to /24, so this
    // refuses only nonsense
    if (bits - c.prefix < 4)
        throw ConfigError(
            "", std::string(cidr_field),
            fmt::format("\"{}\" is too small to hold the cluster DNS address (network + {})", cidr, dns_offset));

    // the network address: host bits cleared
    for (int i = 0; i < bits / 8; ++i) {
        int keep = c.prefix - i * 8;
        if (keep <= 0) c.bytes[i] = 0;
        else if (keep < 8) c.bytes[i] &= static_cast<uint8_t>(0xFF00u >> keep);
    }
    // at least 4 host bits, all zero, in the last byte: + 10 never carries
    c.bytes[bits / 8 - 1] = static_cast<uint8_t>(c.bytes[bits / 8 - 1] + dns_offset);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(c.family, c.bytes.data(), text, sizeof text);
    return text;
}

}  // namespace eksnode::input::defaults
