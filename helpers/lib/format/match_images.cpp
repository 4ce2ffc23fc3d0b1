// SPDX-License-Identifier: Apache-2.0
// A kubelet credential provider's matchImages pattern, as kubelet reads it
// and as eks-node's own reader (cri/registry_credentials.cpp, eks-node-prepull)
// matches it. The rules, one row each with an example, are
// tests/data/match-images.tsv, which the unit tests walk through
// `config check`'s reader and the credential reader alike.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/jsonutil.hpp"
#include "format/checks.hpp"

namespace eksnode::format::check {

namespace glob {

// Go's getEsc: one character of a class, `\` escaping the next; a class
// may not start a range with '-' or ']' nor end after it.
size_t class_char(std::string_view p, size_t i, char& out) {
    if (i >= p.size() || p[i] == '-' || p[i] == ']') return std::string_view::npos;
    if (p[i] == '\\' && ++i >= p.size()) return std::string_view::npos;
    out = p[i++];
    return i < p.size() ? i : std::string_view::npos;  // a class must still close
}

size_t element(std::string_view p, size_t i, char c, bool& hit) {
    if (p[i] == '?') {
        hit = true;
        return i + 1;
    }
    if (p[i] == '\\') {
        if (++i >= p.size()) return std::string_view::npos;
        hit = p[i] == c;
        return i + 1;
    }
    if (p[i] != '[') {
        hit = p[i] == c;
        return i + 1;
    }
    ++i;
    const bool negate = i < p.size() && p[i] == '^';
    if (negate) ++i;
    bool matched = false;
    for (size_t ranges = 0;; ++ranges) {
        if (i < p.size() && p[i] == ']' && ranges > 0) break;
        char lo = 0, hi = 0;
        i = class_char(p, i, lo);
        if (i == std::string_view::npos) return i;
        hi = lo;
        if (p[i] == '-') {
            i = class_char(p, i + 1, hi);
            if (i == std::string_view::npos) return i;
        }
        if (lo <= c && c <= hi) matched = true;
    }
    hit = matched != negate;
    return i + 1;
}

bool well_formed(std::string_view p) {
    for (size_t i = 0; i < p.size();) {
        if (p[i] == '*') {
            ++i;
            continue;
        }
        bool hit = false;
        i = element(p, i, '\0', hit);
        if (i == std::string_view::npos) return false;
    }
    return true;
}

}  // namespace glob

std::string match_image(std::string_view s) {
    const std::string q = json(std::string(s)).dump();
    auto bad = [&](std::string_view why) { return fmt::format("{} is not an image pattern: {}", q, why); };
    if (s.empty()) return bad("empty");
    if (s.size() > max_match_image_bytes)
        return bad(fmt::format("{} bytes, more than {} (eks-node-prepull's reader would drop every provider)", s.size(),
                               max_match_image_bytes));
    // kubelet: url.Parse refuses control characters
    if (has_control(s)) return bad("a control character");
    // ours: registry hosts are ASCII (IDNA names in their xn-- form); the
    // glob then compares bytes as Go compares runes
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
        return bad("a byte outside ASCII (write an international name in its xn-- form)");
    // kubelet reads it as the URL "https://" + pattern: a scheme would be taken as the host
    if (s.find("://") != std::string_view::npos)
        return bad("a scheme: kubelet reads a pattern without one (\"registry.example.com/path\")");
    // ours: what kubelet would read as a query, fragment, user name or
    // escape, the credential reader would compare as bytes; no registry needs them
    if (size_t at = s.find_first_of(" ?#@%"); at != std::string_view::npos)
        return bad(fmt::format("{} (a pattern is HOST[:PORT][/PATH], with globs in HOST)",
                               json(std::string(1, s[at])).dump()));
    const size_t slash = s.find('/');
    std::string_view host = s.substr(0, slash);
    if (host.starts_with('[')) {
        // kubelet (url.Parse): an IPv6 literal, closed, then only a port
        const size_t close = host.find(']');
        if (close == std::string_view::npos) return bad("\"[\" opens an IPv6 address that \"]\" never closes");
        std::string_view addr = host.substr(1, close - 1), rest = host.substr(close + 1);
        if (addr.empty() || !std::all_of(addr.begin(), addr.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            }))
            return bad("a host in [...] must be an IPv6 address (a glob class cannot start the host)");
        if (!rest.empty() && (rest.front() != ':' ||
                              !std::all_of(rest.begin() + 1, rest.end(), [](char c) { return c >= '0' && c <= '9'; })))
            return bad(fmt::format("{} after the IPv6 address is not a port", json(std::string(rest)).dump()));
        return {};
    }
    if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        // kubelet (url.Parse): the port is digits, never a glob
        std::string_view port = host.substr(colon + 1);
        if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad(
                fmt::format("the port {} is not a number (a port cannot be a glob)", json(std::string(port)).dump()));
        host = host.substr(0, colon);
    }
    if (host.empty()) return bad("no host (a pattern is HOST[:PORT][/PATH])");
    for (char c : host) {
        // kubelet (url.Parse): the characters a URL's host may hold
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                        std::string_view("-_.~!$&'()*+,;=:[]<>\"").find(c) != std::string_view::npos;
        if (!ok)
            return bad(
                fmt::format("{} cannot be in a host (kubelet's URL check refuses it)", json(std::string(1, c)).dump()));
    }
    // kubelet matches each dot-separated label with Go's path.Match: a
    // malformed glob never matches anything
    for (size_t start = 0;;) {
        const size_t dot = host.find('.', start);
        std::string_view label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
        if (!glob::well_formed(label))
            return bad(fmt::format("the host label {} is not a glob (Go's path.Match syntax: * ? [a-z] [^a-z])",
                                   json(std::string(label)).dump()));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return {};
}

}  // namespace eksnode::format::check
