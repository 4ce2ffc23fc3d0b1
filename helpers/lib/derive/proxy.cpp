// SPDX-License-Identifier: Apache-2.0
// NO_PROXY completion: when spec.instance.environment sets a proxy, the
// addresses a node must reach directly are added to NO_PROXY and no_proxy,
// after whatever the user listed. nodeadm writes the user's values as given,
// so a node whose user data forgets IMDS or the cluster endpoint sends them to
// the proxy (a documented difference, docs/differences-from-nodeadm.md).
#include <algorithm>
#include <optional>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "config/environment.hpp"
#include "core/log.hpp"
#include "derive/internal.hpp"

namespace eksnode::derive {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> entries(std::string_view list) {
    std::vector<std::string_view> out;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view e = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (!e.empty()) out.push_back(e);
    }
    return out;
}

// An entry as compared for "already listed": IP addresses and CIDRs in their
// canonical text ("FD00:EC2:0::254" is "fd00:ec2::254", "[::1]" is "::1"),
// names in lower case without a trailing dot. A leading dot is kept: to Go's
// net/http ".example.com" does not name example.com itself.
std::string canonical(std::string_view entry) {
    std::string e;
    for (char c : entry) e += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string_view address = e, prefix;
    if (size_t slash = e.find('/'); slash != std::string::npos) {
        address = std::string_view(e).substr(0, slash);
        prefix = std::string_view(e).substr(slash);
    }
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
    unsigned char bytes[16];
    char text[INET6_ADDRSTRLEN];
    std::string a(address);
    for (int family : {AF_INET, AF_INET6})
        if (inet_pton(family, a.c_str(), bytes) == 1 && inet_ntop(family, bytes, text, sizeof text))
            return std::string(text) + std::string(prefix);
    while (e.ends_with('.')) e.pop_back();
    return e;
}

// Appends one entry after a comma, the list's trailing separators dropped.
void append_entry(std::string& list, std::string_view entry) {
    while (!list.empty() && (list.back() == ',' || list.back() == ' ' || list.back() == '\t')) list.pop_back();
    if (!list.empty()) list.push_back(',');
    list.append(entry);
}

bool lists(std::string_view list, const std::string& canonical_entry) {
    auto all = entries(list);
    return std::any_of(all.begin(), all.end(), [&](std::string_view e) { return canonical(e) == canonical_entry; });
}

const json* object_at(const json& j, std::initializer_list<const char*> keys) {
    const json* node = path_in(j, keys);
    return node && node->is_object() ? node : nullptr;
}

std::optional<std::string> own(const json& section, const char* key) {
    auto it = section.find(key);
    if (it == section.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

bool sets_proxy(const json& section) {
    namespace env = config::environment;
    for (const env::ProxyName& p : env::proxy_names) {
        if (p.upper == env::no_proxy.upper) continue;  // a list of exceptions sets no proxy
        for (std::string_view name : {p.upper, p.lower}) {
            std::optional<std::string> value = own(section, std::string(name).c_str());
            if (value && !trim(*value).empty()) return true;
        }
    }
    return false;
}

std::string origin_of(const Origins& origins, const std::string& pointer) {
    auto it = origins.find(pointer);
    return it != origins.end() ? it->second : "configuration";
}

}  // namespace

std::vector<NoProxyEntry> no_proxy_additions(const json& spec, const json& instance, ProxyNode node) {
    std::vector<NoProxyEntry> out;
    auto add = [&](std::string entry, std::string why) {
        if (entry.empty()) return;
        std::string c = canonical(entry);
        if (std::none_of(out.begin(), out.end(), [&](const NoProxyEntry& e) { return canonical(e.entry) == c; }))
            out.push_back({std::move(entry), std::move(why)});
    };
    add("169.254.169.254", "IMDS");
    add("fd00:ec2::254", "IMDS over IPv6");
    // Go's net/http (kubelet, containerd) never proxies loopback, but curl and
    // Python (the AWS CLI) do unless told; the default section reaches every
    // service, and AWS's own proxy guidance for EKS nodes lists these too.
    add("localhost", "loopback");
    add("127.0.0.1", "loopback");
    add("::1", "loopback");
    for (const char* key : {"vpcIpv4CidrBlocks", "vpcIpv6CidrBlocks"}) {
        auto it = instance.find(key);
        if (it == instance.end() || !it->is_array()) continue;
        for (const json& cidr : *it)
            if (cidr.is_string()) add(cidr.get<std::string>(), "VPC CIDR, from IMDS");
    }
    if (const json* cluster = object_at(spec, {"cluster"})) {
        if (std::optional<std::string> cidr = own(*cluster, "cidr")) add(*cidr, "service CIDR, spec.cluster.cidr");
        if (std::optional<std::string> endpoint = own(*cluster, "apiServerEndpoint")) {
            std::string host = detail::url_host(*endpoint);
            std::transform(host.begin(), host.end(), host.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
            add(host, "cluster endpoint, host of spec.cluster.apiServerEndpoint");
        }
    }
    if (node == ProxyNode::ecs) {
        // The agent serves tasks their IAM role credentials and metadata
        // there, and talks to dockerd over its socket: never through a proxy.
        add("169.254.170.2", "ECS task credentials and metadata endpoint");
        add("/var/run/docker.sock", "Docker's socket, which the ECS agent uses");
    }
    return out;
}

std::string complete_no_proxy_list(std::string_view list, const std::vector<NoProxyEntry>& additions,
                                   std::vector<NoProxyEntry>* added) {
    std::string out(trim(list));
    for (const NoProxyEntry& e : additions) {
        if (lists(out, canonical(e.entry))) continue;
        append_entry(out, e.entry);
        if (added) added->push_back(e);
    }
    while (!out.empty() && (out.back() == ',' || out.back() == ' ' || out.back() == '\t')) out.pop_back();
    return out;
}

void complete_no_proxy(json& spec, const json& instance, Origins& origins, ProxyNode node) {
    json* environment = nullptr;
    if (auto i = spec.find("instance"); i != spec.end() && i->is_object())
        if (auto e = i->find("environment"); e != i->end() && e->is_object()) environment = &*e;
    if (!environment) return;
    bool proxied = std::any_of(environment->begin(), environment->end(),
                               [](const json& section) { return section.is_object() && sets_proxy(section); });
    if (!proxied) return;

    const std::vector<NoProxyEntry> additions = no_proxy_additions(spec, instance, node);
    // default first: every other section inherits its values (render/system_files.cpp writes
    // default.env and UNIT.env, and each unit reads them in that order).
    if (!environment->contains("default")) (*environment)["default"] = json::object();
    // Then each section that lists its own, as it overrides default's, and
    // goes through a proxy: its own or default's.
    const bool default_proxied = sets_proxy((*environment)["default"]);
    std::vector<std::string> sections = {"default"};
    for (auto it = environment->begin(); it != environment->end(); ++it)
        if (it.key() != "default" && it->is_object() && (default_proxied || sets_proxy(*it)))
            sections.push_back(it.key());

    for (const std::string& name : sections) {
        json& section = (*environment)[name];
        if (!section.is_object()) continue;
        const std::string at = "/spec/instance/environment/" + name + "/";
        std::optional<std::string> upper = own(section, "NO_PROXY"), lower = own(section, "no_proxy");
        // A service section that lists neither inherits default's, completed below.
        if (name != "default" && !upper && !lower) continue;

        // The user's list: one spelling, or both joined (NO_PROXY's entries first).
        std::string base;
        std::string base_origin;
        if (upper && lower) {
            base = *upper;
            for (std::string_view e : entries(*lower))
                if (!lists(base, canonical(e))) append_entry(base, e);
            base_origin = *upper == *lower
                              ? origin_of(origins, at + "NO_PROXY")
                              : fmt::format("NO_PROXY ({}) and no_proxy ({}) joined",
                                            origin_of(origins, at + "NO_PROXY"), origin_of(origins, at + "no_proxy"));
        } else if (upper || lower) {
            base = upper ? *upper : *lower;
            const char* from = upper ? "NO_PROXY" : "no_proxy";
            base_origin = origin_of(origins, at + from);
        }

        std::vector<NoProxyEntry> added;
        const std::string completed = complete_no_proxy_list(base, additions, &added);
        std::string why;
        for (const NoProxyEntry& e : added) why += fmt::format("{}{} ({})", why.empty() ? "" : ", ", e.entry, e.why);
        std::string origin = base_origin.empty() ? "eks-node NO_PROXY completion, as a proxy is set: " + why
                             : why.empty()       ? base_origin
                                                 : base_origin + "; completed by eks-node, as a proxy is set: " + why;

        for (const char* key : {"NO_PROXY", "no_proxy"}) {
            std::optional<std::string> before = own(section, key);
            if (before && *before == completed) continue;
            // The spelling the user did not set is a copy of the one set, so
            // that programs reading either (Go: NO_PROXY first; curl and
            // Python: no_proxy first) see the same list.
            std::string key_origin = origin;
            if (!before && !base_origin.empty())
                key_origin = fmt::format("copy of {}: {}", upper ? "NO_PROXY" : "no_proxy", origin);
            section[key] = completed;
            origins[at + key] = key_origin;
        }
        if (!added.empty())
            log::info("spec.instance.environment.{}: NO_PROXY and no_proxy completed with {} (a proxy is set)", name,
                      why);
    }
}

}  // namespace eksnode::derive
