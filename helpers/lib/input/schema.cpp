// SPDX-License-Identifier: Apache-2.0
#include "input/schema.hpp"

#include <fmt/format.h>

#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/hooks.hpp"
#include "input/profiles.hpp"
#include "input/settings.hpp"

namespace eksnode::input::schema {

namespace {

Field object(std::string name, std::string doc, std::vector<Field> members) {
    return {.name = std::move(name), .kind = Kind::object, .doc = std::move(doc), .members = std::move(members)};
}

Field free_object(std::string name, std::string doc) {
    return {.name = std::move(name), .kind = Kind::free_object, .doc = std::move(doc)};
}

Field map_of(std::string name, std::string doc, Check key_check, Field element) {
    return {.name = std::move(name),
            .kind = Kind::map,
            .doc = std::move(doc),
            .members = {std::move(element)},
            .check = key_check};
}

Field list_of(std::string name, std::string doc, Field element) {
    return {.name = std::move(name), .kind = Kind::list, .doc = std::move(doc), .members = {std::move(element)}};
}

Field string_field(std::string name, std::string doc, Check check) {
    return {.name = std::move(name), .kind = Kind::string, .doc = std::move(doc), .check = check};
}

Field choice(std::string name, std::string doc, std::vector<std::string> choices) {
    return {.name = std::move(name), .kind = Kind::string, .doc = std::move(doc), .choices = std::move(choices)};
}

Field boolean(std::string name, std::string doc) {
    return {.name = std::move(name), .kind = Kind::boolean, .doc = std::move(doc)};
}

Field integer(std::string name, std::string doc, int64_t min, int64_t max) {
    return {.name = std::move(name), .kind = Kind::integer, .doc = std::move(doc), .min = min, .max = max};
}

Field duration(std::string name, std::string doc) {
    return {.name = std::move(name), .kind = Kind::duration, .doc = std::move(doc)};
}

Field read_by(Reader reader, Field f) {
    f.read = reader;
    return f;
}

// A field of nodeadm's NodeConfig that eks-node does not implement, and why
// (tests/data/nodeadm-fields.md lists every nodeadm field and what eks-node
// does with it).
Field refuse(std::string why, Field f) {
    f.refused = std::move(why);
    return f;
}

Field cluster() {
    return object(
        "cluster", "the EKS cluster to join",
        {
            string_field("name", "cluster name", format::check::cluster_name),
            string_field("apiServerEndpoint", "URL of the cluster's API server", format::check::http_url),
            string_field("certificateAuthority", "cluster CA: base64 of PEM or DER, or PEM text",
                         format::check::certificate_authority),
            string_field("cidr", "service CIDR; clusterDNS is derived from it", format::check::cidr),
            boolean("enableOutpost", "the node joins a local cluster on an AWS Outpost"),
            string_field("id", "cluster ID, required with enableOutpost", format::check::single_token),
            refuse(
                "an EKS Hybrid Nodes setting; eks-node joins EC2 instances, whose region comes from instance metadata",
                string_field("region", "AWS region of the cluster (EKS Hybrid Nodes)", nullptr)),
        });
}

Field kubelet() {
    return object("kubelet", "kubelet options",
                  {
                      free_object("config", "KubeletConfiguration fields merged over the defaults"),
                      list_of("flags", "command-line flags appended after the defaults (later sources append)",
                              string_field("", "one flag, --name or --name=value", format::check::kubelet_flag)),
                      string_field("maxPodsExpression", "CEL expression giving maxPods", format::check::non_empty),
                  });
}

Field containerd() {
    return object("containerd", "containerd options",
                  {
                      free_object("config", "config.toml content merged over the defaults (TOML text in a NodeConfig)"),
                      free_object("baseRuntimeSpec", "OCI runtime spec merged over the default base spec"),
                  });
}

// instance.storage.volumes[].fsType: nodeadm runs `mkfs -t` with any value
// and takes "" as xfs; eks-node makes the two it documents.
std::string ebs_fs_type(std::string_view s) {
    return s.empty() || s == "xfs" || s == "ext4" ? "" : format::text::quote(s) + " is not one of xfs, ext4";
}

// Values of localStorage: nodeadm/internal/api/types.go (LocalStorageStrategy,
// DisabledMount).
Field instance() {
    return object(
        "instance", "operating system and devices",
        {
            object(
                "localStorage", "use of EC2 instance-store disks",
                {
                    choice("strategy", "how to combine the disks", {"RAID0", "RAID10", "Mount"}),
                    string_field("mountPath", "where the array or the disks are mounted", format::check::absolute_path),
                    list_of("disabledMounts", "directories kept off local storage",
                            choice("", "a directory", {"Containerd", "PodLogs", "SOCI"})),
                }),
            map_of("environment", "environment variables: \"default\" for every service, else per service name",
                   format::check::service_section,
                   map_of("", "the variables of one section", format::check::env_name,
                          string_field("", "a value", nullptr))),
            object(
                "network", "name resolution",
                {
                    list_of("nameservers", "DNS servers", string_field("", "an IP address", format::check::ip_address)),
                    list_of("domains", "DNS search domains", string_field("", "a domain", format::check::domain_name)),
                }),
            // nodeadm's since amazon-eks-ami PR #2759 (tests/data/nodeadm-ebs-volumes.md);
            // the checks across entries and against localStorage are
            // storage::volumes_from_config()'s, which eks-node-config calls
            object("storage", "EBS volumes to format and mount (eks-node-ebs-volumes(8))",
                   {
                       list_of("volumes", "EBS volumes, each formatted when blank and mounted before containerd",
                               object("", "one volume",
                                      {
                                          string_field("device",
                                                       "the volume's device: /dev/xvdb, /dev/sdf, "
                                                       "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...",
                                                       format::check::absolute_path),
                                          list_of("mountTargets", "directories the volume is mounted on",
                                                  string_field("", "a directory", format::check::absolute_path)),
                                          string_field("mountTarget", "the directory the volume is mounted on",
                                                       format::check::absolute_path),
                                          string_field("fsType",
                                                       "filesystem made on a blank volume: xfs (the default) or ext4",
                                                       ebs_fs_type),
                                      })),
                   }),
        });
}

// nodeadm (nodeadm/internal/api/featuregates.go) knows InstanceIdNodeName,
// FastImagePull and OSManagedNoManageENIs; featureGates is a map of
// booleans in its types, so any other name decodes, and IsFeatureEnabled()
// reads it as off: a gate it does not know changes nothing. A NodeConfig's
// unknown gate is dropped likewise, with a warning naming the nearest known
// gate (input/nodeconfig.cpp), an error with settings.strict; eks-node's
// own TOML refuses it, as it refuses any key it does not know.
// OSManagedNoManageENIs: eks-node-network asks EC2 for the tags of an ENI
// attached after kubelet started (eks-node-network(8), WHO OWNS AN INTERFACE).
Field feature_gates() {
    Field f = object(
        "featureGates", "optional behaviour, off unless set to true",
        {
            boolean("InstanceIdNodeName", "name the node after its EC2 instance ID"),
            boolean("FastImagePull", "pull image layers in parallel (more CPU, memory and EBS I/O)"),
            boolean("OSManagedNoManageENIs",
                    "configure ENIs tagged node.k8s.amazonaws.com/no_manage=true that are attached after kubelet "
                    "started with systemd-networkd (needs ec2:DescribeNetworkInterfaces)"),
        });
    f.unknown_what = "not a feature gate eks-node knows";
    f.unknown_why =
        "eks-node's TOML refuses names it does not know (in a NodeConfig, an unknown gate is ignored with "
        "a warning, as nodeadm ignores it)";
    return f;
}

// EKS Hybrid Nodes (aws/eks-hybrid's nodeadm, same apiVersion): credentials
// from SSM hybrid activations or IAM Roles Anywhere for machines outside EC2.
Field hybrid() {
    return refuse(
        "EKS Hybrid Nodes (SSM or IAM Roles Anywhere credentials) are machines outside EC2; eks-node "
        "joins EC2 instances only (hybrid nodes use nodeadm from aws/eks-hybrid)",
        object("hybrid", "EKS Hybrid Nodes credentials", {}));
}

// settings.ecs: /etc/ecs/ecs.config for the ECS agent (eks-node-ecs(8)). Each
// field is one of the agent's documented keys; a value never holds a
// control character (checks, choices, integers), so none can add a line.
Field ecs() {
    return object(
        "ecs", "the ECS container instance (settings.node = \"ecs\"; eks-node-ecs(8))",
        {
            string_field("cluster", "ECS_CLUSTER: the cluster's name or ARN (the agent's default: \"default\")",
                         format::check::ecs_cluster),
            map_of("attributes", "ECS_INSTANCE_ATTRIBUTES: custom attributes of the container instance",
                   format::check::ecs_attribute_name,
                   string_field("", "an attribute value", format::check::ecs_attribute_value)),
            boolean("enableGpuSupport", "ECS_ENABLE_GPU_SUPPORT: the agent offers the instance's GPUs to tasks"),
            boolean("enableTaskIamRole", "ECS_ENABLE_TASK_IAM_ROLE: tasks may have IAM roles of their own"),
            list_of("availableLoggingDrivers", "ECS_AVAILABLE_LOGGING_DRIVERS: log drivers tasks may use",
                    choice("", "a Docker logging driver",
                           {"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens",
                            "none"})),
            duration("containerStopTimeout",
                     "ECS_CONTAINER_STOP_TIMEOUT: time a container has to exit before it is killed"),
            integer("reservedMemory", "ECS_RESERVED_MEMORY: MiB of memory the agent does not give to tasks", 0,
                    1 << 22),
            choice("imagePullBehavior", "ECS_IMAGE_PULL_BEHAVIOR: when the agent pulls a task's image",
                   {"default", "always", "once", "prefer-cached"}),
        });
}

}  // namespace

const Field* Field::member(std::string_view key) const {
    for (const Field& m : members)
        if (m.name == key) return &m;
    return nullptr;
}

const Field& spec() {
    static const Field table = object("spec", "NodeConfig spec",
                                      {
                                          cluster(),
                                          kubelet(),
                                          containerd(),
                                          instance(),
                                          feature_gates(),
                                          hybrid(),
                                      });
    return table;
}

const Field& settings() {
    static const Field table = object(
        "settings", "eks-node's own settings (TOML only)",
        {
            boolean("enable", "run the eks-node steps at all"),
            // Which target the generator pulls in: read at boot from the
            // static fragments, so refused in user data (eks-node-generator(8)).
            choice("node",
                   "what the instance joins: an EKS cluster (eks, the default) or an ECS cluster (ecs); "
                   "image or admin configuration only",
                   {"eks", "ecs"}),
            // Read by eks-node-verdict from the static fragments (refused in
            // user data): a failed join may be a user data that cannot be read.
            choice("onFailure",
                   "what a node does when its join fails in a way waiting cannot heal: nothing (none, the default), "
                   "poweroff or reboot, after onFailureDelay; image or admin configuration only",
                   {"none", "poweroff", "reboot"}),
            duration("onFailureDelay",
                     "time between the verdict and settings.onFailure's power-off or reboot (default 2m)"),
            choice("logLevel", "log threshold of the steps", {"error", "warning", "notice", "info", "debug"}),
            // nodeadm drops a NodeConfig field it does not know, and so does
            // eks-node by default (input/nodeconfig.cpp), with a warning;
            // an image or a fleet that wants a typo to stop the join says so.
            boolean("strict",
                    "a NodeConfig field or feature gate eks-node does not know is an error (exit 6) instead of "
                    "a warning"),
            choice("nodeNameStrategy", "how the node name is chosen", {"imds", "instance-id", "private-dns-name"}),
            choice("serviceCidrStrategy", "where spec.cluster.cidr comes from when no source sets it",
                   {"describe-cluster", "vpc", "describe-cluster-or-vpc"}),
            // render/kubelet_flags.cpp reads it from config.json (eks-node-kubelet(8)).
            choice("credentialPlugin",
                   "what the kubeconfig runs for kubelet's API server token: eks-node get-token (eks-node, the "
                   "default) or aws eks get-token (aws-cli, for images that ship the AWS CLI)",
                   {"eks-node", "aws-cli"}),
            // render/kubelet_config.cpp reads it from config.json (eks-node-kubelet(8)).
            object("kubelet", "how kubelet's configuration is made",
                   {
                       choice("configMode",
                              "merge (the default): spec.kubelet.config over eks-node's KubeletConfiguration, as "
                              "nodeadm does; replace: spec.kubelet.config is the whole file, eks-node filling only "
                              "the keys it must own where it is silent",
                              {"merge", "replace"}),
                   }),
            // eks-node-imds reads this table too: with the same reader.
            read_by([](const json& v,
                       const std::string& source) { settings::read_imds(v, source, settings::Table::fragment); },
                    object("imds", "instance metadata service client",
                           {
                               string_field("endpoint", "IMDS base URL, instead of the link-local ones",
                                            format::check::http_url),
                               choice("endpointMode", "which link-local endpoint to use", {"auto", "ipv4", "ipv6"}),
                               duration("deadline", "time allowed for IMDS to answer, retries included"),
                               duration("requestTimeout", "time allowed for one IMDS request"),
                           })),
            // aws/api.cpp reads this table when it builds the API client: with the same reader.
            read_by([](const json& v, const std::string& source) { settings::read_aws(v, source); },
                    object("aws", "EC2 and EKS API calls of eks-node-config",
                           {
                               duration("deadline", "time allowed for every API call of one run, retries included"),
                               duration("requestTimeout", "time allowed for one API request"),
                               integer("maxAttempts", "attempts of one API request, the first included", 1,
                                       settings::max_aws_attempts),
                           })),
            object(
                "maxPods", "maxPods from the ENI table",
                {
                    boolean("prefixDelegation", "the VPC CNI assigns /28 prefixes"),
                    boolean("customNetworking", "the VPC CNI uses custom networking (the primary ENI hosts no pods)"),
                    integer("maxEnis", "use at most this many ENIs", 1, std::numeric_limits<int64_t>::max()),
                    integer("default", "maxPods for instance types missing from the ENI table", 1, 1000),
                    integer("reservedMemoryPercent",
                            "lower a computed maxPods until kubeReserved memory is at most this % of MemTotal", 1, 100),
                }),
            // eks-node-prepull reads this table from config.json: with the same reader.
            read_by([](const json& v, const std::string& source) { settings::read_pre_pull(v, source); },
                    object("prePull", "images pulled after kubelet started (eks-node-prepull(8))",
                           {
                               list_of("images", "image references, pulled in this order (at most 64)",
                                       string_field("", "an image reference", format::check::image_reference)),
                               duration("timeout",
                                        "time allowed for each image, its credentials included "
                                        "(default 5m, at most 30m)"),
                           })),
            object("preflight", "reachability checks before kubelet starts (eks-node-preflight(8))",
                   {
                       choice("policy", "what an unreachable endpoint does", {"warn", "fail", "off"}),
                       duration("timeout", "time allowed for the checks, retries included"),
                   }),
            // The merged table is read again by input/hooks.cpp (a command
            // is required, and its first word a path), with the same words.
            map_of("hooks", "commands run by their own units at one point of the join (eks-node-hook(8))",
                   hooks::name_problem,
                   object("", "one hook, eks-node-hook@NAME.service",
                          {
                              list_of("command", "the program (an absolute path) and its arguments, no shell",
                                      string_field("", "one word", hooks::word_problem)),
                              choice("stage", "where in the join it runs",
                                     {std::begin(hooks::stage_names), std::end(hooks::stage_names)}),
                              duration("timeout", "time allowed for the command (default 5 min)"),
                              boolean("essential", "a failure holds kubelet back (default true)"),
                              string_field("description", "one line for systemctl status", nullptr),
                              map_of("environment",
                                     "variables for the command only, where its secrets belong (root reads them)",
                                     format::check::env_name, string_field("", "a value", hooks::value_problem)),
                          })),
            object("containerd", "containerd settings",
                   {
                       string_field("sandboxImage", "pause image, instead of the image's cached one",
                                    format::check::single_token),
                       choice("pauseSource", "cached (the image's, the default) or regional-ecr",
                              {"cached", "regional-ecr"}),
                       string_field("pauseAccount",
                                    "ECR account of the regional pause image (AL2 --pause-container-account)",
                                    format::check::aws_account_id),
                       string_field("pauseTag", "tag of the regional pause image (AL2 --pause-container-version)",
                                    format::check::image_tag),
                   }),
            // Runtime handlers beside the default one (eks-node.toml(5) RUNTIME HANDLERS):
            // rendered into containerd's config, their kernel modules loaded by systemd before
            // containerd starts, their binaries checked before anything points at them.
            map_of("runtimes", "containerd runtime handlers, by handler name (a RuntimeClass's handler)",
                   format::check::runtime_handler_name,
                   object("", "one runtime handler",
                          {
                              string_field("type",
                                           "containerd runtime type (default io.containerd.runc.v2), or a shim's "
                                           "io.containerd.NAME.vN",
                                           format::check::single_token),
                              string_field("binary",
                                           "the OCI runtime (runc.v2: its BinaryName) or, for another type, the "
                                           "shim binary; checked to exist",
                                           format::check::absolute_path),
                              free_object("options", "the runtime's options table, merged over eks-node's"),
                              boolean("privilegedWithoutHostDevices",
                                      "privileged pods of this handler get no host devices"),
                              list_of("podAnnotations", "pod annotations passed through to the runtime",
                                      string_field("", "an annotation key or prefix*", format::check::single_token)),
                              list_of("kernelModules", "kernel modules loaded (by systemd) before containerd starts",
                                      string_field("", "a module name", format::check::kernel_module)),
                              boolean("default", "containerd's default runtime (at most one handler)"),
                          })),
            // Registries (eks-node.toml(5), REGISTRIES): hosts.toml under containerd's
            // config_path, written by eks-node-containerd; the rules between keys are
            // config/registries.cpp's, for the merged table.
            map_of(
                "registries", "containerd's configuration of a registry, by host as image references name it",
                format::check::registry_host,
                object("", "one registry",
                       {
                           list_of(
                               "mirrors", "endpoints tried before the registry itself, in this order",
                               object("", "one mirror",
                                      {
                                          string_field("endpoint", "the mirror's URL", format::check::http_url),
                                          list_of("capabilities", "what the mirror is used for (default pull, resolve)",
                                                  choice("", "a capability", {"pull", "resolve", "push"})),
                                          boolean("overridePath", "the URL's path is the API root (no /v2)"),
                                          string_field("ca", "CA certificates (PEM) the mirror is checked with",
                                                       format::check::certificate_authority),
                                          string_field("clientCertificate", "TLS client certificate (PEM)",
                                                       format::check::certificate_authority),
                                          string_field("clientKey", "its private key (PEM)", format::check::non_empty),
                                          boolean("insecure", "skip TLS verification, allow http:// (warned about)"),
                                      })),
                           string_field("ca", "CA certificates (PEM) the registry is checked with",
                                        format::check::certificate_authority),
                           string_field("clientCertificate", "TLS client certificate (PEM)",
                                        format::check::certificate_authority),
                           string_field("clientKey", "its private key (PEM)", format::check::non_empty),
                           boolean("insecure", "skip TLS verification of the registry (warned about)"),
                           string_field("username", "user for pulls containerd makes outside kubelet",
                                        format::check::non_empty),
                           string_field("password", "its password (kept 0600, never logged)", format::check::non_empty),
                       })),
            // extra trust anchors (eks-node.toml(5), TRUST), written by eks-node-ca
            map_of("trust", "certificate bundles added to the system trust store, by name",
                   format::check::runtime_handler_name,
                   object("", "one bundle",
                          {
                              string_field("certificates", "PEM or base64 certificates, checked as the cluster CA is",
                                           format::check::certificate_authority),
                              boolean("trusted", "false: distrust them instead (AL2023's blocklist)"),
                          })),
            // kubelet credential providers beside ECR's (eks-node.toml(5), CREDENTIAL PROVIDERS)
            map_of(
                "credentialProviders",
                "kubelet image credential providers beside ECR's, by program name in its bin directory",
                format::check::credential_provider_name,
                object("", "one provider",
                       {
                           list_of("matchImages", "image patterns it gives credentials for (required)",
                                   string_field("", "a pattern (*.example.com, host:port/path)",
                                                format::check::single_token)),
                           duration("defaultCacheDuration", "how long kubelet caches its answer (default 12h)"),
                           choice("apiVersion", "CredentialProviderRequest version (default: kubelet's)",
                                  {"credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1",
                                   "credentialprovider.kubelet.k8s.io/v1alpha1"}),
                           list_of("args", "its arguments", string_field("", "one argument", nullptr)),
                           map_of("env", "its environment (kept 0600)", format::check::env_name,
                                  string_field("", "a value", nullptr)),
                       })),
            // Workload profiles (eks-node.toml(5), WORKLOAD PROFILES): a named set of values laid
            // under every source's (input/profiles.hpp), and kernel parameters applied by
            // systemd-sysctl before kubelet starts (eks-node-system(8)).
            choice("profile", "a workload profile: sysctls, kubelet and maxPods values under the sources' own",
                   {std::begin(profiles::names), std::end(profiles::names)}),
            read_by(profiles::read_sysctls,
                    map_of("sysctls", "kernel parameters by dotted name, applied before kubelet starts",
                           profiles::sysctl_name_problem,
                           string_field("", "a value (a string or an integer)", nullptr))),
            // A swap file (eks-node-swap(8)): derive/ checks it against the kubelet
            // version and records derived.swap, which the generator turns into a
            // .swap unit and the step into the file; kubelet's swap settings follow.
            object("swap", "a swap file, made and enabled before kubelet starts, kubelet's swap settings to match",
                   {
                       string_field("size", "its size: MiB or GiB, such as \"512M\" or \"4G\" (required)",
                                    format::check::swap_size),
                       choice("location",
                              "root (the default: on the root file system) or instance-store (on the "
                              "instance-store array or first disk: needs spec.instance.localStorage)",
                              {"root", "instance-store"}),
                       choice("swapBehavior",
                              "kubelet's memorySwap.swapBehavior: LimitedSwap (the default: Burstable pods may swap "
                              "in proportion to their memory request) or NoSwap (only processes outside pods swap)",
                              {"LimitedSwap", "NoSwap"}),
                   }),
            // Pods kubelet runs from files (eks-node-kubelet(8), STATIC PODS):
            // each manifest is written to staticPodPath as NAME.yaml.
            map_of("staticPods", "static pods by name: each a Pod manifest (YAML), written to kubelet's staticPodPath",
                   format::check::static_pod_name,
                   string_field("", "a Pod manifest (YAML)", format::check::static_pod_manifest)),
            ecs(),
        });
    return table;
}

std::string refusal(const Field& f, const json& v) {
    if (f.refused.empty()) return {};
    // its zero value, as Go's omitempty sees it: nodeadm would not act on it either
    bool asks_nothing = (f.kind == Kind::boolean && v == false) ||
                        (f.kind == Kind::string && v.is_string() && v.get_ref<const std::string&>().empty()) ||
                        (f.kind == Kind::object && v.is_object() && v.empty());
    return asks_nothing ? std::string() : fmt::format("not supported by eks-node: {}", f.refused);
}

std::string expected(const Field& f) {
    switch (f.kind) {
    case Kind::object:
    case Kind::free_object:
    case Kind::map: return "an object";
    case Kind::list: return "a list";
    case Kind::string: return f.choices.empty() ? "a string" : fmt::format("one of {}", fmt::join(f.choices, ", "));
    case Kind::boolean: return "a boolean";
    case Kind::integer: return "an integer";
    case Kind::duration: return std::string(settings::duration_expected);
    }
    return {};
}

void for_each_field(const Field& root, const std::string& path,
                    const std::function<void(const std::string&, const Field&)>& fn) {
    fn(path, root);
    for (const Field& m : root.members) {
        std::string child = root.kind == Kind::object ? path + "." + m.name
                            : root.kind == Kind::map  ? path + ".*"
                                                      : path + "[]";
        for_each_field(m, child, fn);
    }
}

}  // namespace eksnode::input::schema
