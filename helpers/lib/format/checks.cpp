// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cctype>

#include "format/checks.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "format/certificate.hpp"
#include "format/convert.hpp"
#include "format/field_text.hpp"

namespace eksnode::format::check {

bool has_control(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

namespace {

bool only(std::string_view s, bool (*allowed)(char)) {
    for (char c : s)
        if (!allowed(c)) return false;
    return true;
}

bool is_ipv4(std::string_view s) {
    in_addr a{};
    return inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view s) {
    in6_addr a{};
    return inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

bool valid_port(std::string_view s) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size() && port >= 1 && port <= 65535;
}

bool valid_host(std::string_view host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') return is_ipv6(host.substr(1, host.size() - 2));
    return !host.empty() && only(host, [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

// authority = host [":" port], host a name, an IPv4 address or "[" IPv6 "]" (RFC 3986 3.2).
bool valid_authority(std::string_view authority) {
    size_t bracket = authority.rfind(']');
    size_t colon = authority.rfind(':');
    bool has_port = colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
    if (has_port && !valid_port(authority.substr(colon + 1))) return false;
    return valid_host(authority.substr(0, has_port ? colon : authority.size()));
}

}  // namespace

std::string cluster_name(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 100 && is_alnum(s.front()) &&
              only(s, [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
    return ok ? "" : text::quote(s) + " is not an EKS cluster name (letters, digits, - and _, at most 100)";
}

std::string http_url(std::string_view s) {
    std::string problem = text::quote(s) + " is not an http:// or https:// URL with a host";
    size_t sep = s.find("://");
    if (sep == std::string_view::npos || has_control(s) || s.find(' ') != std::string_view::npos) return problem;
    std::string scheme = text::lower(s.substr(0, sep));
    if (scheme != "http" && scheme != "https") return problem;
    std::string_view rest = s.substr(sep + 3);
    return valid_authority(rest.substr(0, rest.find_first_of("/?#"))) ? "" : problem;
}

std::string registry_host(std::string_view s) {
    if (s == "_default") return {};
    // a name ending in ':' would be a port-less "host:", and a '/' a path
    // also a directory name under config_path: never ".", ".." or hidden
    return !s.empty() && s.size() <= 260 && s.front() != '.' && s.back() != ':' &&
                   s.find('/') == std::string_view::npos && s.find("..") == std::string_view::npos && valid_authority(s)
               ? ""
               : text::quote(s) +
                     " is not a registry host (HOST or HOST:PORT as an image reference names it, or "
                     "_default)";
}

std::string credential_provider_name(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 64 && is_alnum(s.front()) &&
              only(s, [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
    return ok ? "" : text::quote(s) + " is not a program name (letters, digits, '.', '-' and '_', at most 64)";
}

std::string cidr(std::string_view s) {
    size_t slash = s.find('/');
    std::string_view address = s.substr(0, slash);
    std::string_view length = slash == std::string_view::npos ? std::string_view{} : s.substr(slash + 1);
    unsigned max = is_ipv4(address) ? 32 : is_ipv6(address) ? 128 : 0;
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), prefix);
    bool ok = max > 0 && !length.empty() && length.size() <= 3 && ec == std::errc() &&
              end == length.data() + length.size() && prefix <= max;
    return ok ? "" : text::quote(s) + " is not a CIDR";
}

std::string ip_address(std::string_view s) {
    return is_ipv4(s) || is_ipv6(s) ? "" : text::quote(s) + " is not an IP address";
}

// RFC 1123 host names, plus '_' (seen in private zones); resolv.conf takes no more.
std::string domain_name(std::string_view s) {
    std::string problem = text::quote(s) + " is not a domain name";
    std::string_view rest = (!s.empty() && s.back() == '.') ? s.substr(0, s.size() - 1) : s;
    if (rest.empty() || rest.size() > 253) return problem;
    for (size_t start = 0; start <= rest.size();) {
        size_t dot = std::min(rest.find('.', start), rest.size());
        std::string_view label = rest.substr(start, dot - start);
        bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
                  only(label, [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
        if (!ok) return problem;
        start = dot + 1;
    }
    return "";
}

std::string certificate_authority(std::string_view s) {
    try {
        certificate_authority_pem(s, "", "");
        return "";
    } catch (const ConfigError& e) {
        return e.problem();
    }
}

// kubelet flags reach an environment file, one word each: a name, and a value
// after "=" without line breaks (which would inject further lines).
std::string kubelet_flag(std::string_view s) {
    std::string_view name = s.substr(0, s.find('='));
    bool ok = name.size() > 2 && name.substr(0, 2) == "--" && !has_control(s) &&
              only(name.substr(2), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
    return ok ? "" : text::quote(s) + " is not a kubelet flag (expected --name or --name=value)";
}

std::string absolute_path(std::string_view s) {
    bool ok = !s.empty() && s.front() == '/' && !has_control(s) && s.find("/../") == std::string_view::npos &&
              !(s.size() >= 3 && s.substr(s.size() - 3) == "/..");
    return ok ? "" : text::quote(s) + " is not an absolute path";
}

// nodeadm writes /etc/systemd/system/<key>.service.d/ from these keys without
// checking them ("../x" escapes the directory). A key here names the file
// /run/eks-node/env/NAME.env, which service.d/10-eks-node-environment.conf
// reads as %N.env (the unit name without ".service"): so only names systemd
// accepts for a service (systemd.unit(5): letters, digits, ":-_.\\", an "@"
// before an instance; at most 255 characters with ".service").
std::string service_section(std::string_view s) {
    if (s == "default") return "";
    std::string not_a_name = text::quote(s) + " is not \"default\" or a service name";
    std::string_view name = s;
    if (name.ends_with(".service")) {
        name.remove_suffix(std::string_view(".service").size());
    } else if (size_t dot = name.rfind('.'); dot != std::string_view::npos) {
        static constexpr std::string_view other_types[] = {"socket", "target", "device", "mount", "automount",
                                                           "swap",   "timer",  "path",   "slice", "scope"};
        std::string_view type = name.substr(dot + 1);
        if (std::find(std::begin(other_types), std::end(other_types), type) != std::end(other_types))
            return fmt::format("{} is a .{} unit: the environment applies to services", text::quote(s), type);
    }
    bool chars = only(name, [](char c) {
        return is_alnum(c) || c == ':' || c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
    });
    // a leading "." would make a hidden file of NAME.env
    if (name.empty() || !chars || name.front() == '.' || name.front() == '@') return not_a_name;
    if (name.size() + std::string_view(".service").size() > 255)
        return text::quote(s) + " is longer than a unit name may be (255 characters with \".service\")";
    if (name.back() == '@')
        return fmt::format("{} is a template: name one of its instances ({}NAME)", text::quote(s), name);
    if (name == "default") return text::quote(s) + " would be read as the section \"default\" (every service)";
    if (name.starts_with("eks-node-"))
        return text::quote(s) +
               " is one of eks-node's own units, which take their settings from the node configuration, not from "
               "the service environment";
    return "";
}

std::string service_section_unit(std::string_view s) {
    if (s.ends_with(".service")) s.remove_suffix(std::string_view(".service").size());
    return std::string(s);
}

std::string env_name(std::string_view s) {
    bool ok = !s.empty() && !is_digit(s.front()) && only(s, [](char c) { return is_alnum(c) || c == '_'; });
    return ok ? "" : text::quote(s) + " is not an environment variable name";
}

std::string single_token(std::string_view s) {
    bool ok = !s.empty() && !has_control(s) && s.find(' ') == std::string_view::npos;
    return ok ? "" : text::quote(s) + " must be one word without spaces or control characters";
}

std::string non_empty(std::string_view s) { return s.empty() ? "must not be empty" : ""; }

std::string aws_account_id(std::string_view s) {
    bool ok = s.size() == 12 && std::all_of(s.begin(), s.end(), is_digit);
    return ok ? "" : text::quote(s) + " is not a 12-digit AWS account ID";
}

std::string image_tag(std::string_view s) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    bool ok = !s.empty() && s.size() <= 128 && word(s.front()) &&
              std::all_of(s.begin(), s.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
    return ok ? "" : text::quote(s) + " is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128)";
}

long swap_size_mib(std::string_view s) {
    if (s.size() < 2 || (s.back() != 'M' && s.back() != 'G') || s.front() < '1' || s.front() > '9') return 0;
    constexpr long max_mib = 16L << 20;  // 16 TiB
    long n = 0;
    for (char c : s.substr(0, s.size() - 1)) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + (c - '0');
        if (n > max_mib) return 0;
    }
    if (s.back() == 'G') n = n > max_mib / 1024 ? 0 : n * 1024;
    return n;
}

std::string swap_size(std::string_view s) {
    return swap_size_mib(s) > 0 ? ""
                                : text::quote(s) +
                                      " is not a swap size: a whole number of MiB or GiB such as \"512M\" or "
                                      "\"4G\", from 1M to 16384G";
}

namespace {

bool dns_label(std::string_view s) {
    return !s.empty() && s.size() <= 63 && is_lower_alnum(s.front()) && is_lower_alnum(s.back()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

}  // namespace

std::string runtime_handler_name(std::string_view s) {
    return dns_label(s) ? "" : text::quote(s) + " is not a runtime handler name (a DNS label: [a-z0-9-], at most 63)";
}

std::string static_pod_name(std::string_view s) {
    return dns_label(s) ? "" : text::quote(s) + " is not a static pod name (a DNS label: [a-z0-9-], at most 63)";
}

std::string static_pod_manifest(std::string_view s) {
    std::vector<json> docs;
    try {
        docs = yaml_documents(s, "the manifest");
    } catch (const ConfigError& e) {
        return fmt::format("not a Pod manifest: {}", e.what());
    }
    if (docs.size() != 1) return fmt::format("not a Pod manifest: {} YAML documents, expected one", docs.size());
    const json& pod = docs.front();
    if (!pod.is_object()) return fmt::format("not a Pod manifest: expected a mapping, got {}", text::describe(pod));
    auto field = [&](const char* key) { return pod.contains(key) ? text::describe(pod.at(key)) : "nothing"; };
    if (pod.value("kind", json()) != "Pod") return fmt::format("kind is {}, expected \"Pod\"", field("kind"));
    if (pod.value("apiVersion", json()) != "v1")
        return fmt::format("apiVersion is {}, expected \"v1\"", field("apiVersion"));
    const json* name = path_in(pod, {"metadata", "name"});
    if (!name || !name->is_string() || name->get_ref<const std::string&>().empty())
        return "metadata.name is missing: kubelet names the mirror pod after it";
    return {};
}

namespace {

bool ecs_word(std::string_view s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '@' || c == '/' ||
               c == ':' || c == '-';
    });
}

bool ecs_cluster_name(std::string_view s) {
    return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

}  // namespace

std::string ecs_cluster(std::string_view s) {
    constexpr std::string_view marker = ":cluster/";
    size_t at = s.find(marker);
    // an ARN: arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME, each part one word
    bool arn = s.starts_with("arn:") && at != std::string_view::npos && s.find(":ecs:") != std::string_view::npos &&
               ecs_word(s.substr(0, at)) && ecs_cluster_name(s.substr(at + marker.size()));
    return arn || ecs_cluster_name(s) ? ""
                                      : text::quote(s) +
                                            " is not an ECS cluster name ([A-Za-z0-9_-], at most 255) "
                                            "or cluster ARN";
}

std::string ecs_attribute_name(std::string_view s) {
    return ecs_word(s) ? "" : text::quote(s) + " is not an attribute name ([A-Za-z0-9_.@/:-], at most 128)";
}

std::string ecs_attribute_value(std::string_view s) {
    return ecs_word(s) ? "" : text::quote(s) + " is not an attribute value ([A-Za-z0-9_.@/:-], at most 128)";
}

std::string kernel_module(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 55 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    return ok ? "" : text::quote(s) + " is not a kernel module name ([A-Za-z0-9_-], at most 55)";
}

// The distribution reference grammar (distribution/reference), which
// containerd parses the CRI's image with, simplified to what a registry
// serves: a host ("registry.example.com", "localhost:5000", a first
// component with a '.' or ':' or "localhost"), path components of lower-case
// letters and digits joined by '.', '_', '__' or dashes, an optional tag and
// an optional digest (ALGORITHM:HEX, at least 32 hex digits). No IPv6
// literal hosts. Checked here rather than left to containerd, so that a typo
// is refused with the fragment's name at eks-node-config, not found after
// kubelet started.
std::string image_reference(std::string_view s) {
    auto bad = [&](std::string_view why) {
        return fmt::format("{} is not an image reference: {}", text::quote(s), why);
    };
    if (s.empty()) return bad("empty");
    if (s.size() > 512) return bad("more than 512 bytes");
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            return bad("a space, a control character or a byte that is not ASCII");
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    std::string_view name = s, tag, digest;
    if (size_t at = s.find('@'); at != s.npos) {
        name = s.substr(0, at);
        digest = s.substr(at + 1);
        size_t colon = digest.find(':');
        std::string_view alg = digest.substr(0, colon), value = colon == digest.npos ? "" : digest.substr(colon + 1);
        if (alg.empty() ||
            !std::all_of(alg.begin(), alg.end(),
                         [&](char c) { return is_lower_alnum(c) || c == '+' || c == '.' || c == '_' || c == '-'; }) ||
            value.size() < 32 || !std::all_of(value.begin(), value.end(), hex))
            return bad("the digest is not ALGORITHM:HEX (sha256:<64 hex digits>)");
    }
    // a tag's ':' comes after the last '/' (a port's before it)
    size_t last_slash = name.rfind('/');
    if (size_t colon = name.rfind(':'); colon != name.npos && (last_slash == name.npos || colon > last_slash)) {
        tag = name.substr(colon + 1);
        name = name.substr(0, colon);
        if (!image_tag(tag).empty()) return bad("the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128");
    }
    std::string_view path = name;
    if (size_t slash = name.find('/'); slash != name.npos) {
        std::string_view first = name.substr(0, slash);
        if (first.find_first_of(".:") != first.npos || first == "localhost") {
            path = name.substr(slash + 1);
            std::string_view host = first, port;
            if (size_t colon = first.find(':'); colon != first.npos) {
                host = first.substr(0, colon);
                port = first.substr(colon + 1);
                if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
                    return bad("the registry's port is not a number");
            }
            for (size_t start = 0;;) {
                size_t dot = host.find('.', start);
                std::string_view label = host.substr(start, dot == host.npos ? host.npos : dot - start);
                if (label.empty() || label.front() == '-' || label.back() == '-' ||
                    !std::all_of(label.begin(), label.end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }))
                    return bad("the registry is not a host name");
                if (dot == host.npos) break;
                start = dot + 1;
            }
        }
    }
    // components: [a-z0-9]+ joined by '.', '_', '__' or one or more '-'
    constexpr std::string_view component =
        "a path component is not lower-case letters and digits joined by '.', '_', '__' or '-'";
    for (size_t start = 0;;) {
        size_t slash = path.find('/', start);
        std::string_view c = path.substr(start, slash == path.npos ? path.npos : slash - start);
        if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return bad(component);
        for (size_t i = 0; i < c.size(); ++i) {
            if (is_lower_alnum(c[i])) continue;
            size_t j = i;
            while (j < c.size() && !is_lower_alnum(c[j])) ++j;
            std::string_view sep = c.substr(i, j - i);
            bool dashes = std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
            if (sep != "." && sep != "_" && sep != "__" && !dashes) return bad(component);
            i = j - 1;
        }
        if (slash == path.npos) break;
        start = slash + 1;
    }
    return "";
}

}  // namespace eksnode::format::check
