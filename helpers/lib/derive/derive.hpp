// Derived values, computed once by eks-node-config and recorded in config.json
// with their origin: max pods, reserved resources, cluster DNS, IP family,
// node IP, provider ID, node name, versions, sandbox image.
//
// Owner area: helpers/lib/derive/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"

namespace eksnode {

struct MachineFacts {
    int cpu_millicores = 0;            // online CPUs * 1000 (sys/devices/system/cpu/online)
    long memory_mib = 0;               // MemTotal (proc/meminfo), 0 if unknown
    std::string kubelet_version;       // "1.29.0" (etc/eks/kubelet-version.txt, else `kubelet --version`)
    std::string containerd_version;    // "1.7.20" (etc/eks/containerd-version.txt, else `containerd --version`)
    bool nvidia_gpu = false;           // a PCI device of vendor 0x10de under sys/bus/pci/devices
    Origins origins;                   // "/machine/<key>" -> where it came from
};

MachineFacts read_machine_facts(const Paths& paths);
json machine_json(const MachineFacts& m);   // config.json "machine"

// Returns config.json "derived". Records origins under "/derived/<key>".
// Throws ConfigError for inputs only now known to be wrong (bad maxPodsExpression).
json derive(const json& spec, const json& settings, const json& instance, const MachineFacts& machine,
            Origins& origins);

// The maths, exposed for tests and `eks-node max-pods`.
struct EniLimits {
    int enis = 0;
    int ips_per_eni = 0;
};
std::optional<EniLimits> eni_limits(std::string_view instance_type);   // embedded table
int max_pods_from_enis(EniLimits l, bool prefix_delegation, bool custom_networking);
long eval_max_pods_expression(std::string_view expr, long default_enis, long ips_per_eni, long max_pods,
                              const std::string& source);
int cpu_millicores_to_reserve(int cpu_millicores);
int memory_mib_to_reserve(int max_pods);
std::string cluster_dns_from_cidr(std::string_view cidr);   // ".10" / "::a"
// "<account>.dkr.ecr.<region>.<suffix>/eks/pause:<tag>" from the embedded table.
std::string sandbox_image(std::string_view region, std::string_view dns_suffix, bool fips);

// semver-ish compare of "1.29.0" against "1.29": <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace eksnode
