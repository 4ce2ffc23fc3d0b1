// SPDX-License-Identifier: Apache-2.0
// The resolver: every configuration source gathered in order (the image's
// node.toml.d and nodeadm.d, user data in its formats, the admin's files),
// validated, merged, completed from the instance, the machine and the EC2
// and EKS APIs where needed, and derived into config.json, the single
// resolved truth every later step reads. Below the steps: eks-node-config
// writes what it returns; `eks-node config check|dump`, `render --image` and
// `validate --image` call it too. See eks-node-config(8).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/validate.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"
#include "derive/derive.hpp"
#include "input/sources.hpp"

namespace eksnode::resolve {

struct ResolveInput {
    Paths paths;
    json instance;                         // instance.json
    std::optional<std::string> user_data;  // raw bytes, as IMDS served them
    std::string user_data_label = "user data";
    derive::ApiFactory api = {};  // empty: no AWS API (offline resolution, tests)
    bool offline = false;         // `eks-node render` offline: errors say what to pass instead of the API
    derive::MachineOverride machine = {};  // offline: vCPUs and memory given, not read
};

// Returns config.json. Throws ConfigError (exit 6) before anything is written.
json resolve_config(const ResolveInput& in);

// What the image fixes of the configuration, for `eks-node render --image`:
// the static sources alone (node.toml.d, nodeadm.d; no user data, no IMDS,
// no AWS API) and this machine's facts, with derived.sandboxImage from
// settings.containerd.sandboxImage (a pause image cached in the image). Only
// containerd's render reads it: the other steps need the instance. Throws
// ConfigError when the sandbox image is not fixed by the image.
json resolve_image_config(const Paths& paths);
// The same without derived values: the image's static sources merged (spec, settings,
// origins) and this machine's facts, whatever the pause image (`eks-node validate --image`).
json resolve_image_sources(const Paths& paths);

// One warning line per NodeConfig field ignored as nodeadm ignores it
// (input::unknown_field_warnings()), with MESSAGE_ID=config_field_ignored,
// and per kubelet.config key the kubelet does not know
// (kubelet_field_warnings()), with MESSAGE_ID=kubelet_field_unknown; past
// the first 64, one line saying how many more config.json lists.
void log_warnings(const std::vector<input::Warning>& warnings);

// The kubelet version spec.kubelet.config is checked against: the
// machine's, nullopt when it is only assumed (no version file, and the step
// runs no `kubelet --version`): a guess is not a kubelet to hold a field
// against.
std::optional<std::string> checked_kubelet_version(const derive::MachineFacts& machine);

// Each key of the merged spec.kubelet.config that the kubelet of
// `kubelet_version` does not know (derive::kubelet_field_problems(), to the
// depth data/kubelet-config-fields.tsv goes), named with the source that set
// it, as a warning of Kind::kubelet_field: the key is passed through to
// kubelet all the same, as nodeadm passes it. With `refused_by` (why strict:
// "settings.strict = true", "--strict"), each is a ConfigError instead,
// thrown, or with `all` added there. With no version, the keys only some
// kubelet minors know are `notes` (one line each), not warnings.
std::vector<input::Warning> kubelet_field_warnings(const json& spec, const Origins& origins,
                                                   const std::optional<std::string>& kubelet_version,
                                                   std::string_view refused_by = {},
                                                   config::ConfigErrors* all = nullptr,
                                                   std::vector<std::string>* notes = nullptr);

// spec.instance.storage.volumes checked across entries and against
// instance.localStorage (storage::volumes_from_config()), and
// instance.localStorage itself (storage::settings_from_config(): its mount
// units' directories and names), errors naming the source that set the
// field: exit 6 at eks-node-config and `config check`.
void check_volumes(const json& spec, const json& settings, const Origins& origins);

// `eks-node config check SOURCE...`: what eks-node-config would make of user
// data before a node is launched with it, short of the instance and the AWS
// API. Every error is kept, not the first: each source's parse error, each
// field a fragment gets wrong, then (when the fragments are valid) each
// check of the merged whole. What the node would look up at boot instead
// (eks:DescribeCluster for a cluster named alone, the VPC's CIDR) is a note,
// not an error; where the node would refuse it (an Outposts cluster), an error.
struct CheckInput {
    Paths paths;  // with root_fragments: the root whose node.toml.d and nodeadm.d surround the user data
    bool root_fragments = false;
    struct Source {
        std::string label;  // as errors name it: the file's path, "standard input"
        std::string raw;    // user data, or a TOML fragment when toml
        bool toml = false;
    };
    std::vector<Source> user_data;  // in the user data slot, merged in this order
    bool strict = false;            // unknown NodeConfig fields are errors, as with settings.strict = true
    // the node's kubelet (`config check --root=DIR`), which spec.kubelet.config
    // is checked against; nullopt away from a node: against every minor eks-node knows
    std::optional<std::string> kubelet_version;
};
struct CheckResult {
    config::ConfigErrors errors;  // empty: the configuration is valid
    std::vector<input::Warning> warnings;
    std::vector<std::string> notes;    // what eks-node-config leaves to the boot, one line each
    std::vector<std::string> scripts;  // the user data's parts cloud-init runs
    json spec = json::object(), settings = json::object();
    Origins origins;
};
// `unread`: the errors of sources that could not be read, which count as a
// source's errors (no check of the merged whole without them).
CheckResult check_sources(const CheckInput& in, config::ConfigErrors unread = {});

// The whole resolution on a node, for the step and `eks-node config
// check|dump`: instance.json (checked again, whoever wrote it), user data
// (--user-data=FILE, else the copy eks-node-imds saved), the EC2 and EKS
// lookups the configuration needs.
json resolve_from_node(const StepOptions& opts);

}  // namespace eksnode::resolve

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
//   "machine": {"cpuMillicores", "memoryMiB", "kubeletVersion", "containerdVersion", "nvidiaGpu",
//               "nvidiaContainerRuntime"},
//   "derived": {
//     "maxPods": 58,                // effective: kubelet.config.maxPods > expression > ENI table > fallback
//     "kubeReserved": {"cpu": "70m", "ephemeral-storage": "1Gi", "memory": "893Mi"},
//     "clusterDNS": ["10.100.0.10"], "ipFamily": "ipv4", "nodeIP": "172.16.34.43",
//     "providerID": "aws:///us-west-2f/i-...", "nodeName": "ip-...ec2.internal",
//     "sandboxImage": "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10",
//     "caPEM": "-----BEGIN CERTIFICATE-----\n...", "apiServerHost": "example.com"
//   },
//   "warnings": [                  // only when there are: NodeConfig fields ignored as nodeadm ignores them
//     {"source": "user data (MIME part 1, application/node.eks.aws)", "field": "spec.cluster.nmae",
//      "nearest": "name", "message": "unknown field, ignored as nodeadm ignores it (nearest known field: name)"}
//   ],
//   "origins": {"/spec/cluster/name": "user data", "/derived/maxPods": "ENI table (m4.xlarge: 4 ENIs x 15 IPs)"}
// }
