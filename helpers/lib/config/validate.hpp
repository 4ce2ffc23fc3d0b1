// SPDX-License-Identifier: Apache-2.0
// The model's checks: of each fragment's fields against the schema, and of
// what only the merged whole can tell (required fields, settings that must agree).
#pragma once

#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "input/sources.hpp"

namespace eksnode::config {

// Types, enums and syntax of every field a fragment sets; an unknown field
// is an error (eks-node's TOML refuses keys it does not know; a NodeConfig's
// unknown fields never get here: its front end drops them, see
// UnknownField). Throws ConfigError; with `all`, adds each field's error
// there instead and goes on (`eks-node config check` reports every one).
using ConfigErrors = std::vector<ConfigError>;
// f(); with `all`, a ConfigError it throws is added there instead of thrown
// (false then), so that one check's error does not hide the next one's.
template <class F>
bool keep_error(ConfigErrors* all, F&& f) {
    if (!all) {
        f();
        return true;
    }
    try {
        f();
        return true;
    } catch (const ConfigError& e) {
        all->push_back(e);
        return false;
    }
}
void validate_fragment(const input::Fragment& f, ConfigErrors* all = nullptr);

// What validate_merged insists on. cluster.name is always required; the
// coordinates (apiServerEndpoint, certificateAuthority, cidr) can be relaxed by a
// caller that fills them itself, e.g. from EKS DescribeCluster.
struct Requirements {
    bool cluster_coordinates = true;
};

// settings.serviceCidrStrategy: where spec.cluster.cidr comes from when no
// source sets it (eks-node.toml(5)). describe_cluster (the default): EKS
// DescribeCluster. vpc: AL2 bootstrap.sh's rule, EKS's default service CIDR
// for the instance's VPC (derive::service_cidr_from_vpc), EKS never asked for
// it. describe_cluster_or_vpc: DescribeCluster's, else AL2's rule when the
// call cannot be made (refused, no credentials, EKS unreachable until the
// deadline) or the answer has none. The bootstrap.sh front end sets one of the
// last two when its flags give no service CIDR or DNS address.
enum class ServiceCidrStrategy { describe_cluster, vpc, describe_cluster_or_vpc };
// Of a merged [settings] table that passed validate_fragment().
ServiceCidrStrategy service_cidr_strategy(const json& settings);
std::string_view to_string(ServiceCidrStrategy s);

// The merged [settings] that must agree (imds.requestTimeout <= deadline),
// as eks-node-imds reads them. Throws ConfigError naming the field and its source.
void validate_settings(const json& settings, const Origins& origins);

// Checks what only the merged whole can tell: required fields
// (cluster.name, apiServerEndpoint, certificateAuthority, cidr; cluster.id with
// enableOutpost) and validate_settings(). cidr is not required when
// settings.serviceCidrStrategy derives it from the VPC on the node.
// Throws ConfigError naming the field and the sources that set (or were
// consulted for) it; with `all`, adds each check's error there instead.
void validate_merged(const json& spec, const json& settings, const Origins& origins, const Requirements& required = {},
                     ConfigErrors* all = nullptr);

// settings.node: which target the node runs (eks-node.target or
// ecs-node.target). Of a merged [settings] table that passed validate_fragment().
enum class NodeKind { eks, ecs };
NodeKind node_kind(const json& settings);
// node_kind() of a whole resolved configuration (config.json, or the image's
// own sources resolved): its "settings", eks where it has none.
NodeKind config_node_kind(const json& cfg);

// validate_merged() for an ECS container instance (settings.node = "ecs"):
// the settings and the environment, and none of the EKS cluster's fields.
void validate_ecs_merged(const json& spec, const json& settings, const Origins& origins);

}  // namespace eksnode::config
