// SPDX-License-Identifier: Apache-2.0
// Derived values, computed once by eks-node-config and recorded in config.json
// with their origin: max pods, reserved resources, cluster DNS, IP family,
// node IP, provider ID, node name, versions, sandbox image.
//
// Owner area: helpers/lib/derive/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "input/defaults.hpp"

namespace eksnode::derive {

struct MachineFacts {
    int cpu_millicores = 0;            // online CPUs * 1000 (sys/devices/system/cpu/online)
    long memory_mib = 0;               // MemTotal (proc/meminfo), 0 if unknown
    std::string kubelet_version;       // "1.29.0" (etc/eks/kubelet-version.txt, else `kubelet --version`)
    std::string containerd_version;    // "1.7.20" (etc/eks/containerd-version.txt, else `containerd --version`)
    bool nvidia_gpu = false;           // a PCI device of vendor 0x10de under sys/bus/pci/devices
    bool nvidia_runtime = false;       // usr/bin/nvidia-container-runtime is installed (the image's choice)
    bool fips_enabled = false;         // proc/sys/crypto/fips_enabled is 1
    bool soci_snapshotter = false;     // usr/bin/soci-snapshotter-grpc is installed
    std::string soci_version;          // its version (etc/eks/soci-snapshotter-version.txt, else --version), or ""
    Origins origins;                   // "/machine/<key>" -> where it came from
};

// Versions assumed when neither the version file nor the binary answers (a
// render into an empty temporary root, an image without kubelet yet). Logged
// as a warning and recorded as "assumed" in the origin. kubelet: the oldest
// minor in EKS standard support when this was written (2026-11), so version
// toggles assume neither a retired release nor features newer than most
// fleets run; containerd: 1.7, whose configuration format (version 2) the
// 2.x releases still read.
inline constexpr std::string_view assumed_kubelet_version = "1.34.0";
inline constexpr std::string_view assumed_containerd_version = "1.7.0";
// soci-snapshotter: the oldest release eks-node was tested with (Debian's 0.4.1),
// whose configuration (no parallel pull mode, its own content store) every
// later release still reads.
inline constexpr std::string_view assumed_soci_version = "0.4.1";

// What an offline render (`eks-node render --instance-type`) knows of the
// machine instead of reading it: its vCPUs and memory, with where each came
// from ("--vcpus", "the size name of m5.xlarge"). A value set here is not read
// from DIR or the host.
struct MachineOverride {
    std::optional<int> cpus;
    std::string cpus_origin;
    std::optional<long> memory_mib;
    std::string memory_origin;
};

MachineFacts read_machine_facts(const Paths& paths, const MachineOverride& given = {});

// vCPUs from EC2's size names: large 2, xlarge 4, NxLarge 4N, metal-Nxl 4N,
// medium and smaller 2 or fewer; nullopt for what the name does not say
// (plain .metal). Right for every size named so where it decides anything:
// max-pods' 110/250 cap (over or under 30 vCPUs), an offline render's CPUs.
std::optional<int> vcpus_from_size(std::string_view instance_type);
json machine_json(const MachineFacts& m);   // config.json "machine"

// ENI limits of an instance type: the basis of max pods.
struct EniLimits {
    int enis = 0;          // network interfaces on the default network card
    int ips_per_eni = 0;   // IPv4 addresses per interface, the primary one included
};

// Seams for the EC2 API (DescribeInstanceTypes, DescribeInstances), consulted
// only when the embedded data cannot answer. Empty functions: no lookup.
struct Ec2Lookups {
    // For an instance type the embedded table does not know; nullopt if EC2 does not either.
    std::function<std::optional<EniLimits>(std::string_view instance_type)> eni_limits;
    // EC2 PrivateDnsName of this instance, nodeadm's default node name.
    std::function<std::optional<std::string>()> private_dns_name;
};

// What EKS DescribeCluster says about a cluster.
struct ClusterDetails {
    std::string endpoint;               // "https://ABC.gr7.us-west-2.eks.amazonaws.com"
    std::string certificate_authority;  // base64 of PEM, as NodeConfig carries it
    std::string cidr;                   // service CIDR (IPv4 or IPv6, by the cluster's ipFamily)
    std::string status;                 // "ACTIVE", "CREATING"
};

// Every AWS API call eks-node-config may make (helpers/lib/aws/ wires them;
// unit tests stub them). Every member may be empty: no such lookup.
struct ApiLookups {
    Ec2Lookups ec2;
    // For a cluster named in the configuration without endpoint, CA or CIDR;
    // `origins` tell where the name came from.
    std::function<ClusterDetails(const std::string& name, const Origins& origins)> describe_cluster;
    std::function<int()> requests;  // API requests made so far, for the log
};
// Builds the lookups once the merged configuration is known; they call
// nothing until used.
using ApiFactory = std::function<ApiLookups(const json& spec, const json& settings, const json& instance,
                                            const MachineFacts& machine)>;

// values(): config.json "derived". Records origins under "/derived/<key>".
// Throws ConfigError for inputs only now known to be wrong (bad maxPodsExpression).
json values(const json& spec, const json& settings, const json& instance, const MachineFacts& machine,
            Origins& origins);
json values(const json& spec, const json& settings, const json& instance, const MachineFacts& machine, Origins& origins,
            const Ec2Lookups& ec2);

// The maths, exposed for tests and `eks-node max-pods`.
std::optional<EniLimits> eni_limits(std::string_view instance_type);   // embedded table
std::vector<std::string> known_instance_types();                       // the embedded table's, sorted
// ENIs * (IPs - 1) + 2, or ENIs * ((IPs - 1) * 16) + 2 with prefix delegation;
// custom networking leaves one ENI fewer for pods. No ceiling applied.
int max_pods_from_enis(EniLimits l, bool prefix_delegation, bool custom_networking);
// Whether the VPC CNI can delegate prefixes on this type (Nitro or bare metal).
bool supports_prefix_delegation(std::string_view instance_type);
// The ceiling on a prefix-delegation max pods: 110 up to 30 vCPUs, 250 above.
int prefix_delegation_ceiling(int vcpus);

// Options of settings.maxPods that shape the ENI-based value.
struct MaxPodsOptions {
    bool prefix_delegation = false;
    bool custom_networking = false;
    std::optional<int> max_enis;   // caps the ENIs used for pods
    int vcpus = 0;                 // online CPUs, for the prefix-delegation ceiling
};
struct MaxPodsValue {
    int value = 0;
    std::string explanation;       // "m4.xlarge, 4 ENIs x 15 IPs"
    std::string warning;           // non-empty when an option could not be honoured
};
MaxPodsValue max_pods_for(std::string_view instance_type, EniLimits limits, const MaxPodsOptions& opts);

// Largest max pods accepted from an expression or settings.maxPods.default: far
// above what any ENI/prefix arithmetic over the table yields, low enough to
// catch a typo such as `max_pods * 1000`.
inline constexpr long max_pods_limit = 30000;
// nodeadm's DefaultMaxPods (kubelet's own default) for an instance type no
// table or API knows, unless settings.maxPods.default says otherwise.
inline constexpr int fallback_max_pods = input::defaults::kubelet_max_pods;

int cpu_millicores_to_reserve(int cpu_millicores);
int memory_mib_to_reserve(int max_pods);
// settings.maxPods.reservedMemoryPercent: the most pods whose reserved memory
// (memory_mib_to_reserve) fits in `percent` % of `memory_mib`; 0 when not
// even one pod's does.
int max_pods_within_memory(long memory_mib, int percent);
// Network address + 10 (IPv4) or + 0xa (IPv6), e.g. "10.100.0.0/16" -> "10.100.0.10".
// Throws ConfigError (field spec.cluster.cidr, empty source) for a malformed CIDR.
std::string cluster_dns_from_cidr(std::string_view cidr);

// The service CIDR EKS gives a cluster created without one, as AL2's
// bootstrap.sh inferred it from the VPC when it was told neither the CIDR nor
// the DNS address: 172.20.0.0/16 when one of the VPC's IPv4 CIDR blocks lies
// in 10.0.0.0/8 (bootstrap.sh: a vpc-ipv4-cidr-blocks line of the primary
// interface starting "10."), so that services do not collide with the VPC,
// else 10.100.0.0/16. Its cluster DNS is then 172.20.0.10 or 10.100.0.10.
struct VpcServiceCidr {
    std::string cidr;     // "172.20.0.0/16"
    std::string because;  // "VPC CIDR 10.0.0.0/16 lies in 10.0.0.0/8"
};
// nullopt when `vpc_ipv4_cidrs` holds no IPv4 CIDR (nothing to infer from:
// bootstrap.sh's 10.100.0.0/16 then would be a guess, not a derivation).
std::optional<VpcServiceCidr> service_cidr_from_vpc(const std::vector<std::string>& vpc_ipv4_cidrs);
// The same from instance.json's vpcIpv4CidrBlocks (eks-node-imds reads them
// for the primary interface, as bootstrap.sh did).
std::optional<VpcServiceCidr> service_cidr_from_instance(const json& instance);

// "<account>.dkr.ecr.<region>.<suffix>/eks/pause:<tag>" from the embedded table.
// With `fips`, the ecr-fips host where ECR serves one (US and GovCloud regions).
std::string sandbox_image(std::string_view region, std::string_view dns_suffix, bool fips);
inline constexpr std::string_view pause_image_tag = "3.10";
// The name AL2023 images give the pause image they pull at build time
// (nodeadm's sandbox image default): a local name, never pulled.
inline constexpr std::string_view cached_pause_image = "localhost/kubernetes/pause:latest";
// derived.sandboxImage as eks-node-config derives it from `settings` (settings.containerd's
// sandboxImage, pauseSource, pauseAccount, pauseTag) for an instance in `region` of the
// partition whose DNS suffix is `domain`: what an image's own fragments give its nodes there.
std::string sandbox_image_for(const json& settings, std::string_view region, std::string_view domain, bool fips);

// --- proxies (derive/proxy.cpp) ----------------------------------------------

// An entry eks-node adds to NO_PROXY, and why (for origins and logs).
struct NoProxyEntry {
    std::string entry;  // "169.254.169.254", "172.16.0.0/16", "abc.gr7.us-west-2.eks.amazonaws.com"
    std::string why;    // "IMDS", "VPC CIDR, from IMDS"
};

// Which node the list is for: an ECS container instance also reaches its
// tasks' credentials endpoint and Docker's socket directly.
enum class ProxyNode { eks, ecs };

// What a node reaches directly whatever the proxy: IMDS (IPv4 and IPv6),
// loopback, the VPC's CIDRs (instance.json), the service CIDR and the cluster
// endpoint's host (spec.cluster), those known at the time, in that order; on
// an ECS node then 169.254.170.2 and /var/run/docker.sock (AWS's proxy
// guidance for ECS container instances).
std::vector<NoProxyEntry> no_proxy_additions(const json& spec, const json& instance, ProxyNode node = ProxyNode::eks);

// `list` as the user wrote it (trailing commas dropped), then, after commas,
// each of `additions` it does not name already (compared without regard to
// case; IP addresses and CIDRs by value). What was added goes to `added`.
std::string complete_no_proxy_list(std::string_view list, const std::vector<NoProxyEntry>& additions,
                                   std::vector<NoProxyEntry>* added = nullptr);

// When any section of spec.instance.environment sets a proxy (HTTP_PROXY,
// HTTPS_PROXY or ALL_PROXY, either case): completes NO_PROXY and no_proxy of
// the default section, and of each other section that lists its own and goes
// through a proxy (its own or default's), both spellings to the same list,
// and records their origins. A section listing neither inherits default's.
// Nothing changes when no proxy is set.
void complete_no_proxy(json& spec, const json& instance, Origins& origins, ProxyNode node = ProxyNode::eks);

// semver-ish compare of "1.29.0" against "1.29": <0, 0, >0.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace eksnode::derive
