// SPDX-License-Identifier: Apache-2.0
#include "resolve/resolve.hpp"
#include "resolve/collect.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "aws/api.hpp"
#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "derive/derive.hpp"
#include "derive/kubelet_fields.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"
#include "input/fragments.hpp"
#include "input/profiles.hpp"
#include "input/sources.hpp"
#include "storage/ebs.hpp"

namespace eksnode::resolve {

namespace {

using detail::cluster_has;
using detail::collect_fragments;
using detail::setting_source;

// spec.cluster.cidr by AL2 bootstrap.sh's rule, from the VPC CIDR blocks in
// instance.json. The origin says the rule, the block that decided, and
// `why` this rule rather than EKS (short: clusterDNS's origin repeats it);
// the log line, a warning then, starts with `failure` when there is one (a
// refused call, say). False when instance.json has no VPC CIDR to go by.
bool cidr_from_vpc(json& spec, const json& instance, Origins& origins, config::ServiceCidrStrategy strategy,
                   const std::string& why, const std::string& failure = {}) {
    std::optional<derive::VpcServiceCidr> v = derive::service_cidr_from_instance(instance);
    if (!v) return false;
    spec["cluster"]["cidr"] = v->cidr;
    std::string origin = fmt::format(
        "EKS's default service CIDR for this VPC, AL2 bootstrap.sh's rule: {} (IMDS vpc-ipv4-cidr-blocks); "
        "settings.serviceCidrStrategy = {} from {}, {}",
        v->because, config::to_string(strategy), setting_source(origins, "/settings/serviceCidrStrategy"), why);
    if (failure.empty()) log::info("spec.cluster.cidr={} ({})", v->cidr, origin);
    else log::warning("{}; spec.cluster.cidr={} instead ({})", failure, v->cidr, origin);
    origins["/spec/cluster/cidr"] = std::move(origin);
    return true;
}

// Why an AWS call could not be made at all (no credentials, refused, EKS
// unreachable until the deadline), or nullopt for an answer that says
// something (no such cluster, a malformed answer).
std::optional<std::string> unavailable(const Error& e) {
    if (const auto* denied = dynamic_cast<const AccessDeniedError*>(&e)) return denied->refusal();
    if (const auto* none = dynamic_cast<const NoCredentialsError*>(&e)) return none->problem();
    if (dynamic_cast<const TempError*>(&e)) return std::string(e.what());
    return std::nullopt;
}

// Fills spec.cluster's apiServerEndpoint, certificateAuthority and cidr from
// EKS DescribeCluster when the name is known and any of them is not (the
// CIDR only when settings.serviceCidrStrategy lets EKS tell it); values the
// configuration sets win. Origins say "eks:DescribeCluster". With
// describe-cluster-or-vpc, a call made for the CIDR alone that cannot be
// made (refused, no credentials, EKS unreachable until the deadline), or an
// answer without a CIDR, leaves it to AL2's rule (cidr_from_vpc).
void fill_cluster_from_eks(json& spec, const json& settings, config::ServiceCidrStrategy strategy, const json& instance,
                           Origins& origins, const derive::ApiLookups& api) {
    static constexpr const char* keys[] = {"apiServerEndpoint", "certificateAuthority", "cidr"};
    if (!cluster_has(spec, "name")) return;
    const bool or_vpc = strategy == config::ServiceCidrStrategy::describe_cluster_or_vpc;
    bool missing = !cluster_has(spec, keys[0]) || !cluster_has(spec, keys[1]);
    if (strategy != config::ServiceCidrStrategy::vpc) missing |= !cluster_has(spec, keys[2]);
    // Outposts local clusters are not described by the EKS API in the region.
    if (!missing || (spec["cluster"].contains("enableOutpost") && spec["cluster"]["enableOutpost"] == true)) return;
    std::string name = spec["cluster"]["name"].get<std::string>();
    // Only the CIDR is asked for, and AL2's rule can answer instead.
    const bool can_fall_back = or_vpc && cluster_has(spec, keys[0]) && cluster_has(spec, keys[1]) &&
                               derive::service_cidr_from_instance(instance).has_value();
    derive::ClusterDetails d;
    try {
        d = api.describe_cluster(name, origins);
    } catch (const Error& e) {
        if (std::optional<std::string> why = unavailable(e); why && can_fall_back) {
            cidr_from_vpc(spec, instance, origins, strategy, "as eks:DescribeCluster could not be asked",
                          fmt::format("eks:DescribeCluster {} could not be asked: {}", name, *why));
            return;
        }
        if (!dynamic_cast<const ConfigError*>(&e)) throw;
        // The configuration's gap comes first: name the missing field, then
        // why EKS could not fill it (no credentials, no permission, no such cluster).
        try {
            config::validate_merged(spec, settings, origins);
        } catch (const ConfigError& gap) {
            throw ConfigError(gap.source(), gap.field(),
                              fmt::format("{}; eks:DescribeCluster could not supply it: {}", gap.problem(), e.what()));
        }
        throw;
    }
    const std::string values[] = {d.endpoint, d.certificate_authority, d.cidr};
    for (size_t i = 0; i < 3; ++i) {
        if (cluster_has(spec, keys[i])) continue;
        if (i == 2 && values[i].empty()) {
            // An ACTIVE cluster whose answer has no service CIDR.
            if (or_vpc && cidr_from_vpc(spec, instance, origins, strategy, "as eks:DescribeCluster gave none",
                                        fmt::format("eks:DescribeCluster {}: the answer has no service CIDR", name)))
                continue;
            if (strategy == config::ServiceCidrStrategy::vpc) continue;  // require_cidr() says why
            throw ConfigError(
                "eks:DescribeCluster", "spec.cluster.cidr",
                fmt::format("the answer for cluster {} has no service CIDR; set spec.cluster.cidr", name));
        }
        spec["cluster"][keys[i]] = values[i];
        origins[std::string("/spec/cluster/") + keys[i]] = "eks:DescribeCluster";
        log::info("spec.cluster.{}={} (eks:DescribeCluster {})", keys[i],
                  i == 1 ? std::string("<certificate authority>") : values[i], name);
    }
}

// With a strategy that derives the CIDR on the node, no CIDR now means there
// was nothing to derive it from: say so, rather than "required".
void require_cidr(const json& spec, config::ServiceCidrStrategy strategy, const json& instance,
                  const Origins& origins) {
    if (cluster_has(spec, "cidr") || strategy == config::ServiceCidrStrategy::describe_cluster) return;
    bool vpc_known = derive::service_cidr_from_instance(instance).has_value();
    throw ConfigError(setting_source(origins, "/settings/serviceCidrStrategy"), "spec.cluster.cidr",
                      fmt::format("not set, and settings.serviceCidrStrategy = {} cannot derive it: {}",
                                  config::to_string(strategy),
                                  vpc_known ? "eks:DescribeCluster was not asked for it"
                                            : "instance.json lists no VPC IPv4 CIDR (IMDS vpc-ipv4-cidr-blocks)"));
}

// config.json of a node, EKS or ECS: one shape, in this key order; the
// image build's (resolve_image_config) has no instance (null: no key).
// "warnings" only when there are any, so that a configuration without one
// reads as it did before there were warnings.
json config_json(json& spec, json& settings, const json& instance, const derive::MachineFacts& machine, json derived,
                 const std::vector<input::Warning>& warnings, const Origins& origins) {
    json out = json::object();
    out["schemaVersion"] = 1;
    out["spec"] = std::move(spec);
    out["settings"] = std::move(settings);
    if (!instance.is_null()) out["instance"] = instance;
    out["machine"] = derive::machine_json(machine);
    out["derived"] = std::move(derived);
    if (!warnings.empty()) out["warnings"] = input::warnings_json(warnings);
    json o = json::object();
    for (const auto& [k, v] : origins) o[k] = v;
    out["origins"] = std::move(o);
    return out;
}

// An ECS container instance: no EKS cluster to describe, no kubelet values
// to derive. config.json keeps the same shape (the steps that serve both
// kinds read spec.instance and settings), with derived empty.
json resolve_ecs(const ResolveInput& in, json& spec, json& settings, const std::vector<input::Warning>& warnings,
                 Origins& origins) {
    config::validate_ecs_merged(spec, settings, origins);
    check_volumes(spec, settings, origins);
    derive::MachineFacts machine = derive::read_machine_facts(in.paths, in.machine);
    for (auto& [k, v] : machine.origins) origins[k] = v;
    // IMDS and the instance's own addresses stay off the proxy here too.
    derive::complete_no_proxy(spec, in.instance, origins, derive::ProxyNode::ecs);
    log::info("settings.node = \"ecs\": an ECS container instance, no EKS cluster resolved");
    return config_json(spec, settings, in.instance, machine, json::object(), warnings, origins);
}

}  // namespace

void check_volumes(const json& spec, const json& settings, const Origins& origins) {
    const json merged = {{"spec", spec}, {"settings", settings}};
    // instance.localStorage as the generator and eks-node-instance-store read
    // it (its mount units' directories and names), so that what they would
    // refuse is refused here, before config.json is written
    auto mount_path = origins.find("/spec/instance/localStorage/mountPath");
    storage::settings_from_config(merged,
                                  mount_path != origins.end() ? mount_path->second : std::string("configuration"));
    storage::volumes_from_config(merged, [&](const std::string& pointer) {
        if (auto it = origins.find(pointer); it != origins.end()) return it->second;
        // an entry or a list: the source of its first leaf (lists are replaced
        // whole when merged, so one source set them all)
        auto it = origins.lower_bound(pointer + "/");
        if (it != origins.end() && it->first.rfind(pointer + "/", 0) == 0) return it->second;
        return std::string("configuration");
    });
}

void log_warnings(const std::vector<input::Warning>& warnings) {
    // a document of ten thousand stray keys must not flood the journal
    constexpr size_t logged = 64;
    for (size_t i = 0; i < warnings.size() && i < logged; ++i)
        log::emit(log::Level::warning, warnings[i].text(), {},
                  warnings[i].kind == input::Warning::Kind::kubelet_field ? log::id::kubelet_field_unknown
                                                                          : log::id::config_field_ignored);
    if (warnings.size() > logged)
        log::warning("{} more NodeConfig fields ignored: {} lists them all (eks-node config dump --origins)",
                     warnings.size() - logged, path::config_json);
}

std::optional<std::string> checked_kubelet_version(const derive::MachineFacts& machine) {
    auto origin = machine.origins.find("/machine/kubeletVersion");
    if (machine.kubelet_version.empty() || (origin != machine.origins.end() && origin->second.starts_with("assumed")))
        return std::nullopt;
    return machine.kubelet_version;
}

std::vector<input::Warning> kubelet_field_warnings(const json& spec, const Origins& origins,
                                                   const std::optional<std::string>& kubelet_version,
                                                   std::string_view refused_by, config::ConfigErrors* all,
                                                   std::vector<std::string>* notes) {
    const json* kubelet = spec.contains("kubelet") ? &spec["kubelet"] : nullptr;
    if (!kubelet || !kubelet->is_object() || !kubelet->contains("config")) return {};
    // the key's own source, else (a table) that of its first leaf: one key's
    // leaves may come from several sources, and the first names one that set it
    auto source_of = [&](const std::string& pointer) {
        if (auto it = origins.find(pointer); it != origins.end()) return it->second;
        auto it = origins.lower_bound(pointer + "/");
        if (it != origins.end() && it->first.starts_with(pointer + "/")) return it->second;
        return std::string("configuration");
    };
    std::vector<input::Warning> out;
    for (derive::KubeletFieldProblem& p : derive::kubelet_field_problems((*kubelet)["config"], kubelet_version)) {
        std::string source = source_of(p.pointer);
        if (p.note) {
            if (notes) notes->push_back(fmt::format("{}: {}", p.field, p.problem));
            continue;
        }
        if (!refused_by.empty()) {
            config::keep_error(all, [&] {
                throw ConfigError(
                    source, p.field,
                    fmt::format("{}; {} refuses a field the node's kubelet does not know", p.problem, refused_by));
            });
            continue;
        }
        out.push_back({std::move(source), std::move(p.field), std::move(p.nearest), std::move(p.problem),
                       input::Warning::Kind::kubelet_field});
    }
    return out;
}

json resolve_config(const ResolveInput& in) {
    json spec = json::object(), settings = json::object();
    Origins origins;
    std::vector<input::Fragment> fragments = collect_fragments(in);
    for (const input::Fragment& f : fragments) {
        config::validate_fragment(f);
        config::merge_fragment(spec, settings, f, origins);
    }
    // What the NodeConfig documents held that nodeadm would ignore: ignored,
    // or refused with settings.strict, before anything is derived from the rest.
    std::vector<input::Warning> warnings = input::unknown_field_warnings(fragments, settings);
    log_warnings(warnings);
    // Under every source's values, so that any of them wins per key; checked
    // with them below.
    input::profiles::apply(spec, settings, origins);
    if (config::node_kind(settings) == config::NodeKind::ecs) return resolve_ecs(in, spec, settings, warnings, origins);
    // With the API at hand, a cluster name alone is enough (AL2's
    // `bootstrap.sh my-cluster`): EKS DescribeCluster fills in the rest.
    try {
        config::validate_merged(spec, settings, origins, config::Requirements{.cluster_coordinates = !in.api});
    } catch (const ConfigError& e) {
        // what a node would ask EKS for is a value an offline render must be given
        static const std::string coordinates[] = {"spec.cluster.apiServerEndpoint", "spec.cluster.certificateAuthority",
                                                  "spec.cluster.cidr"};
        if (!in.offline ||
            std::find(std::begin(coordinates), std::end(coordinates), e.field()) == std::end(coordinates))
            throw;
        throw ConfigError(e.source(), e.field(),
                          e.problem() +
                              "; a node would ask eks:DescribeCluster for it, an offline render asks no AWS "
                              "API: set it in the user data or a node.toml.d fragment");
    }
    check_volumes(spec, settings, origins);

    derive::MachineFacts machine = derive::read_machine_facts(in.paths, in.machine);
    for (auto& [k, v] : machine.origins) origins[k] = v;
    // kubelet.config against the kubelet that will read it, now that it is known
    std::vector<std::string> kubelet_notes;
    std::vector<input::Warning> kubelet_warnings =
        kubelet_field_warnings(spec, origins, checked_kubelet_version(machine),
                               input::strict(settings) ? "settings.strict = true" : "", nullptr, &kubelet_notes);
    for (const std::string& n : kubelet_notes)
        log::info("{} (the kubelet version is not known: checked against every minor eks-node knows)", n);
    log_warnings(kubelet_warnings);
    warnings.insert(warnings.end(), kubelet_warnings.begin(), kubelet_warnings.end());
    const config::ServiceCidrStrategy strategy = config::service_cidr_strategy(settings);
    if (!cluster_has(spec, "cidr") && strategy == config::ServiceCidrStrategy::vpc)
        cidr_from_vpc(spec, in.instance, origins, strategy, "so eks:DescribeCluster is not asked");
    derive::ApiLookups api = in.api ? in.api(spec, settings, in.instance, machine) : derive::ApiLookups{};
    if (api.describe_cluster) {
        fill_cluster_from_eks(spec, settings, strategy, in.instance, origins, api);
    } else if (!cluster_has(spec, "cidr") && strategy == config::ServiceCidrStrategy::describe_cluster_or_vpc) {
        cidr_from_vpc(spec, in.instance, origins, strategy, "resolved without the AWS API");
    }
    require_cidr(spec, strategy, in.instance, origins);
    if (api.describe_cluster) config::validate_merged(spec, settings, origins);
    // Once the cluster's endpoint and CIDR are known (derive/proxy.cpp).
    derive::complete_no_proxy(spec, in.instance, origins);
    json derived = derive::values(spec, settings, in.instance, machine, origins, api.ec2);
    // What cloud-init will run of the user data (even where an admin's file
    // hides the user data from eks-node: cloud-init reads it all the same).
    // eks-node-config then orders kubelet after cloud-init's scripts.
    if (in.user_data) {
        std::vector<std::string> parts = input::cloud_init_parts(*in.user_data, in.user_data_label);
        if (!parts.empty()) {
            derived["cloudInitParts"] = parts;
            origins["/derived/cloudInitParts"] = in.user_data_label;
        }
    }
    if (api.requests && api.requests() > 0) log::info("AWS API: {} request(s) made", api.requests());

    return config_json(spec, settings, in.instance, machine, std::move(derived), warnings, origins);
}

namespace {

struct ImageSources {
    json spec = json::object(), settings = json::object();
    Origins origins;
};

// The sources collect_fragments() reads with no user data: the TOML fragments (an
// admin's 50-user-data.toml included) and nodeadm.d.
ImageSources merge_image_sources(const Paths& paths) {
    ImageSources s;
    ResolveInput in;
    in.paths = paths;
    const std::vector<input::Fragment> fragments = collect_fragments(in);
    for (const input::Fragment& f : fragments) {
        config::validate_fragment(f);
        config::merge_fragment(s.spec, s.settings, f, s.origins);
    }
    // the image's nodeadm.d files: what eks-node-config will say of them at boot
    log_warnings(input::unknown_field_warnings(fragments, s.settings));
    config::validate_settings(s.settings, s.origins);
    return s;
}

}  // namespace

json resolve_image_sources(const Paths& paths) {
    ImageSources s = merge_image_sources(paths);
    json out = json::object();
    out["schemaVersion"] = 1;
    out["spec"] = std::move(s.spec);
    out["settings"] = std::move(s.settings);
    out["machine"] = derive::machine_json(derive::read_machine_facts(paths));
    json origins = json::object();
    for (const auto& [pointer, origin] : s.origins) origins[pointer] = origin;
    out["origins"] = std::move(origins);
    return out;
}

json resolve_image_config(const Paths& paths) {
    ImageSources s = merge_image_sources(paths);
    constexpr const char* pointer = "/settings/containerd/sandboxImage";
    const json* image = s.settings.contains("containerd") ? &s.settings["containerd"] : nullptr;
    image = image && image->is_object() && image->contains("sandboxImage") ? &(*image)["sandboxImage"] : nullptr;
    if (!image || !image->is_string())
        throw ConfigError("the image's configuration (node.toml.d, nodeadm.d)", "settings.containerd.sandboxImage",
                          "not set: without a pause image cached in the image, its name depends on the region, "
                          "known only at boot (packer/provisioners/80-pause-image.sh caches it and sets this)");
    json derived = {{"sandboxImage", *image}};
    const Origins origins{{"/derived/sandboxImage", setting_source(s.origins, pointer)}};
    return config_json(s.spec, s.settings, json(nullptr), derive::read_machine_facts(paths), std::move(derived), {},
                       origins);
}

namespace {

// The JSON pointer of the first key or string in `j` that is not UTF-8 text,
// or nullopt. nlohmann's dump refuses such a string with an exception of its
// own (type_error 316), so config.json is checked before it is written.
std::optional<std::string> first_non_text(const json& j, const std::string& at) {
    if (j.is_string()) return is_utf8_text(j.get_ref<const std::string&>()) ? std::nullopt : std::optional(at);
    if (j.is_array()) {
        for (size_t i = 0; i < j.size(); ++i)
            if (auto bad = first_non_text(j[i], fmt::format("{}/{}", at, i))) return bad;
    } else if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            std::string key = is_utf8_text(it.key()) ? it.key() : imds::value::shown(it.key());
            if (key != it.key()) return at + "/" + key;
            if (auto bad = first_non_text(*it, at + "/" + key)) return bad;
        }
    }
    return std::nullopt;
}

// Every source checks its text where it reads it; this is the last look
// before config.json is written, naming the value and who set it rather
// than letting the JSON library's exception end the step.
void check_text(const json& cfg) {
    std::optional<std::string> bad = first_non_text(cfg, "");
    if (!bad) return;
    std::string source = "configuration";
    if (const json* origins = cfg.contains("origins") ? &cfg["origins"] : nullptr) {
        // the origin of the value, or of the nearest object above it
        for (std::string p = *bad; !p.empty(); p = p.substr(0, p.rfind('/'))) {
            if (auto it = origins->find(p); it != origins->end() && it->is_string()) {
                source = it->get<std::string>();
                break;
            }
        }
    }
    throw ConfigError(source, dotted(*bad), "is not valid UTF-8 text");
}

}  // namespace

json resolve_from_node(const StepOptions& opts) {
    ResolveInput in{opts.paths, json::object(), std::nullopt};
    // EC2 and EKS lookups, made only when the configuration needs them; an
    // offline render makes none
    if (!opts.offline_instance) in.api = aws::make_api_lookups;
    in.offline = opts.offline_instance.has_value();
    in.machine.cpus = opts.offline_vcpus;
    in.machine.cpus_origin = opts.offline_vcpus_origin;
    if (opts.offline_memory_mib) {
        in.machine.memory_mib = opts.offline_memory_mib;
        in.machine.memory_origin = fmt::format("--memory ({} MiB)", *opts.offline_memory_mib);
    }

    fs::path instance_path = opts.paths.of(path::instance_json);
    auto instance_text = read_file_if_exists(instance_path);
    if (!instance_text)
        throw Error(fmt::format("{}: missing; eks-node-imds writes it (systemctl status eks-node-imds)",
                                instance_path.string()));
    try {
        in.instance = json::parse(*instance_text);
    } catch (const json::exception& e) {
        // parse_error, or out_of_range for a number such as 1e400.
        throw Error(fmt::format("{}: not valid JSON: {}", instance_path.string(), e.what()));
    }
    // Every instance fact reaches config.json and kubelet's flags from here:
    // checked again, as eks-node-imds checked it, whoever wrote the file.
    imds::check_instance(in.instance, instance_path.string());

    if (!opts.user_data_file.empty()) {
        in.user_data = opts.user_data_text ? *opts.user_data_text : input::read_user_data_file(opts.user_data_file);
        in.user_data_label = opts.user_data_file;  // errors then read "FILE (MIME part 2, …): field: …"
    } else {
        in.user_data = read_file_if_exists(opts.paths.of(path::user_data));
    }
    json cfg = resolve_config(in);
    check_text(cfg);
    return cfg;
}

}  // namespace eksnode::resolve
