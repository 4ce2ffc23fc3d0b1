// instance.json from the raw IMDS answers: validation, defaults, derivations.

#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "imds/detail.hpp"

namespace eksnode::imds_detail {

namespace {

bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

const std::optional<std::string>* find(const Fetched& values, std::string_view path) {
    auto it = values.find(path);
    return it == values.end() ? nullptr : &it->second;
}

// A single-line value. Everything here ends up in kubelet flags, file names
// and unit environments, so a control character (a newline above all) in an
// answer is refused rather than passed along.
std::optional<std::string> scalar(const Fetched& values, std::string_view path, bool required) {
    const std::optional<std::string>* v = find(values, path);
    if (!v || !*v) {
        if (required) throw Error(fmt::format("IMDS has no {} (HTTP 404); it is served on every EC2 instance", path));
        return std::nullopt;
    }
    std::string_view s = trim_line(**v);
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            throw Error(fmt::format("IMDS {}: the value contains control characters", path));
    if (s.empty()) {
        if (required) throw Error(fmt::format("IMDS {}: the value is empty", path));
        return std::nullopt;
    }
    return std::string(s);
}

// A newline-separated list (ipv6s, vpc-ipv4-cidr-blocks); absent is empty.
json list(const Fetched& values, std::string_view path) {
    json out = json::array();
    const std::optional<std::string>* v = find(values, path);
    if (!v || !*v) return out;
    std::string_view rest = **v;
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = trim_line(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.empty()) continue;
        for (char c : line)
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
                throw Error(fmt::format("IMDS {}: an entry contains control characters or spaces", path));
        out.push_back(std::string(line));
    }
    return out;
}

}  // namespace

std::string mac_path(std::string_view mac, std::string_view leaf) {
    return fmt::format("meta-data/network/interfaces/macs/{}/{}", mac, leaf);
}

bool is_mac(std::string_view s) {
    if (s.size() != 17) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2) {
            if (s[i] != ':') return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

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
        {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"}, {"eu-isoe-", "aws-iso-e"},
        {"us-iso-", "aws-iso"},    {"us-gov-", "aws-us-gov"}, {"cn-", "aws-cn"},
        {"eusc-", "aws-eusc"},
    };
    for (auto [prefix, partition] : by_prefix)
        if (region.starts_with(prefix)) return partition;
    return "aws";
}

std::string_view domain_for_partition(std::string_view partition) {
    static constexpr std::pair<std::string_view, std::string_view> domains[] = {
        {"aws", "amazonaws.com"},         {"aws-cn", "amazonaws.com.cn"},
        {"aws-us-gov", "amazonaws.com"},  {"aws-iso", "c2s.ic.gov"},
        {"aws-iso-b", "sc2s.sgov.gov"},   {"aws-iso-e", "cloud.adc-e.uk"},
        {"aws-iso-f", "csp.hci.ic.gov"},  {"aws-eusc", "amazonaws.eu"},
    };
    for (auto [name, domain] : domains)
        if (name == partition) return domain;
    return {};
}

json assemble_instance(const Fetched& values, std::string_view endpoint) {
    std::string instance_id = *scalar(values, p::instance_id, true);
    std::string instance_type = *scalar(values, p::instance_type, true);
    std::string az = *scalar(values, p::availability_zone, true);
    std::string mac = *scalar(values, p::mac, true);
    if (!is_mac(mac)) throw Error(fmt::format("IMDS {}: \"{}\" is not a MAC address", p::mac, mac));

    // The identity document is optional here (instance.json takes it only for
    // the architecture and as a second source of the region), but a document
    // that is served and unreadable means something is badly wrong: say so.
    json identity = json::object();
    if (const std::optional<std::string>* doc = find(values, p::identity_document); doc && *doc) {
        identity = json::parse(**doc, nullptr, false);
        if (!identity.is_object())
            throw Error(fmt::format("IMDS {}: not a JSON object", p::identity_document));
    }
    auto identity_string = [&](const char* key) -> std::optional<std::string> {
        auto it = identity.find(key);
        if (it == identity.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
        return it->get<std::string>();
    };

    std::optional<std::string> region = scalar(values, p::region, false);
    if (!region) {
        if ((region = identity_string("region"))) {
            log::info("region {}: from the instance identity document ({} not served)", *region, p::region);
        } else {
            region = region_from_az(az);
            if (region->empty())
                throw Error(fmt::format("IMDS serves no {} and availability zone \"{}\" does not name a region",
                                        p::region, az));
            log::info("region {}: derived from availability zone {} ({} not served)", *region, az, p::region);
        }
    }

    std::optional<std::string> partition = scalar(values, p::partition, false);
    if (!partition) {
        partition = std::string(partition_for_region(*region));
        log::info("partition {}: derived from region {} ({} not served)", *partition, *region, p::partition);
    }
    std::optional<std::string> domain = scalar(values, p::domain, false);
    if (!domain) {
        std::string_view d = domain_for_partition(*partition);
        if (d.empty())
            throw Error(fmt::format("IMDS serves no {} and partition \"{}\" is not one eks-node knows", p::domain,
                                    *partition));
        domain = std::string(d);
        log::info("domain {}: the default of partition {} ({} not served)", *domain, *partition, p::domain);
    }

    json out = json::object();
    out["instanceId"] = instance_id;
    out["instanceType"] = instance_type;
    out["region"] = *region;
    out["availabilityZone"] = az;
    if (auto arch = identity_string("architecture")) out["architecture"] = *arch;
    out["partition"] = *partition;
    out["domain"] = *domain;
    out["mac"] = mac;
    if (auto v = scalar(values, p::local_ipv4, false)) out["localIpv4"] = *v;
    out["ipv6s"] = list(values, mac_path(mac, "ipv6s"));
    if (auto v = scalar(values, p::local_hostname, false)) out["localHostname"] = *v;
    if (auto v = scalar(values, p::hostname, false)) out["hostname"] = *v;
    out["vpcIpv4CidrBlocks"] = list(values, mac_path(mac, "vpc-ipv4-cidr-blocks"));
    if (auto v = scalar(values, p::outpost_arn, false)) out["outpostArn"] = *v;
    // The first role listed (an instance profile has exactly one), or null.
    out["iamRole"] = nullptr;
    if (auto v = scalar(values, p::iam_roles, false)) {
        std::string_view first = trim_line(std::string_view(*v).substr(0, v->find('\n')));
        if (!first.empty()) out["iamRole"] = std::string(first);
    }
    out["imdsEndpoint"] = std::string(endpoint);
    const std::optional<std::string>* ud = find(values, p::user_data);
    out["userData"] = ud && ud->has_value();
    return out;
}

}  // namespace eksnode::imds_detail
