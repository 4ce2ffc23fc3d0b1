// SPDX-License-Identifier: Apache-2.0
// Max pods from ENI limits, and the resources kubelet reserves for itself.
//
// Facts behind the numbers (amazon-eks-ami and amazon-vpc-cni-k8s):
// - Each ENI's primary address is not used for pods, and two host-network
//   pods (aws-node, kube-proxy) need no pod address: ENIs * (IPs - 1) + 2
//   (nodeadm/internal/kubelet/eni_max_pods.go, calculateStandardMaxPods).
// - With prefix delegation every secondary-address slot holds a /28, i.e. 16
//   addresses; max-pods-calculator.sh (templates/al2/runtime/) uses
//   ENIs * ((IPs - 1) * 16) + 2 and then caps the recommended value at 110, or
//   250 above 30 vCPUs. The CNI delegates prefixes only on Nitro or bare metal
//   (IsPrefixDelegationSupported in pkg/awsutils/awsutils.go).
// - --cni-max-eni caps the ENIs first; custom networking then takes one away
//   (the primary ENI stays in the node's subnet).
// - kubeReserved CPU and memory follow getCPUMillicoresToReserve and
//   getMemoryMebibytesToReserve in nodeadm/internal/kubelet/config.go.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "derive/derive.hpp"
#include "derive/tables.hpp"

namespace eksnode::derive {

namespace {

constexpr int host_network_pods = 2;
constexpr int addresses_per_prefix = 16;
constexpr int ceiling_low_cpu = 110;
constexpr int ceiling_high_cpu = 250;
constexpr int ceiling_vcpu_threshold = 30;   // max-pods-calculator.sh: "$CPU_COUNT" -gt 30

// "m5.large" -> "m5"; "u-24tb1.metal" -> "u-24tb1".
std::string_view family_of(std::string_view instance_type) {
    return instance_type.substr(0, instance_type.find('.'));
}

// ".metal", ".metal-24xl", ".metal-48xl": bare metal, no hypervisor at all.
bool is_bare_metal(std::string_view instance_type) {
    std::size_t dot = instance_type.find('.');
    return dot != std::string_view::npos && instance_type.substr(dot + 1).starts_with("metal");
}

}  // namespace

std::optional<EniLimits> eni_limits(std::string_view instance_type) {
    auto rows = tables::instance_eni;
    auto before = [](const tables::InstanceEni& row, std::string_view t) { return row.instance_type < t; };
    auto it = std::lower_bound(rows.begin(), rows.end(), instance_type, before);
    if (it == rows.end() || it->instance_type != instance_type) return std::nullopt;
    return EniLimits{it->default_max_enis, it->ipv4_addresses_per_eni};
}

std::vector<std::string> known_instance_types() {
    std::vector<std::string> out;
    for (const tables::InstanceEni& row : tables::instance_eni) out.emplace_back(row.instance_type);
    return out;
}

int max_pods_from_enis(EniLimits l, bool prefix_delegation, bool custom_networking) {
    int enis = std::max(0, l.enis - (custom_networking ? 1 : 0));
    int slots_per_eni = std::max(0, l.ips_per_eni - 1);
    int pods_per_slot = prefix_delegation ? addresses_per_prefix : 1;
    return enis * slots_per_eni * pods_per_slot + host_network_pods;
}

bool supports_prefix_delegation(std::string_view instance_type) {
    if (is_bare_metal(instance_type)) return true;
    auto families = tables::xen_instance_families;
    return !std::binary_search(families.begin(), families.end(), family_of(instance_type));
}

int prefix_delegation_ceiling(int vcpus) {
    return vcpus > ceiling_vcpu_threshold ? ceiling_high_cpu : ceiling_low_cpu;
}

MaxPodsValue max_pods_for(std::string_view instance_type, EniLimits limits, const MaxPodsOptions& opts) {
    MaxPodsValue out;
    auto warn = [&out](const std::string& w) { out.warning += (out.warning.empty() ? "" : "; ") + w; };
    out.explanation = fmt::format("{}, {} ENIs x {} IPs", instance_type, limits.enis, limits.ips_per_eni);
    EniLimits used = limits;
    if (opts.max_enis && *opts.max_enis < used.enis) {
        used.enis = *opts.max_enis;
        out.explanation += fmt::format(", {} ENIs used (settings.maxPods.maxEnis)", used.enis);
    }
    if (opts.custom_networking) {
        out.explanation += ", one ENI fewer for custom networking";
        if (used.enis <= 1)
            warn(fmt::format("custom networking leaves no ENI for pods on {}; only host-network pods fit",
                             instance_type));
    }
    bool prefixes = opts.prefix_delegation && supports_prefix_delegation(instance_type);
    if (opts.prefix_delegation && !prefixes)
        warn(fmt::format("{} is not a Nitro instance, so the VPC CNI cannot delegate prefixes; "
                         "counting secondary IPs instead",
                         instance_type));
    out.value = max_pods_from_enis(used, prefixes, opts.custom_networking);
    if (prefixes) {
        int ceiling = prefix_delegation_ceiling(opts.vcpus);
        out.explanation += fmt::format(", prefix delegation ({} addresses per slot)", addresses_per_prefix);
        if (out.value > ceiling) {
            out.explanation += fmt::format(", {} capped at {} for {} vCPUs", out.value, ceiling, opts.vcpus);
            out.value = ceiling;
        }
    }
    return out;
}

// Tiers of total CPU: 6% of the first core, 1% of the second, 0.5% of the
// third and fourth, 0.25% of the rest. Each tier rounds down on its own, as
// nodeadm's getResourceToReserveInRange does.
int cpu_millicores_to_reserve(int cpu_millicores) {
    struct Tier {
        int from, to, basis_points;   // 1 basis point = 0.01%
    };
    constexpr Tier tiers[] = {
        {0, 1000, 600}, {1000, 2000, 100}, {2000, 4000, 50}, {4000, std::numeric_limits<int>::max(), 25}};
    int reserved = 0;
    for (const Tier& t : tiers) {
        if (cpu_millicores <= t.from) break;
        long long span = std::min(cpu_millicores, t.to) - t.from;
        reserved += static_cast<int>(span * t.basis_points / 10000);
    }
    return reserved;
}

int memory_mib_to_reserve(int max_pods) { return 11 * max_pods + 255; }

int max_pods_within_memory(long memory_mib, int percent) {
    // memory_mib_to_reserve() inverted, rounding down at each step: the
    // share in whole MiB, then whole pods.
    const long long share = static_cast<long long>(memory_mib) * percent / 100;
    if (share < memory_mib_to_reserve(1)) return 0;
    return static_cast<int>(std::min<long long>((share - 255) / 11, max_pods_limit));
}

}  // namespace eksnode::derive
