// SPDX-License-Identifier: Apache-2.0
// derive(): every value eks-node computes rather than reads, each recorded in
// config.json "derived" with its origin under "/derived/<key>" and logged once.
#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "derive/internal.hpp"
#include "format/certificate.hpp"
#include "format/checks.hpp"
#include "storage/storage.hpp"

namespace eksnode::derive {

namespace {

// Read access to the merged spec and settings by config.json pointer
// ("/spec/kubelet/config/maxPods", "/settings/maxPods/default"), with typed
// getters that name the field and its source in a ConfigError.
class Config {
public:
    Config(const json& spec, const json& settings, const Origins& origins)
        : spec_(spec), settings_(settings), origins_(origins) {}

    // The value at `pointer`; nullptr when absent or null.
    const json* at(std::string_view pointer) const {
        const json* root = nullptr;
        std::string_view rest;
        if (pointer.starts_with("/spec/")) root = &spec_, rest = pointer.substr(5);
        else if (pointer.starts_with("/settings/")) root = &settings_, rest = pointer.substr(9);
        else return nullptr;
        const json* node = root;
        while (!rest.empty()) {
            rest.remove_prefix(1);   // the '/'
            std::size_t slash = rest.find('/');
            std::string key(rest.substr(0, slash));
            rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
            if (!node->is_object()) return nullptr;
            auto it = node->find(key);
            if (it == node->end()) return nullptr;
            node = &*it;
        }
        return node->is_null() ? nullptr : node;
    }

    // Who set `pointer` (or, for an object or array, the first of its leaves).
    std::string source(std::string_view pointer) const {
        std::string p(pointer);
        if (auto it = origins_.find(p); it != origins_.end()) return it->second;
        if (auto it = origins_.lower_bound(p + "/"); it != origins_.end() && it->first.starts_with(p + "/"))
            return it->second;
        return "configuration";
    }

    [[noreturn]] void bad(std::string_view pointer, const std::string& problem) const {
        throw ConfigError(source(pointer), dotted(pointer), problem);
    }

    std::optional<bool> boolean(std::string_view pointer) const {
        const json* v = at(pointer);
        if (!v) return std::nullopt;
        if (!v->is_boolean()) bad(pointer, fmt::format("{} is not true or false", v->dump()));
        return v->get<bool>();
    }

    std::optional<long> integer(std::string_view pointer, long min, long max) const {
        const json* v = at(pointer);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) bad(pointer, fmt::format("{} is not an integer", v->dump()));
        long n = v->is_number_unsigned() && v->get<unsigned long>() > LONG_MAX ? LONG_MAX : v->get<long>();
        if (n < min || n > max) bad(pointer, fmt::format("{} is not in {}..{}", n, min, max));
        return n;
    }

    // A non-empty string; nullopt when absent.
    std::optional<std::string> string(std::string_view pointer) const {
        const json* v = at(pointer);
        if (!v) return std::nullopt;
        if (!v->is_string() || v->get_ref<const std::string&>().empty())
            bad(pointer, fmt::format("{} is not a non-empty string", v->dump()));
        return v->get<std::string>();
    }

    std::string required_string(std::string_view pointer) const {
        std::optional<std::string> s = string(pointer);
        if (!s) bad(pointer, "is required");
        return *s;
    }

private:
    const json& spec_;
    const json& settings_;
    const Origins& origins_;
};

// instance.json is written by eks-node-imds: a missing required key is our
// bug or a broken IMDS, not bad configuration.
std::optional<std::string> instance_string(const json& instance, const char* key) {
    auto it = instance.find(key);
    if (it == instance.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
    return it->get<std::string>();
}

std::string required_instance_string(const json& instance, const char* key) {
    std::optional<std::string> s = instance_string(instance, key);
    if (!s) throw Error(fmt::format("instance.json: {} is missing", key));
    return *s;
}

// Collects "derived" and the origins, logging each value once.
class Recorder {
public:
    explicit Recorder(Origins& origins) : origins_(origins) {}

    void set(const std::string& key, json value, const std::string& origin, const std::string& shown = {}) {
        log::info("{}={} ({})", key, shown.empty() ? display(value) : shown, origin);
        origins_["/derived/" + key] = origin;
        out_[key] = std::move(value);
    }

    json take() { return std::move(out_); }

private:
    static std::string display(const json& v) {
        if (v.is_string()) return v.get<std::string>();
        if (v.is_array() && v.size() == 1 && v[0].is_string()) return v[0].get<std::string>();
        return v.dump();
    }

    Origins& origins_;
    json out_ = json::object();
};

// --- max pods ------------------------------------------------------------------

struct Choice {
    int value = 0;
    std::string origin;
};

MaxPodsOptions max_pods_options(const Config& cfg, const MachineFacts& m) {
    MaxPodsOptions o;
    o.prefix_delegation = cfg.boolean("/settings/maxPods/prefixDelegation").value_or(false);
    o.custom_networking = cfg.boolean("/settings/maxPods/customNetworking").value_or(false);
    // "At most N ENIs": any N above the instance's ENIs means no cap.
    if (auto n = cfg.integer("/settings/maxPods/maxEnis", 1, LONG_MAX))
        o.max_enis = static_cast<int>(std::min<long>(*n, INT_MAX));
    o.vcpus = m.cpu_millicores / 1000;
    return o;
}

struct KnownLimits {
    EniLimits limits;
    std::string source;   // "ENI table", "EC2 DescribeInstanceTypes"
};

std::optional<KnownLimits> find_limits(const std::string& type, const Ec2Lookups& ec2) {
    if (auto l = eni_limits(type)) return KnownLimits{*l, "ENI table"};
    if (ec2.eni_limits) {
        try {
            if (auto l = ec2.eni_limits(type)) return KnownLimits{*l, "EC2 DescribeInstanceTypes"};
        } catch (const NoCredentialsError& e) {
            // the documented fallback (settings.maxPods.default) follows
            log::warning("cannot ask EC2 about instance type {}: {}", type, e.problem());
        }
    }
    return std::nullopt;
}

Choice fallback_max_pods_choice(const Config& cfg, const std::string& type, const std::string& why) {
    if (auto n = cfg.integer("/settings/maxPods/default", 1, max_pods_limit)) {
        std::string source = cfg.source("/settings/maxPods/default");
        log::warning("{}; using settings.maxPods.default={} from {}", why, *n, source);
        return {static_cast<int>(*n), fmt::format("settings.maxPods.default ({}), because {}", source, why)};
    }
    log::warning("{}; using {}, nodeadm's default (set settings.maxPods.default to choose another)", why,
                 fallback_max_pods);
    return {fallback_max_pods, fmt::format("default {} for an unknown instance type {}", fallback_max_pods, type)};
}

// spec.kubelet.maxPodsExpression, if set: its value, or nullopt when it needs
// ENI data this instance type does not have. Always parsed and checked, even
// when kubelet.config.maxPods overrides it, so a broken expression is caught
// on the first node rather than when the override is removed.
std::optional<Choice> expression_choice(const Config& cfg, const std::optional<KnownLimits>& known,
                                        const std::string& type) {
    constexpr std::string_view pointer = "/spec/kubelet/maxPodsExpression";
    std::optional<std::string> expr = cfg.string(pointer);
    if (!expr) return std::nullopt;
    std::string source = cfg.source(pointer);
    detail::ExpressionVariables vars;
    if (known) {
        vars.default_enis = known->limits.enis;
        vars.ips_per_eni = known->limits.ips_per_eni;
        vars.max_pods = max_pods_from_enis(known->limits, false, false);
    }
    detail::ExpressionResult r = detail::max_pods_from_expression(*expr, vars, source);
    if (!r.value) {
        log::warning("maxPodsExpression \"{}\" needs {}, which is unknown for instance type {}", *expr,
                     r.unknown_variable, type);
        return std::nullopt;
    }
    std::string vars_text = known ? fmt::format("; default_enis={}, ips_per_eni={}, max_pods={} from the {}",
                                                *vars.default_enis, *vars.ips_per_eni, *vars.max_pods, known->source)
                                  : std::string();
    return Choice{static_cast<int>(*r.value),
                  fmt::format("spec.kubelet.maxPodsExpression \"{}\" ({}{})", *expr, source, vars_text)};
}

// settings.maxPods.reservedMemoryPercent: the computed maxPods, lowered so
// that kubeReserved memory (11 MiB a pod + 255 MiB) stays within that share
// of MemTotal. On small instances the ENI table, and prefix delegation above
// all, allows more pods than the memory can hold: t3.small with prefix
// delegation gets 110 pods and 1,465 MiB reserved of its ~1,900 MiB.
Choice capped_by_memory(const Config& cfg, const MachineFacts& m, Choice c) {
    constexpr std::string_view pointer = "/settings/maxPods/reservedMemoryPercent";
    constexpr const char* field = "settings.maxPods.reservedMemoryPercent";
    std::optional<long> percent = cfg.integer(pointer, 1, 100);
    if (!percent) return c;
    const std::string source = cfg.source(pointer);
    if (m.memory_mib <= 0)
        throw ConfigError(source, field,
                          "this node's memory is unknown (no MemTotal in /proc/meminfo), so maxPods cannot be "
                          "bounded by it");
    const int cap = max_pods_within_memory(m.memory_mib, static_cast<int>(*percent));
    const long share = m.memory_mib * *percent / 100;
    if (cap < 1)
        throw ConfigError(source, field,
                          fmt::format("{}% of this node's {} MiB is {} MiB, less than the {} MiB kubelet reserves "
                                      "for a single pod",
                                      *percent, m.memory_mib, share, memory_mib_to_reserve(1)));
    const std::string bound = fmt::format(
        "{} = {} ({}): {}% of {} MiB MemTotal is {} MiB, room for the reserved "
        "memory of {} pods",
        field, *percent, source, *percent, m.memory_mib, share, cap);
    if (c.value <= cap) return {c.value, fmt::format("{}; within {}", c.origin, bound)};
    log::info("maxPods {} lowered to {} by {}", c.value, cap, bound);
    return {cap, fmt::format("{} gave {}, lowered by {}", c.origin, c.value, bound)};
}

// Effective max pods: kubelet.config.maxPods > maxPodsExpression > ENI data >
// default; all but the first bounded by settings.maxPods.reservedMemoryPercent.
Choice choose_max_pods(const Config& cfg, const json& instance, const MachineFacts& m, const Ec2Lookups& ec2) {
    std::string type = required_instance_string(instance, "instanceType");
    std::optional<KnownLimits> known = find_limits(type, ec2);
    std::optional<Choice> from_expression = expression_choice(cfg, known, type);

    constexpr std::string_view user_pointer = "/spec/kubelet/config/maxPods";
    if (auto n = cfg.integer(user_pointer, 1, INT_MAX)) {
        if (from_expression)
            log::info("spec.kubelet.config.maxPods={} overrides maxPodsExpression's {}", *n, from_expression->value);
        // A number the user wrote is taken as written: the bound is for
        // computed values.
        if (cfg.integer("/settings/maxPods/reservedMemoryPercent", 1, 100))
            log::info(
                "spec.kubelet.config.maxPods={} is set, so settings.maxPods.reservedMemoryPercent does not "
                "lower it",
                *n);
        return {static_cast<int>(*n), fmt::format("spec.kubelet.config.maxPods ({})", cfg.source(user_pointer))};
    }
    if (from_expression) return capped_by_memory(cfg, m, *from_expression);
    if (known) {
        MaxPodsValue v = max_pods_for(type, known->limits, max_pods_options(cfg, m));
        if (!v.warning.empty()) log::warning("maxPods: {}", v.warning);
        return capped_by_memory(cfg, m, {v.value, fmt::format("{}: {}", known->source, v.explanation)});
    }
    std::string why = fmt::format("instance type {} is not in the ENI table", type);
    if (ec2.eni_limits) why += " and EC2 does not know it";
    return capped_by_memory(cfg, m, fallback_max_pods_choice(cfg, type, why));
}

void derive_max_pods_and_reserved(const Config& cfg, const json& instance, const MachineFacts& m,
                                  const Ec2Lookups& ec2, Recorder& rec) {
    Choice max_pods = choose_max_pods(cfg, instance, m, ec2);
    rec.set("maxPods", max_pods.value, max_pods.origin);

    int cpu = cpu_millicores_to_reserve(m.cpu_millicores);
    int memory = memory_mib_to_reserve(max_pods.value);
    json reserved = json::object();
    reserved["cpu"] = fmt::format("{}m", cpu);
    reserved["ephemeral-storage"] = "1Gi";
    reserved["memory"] = fmt::format("{}Mi", memory);
    rec.set("kubeReserved", std::move(reserved),
            fmt::format("cpu: 6%/1%/0.5%/0.25% tiers of {} CPUs; memory: 11 MiB x {} pods + 255 MiB, from the "
                        "effective maxPods (amazon-eks-ami#1698); ephemeral-storage: fixed",
                        m.cpu_millicores / 1000, max_pods.value),
            fmt::format("{{cpu: {}m, ephemeral-storage: 1Gi, memory: {}Mi}}", cpu, memory));
}

// --- networking ----------------------------------------------------------------

// Re-throws a ConfigError raised without a source with the source of `pointer`.
template <typename F>
auto with_source(const Config& cfg, std::string_view pointer, F&& f) {
    try {
        return f();
    } catch (const ConfigError& e) {
        if (!e.source().empty()) throw;
        throw ConfigError(cfg.source(pointer), e.field(), e.problem());
    }
}

detail::IpFamily derive_cluster_dns(const Config& cfg, Recorder& rec) {
    constexpr std::string_view cidr_pointer = "/spec/cluster/cidr";
    std::string cidr = cfg.required_string(cidr_pointer);
    std::string dns = with_source(cfg, cidr_pointer, [&] { return cluster_dns_from_cidr(cidr); });
    auto family = with_source(cfg, cidr_pointer, [&] { return detail::cidr_family(cidr); });
    std::string origin = fmt::format("network of spec.cluster.cidr {} ({}) + {}", cidr, cfg.source(cidr_pointer),
                                     family == detail::IpFamily::ipv4 ? "10" : "0xa");
    constexpr std::string_view user_pointer = "/spec/kubelet/config/clusterDNS";
    if (const json* user = cfg.at(user_pointer))
        origin += fmt::format("; kubelet uses spec.kubelet.config.clusterDNS {} ({}) from its drop-in instead",
                              user->dump(), cfg.source(user_pointer));
    rec.set("clusterDNS", json::array({dns}), origin);
    rec.set("ipFamily", family == detail::IpFamily::ipv4 ? "ipv4" : "ipv6",
            fmt::format("family of spec.cluster.cidr {}", cidr));
    return family;
}

void derive_node_ip(const Config& cfg, const json& instance, detail::IpFamily family, Recorder& rec) {
    if (family == detail::IpFamily::ipv4) {
        std::optional<std::string> ip = instance_string(instance, "localIpv4");
        if (!ip)
            cfg.bad("/spec/cluster/cidr", "the cluster is IPv4, but this instance has no IPv4 address "
                                          "(IMDS served no local-ipv4)");
        rec.set("nodeIP", *ip, "IMDS local-ipv4, as the cluster is IPv4");
        return;
    }
    auto ipv6s = instance.find("ipv6s");
    if (ipv6s == instance.end() || !ipv6s->is_array() || ipv6s->empty() || !(*ipv6s)[0].is_string())
        cfg.bad("/spec/cluster/cidr", "the cluster is IPv6, but this instance has no IPv6 address "
                                      "(IMDS served no ipv6s for its primary interface)");
    rec.set("nodeIP", (*ipv6s)[0], "first IMDS ipv6s address of the primary interface, as the cluster is IPv6");
}

// --- identity --------------------------------------------------------------------

void derive_provider_id(const json& instance, Recorder& rec) {
    std::string az = required_instance_string(instance, "availabilityZone");
    std::string id = required_instance_string(instance, "instanceId");
    rec.set("providerID", fmt::format("aws:///{}/{}", az, id), "aws:///<availability zone>/<instance id> from IMDS");
}

// settings.nodeNameStrategy if set, else NodeConfig's
// featureGates.InstanceIdNodeName, else the private DNS name (nodeadm's
// default, amazon-eks-ami#1264). Strategies: "instance-id"; "private-dns-name",
// EC2's PrivateDnsName (DescribeInstances; the lookup throws when EC2 cannot
// tell, and no other name is taken instead), or IMDS local-hostname when no
// EC2 lookup is wired at all (offline resolution) or, for the default only,
// when there are no AWS credentials at all; "imds", IMDS local-hostname
// without asking EC2.
void derive_node_name(const Config& cfg, const json& instance, const Ec2Lookups& ec2, Recorder& rec) {
    constexpr std::string_view strategy_pointer = "/settings/nodeNameStrategy";
    constexpr std::string_view gate_pointer = "/spec/featureGates/InstanceIdNodeName";
    std::optional<std::string> strategy = cfg.string(strategy_pointer);
    std::optional<bool> gate = cfg.boolean(gate_pointer);
    if (strategy && *strategy != "instance-id" && *strategy != "private-dns-name" && *strategy != "imds")
        cfg.bad(strategy_pointer, fmt::format("\"{}\" is not instance-id, private-dns-name or imds", *strategy));

    std::string chosen = "private-dns-name";
    std::string why = "default";
    if (strategy) {
        chosen = *strategy;
        why = fmt::format("settings.nodeNameStrategy={} ({})", *strategy, cfg.source(strategy_pointer));
        if (gate && *gate != (chosen == "instance-id"))
            log::warning("settings.nodeNameStrategy={} overrides featureGates.InstanceIdNodeName={} ({})", *strategy,
                         *gate, cfg.source(gate_pointer));
    } else if (gate) {
        chosen = *gate ? "instance-id" : "private-dns-name";
        why = fmt::format("featureGates.InstanceIdNodeName={} ({})", *gate, cfg.source(gate_pointer));
    }

    if (chosen == "instance-id") {
        rec.set("nodeName", required_instance_string(instance, "instanceId"), "instance id, " + why);
        return;
    }
    if (chosen == "private-dns-name" && ec2.private_dns_name) {
        std::optional<std::string> name;
        try {
            name = ec2.private_dns_name();
        } catch (const NoCredentialsError& e) {
            // Only the default may fall back: an explicit private-dns-name is
            // a demand. An instance without a profile cannot join EKS as a
            // managed node anyway, but offline renders and tests can go on.
            if (why != "default") throw;
            log::warning("no AWS credentials ({}): node name from IMDS local-hostname; set "
                         "settings.nodeNameStrategy to choose", e.problem());
            rec.set("nodeName", required_instance_string(instance, "localHostname"),
                    "IMDS local-hostname, because no AWS credentials were found (default strategy private-dns-name)");
            return;
        }
        if (!name || name->empty())
            throw TempError("EC2 DescribeInstances gave no PrivateDnsName; not falling back to another name");
        rec.set("nodeName", *name, "EC2 PrivateDnsName (ec2:DescribeInstances), " + why);
        return;
    }
    rec.set("nodeName", required_instance_string(instance, "localHostname"), "IMDS local-hostname, " + why);
}

// --- images and cluster access ---------------------------------------------------

// FastImagePull: containerd's CRI pulls and unpacks through the SOCI
// snapshotter. nodeadm turns the gate into that only on a machine with at
// least 4 CPUs and 7 GiB (most xlarge types; 7 rather than 8 GiB because the
// kernel reports less memory than the instance type has), since parallel
// pulls cost CPU, memory and disk throughput, and ignores it below. On an
// image without the snapshotter nodeadm still points containerd at its
// socket, which nothing serves, and every pull fails; eks-node refuses the
// gate there, on every instance size, so that one launch template behaves the
// same on every type.
void derive_soci_snapshotter(const Config& cfg, const MachineFacts& m, Recorder& rec) {
    constexpr std::string_view gate = "/spec/featureGates/FastImagePull";
    if (!cfg.boolean(gate).value_or(false)) {
        rec.set("sociSnapshotter", false, "default: spec.featureGates.FastImagePull is off");
        return;
    }
    if (!m.soci_snapshotter)
        cfg.bad(gate, fmt::format("true needs the SOCI snapshotter, and this image has none ({} is not installed): "
                                  "containerd and kubelet would be pointed at a socket nothing serves",
                                  path::soci_snapshotter_grpc));
    const bool big = m.cpu_millicores >= 4000 && m.memory_mib >= 7 * 1024;
    rec.set("sociSnapshotter", big,
            big ? fmt::format("spec.featureGates.FastImagePull ({}) on {} CPUs and {} MiB (at least 4 and 7168)",
                              cfg.source(gate), m.cpu_millicores / 1000, m.memory_mib)
                : fmt::format("spec.featureGates.FastImagePull ({}) ignored on {} CPUs and {} MiB: it needs at least "
                              "4 CPUs and 7168 MiB, as nodeadm's",
                              cfg.source(gate), m.cpu_millicores / 1000, m.memory_mib));
}

void derive_sandbox_image(const Config& cfg, const json& instance, const MachineFacts& m, Recorder& rec) {
    constexpr std::string_view pointer = "/settings/containerd/sandboxImage";
    if (std::optional<std::string> image = cfg.string(pointer)) {
        rec.set("sandboxImage", *image, fmt::format("settings.containerd.sandboxImage ({})", cfg.source(pointer)));
        return;
    }
    // AL2023 images pull the pause image once, when the image is built, and
    // tag it with a local name nothing can pull (so a node never asks ECR for
    // it, before kubelet's credential provider runs or without a route to
    // ECR); nodeadm names that tag. The regional ECR image stays a setting:
    // pauseSource, or pauseAccount/pauseTag (AL2's flags name an ECR image).
    std::optional<std::string> source = cfg.string("/settings/containerd/pauseSource");
    const bool regional =
        source ? *source == "regional-ecr"
               : cfg.string("/settings/containerd/pauseAccount") || cfg.string("/settings/containerd/pauseTag");
    if (!regional) {
        rec.set("sandboxImage", cached_pause_image,
                source ? fmt::format("settings.containerd.pauseSource cached ({}): the image's cached pause image",
                                     cfg.source("/settings/containerd/pauseSource"))
                       : "default: the image's cached pause image, tagged when the image was built "
                         "(settings.containerd.pauseSource)");
        return;
    }
    std::string region = required_instance_string(instance, "region");
    std::string domain = required_instance_string(instance, "domain");
    detail::SandboxImageChoice c = detail::choose_sandbox_image(region, domain, m.fips_enabled);
    std::string origin = fmt::format("EKS pause image of account {} in {}", c.account, c.registry_region);
    if (source)
        origin += fmt::format(", settings.containerd.pauseSource regional-ecr ({})",
                              cfg.source("/settings/containerd/pauseSource"));
    // AL2's --pause-container-account/-version: the same regional registry
    // host, another account or tag.
    std::optional<std::string> account = cfg.string("/settings/containerd/pauseAccount");
    std::optional<std::string> tag = cfg.string("/settings/containerd/pauseTag");
    if (account || tag) {
        c.image = detail::pause_image(account.value_or(std::string(c.account)), c.registry_region, domain, c.fips,
                                      tag.value_or(std::string(pause_image_tag)));
        if (account) origin = fmt::format("settings.containerd.pauseAccount {} ({}) in {}", *account,
                                          cfg.source("/settings/containerd/pauseAccount"), c.registry_region);
        if (tag) origin += fmt::format(", settings.containerd.pauseTag {} ({})", *tag,
                                       cfg.source("/settings/containerd/pauseTag"));
    }
    if (c.fallback) origin += fmt::format(" (region {} has no EKS registry of its own)", region);
    if (m.fips_enabled) origin += c.fips ? ", FIPS endpoint" : ", FIPS is on but ECR has no FIPS endpoint there";
    rec.set("sandboxImage", c.image, origin);
}

// settings.swap (eks-node-swap(8)). kubelet refuses to start on a node with
// swap on unless failSwapOn is false, and uses swap for pods only through the
// NodeSwap feature (KEP-2400): alpha from 1.22, beta from 1.28 but off by
// default there and in 1.29 (whose behaviours were UnlimitedSwap and
// LimitedSwap), beta on by default from 1.30 with NoSwap and LimitedSwap, GA
// in 1.34 (kubelet's source, fact by fact: tests/data/kubelet-swap-compat.tsv).
// So from 1.30 on, where both behaviours this setting offers exist and need
// no feature gate; refused before, saying why.
void derive_swap(const Config& cfg, const MachineFacts& m, Recorder& rec) {
    if (!cfg.at("/settings/swap")) return;
    constexpr std::string_view size_pointer = "/settings/swap/size";
    const std::string size = cfg.required_string(size_pointer);
    const long mib = format::check::swap_size_mib(size);
    if (mib <= 0) cfg.bad(size_pointer, format::check::swap_size(size));
    if (compare_versions(m.kubelet_version, "1.30") < 0)
        cfg.bad(size_pointer,
                fmt::format("a swap file needs kubelet 1.30 or later, and this node's is {}: kubelet's NodeSwap "
                            "(KEP-2400) was alpha before 1.28 and is off by default in 1.28 and 1.29, without "
                            "NoSwap; kubelet would not start with swap on",
                            m.kubelet_version));
    if (cfg.boolean("/spec/kubelet/config/failSwapOn").value_or(false))
        cfg.bad("/spec/kubelet/config/failSwapOn",
                "true with settings.swap: kubelet refuses to start on a node with swap on");
    const std::string location = cfg.string("/settings/swap/location").value_or("root");
    std::string file(path::swap_file);
    if (location == "instance-store") {
        if (!cfg.at("/spec/instance/localStorage/strategy"))
            cfg.bad("/settings/swap/location",
                    "instance-store needs spec.instance.localStorage.strategy: without it no instance-store disk "
                    "is mounted");
        const std::string mount =
            cfg.string("/spec/instance/localStorage/mountPath").value_or(std::string(storage::default_mount_path));
        file = fmt::format("{}/0/{}", mount, path::swap_file_name);
    }
    const std::string behavior = cfg.string("/settings/swap/swapBehavior").value_or("LimitedSwap");
    json swap = {{"file", file}, {"sizeMiB", mib}, {"swapBehavior", behavior}};
    rec.set("swap", swap,
            fmt::format("settings.swap ({}): {} MiB at {} ({}), kubelet {} with swapBehavior {}",
                        cfg.source("/settings/swap"), mib, file, location, m.kubelet_version, behavior));
}

void derive_cluster_access(const Config& cfg, Recorder& rec) {
    constexpr std::string_view ca_pointer = "/spec/cluster/certificateAuthority";
    std::string pem = format::certificate_authority_pem(cfg.required_string(ca_pointer), cfg.source(ca_pointer),
                                                        "spec.cluster.certificateAuthority");
    std::size_t certs = 0;
    for (std::size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
         at = pem.find("-----BEGIN CERTIFICATE-----", at + 1))
        ++certs;
    rec.set("caPEM", pem, fmt::format("spec.cluster.certificateAuthority ({})", cfg.source(ca_pointer)),
            fmt::format("<{} certificate(s)>", certs));

    constexpr std::string_view endpoint_pointer = "/spec/cluster/apiServerEndpoint";
    std::string endpoint = cfg.required_string(endpoint_pointer);
    std::string host = detail::url_host(endpoint);
    if (host.empty()) cfg.bad(endpoint_pointer, fmt::format("\"{}\" has no host", endpoint));
    rec.set("apiServerHost", host,
            fmt::format("host of spec.cluster.apiServerEndpoint ({})", cfg.source(endpoint_pointer)));
}

}  // namespace

std::string sandbox_image_for(const json& settings, std::string_view region, std::string_view domain, bool fips) {
    Origins origins;
    const Origins sources;
    Config cfg(json::object(), settings, sources);
    MachineFacts machine;
    machine.fips_enabled = fips;
    Recorder rec(origins);
    derive_sandbox_image(cfg, {{"region", region}, {"domain", domain}}, machine, rec);
    return rec.take().value("sandboxImage", std::string());
}

json values(const json& spec, const json& settings, const json& instance, const MachineFacts& machine,
            Origins& origins) {
    return values(spec, settings, instance, machine, origins, Ec2Lookups{});
}

json values(const json& spec, const json& settings, const json& instance, const MachineFacts& machine, Origins& origins,
            const Ec2Lookups& ec2) {
    // Origins are read (sources of spec fields) and written (derived values);
    // read from a snapshot so a derived entry never poses as a source.
    const Origins sources = origins;
    Config cfg(spec, settings, sources);
    Recorder rec(origins);
    derive_max_pods_and_reserved(cfg, instance, machine, ec2, rec);
    detail::IpFamily family = derive_cluster_dns(cfg, rec);
    derive_node_ip(cfg, instance, family, rec);
    derive_provider_id(instance, rec);
    derive_node_name(cfg, instance, ec2, rec);
    derive_sandbox_image(cfg, instance, machine, rec);
    derive_soci_snapshotter(cfg, machine, rec);
    derive_swap(cfg, machine, rec);
    derive_cluster_access(cfg, rec);
    return rec.take();
}

}  // namespace eksnode::derive
