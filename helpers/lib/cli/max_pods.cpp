// SPDX-License-Identifier: Apache-2.0
// eks-node max-pods: AL2's max-pods-calculator.sh on eks-node's ENI table.
//
// Its rules (amazon-eks-ami files/max-pods-calculator.sh): --cni-max-eni caps
// the ENIs, custom networking takes one away, prefix delegation (VPC CNI
// 1.9.0 or later, on a type that supports it) counts 16 addresses per slot,
// and the result is capped at 110 below 31 vCPUs, else 250, unless
// --show-max-allowed asks for the raw number. The script asks EC2 for the ENI
// limits and vCPUs; the ENI limits here come from the embedded table.
#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/paths.hpp"
#include "derive/derive.hpp"
#include "imds/imds.hpp"

namespace eksnode::cli {

const char* const max_pods_help =
    "Usage: eks-node max-pods (--instance-type TYPE | --instance-type-from-imds) [OPTIONS]\n"
    "\n"
    "The recommended maxPods for an instance type, as AL2's max-pods-calculator.sh computes it.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "Prints the number alone, so $(eks-node max-pods ...) works in scripts. See eks-node(1).\n";

namespace {

struct MaxPodsOptions {
    std::string instance_type;
    bool from_imds = false;
    std::string imds_endpoint;
    std::optional<std::string> cni_version;
    bool prefix_delegation = false;
    bool custom_networking = false;
    std::optional<int> max_enis;
    bool show_max_allowed = false;
    std::optional<int> vcpus;
    Paths paths;
    bool json_output = false;
};

MaxPodsOptions parse_max_pods(const std::vector<std::string>& args) {
    const ParsedOptions p = parse_options("max-pods", args);
    if (!p.args.empty()) throw UsageError(fmt::format("max-pods: unexpected argument \"{}\"", p.args[0]));
    MaxPodsOptions o;
    o.instance_type = p.value("--instance-type").value_or("");
    o.from_imds = p.has("--instance-type-from-imds");
    o.imds_endpoint = p.value("--imds-endpoint").value_or("");
    o.cni_version = p.value("--cni-version");
    o.prefix_delegation = p.has("--cni-prefix-delegation-enabled");
    o.custom_networking = p.has("--cni-custom-networking-enabled");
    if (auto v = p.value("--cni-max-eni")) o.max_enis = positive_int_option("--cni-max-eni", *v);
    o.show_max_allowed = p.has("--show-max-allowed");
    if (auto v = p.value("--vcpus")) o.vcpus = positive_int_option("--vcpus", *v);
    if (auto v = p.value("--root")) o.paths = Paths(*v);
    o.json_output = p.has("--json");
    if (o.from_imds == !o.instance_type.empty())
        throw UsageError("max-pods: give exactly one of --instance-type TYPE and --instance-type-from-imds");
    return o;
}

// "1.9.0", "v1.18.3-eksbuild.1": 1.9 or later delegates prefixes.
bool cni_supports_prefixes(const std::string& version) {
    std::string_view v = version;
    if (v.starts_with("v")) v.remove_prefix(1);
    int major = 0, minor = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), major);
    if (ec != std::errc() || p == v.data() + v.size() || *p != '.' ||
        std::from_chars(p + 1, v.data() + v.size(), minor).ec != std::errc())
        throw UsageError(fmt::format("--cni-version: \"{}\" is not a version such as 1.9.0", version));
    return major > 1 || (major == 1 && minor >= 9);
}

// This machine's CPUs: sys/devices/system/cpu/online ("0-3,6").
std::optional<int> online_cpus(const Paths& paths) {
    auto text = read_file_if_exists(paths.of("/sys/devices/system/cpu/online"));
    if (!text) return std::nullopt;
    int count = 0;
    std::string_view s = *text;
    while (!s.empty()) {
        size_t comma = std::min(s.find(','), s.size());
        std::string_view range = s.substr(0, comma);
        while (!range.empty() && (range.back() == '\n' || range.back() == ' ')) range.remove_suffix(1);
        int a = 0, b = 0;
        auto [p, ec] = std::from_chars(range.data(), range.data() + range.size(), a);
        if (ec != std::errc()) return std::nullopt;
        b = a;
        if (p != range.data() + range.size() &&
            (*p != '-' || std::from_chars(p + 1, range.data() + range.size(), b).ec != std::errc()))
            return std::nullopt;
        count += b - a + 1;
        s.remove_prefix(std::min(comma + 1, s.size()));
    }
    return count > 0 ? std::optional(count) : std::nullopt;
}

std::string instance_type_from_imds(const MaxPodsOptions& o) {
    imds::ImdsOptions imds = imds::imds_options(json::object(), o.imds_endpoint);
    imds.deadline = std::chrono::seconds(10);  // the calculator's curl -m 10
    imds::ImdsResult r = fetch_instance(imds);
    return r.instance.at("instanceType").get<std::string>();
}

}  // namespace

int max_pods_cmd(const std::vector<std::string>& args) {
    MaxPodsOptions o = parse_max_pods(args);
    std::string type = o.from_imds ? instance_type_from_imds(o) : o.instance_type;
    std::optional<derive::EniLimits> limits = derive::eni_limits(type);
    if (!limits) {
        const std::string near = near_name(type, derive::known_instance_types());
        throw ConfigError("eks-node max-pods", "--instance-type",
                          fmt::format("\"{}\" is not in eks-node's ENI table (data/instance-info.jsonl){}", type,
                                      near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
    }

    bool cni_prefixes = !o.cni_version || cni_supports_prefixes(*o.cni_version);
    bool prefixes = o.prefix_delegation && cni_prefixes && derive::supports_prefix_delegation(type);
    derive::EniLimits used = *limits;
    if (o.max_enis) used.enis = std::min(used.enis, *o.max_enis);
    int max_allowed = derive::max_pods_from_enis(used, prefixes, o.custom_networking);

    std::optional<int> vcpus = o.vcpus;
    std::string vcpus_origin = "--vcpus";
    if (!vcpus && o.from_imds) vcpus = online_cpus(o.paths), vcpus_origin = "online CPUs of this machine";
    if (!vcpus) vcpus = derive::vcpus_from_size(type), vcpus_origin = "size name";
    std::optional<int> ceiling;
    int value = max_allowed;
    if (!o.show_max_allowed) {
        // below the lower cap the vCPUs do not matter
        if (vcpus) ceiling = derive::prefix_delegation_ceiling(*vcpus);
        else if (max_allowed > derive::prefix_delegation_ceiling(1))
            throw UsageError(
                fmt::format("max-pods: the vCPUs of {} decide the cap on {}; pass --vcpus N", type, max_allowed));
        if (ceiling) value = std::min(max_allowed, *ceiling);
    }

    if (!o.json_output) {
        fmt::print("{}\n", value);
        return EXIT_OK;
    }
    json out = json::object();
    out["instanceType"] = type;
    out["maxPods"] = value;
    out["maxAllowed"] = max_allowed;
    out["enis"] = limits->enis;
    out["ipv4AddressesPerEni"] = limits->ips_per_eni;
    out["enisForPods"] = std::max(0, used.enis - (o.custom_networking ? 1 : 0));
    out["prefixDelegation"] = prefixes;
    if (o.prefix_delegation && !prefixes)
        out["prefixDelegationUnavailable"] =
            !cni_prefixes ? "VPC CNI older than 1.9.0" : "not a Nitro or bare-metal type";
    out["customNetworking"] = o.custom_networking;
    out["vcpus"] = vcpus ? json(*vcpus) : json(nullptr);
    if (vcpus) out["vcpusFrom"] = vcpus_origin;
    out["ceiling"] = ceiling ? json(*ceiling) : json(nullptr);
    fmt::print("{}", dump_pretty(out, 2));
    return EXIT_OK;
}

}  // namespace eksnode::cli
