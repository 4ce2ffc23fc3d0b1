// SPDX-License-Identifier: Apache-2.0
// Pieces of the IMDS client that are pure functions, exposed for unit tests.
// Not an API for other areas: use imds.hpp.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::imds::detail {

// Paths under /latest/ that instance.json is built from.
namespace p {
inline constexpr std::string_view token = "api/token";
inline constexpr std::string_view instance_id = "meta-data/instance-id";
inline constexpr std::string_view instance_type = "meta-data/instance-type";
inline constexpr std::string_view availability_zone = "meta-data/placement/availability-zone";
inline constexpr std::string_view region = "meta-data/placement/region";
inline constexpr std::string_view partition = "meta-data/services/partition";
inline constexpr std::string_view domain = "meta-data/services/domain";
inline constexpr std::string_view mac = "meta-data/mac";
inline constexpr std::string_view local_ipv4 = "meta-data/local-ipv4";
inline constexpr std::string_view local_hostname = "meta-data/local-hostname";
inline constexpr std::string_view hostname = "meta-data/hostname";
inline constexpr std::string_view outpost_arn = "meta-data/outpost-arn";
// The instance profile's role name(s); 404 without a profile. Asked here, in
// the same round trip, so eks-node-config knows without asking IMDS again
// whether AWS credentials can exist at all.
inline constexpr std::string_view iam_roles = "meta-data/iam/security-credentials/";
// The Auto Scaling group's target lifecycle state; 404 outside a group.
// Asked in the same round trip: a node in a warm pool holds kubelet back
// (eks-node-warm-pool(8)), and one more concurrent request costs no wait.
inline constexpr std::string_view target_lifecycle_state = "meta-data/autoscaling/target-lifecycle-state";
// Every interface attached now, one directory a line ("0e:49:61:0f:c3:11/").
// Asked in the same round trip: listed before kubelet starts, they are the
// instance's own (attached at launch, or by an admin before the node
// joined), which eks-node-network(8) hands to systemd-networkd even when
// udev announces one only after kubelet started.
inline constexpr std::string_view interface_macs = "meta-data/network/interfaces/macs/";
inline constexpr std::string_view identity_document = "dynamic/instance-identity/document";
inline constexpr std::string_view user_data = "user-data";
}  // namespace p

struct MetadataPath {
    std::string_view path;
    bool required;
};

// Everything that needs no other answer first: requested concurrently as soon
// as there is a token.
inline constexpr MetadataPath first_round[] = {
    {p::instance_id, true},
    {p::instance_type, true},
    {p::availability_zone, true},
    {p::region, false},
    {p::partition, false},
    {p::domain, false},
    {p::mac, true},
    {p::local_ipv4, false},
    {p::local_hostname, false},
    {p::hostname, false},
    {p::outpost_arn, false},
    {p::identity_document, false},
    {p::user_data, false},
    {p::iam_roles, false},
    {p::target_lifecycle_state, false},
    {p::interface_macs, false},
};

// Leaves under meta-data/network/interfaces/macs/<mac>/, requested as soon as
// the primary MAC is known. The VPC's CIDRs complete NO_PROXY when a proxy is
// set (derive/proxy.cpp); the IPv6 ones cost one more request in the same
// round trip.
inline constexpr std::string_view mac_leaves[] = {"ipv6s", "vpc-ipv4-cidr-blocks", "vpc-ipv6-cidr-blocks"};

// "meta-data/network/interfaces/macs/<mac>/<leaf>"
std::string mac_path(std::string_view mac, std::string_view leaf);

// True for "0e:49:61:0f:c3:11": the MAC goes into a URL path, so nothing else
// may pass.
bool is_mac(std::string_view s);

// "us-west-2f" -> "us-west-2"; Local Zones and Wavelength Zones keep their
// parent region: "us-west-2-lax-1a" -> "us-west-2". Empty if `az` does not
// look like a zone name.
std::string region_from_az(std::string_view az);

// The partition a region belongs to ("cn-north-1" -> "aws-cn", else "aws").
std::string_view partition_for_region(std::string_view region);

// The DNS suffix of a partition's service endpoints; empty for an unknown one.
std::string_view domain_for_partition(std::string_view partition);

// The values one fetch gathered, keyed by path under /latest/; a 404 is stored
// as std::nullopt. Paths that were never requested are simply missing.
using Fetched = std::map<std::string, std::optional<std::string>, std::less<>>;

// Builds instance.json (schema at the end of imds.hpp) from fetched values.
// Throws Error naming the path when a required value is missing or malformed.
json assemble_instance(const Fetched& values, std::string_view endpoint);

}  // namespace eksnode::imds::detail
