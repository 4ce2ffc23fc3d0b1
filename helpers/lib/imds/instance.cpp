// SPDX-License-Identifier: Apache-2.0
// instance.json from the raw IMDS answers: validation, defaults, derivations.

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "imds/detail.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"
#include "input/settings.hpp"

namespace eksnode::imds::detail {

namespace {

bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }

using value::Check;

// A value IMDS serves but that is not what its path holds: bad instance data
// (exit 6), named by its path. Asking again would get the same answer.
[[noreturn]] void bad(std::string_view path, const std::string& problem) {
    throw ConfigError(fmt::format("IMDS {}", path), "", problem);
}

const std::optional<std::string>* find(const Fetched& values, std::string_view path) {
    auto it = values.find(path);
    return it == values.end() ? nullptr : &it->second;
}

// A single-line value, checked by its type. Everything here ends up in
// kubelet flags, file names and unit environments, so only what `check`
// accepts passes: no space, no control character (a newline above all), no
// byte that is not UTF-8.
std::optional<std::string> scalar(const Fetched& values, std::string_view path, bool required, Check check) {
    const std::optional<std::string>* v = find(values, path);
    if (!v || !*v) {
        if (required) throw Error(fmt::format("IMDS has no {} (HTTP 404); it is served on every EC2 instance", path));
        return std::nullopt;
    }
    std::string_view s = trim_line(**v);
    if (s.empty()) {
        if (required) bad(path, "the value is empty");
        return std::nullopt;
    }
    if (std::string problem = check(s); !problem.empty()) bad(path, problem);
    return std::string(s);
}

// A newline-separated list (ipv6s, vpc-ipv4/6-cidr-blocks), each entry checked;
// absent is empty.
json list(const Fetched& values, std::string_view path, Check check) {
    std::vector<std::string> out;
    const std::optional<std::string>* v = find(values, path);
    if (!v || !*v) return json::array();
    if (std::string problem = value::list(**v, check, out); !problem.empty()) bad(path, problem);
    return out;
}

// The interfaces attached now, by MAC (the listing of
// meta-data/network/interfaces/macs/); absent is empty.
json interface_macs(const Fetched& values) {
    std::vector<std::string> out;
    const std::optional<std::string>* v = find(values, p::interface_macs);
    if (!v || !*v) return json::array();
    if (std::string problem = value::mac_listing(**v, out); !problem.empty()) bad(p::interface_macs, problem);
    return out;
}

}  // namespace

std::string mac_path(std::string_view mac, std::string_view leaf) {
    return fmt::format("meta-data/network/interfaces/macs/{}/{}", mac, leaf);
}

bool is_mac(std::string_view s) { return value::mac(s).empty(); }

std::string region_from_az(std::string_view az) {
    // A region is <letters>(-<letters>)+-<digits>: "us-west-2", "us-gov-east-1",
    // "eusc-de-east-1". A zone appends a letter ("us-west-2f") or, for Local
    // and Wavelength Zones, "-<more>" ("us-west-2-lax-1a").
    size_t i = 0;
    auto letters = [&] {
        size_t start = i;
        while (i < az.size() && is_lower_alpha(az[i])) ++i;
        return i > start;
    };
    if (!letters()) return {};
    int groups = 1;
    while (i < az.size() && az[i] == '-') {
        ++i;
        if (i < az.size() && is_digit(az[i])) {
            while (i < az.size() && is_digit(az[i])) ++i;
            // The region ends at its number; a zone letter or "-..." follows.
            if (groups < 2 || i == az.size()) return {};
            return std::string(az.substr(0, i));
        }
        if (!letters()) return {};
        ++groups;
    }
    return {};
}

std::string_view partition_for_region(std::string_view region) {
    // Longest prefixes first: "us-iso-" must not catch "us-isob-".
    static constexpr std::pair<std::string_view, std::string_view> by_prefix[] = {
        {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"}, {"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"},
        {"us-gov-", "aws-us-gov"}, {"cn-", "aws-cn"},         {"eusc-", "aws-eusc"},
    };
    for (auto [prefix, partition] : by_prefix)
        if (region.starts_with(prefix)) return partition;
    return "aws";
}

std::string_view domain_for_partition(std::string_view partition) {
    static constexpr std::pair<std::string_view, std::string_view> domains[] = {
        {"aws", "amazonaws.com"},        {"aws-cn", "amazonaws.com.cn"}, {"aws-us-gov", "amazonaws.com"},
        {"aws-iso", "c2s.ic.gov"},       {"aws-iso-b", "sc2s.sgov.gov"}, {"aws-iso-e", "cloud.adc-e.uk"},
        {"aws-iso-f", "csp.hci.ic.gov"}, {"aws-eusc", "amazonaws.eu"},
    };
    for (auto [name, domain] : domains)
        if (name == partition) return domain;
    return {};
}

json assemble_instance(const Fetched& values, std::string_view endpoint) {
    namespace v = value;
    std::string instance_id = *scalar(values, p::instance_id, true, v::instance_id);
    std::string instance_type = *scalar(values, p::instance_type, true, v::instance_type);
    std::string az = *scalar(values, p::availability_zone, true, v::availability_zone);
    std::string mac = *scalar(values, p::mac, true, v::mac);

    // The identity document is optional here (instance.json takes it only for
    // the architecture and as a second source of the region), but a document
    // that is served and unreadable means something is badly wrong: say so.
    // Without exceptions: a number such as 1e400 is as unreadable as any
    // other broken document, and gets the same message.
    json identity = json::object();
    if (const std::optional<std::string>* doc = find(values, p::identity_document); doc && *doc) {
        identity = json::parse(**doc, nullptr, false);
        if (!identity.is_object()) bad(p::identity_document, "not a JSON object");
    }
    auto identity_string = [&](const char* key, Check check) -> std::optional<std::string> {
        auto it = identity.find(key);
        if (it == identity.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
        const std::string& s = it->get_ref<const std::string&>();
        if (std::string problem = check(s); !problem.empty())
            bad(p::identity_document, fmt::format("{}: {}", key, problem));
        return s;
    };

    std::optional<std::string> region = scalar(values, p::region, false, v::region);
    if (!region) {
        if ((region = identity_string("region", v::region))) {
            log::info("region {}: from the instance identity document ({} not served)", *region, p::region);
        } else {
            region = region_from_az(az);
            if (region->empty())
                bad(p::availability_zone,
                    fmt::format("\"{}\" does not name a region, and IMDS serves no {}", az, p::region));
            log::info("region {}: derived from availability zone {} ({} not served)", *region, az, p::region);
        }
    }

    std::optional<std::string> partition = scalar(values, p::partition, false, v::partition);
    if (!partition) {
        partition = std::string(partition_for_region(*region));
        log::info("partition {}: derived from region {} ({} not served)", *partition, *region, p::partition);
    }
    std::optional<std::string> domain = scalar(values, p::domain, false, v::dns_name);
    if (!domain) {
        std::string_view d = domain_for_partition(*partition);
        if (d.empty())
            bad(p::partition,
                fmt::format("\"{}\" is not a partition eks-node knows, and IMDS serves no {}", *partition, p::domain));
        domain = std::string(d);
        log::info("domain {}: the default of partition {} ({} not served)", *domain, *partition, p::domain);
    }

    json out = json::object();
    out["instanceId"] = instance_id;
    out["instanceType"] = instance_type;
    out["region"] = *region;
    out["availabilityZone"] = az;
    if (auto arch = identity_string("architecture", v::architecture)) out["architecture"] = *arch;
    out["partition"] = *partition;
    out["domain"] = *domain;
    out["mac"] = mac;
    out["interfaceMacs"] = interface_macs(values);
    if (auto ip = scalar(values, p::local_ipv4, false, v::ipv4)) out["localIpv4"] = *ip;
    out["ipv6s"] = list(values, mac_path(mac, "ipv6s"), v::ipv6);
    if (auto name = scalar(values, p::local_hostname, false, v::dns_name)) out["localHostname"] = *name;
    if (auto name = scalar(values, p::hostname, false, v::dns_name)) out["hostname"] = *name;
    out["vpcIpv4CidrBlocks"] = list(values, mac_path(mac, "vpc-ipv4-cidr-blocks"), v::ipv4_cidr);
    out["vpcIpv6CidrBlocks"] = list(values, mac_path(mac, "vpc-ipv6-cidr-blocks"), v::ipv6_cidr);
    if (auto arn = scalar(values, p::outpost_arn, false, v::outpost_arn)) out["outpostArn"] = *arn;
    // The first role listed (an instance profile has exactly one), or null.
    out["iamRole"] = nullptr;
    if (const std::optional<std::string>* roles = find(values, p::iam_roles); roles && *roles) {
        std::string_view first = trim_line(**roles);
        first = trim_line(first.substr(0, first.find('\n')));
        if (!first.empty()) {
            if (std::string problem = v::iam_role(first); !problem.empty()) bad(p::iam_roles, problem);
            out["iamRole"] = std::string(first);
        }
    }
    // null outside an Auto Scaling group (404): eks-node-warm-pool(8)
    std::optional<std::string> lifecycle = scalar(values, p::target_lifecycle_state, false, v::lifecycle_state);
    out["targetLifecycleState"] = lifecycle ? json(*lifecycle) : json(nullptr);
    out["imdsEndpoint"] = std::string(endpoint);
    const std::optional<std::string>* ud = find(values, p::user_data);
    out["userData"] = ud && ud->has_value();
    return out;
}

}  // namespace eksnode::imds::detail

namespace eksnode::imds {

std::string_view default_domain(std::string_view region) {
    // every partition partition_for_region() names has a domain
    return detail::domain_for_partition(detail::partition_for_region(region));
}

void check_instance(const json& instance, const std::string& source) {
    namespace v = value;
    if (!instance.is_object()) throw ConfigError(source, "", "not a JSON object");
    using Check = std::string (*)(std::string_view);
    static constexpr std::pair<const char*, Check> strings[] = {
        {"instanceId", v::instance_id},
        {"instanceType", v::instance_type},
        {"region", v::region},
        {"availabilityZone", v::availability_zone},
        {"architecture", v::architecture},
        {"partition", v::partition},
        {"domain", v::dns_name},
        {"mac", v::mac},
        {"localIpv4", v::ipv4},
        {"localHostname", v::dns_name},
        {"hostname", v::dns_name},
        {"outpostArn", v::outpost_arn},
    };
    static constexpr std::pair<const char*, Check> lists[] = {{"interfaceMacs", v::mac},
                                                              {"ipv6s", v::ipv6},
                                                              {"vpcIpv4CidrBlocks", v::ipv4_cidr},
                                                              {"vpcIpv6CidrBlocks", v::ipv6_cidr}};
    auto check = [&](const json& value, const std::string& field, Check type) {
        if (!value.is_string()) throw ConfigError(source, field, "not a string");
        if (std::string problem = type(value.get_ref<const std::string&>()); !problem.empty())
            throw ConfigError(source, field, problem);
    };
    for (auto [key, type] : strings)
        if (auto it = instance.find(key); it != instance.end()) check(*it, key, type);
    for (auto [key, type] : lists) {
        auto it = instance.find(key);
        if (it == instance.end()) continue;
        if (!it->is_array()) throw ConfigError(source, key, "not a list");
        for (size_t i = 0; i < it->size(); ++i) check((*it)[i], fmt::format("{}[{}]", key, i), type);
    }
    if (auto it = instance.find("iamRole"); it != instance.end() && !it->is_null()) check(*it, "iamRole", v::iam_role);
    if (auto it = instance.find("targetLifecycleState"); it != instance.end() && !it->is_null())
        check(*it, "targetLifecycleState", v::lifecycle_state);
    if (auto it = instance.find("imdsEndpoint"); it != instance.end()) {
        std::string problem;
        if (!it->is_string() || !input::settings::imds_endpoint(it->get_ref<const std::string&>(), problem))
            throw ConfigError(
                source, "imdsEndpoint",
                fmt::format("{} is not an IMDS endpoint{}{}",
                            it->is_string() ? v::shown(it->get_ref<const std::string&>()) : "a non-string",
                            problem.empty() ? "" : ": ", problem));
    }
}

ImdsResult offline_instance(const OfflineFacts& facts) {
    namespace v = value;
    using detail::Fetched;
    auto given = [](const std::string& value, const std::string& fallback) { return value.empty() ? fallback : value; };
    const std::string ip = given(facts.private_ipv4, "10.0.0.10");
    std::string dashed = ip;
    std::replace(dashed.begin(), dashed.end(), '.', '-');
    const std::string domain = facts.region == "us-east-1" ? "ec2.internal" : facts.region + ".compute.internal";
    const std::string mac = given(facts.mac, "02:00:00:00:00:01");
    struct Flag {
        const char* name;
        std::string value;
        std::string (*check)(std::string_view);
        std::string_view path;
    };
    const Flag flags[] = {
        {"--instance-type", facts.instance_type, v::instance_type, detail::p::instance_type},
        {"--region", facts.region, v::region, detail::p::region},
        {"--availability-zone", given(facts.availability_zone, facts.region + "a"), v::availability_zone,
         detail::p::availability_zone},
        {"--private-ipv4", ip, v::ipv4, detail::p::local_ipv4},
        {"--instance-id", given(facts.instance_id, "i-00000000000000000"), v::instance_id, detail::p::instance_id},
        {"--mac", mac, v::mac, detail::p::mac},
        {"--hostname", given(facts.hostname, "ip-" + dashed + "." + domain), v::dns_name, detail::p::local_hostname},
    };
    Fetched values;
    for (const Flag& f : flags) {
        if (f.value.empty()) throw UsageError(fmt::format("render offline: {} is required", f.name));
        if (std::string problem = f.check(f.value); !problem.empty())
            throw UsageError(fmt::format("render offline: {}: {}", f.name, problem));
        values[std::string(f.path)] = f.value;
    }
    const std::string vpc = given(facts.vpc_cidr, "10.0.0.0/16");
    if (std::string problem = v::ipv4_cidr(vpc); !problem.empty())
        throw UsageError(fmt::format("render offline: --vpc-cidr: {}", problem));
    values[detail::mac_path(mac, "vpc-ipv4-cidr-blocks")] = vpc;
    values[std::string(detail::p::interface_macs)] = mac + "/";
    if (facts.user_data) values[std::string(detail::p::user_data)] = *facts.user_data;
    ImdsResult r;
    r.instance = detail::assemble_instance(values, "");
    r.instance.erase("imdsEndpoint");
    r.user_data = facts.user_data;
    return r;
}

}  // namespace eksnode::imds
