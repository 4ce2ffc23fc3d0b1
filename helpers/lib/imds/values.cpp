// SPDX-License-Identifier: Apache-2.0
#include "imds/values.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

#include "core/text.hpp"

namespace eksnode::imds::value {

namespace {

constexpr size_t shown_max = 64;

bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

bool all_of(std::string_view s, bool (*allowed)(char)) {
    for (char c : s)
        if (!allowed(c)) return false;
    return true;
}

// "i-" + 8 or 17 digits and the like: `prefix`, then exactly one of the
// allowed lengths of lowercase hex.
bool prefixed_hex(std::string_view s, std::string_view prefix) {
    if (!s.starts_with(prefix)) return false;
    std::string_view hex = s.substr(prefix.size());
    return (hex.size() == 8 || hex.size() == 17) && all_of(hex, is_lower_hex);
}

// Groups of [a-z0-9] joined by single '-', the first starting with a letter:
// the shape of region, zone and partition names. They become labels of
// endpoint host names, hence at most 63.
bool dashed_name(std::string_view s) {
    if (s.empty() || s.size() > 63 || !is_lower(s.front()) || s.back() == '-') return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '-') {
            if (s[i - 1] == '-') return false;
        } else if (!is_lower(s[i]) && !is_digit(s[i])) {
            return false;
        }
    }
    return true;
}

// inet_pton reads a C string: a NUL inside `s` would end it early and let
// "1.2.3.4\0junk" pass, so only printable ASCII reaches it.
bool parses_as(int family, std::string_view s) {
    if (s.empty() || s.size() > 45 || !all_of(s, [](char c) { return c > 0x20 && c < 0x7f; })) return false;
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(family, std::string(s).c_str(), buf) == 1;
}

bool prefix_length(std::string_view s, unsigned max) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    // "/08" is not how anyone writes a prefix; refuse it with the rest.
    return !s.empty() && s.size() <= 3 && ec == std::errc() && end == s.data() + s.size() && n <= max &&
           !(s.size() > 1 && s.front() == '0');
}

bool is_dns_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    for (size_t start = 0; start <= s.size();) {
        size_t dot = std::min(s.find('.', start), s.size());
        std::string_view label = s.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !all_of(label, [](char c) { return is_alnum(c) || c == '-'; }))
            return false;
        start = dot + 1;
    }
    return true;
}

std::string problem(std::string_view s, std::string_view what) { return shown(s) + " is not " + std::string(what); }

}  // namespace

std::string shown(std::string_view s) { return json_quoted(s, shown_max, QuoteAs::ascii); }

std::string dns_name(std::string_view s) {
    return is_dns_name(s) ? ""
                          : problem(s,
                                    "a DNS name (RFC 1123: dot-separated labels of letters, digits and '-', "
                                    "at most 63 characters each and 253 in all)");
}

std::string instance_id(std::string_view s) {
    return prefixed_hex(s, "i-") ? "" : problem(s, "an EC2 instance id (i- and 8 or 17 lowercase hex digits)");
}

std::string eni_id(std::string_view s) {
    return prefixed_hex(s, "eni-") ? "" : problem(s, "an ENI id (eni- and 8 or 17 lowercase hex digits)");
}

std::string instance_type(std::string_view s) {
    size_t dot = s.find('.');
    auto part = [](std::string_view p) {
        return !p.empty() && (is_lower(p.front()) || is_digit(p.front())) &&
               all_of(p, [](char c) { return is_lower(c) || is_digit(c) || c == '-'; });
    };
    bool ok = s.size() <= 64 && dot != std::string_view::npos && part(s.substr(0, dot)) && part(s.substr(dot + 1));
    return ok ? "" : problem(s, "an EC2 instance type (family.size of a-z, 0-9 and '-', e.g. m5.large)");
}

std::string region(std::string_view s) {
    return dashed_name(s) && s.find('-') != std::string_view::npos
               ? ""
               : problem(s, "an AWS region name (a-z and 0-9 in groups joined by '-', e.g. us-west-2)");
}

std::string availability_zone(std::string_view s) {
    return dashed_name(s) && s.find('-') != std::string_view::npos
               ? ""
               : problem(s, "an availability zone name (a-z and 0-9 in groups joined by '-', e.g. us-west-2a)");
}

std::string partition(std::string_view s) {
    return dashed_name(s) ? "" : problem(s, "an AWS partition name (a-z and 0-9 in groups joined by '-', e.g. aws-cn)");
}

std::string architecture(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 32 && all_of(s, [](char c) { return is_lower(c) || is_digit(c) || c == '_'; });
    return ok ? "" : problem(s, "a CPU architecture name (a-z, 0-9 and '_', e.g. x86_64)");
}

std::string mac(std::string_view s) {
    bool ok = s.size() == 17;
    for (size_t i = 0; ok && i < s.size(); ++i) ok = i % 3 == 2 ? s[i] == ':' : is_hex(s[i]);
    return ok ? "" : problem(s, "a MAC address (six hex pairs joined by ':')");
}

std::string ipv4(std::string_view s) { return parses_as(AF_INET, s) ? "" : problem(s, "an IPv4 address"); }

std::string ipv6(std::string_view s) { return parses_as(AF_INET6, s) ? "" : problem(s, "an IPv6 address"); }

std::string ipv4_cidr(std::string_view s) {
    size_t slash = s.find('/');
    bool ok = slash != std::string_view::npos && parses_as(AF_INET, s.substr(0, slash)) &&
              prefix_length(s.substr(slash + 1), 32);
    return ok ? "" : problem(s, "an IPv4 CIDR (address/prefix length, e.g. 10.0.0.0/16)");
}

std::string ipv6_cidr(std::string_view s) {
    size_t slash = s.find('/');
    bool ok = slash != std::string_view::npos && parses_as(AF_INET6, s.substr(0, slash)) &&
              prefix_length(s.substr(slash + 1), 128);
    return ok ? "" : problem(s, "an IPv6 CIDR (address/prefix length, e.g. 2600:1f14:abc:de00::/56)");
}

std::string cidr(std::string_view s) {
    size_t slash = s.find('/');
    if (slash != std::string_view::npos) {
        std::string_view address = s.substr(0, slash), length = s.substr(slash + 1);
        if (parses_as(AF_INET, address) && prefix_length(length, 32)) return "";
        if (parses_as(AF_INET6, address) && prefix_length(length, 128)) return "";
    }
    return problem(s, "a CIDR (IPv4 or IPv6 address/prefix length)");
}

std::string account_id(std::string_view s) {
    return s.size() == 12 && all_of(s, is_digit) ? "" : problem(s, "an AWS account id (12 digits)");
}

std::string outpost_arn(std::string_view s) {
    // arn:<partition>:outposts:<region>:<account>:outpost/op-<17 hex>
    std::string_view f[6];
    size_t n = 0, at = 0;
    for (; n < 6 && at <= s.size(); ++n) {
        size_t colon = n == 5 ? s.size() : std::min(s.find(':', at), s.size());
        f[n] = s.substr(at, colon - at);
        at = colon + 1;
    }
    std::string_view id = f[5].starts_with("outpost/") ? f[5].substr(8) : std::string_view{};
    bool ok = n == 6 && f[0] == "arn" && f[1].starts_with("aws") && partition(f[1]).empty() && f[2] == "outposts" &&
              region(f[3]).empty() && account_id(f[4]).empty() && id.size() == 20 && prefixed_hex(id, "op-");
    return ok ? "" : problem(s, "an Outpost ARN (arn:aws:outposts:<region>:<account>:outpost/op-<17 hex digits>)");
}

std::string iam_role(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 128 && all_of(s, [](char c) {
        return is_alnum(c) || std::string_view("+=,.@_-").find(c) != std::string_view::npos;
    });
    return ok ? "" : problem(s, "an IAM role name (letters, digits and +=,.@_-, at most 128)");
}

std::string lifecycle_state(std::string_view s) {
    // "InService", "Warmed:Running": words of letters joined by single ':'
    bool ok = !s.empty() && s.size() <= 64 && s.front() >= 'A' && s.front() <= 'Z' && s.back() != ':';
    for (size_t i = 0; ok && i < s.size(); ++i)
        ok = s[i] == ':' ? s[i - 1] != ':' : (is_alnum(s[i]) && !is_digit(s[i]));
    return ok ? "" : problem(s, "an Auto Scaling lifecycle state (words of letters joined by ':', at most 64)");
}

std::string https_url(std::string_view s) {
    constexpr std::string_view scheme = "https://";
    bool ok = s.starts_with(scheme) && s.size() <= 2048;
    std::string_view rest = ok ? s.substr(scheme.size()) : std::string_view{};
    size_t slash = std::min(rest.find('/'), rest.size());
    std::string_view authority = rest.substr(0, slash), path = rest.substr(slash);
    size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
        std::string_view port = authority.substr(colon + 1);
        unsigned n = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        ok = ok && !port.empty() && ec == std::errc() && end == port.data() + port.size() && n >= 1 && n <= 65535;
    }
    ok = ok && (is_dns_name(host) || parses_as(AF_INET, host));
    ok = ok && all_of(path, [](char c) { return c > 0x20 && c < 0x7f; });
    return ok ? "" : problem(s, "an https:// URL with a host name");
}

std::string base64(std::string_view s) {
    size_t body = s.size();
    while (body > 0 && s.size() - body < 2 && s[body - 1] == '=') --body;
    bool ok = !s.empty() && s.size() % 4 == 0 &&
              all_of(s.substr(0, body), [](char c) { return is_alnum(c) || c == '+' || c == '/'; });
    return ok ? "" : problem(s, "base64 (A-Z, a-z, 0-9, + and /, padded with =)");
}

std::string command_word(std::string_view s) {
    bool ok = !s.empty() && is_utf8_text(s) && all_of(s, [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
    });
    return ok ? "" : problem(s, "one word (no spaces, control characters or bytes that are not UTF-8)");
}

std::string list(std::string_view text, Check check, std::vector<std::string>& out) {
    for (int line_no = 1; !text.empty(); ++line_no) {
        size_t nl = text.find('\n');
        std::string_view line = trim_line(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty()) continue;
        if (std::string problem = check(line); !problem.empty()) return fmt::format("line {}: {}", line_no, problem);
        out.emplace_back(line);
    }
    return {};
}

namespace {

// One line of the listing: a MAC, with or without the directory's '/'.
std::string mac_directory(std::string_view s) {
    std::string_view m = s.ends_with('/') ? s.substr(0, s.size() - 1) : s;
    return mac(m).empty() ? "" : problem(s, "an interface's directory (a MAC address and '/')");
}

}  // namespace

std::string mac_listing(std::string_view text, std::vector<std::string>& out) {
    const size_t first = out.size();
    std::string problem = list(text, mac_directory, out);
    for (size_t i = first; i < out.size(); ++i)
        if (out[i].ends_with('/')) out[i].pop_back();
    return problem;
}

}  // namespace eksnode::imds::value
