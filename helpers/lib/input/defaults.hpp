// SPDX-License-Identifier: Apache-2.0
// Values EKS and kubelet take when configuration leaves them out: facts about
// those programs, not eks-node's decisions. The configuration readers need them
// to map what user data says (bootstrap.sh's flags are relative to them), and
// derive builds on them, so they live here, below both.
//
// Owner area: helpers/lib/input/.
#pragma once

#include <string>
#include <string_view>

namespace eksnode::input::defaults {

// kubelet's own default for --max-pods (and nodeadm's DefaultMaxPods).
inline constexpr int kubelet_max_pods = 110;

// The cluster DNS address EKS gives a service CIDR: its network address + 10
// (IPv4) or + 0xa (IPv6), e.g. "10.100.0.0/16" -> "10.100.0.10" and
// "10.100.5.7/16" -> "10.100.0.10". Throws ConfigError (field
// spec.cluster.cidr, empty source) for a malformed CIDR or one too small to
// hold the address.
std::string cluster_dns(std::string_view cidr);

// Whether a service CIDR is IPv6; throws ConfigError as cluster_dns() does
// for a malformed one.
bool cidr_is_ipv6(std::string_view cidr);

}  // namespace eksnode::input::defaults
