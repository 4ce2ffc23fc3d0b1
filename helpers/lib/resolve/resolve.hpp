// eks-node-config: gathers every configuration source in order, validates,
// derives, and returns the single resolved truth (config.json).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/sources.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "derive/derive.hpp"

namespace eksnode {

// Drop-in directories searched for node.toml.d/*.toml, lowest priority first.
inline constexpr std::string_view config_dirs[] = {"/usr/lib/eks-node", "/run/eks-node", "/etc/eks-node"};
// The slot user data takes among the fragments (sorts between 10-* and 90-*).
inline constexpr std::string_view user_data_slot = "50-user-data";

struct FragmentFile {
    std::string name;   // file name, e.g. "10-image.toml" (decides the order)
    fs::path path;      // the winning file across the three directories
};

// Fragment files in merge order, after systemd drop-in rules: sorted by name
// across the three directories, a same-named file in /etc hides /run hides
// /usr/lib, a symlink to /dev/null (or an empty file) masks.
std::vector<FragmentFile> fragment_files(const Paths& paths);

// systemd's rule: a drop-in that is a symlink to /dev/null, or empty, masks
// every lower-priority file of the same name.
bool is_mask(const fs::path& p);

// settings.<table> of the static fragments (no user data), merged key by key,
// read with toml++ alone: for eks-node-imds, which must not pull in the whole
// config model. The caller validates the values (imds_options() does). Throws
// ConfigError naming the file on a TOML syntax error.
json static_settings_table(const Paths& paths, std::string_view table);

// Only the static TOML fragments' settings (no user data): what eks-node-imds
// and the generator may read before user data is known.
json static_settings(const Paths& paths);

// What EKS DescribeCluster says about a cluster.
struct ClusterDetails {
    std::string endpoint;               // "https://ABC.gr7.us-west-2.eks.amazonaws.com"
    std::string certificate_authority;  // base64 of PEM, as NodeConfig carries it
    std::string cidr;                   // service CIDR (IPv4 or IPv6, by the cluster's ipFamily)
    std::string status;                 // "ACTIVE", "CREATING"
};

// The AWS API calls eks-node-config may make (helpers/lib/aws/ wires them;
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
using ApiFactory =
    std::function<ApiLookups(const json& spec, const json& settings, const json& instance, const MachineFacts& machine)>;

struct ResolveInput {
    Paths paths;
    json instance;                          // instance.json
    std::optional<std::string> user_data;   // raw bytes, as IMDS served them
    std::string user_data_label = "user data";
    ApiFactory api = {};                    // empty: no AWS API (offline resolution, tests)
};

// Returns config.json. Throws ConfigError (exit 6) before anything is written.
json resolve_config(const ResolveInput& in);

}  // namespace eksnode

// config.json, schemaVersion 1 (documented for users in eks-node-config(8)):
// {
//   "schemaVersion": 1,
//   "spec": {                       // merged NodeConfig spec, NodeConfig field names
//     "cluster": {"name", "apiServerEndpoint", "certificateAuthority" (base64, as given),
//                 "cidr", "enableOutpost", "id"},
//     "kubelet": {"config": {...}, "flags": ["--a=b", ...], "maxPodsExpression": "..."},
//     "containerd": {"config": {...TOML as a JSON object...}, "baseRuntimeSpec": {...}},
//     "instance": {"localStorage": {"strategy", "mountPath", "disabledMounts": [...]},
//                  "environment": {"default": {..}, "kubelet": {..}, "containerd": {..}},
//                  "network": {"nameservers": [...], "domains": [...]}},
//     "featureGates": {"InstanceIdNodeName": true, "FastImagePull": false}
//   },
//   "settings": {...},              // eks-node's own knobs (eks-node.toml(5) [settings])
//   "instance": {...},              // instance.json as eks-node-imds wrote it
//   "machine": {"cpuMillicores", "memoryMiB", "kubeletVersion", "containerdVersion", "nvidiaGpu"},
//   "derived": {
//     "maxPods": 58,                // effective: kubelet.config.maxPods > expression > ENI table > fallback
//     "kubeReserved": {"cpu": "70m", "ephemeral-storage": "1Gi", "memory": "893Mi"},
//     "clusterDNS": ["10.100.0.10"], "ipFamily": "ipv4", "nodeIP": "172.16.34.43",
//     "providerID": "aws:///us-west-2f/i-...", "nodeName": "ip-...ec2.internal",
//     "sandboxImage": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
//     "caPEM": "-----BEGIN CERTIFICATE-----\n...", "apiServerHost": "example.com"
//   },
//   "origins": {"/spec/cluster/name": "user data", "/derived/maxPods": "ENI table (m4.xlarge: 4 ENIs x 15 IPs)"}
// }
