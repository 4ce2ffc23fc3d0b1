#include "resolve/resolve.hpp"

#include <algorithm>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "derive/derive.hpp"

namespace eksnode {

namespace {

const std::string user_data_name = std::string(user_data_slot) + ".toml";

}  // namespace

json static_settings(const Paths& paths) {
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const FragmentFile& f : fragment_files(paths)) {
        if (f.name == user_data_name || is_mask(f.path)) continue;
        Fragment frag = fragment_from_toml(read_file(f.path), f.path.string());
        validate_fragment(frag);
        merge_fragment(spec, settings, frag, origins);
    }
    validate_settings(settings, origins);  // what eks-node-config and eks-node-imds refuse, the generator ignores
    return settings;
}

namespace {

// The fragments of every source, in merge order: TOML files sorted by name,
// with user data in its slot (unless an admin hid or masked that slot).
std::vector<Fragment> collect_fragments(const ResolveInput& in) {
    std::vector<FragmentFile> files = fragment_files(in.paths);
    bool slot_taken = std::any_of(files.begin(), files.end(), [](const FragmentFile& f) { return f.name == user_data_name; });
    if (!slot_taken) {
        files.push_back({user_data_name, {}});
        std::stable_sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.name < b.name; });
    }

    std::vector<Fragment> out;
    for (const FragmentFile& f : files) {
        bool is_slot = f.name == user_data_name;
        if (!f.path.empty() && is_mask(f.path)) {
            if (is_slot) log::info("user data masked by {}, ignoring it", f.path.string());
            continue;
        }
        if (is_slot && f.path.empty()) {
            if (!in.user_data) continue;
            for (Fragment& frag : fragments_from_user_data(*in.user_data, in.user_data_label)) out.push_back(std::move(frag));
            continue;
        }
        if (is_slot) log::info("user data replaced by {}", f.path.string());
        out.push_back(fragment_from_toml(read_file(f.path), f.path.string()));
    }
    return out;
}

bool cluster_has(const json& spec, const char* key) {
    const json* cluster = spec.contains("cluster") ? &spec["cluster"] : nullptr;
    return cluster && cluster->contains(key) && (*cluster)[key].is_string() && !(*cluster)[key].get<std::string>().empty();
}

// Fills spec.cluster's apiServerEndpoint, certificateAuthority and cidr from
// EKS DescribeCluster when the name is known and any of them is not; values
// the configuration sets win. Origins say "eks:DescribeCluster".
void fill_cluster_from_eks(json& spec, const json& settings, Origins& origins, const ApiLookups& api) {
    static constexpr const char* keys[] = {"apiServerEndpoint", "certificateAuthority", "cidr"};
    if (!cluster_has(spec, "name")) return;
    bool missing = false;
    for (const char* k : keys) missing |= !cluster_has(spec, k);
    // Outposts local clusters are not described by the EKS API in the region.
    if (!missing || (spec["cluster"].contains("enableOutpost") && spec["cluster"]["enableOutpost"] == true)) return;
    std::string name = spec["cluster"]["name"].get<std::string>();
    ClusterDetails d;
    try {
        d = api.describe_cluster(name, origins);
    } catch (const ConfigError& why) {
        // The configuration's gap comes first: name the missing field, then
        // why EKS could not fill it (no credentials, no permission, no such cluster).
        try {
            validate_merged(spec, settings, origins);
        } catch (const ConfigError& gap) {
            throw ConfigError(gap.source(), gap.field(),
                              fmt::format("{}; eks:DescribeCluster could not supply it: {}", gap.problem(), why.what()));
        }
        throw;
    }
    const std::string values[] = {d.endpoint, d.certificate_authority, d.cidr};
    for (size_t i = 0; i < 3; ++i) {
        if (cluster_has(spec, keys[i])) continue;
        spec["cluster"][keys[i]] = values[i];
        origins[std::string("/spec/cluster/") + keys[i]] = "eks:DescribeCluster";
        log::info("spec.cluster.{}={} (eks:DescribeCluster {})", keys[i],
                  i == 1 ? std::string("<certificate authority>") : values[i], name);
    }
}

}  // namespace

json resolve_config(const ResolveInput& in) {
    json spec = json::object(), settings = json::object();
    Origins origins;
    std::vector<Fragment> fragments = collect_fragments(in);
    for (const Fragment& f : fragments) {
        validate_fragment(f);
        merge_fragment(spec, settings, f, origins);
    }
    // With the API at hand, a cluster name alone is enough (AL2's
    // `bootstrap.sh my-cluster`): EKS DescribeCluster fills in the rest.
    validate_merged(spec, settings, origins, Requirements{.cluster_coordinates = !in.api});

    MachineFacts machine = read_machine_facts(in.paths);
    for (auto& [k, v] : machine.origins) origins[k] = v;
    ApiLookups api = in.api ? in.api(spec, settings, in.instance, machine) : ApiLookups{};
    if (api.describe_cluster) {
        fill_cluster_from_eks(spec, settings, origins, api);
        validate_merged(spec, settings, origins);
    }
    json derived = derive(spec, settings, in.instance, machine, origins, api.ec2);
    if (api.requests && api.requests() > 0) log::info("AWS API: {} request(s) made", api.requests());

    json out = json::object();
    out["schemaVersion"] = 1;
    out["spec"] = std::move(spec);
    out["settings"] = std::move(settings);
    out["instance"] = in.instance;
    out["machine"] = machine_json(machine);
    out["derived"] = std::move(derived);
    json o = json::object();
    for (auto& [k, v] : origins) o[k] = v;
    out["origins"] = std::move(o);
    return out;
}

}  // namespace eksnode
