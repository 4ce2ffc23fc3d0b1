// SPDX-License-Identifier: Apache-2.0
#include "aws/proxy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

#include <arpa/inet.h>
#include <fmt/format.h>

namespace eksnode::aws {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// An address in network byte order: 4 bytes for IPv4, 16 for IPv6.
struct Address {
    int family = 0;
    std::array<unsigned char, 16> bytes{};
    size_t size() const { return family == AF_INET ? 4 : 16; }
};

std::optional<Address> parse_address(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > 45) return std::nullopt;
    std::string s(text);
    Address a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) a.family = AF_INET;
    else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) a.family = AF_INET6;
    else return std::nullopt;
    return a;
}

// Whether `host` lies in the network of `cidr` ("10.0.0.0/8"); false for a
// malformed CIDR or another family.
bool in_cidr(const Address& host, std::string_view cidr) {
    size_t slash = cidr.find('/');
    std::optional<Address> net = parse_address(cidr.substr(0, slash));
    std::string_view length = cidr.substr(slash + 1);
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), bits);
    if (!net || net->family != host.family || ec != std::errc() || end != length.data() + length.size() ||
        length.empty() || bits > host.size() * 8)
        return false;
    for (size_t i = 0; i < host.size() && bits > 0; ++i) {
        unsigned take = std::min(bits, 8u);
        auto mask = static_cast<unsigned char>(0xff << (8 - take));
        if ((host.bytes[i] & mask) != (net->bytes[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

struct UrlParts {
    std::string scheme;  // lower case
    std::string host;    // lower case, no brackets, no port, no trailing dot
};

UrlParts split_url(std::string_view url) {
    UrlParts u;
    size_t sep = url.find("://");
    if (sep == std::string_view::npos) return u;
    u.scheme = lower(url.substr(0, sep));
    std::string_view authority = url.substr(sep + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    std::string_view host;
    if (authority.starts_with('[')) {
        size_t close = authority.find(']');
        host = close == std::string_view::npos ? std::string_view{} : authority.substr(1, close - 1);
    } else {
        host = authority.substr(0, authority.find(':'));
    }
    u.host = lower(host);
    while (u.host.ends_with('.')) u.host.pop_back();
    return u;
}

std::string described(const ProxyVariable& v) { return fmt::format("{} ({})", v.name, v.source); }

}  // namespace

bool no_proxy_matches(std::string_view list, std::string_view host_text, std::string* matched) {
    std::string host = lower(trim(host_text));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    while (host.ends_with('.')) host.pop_back();
    if (host.empty()) return false;
    const std::optional<Address> ip = parse_address(host);
    auto hit = [&](std::string_view entry) {
        if (matched) *matched = std::string(entry);
        return true;
    };

    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view raw = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (raw.empty()) continue;
        if (raw == "*") return hit(raw);
        std::string entry = lower(raw);
        if (ip) {
            // An address host matches an address or a CIDR of its family, never a name.
            if (entry.find('/') != std::string::npos) {
                if (in_cidr(*ip, entry)) return hit(raw);
            } else if (std::optional<Address> a = parse_address(entry);
                       a && a->family == ip->family &&
                       std::equal(a->bytes.begin(), a->bytes.begin() + a->size(), ip->bytes.begin())) {
                return hit(raw);
            }
            continue;
        }
        if (entry.find('/') != std::string::npos) continue;  // a CIDR: names are not resolved
        std::string_view name = entry;
        if (name.starts_with('.')) name.remove_prefix(1);
        while (name.ends_with('.')) name.remove_suffix(1);
        if (name.empty()) continue;
        if (host == name ||
            (host.size() > name.size() && host.ends_with(name) && host[host.size() - name.size() - 1] == '.'))
            return hit(raw);
    }
    return false;
}

const ProxyVariable& proxy_variable_for(const ProxySettings& p, std::string_view url) {
    const std::string scheme = split_url(url).scheme;
    if (scheme == "https" && p.https().set()) return p.https();
    if (scheme == "http" && p.http().set()) return p.http();
    return p.all();
}

ProxyChoice choose_proxy(const ProxySettings& p, std::string_view url) {
    UrlParts u = split_url(url);
    const ProxyVariable* v = &proxy_variable_for(p, url);
    if (!v->set()) v = nullptr;
    if (!v) {
        if (!p.any_proxy()) return {"", "directly (no proxy variable is set)"};
        return {"", fmt::format("directly (no proxy variable for {}: {} only)", u.scheme,
                                p.https().set() ? described(p.https()) : described(p.http()))};
    }
    std::string entry;
    if (p.no_proxy().set() && no_proxy_matches(p.no_proxy().value, u.host, &entry))
        return {"", fmt::format("directly: {} lists {}", described(p.no_proxy()), entry)};
    return {v->value, "through the proxy of " + described(*v)};
}

}  // namespace eksnode::aws
