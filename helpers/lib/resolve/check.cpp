// SPDX-License-Identifier: Apache-2.0
// `eks-node config check` (resolve/resolve.hpp, check_sources): every source
// read and validated as eks-node-config would, each error kept rather than the
// first, and what the node would ask EKS at boot said as a note.
#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "derive/kubelet_fields.hpp"
#include "input/fragments.hpp"
#include "input/profiles.hpp"
#include "input/sources.hpp"
#include "resolve/collect.hpp"
#include "resolve/resolve.hpp"

namespace eksnode::resolve {

using detail::cluster_has;
using detail::collect_fragments;

namespace {

// What resolve_config() would ask EKS for at boot, as a note; or, for an
// Outposts local cluster, which DescribeCluster does not describe, the error
// the node would give.
void boot_lookups(CheckResult& r) {
    if (!cluster_has(r.spec, "name")) return;  // validate_merged() has said so
    const config::ServiceCidrStrategy strategy = config::service_cidr_strategy(r.settings);
    std::vector<std::string> asked;
    for (const char* key : {"apiServerEndpoint", "certificateAuthority", "cidr"})
        if (!cluster_has(r.spec, key) &&
            (std::string_view(key) != "cidr" || strategy != config::ServiceCidrStrategy::vpc))
            asked.push_back(fmt::format("spec.cluster.{}", key));
    const json& cluster = r.spec["cluster"];
    if (!asked.empty() && cluster.value("enableOutpost", false) == true) {
        // the node's second validate_merged(), after fill_cluster_from_eks() asked nothing
        config::ConfigErrors node;
        config::validate_merged(r.spec, r.settings, r.origins, {}, &node);
        for (const ConfigError& e : node)
            if (std::find(asked.begin(), asked.end(), e.field()) != asked.end())
                r.errors.emplace_back(e.source(), e.field(),
                                      e.problem() +
                                          " (EKS DescribeCluster does not describe an Outposts local cluster)");
        return;
    }
    const std::string name = cluster["name"].get<std::string>();
    if (!asked.empty()) {
        std::string note = fmt::format(
            "{}: not set by any source; eks-node-config asks eks:DescribeCluster for cluster {} at boot (the "
            "instance's role needs eks:DescribeCluster)",
            fmt::join(asked, ", "), name);
        if (asked.back() == "spec.cluster.cidr" && strategy == config::ServiceCidrStrategy::describe_cluster_or_vpc)
            note +=
                "; if EKS cannot be asked, the CIDR by AL2's rule from the VPC's CIDR "
                "(settings.serviceCidrStrategy = describe-cluster-or-vpc)";
        r.notes.push_back(std::move(note));
    }
    if (!cluster_has(r.spec, "cidr") && strategy == config::ServiceCidrStrategy::vpc)
        r.notes.emplace_back(
            "spec.cluster.cidr: not set by any source; eks-node-config derives it at boot from the instance's VPC CIDR "
            "(IMDS vpc-ipv4-cidr-blocks), AL2's rule (settings.serviceCidrStrategy = vpc)");
}

}  // namespace

CheckResult check_sources(const CheckInput& in, config::ConfigErrors unread) {
    CheckResult r;
    r.errors = std::move(unread);
    // each source alone: a broken one does not hide the next one's errors
    auto user_data = [&](std::vector<input::Fragment>& out) {
        for (const CheckInput::Source& s : in.user_data) {
            config::keep_error(&r.errors, [&] {
                if (s.toml) {
                    out.push_back(input::fragment_from_toml(s.raw, s.label));
                    return;
                }
                for (input::Fragment& f : input::fragments_from_user_data(s.raw, s.label)) out.push_back(std::move(f));
                for (std::string& part : input::cloud_init_parts(s.raw, s.label)) r.scripts.push_back(std::move(part));
            });
        }
    };
    std::vector<input::Fragment> fragments;
    if (in.root_fragments) config::keep_error(&r.errors, [&] { fragments = collect_fragments(in.paths, user_data); });
    else user_data(fragments);

    for (const input::Fragment& f : fragments) {
        const size_t before = r.errors.size();
        config::validate_fragment(f, &r.errors);
        if (r.errors.size() == before) config::merge_fragment(r.spec, r.settings, f, r.origins);
    }
    // the checks of the merged whole need every fragment in it
    if (!r.errors.empty()) return r;
    config::keep_error(&r.errors, [&] { r.warnings = input::unknown_field_warnings(fragments, r.settings); });
    if (in.strict) {
        for (const input::Warning& w : r.warnings)
            r.errors.emplace_back(w.source, w.field,
                                  fmt::format("unknown field (nearest known field: {}), refused by --strict as "
                                              "settings.strict = true refuses it",
                                              w.nearest));
        r.warnings.clear();
    }
    if (!r.errors.empty()) return r;
    if (!config::keep_error(&r.errors, [&] { input::profiles::apply(r.spec, r.settings, r.origins); })) return r;
    if (config::node_kind(r.settings) == config::NodeKind::ecs) {
        config::keep_error(&r.errors, [&] { config::validate_ecs_merged(r.spec, r.settings, r.origins); });
        config::keep_error(&r.errors, [&] { check_volumes(r.spec, r.settings, r.origins); });
        return r;
    }
    // as eks-node-config with the AWS API at hand (it always has it on a node)
    config::validate_merged(r.spec, r.settings, r.origins, config::Requirements{.cluster_coordinates = false},
                            &r.errors);
    config::keep_error(&r.errors, [&] { check_volumes(r.spec, r.settings, r.origins); });
    const std::string_view refused_by = in.strict                   ? "--strict, as settings.strict = true,"
                                        : input::strict(r.settings) ? "settings.strict = true"
                                                                    : "";
    for (input::Warning& w :
         kubelet_field_warnings(r.spec, r.origins, in.kubelet_version, refused_by, &r.errors, &r.notes))
        r.warnings.push_back(std::move(w));
    if (r.errors.empty()) boot_lookups(r);
    return r;
}

}  // namespace eksnode::resolve
