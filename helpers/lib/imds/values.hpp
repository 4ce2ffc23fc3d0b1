// SPDX-License-Identifier: Apache-2.0
// Syntax checks for the values AWS hands a node: IMDS answers (eks-node-imds),
// EC2 DescribeInstances and EKS DescribeCluster (eks-node-config). They end
// up in kubelet flags, file names, URLs and unit environments, so each is
// checked by its type where it enters, and nothing else passes: a host name
// with a space in it would become a second kubelet argument.
//
// Each check returns the problem as errors show it after the source
// ("\"i-../x\" is not an EC2 instance id (i- and 8 or 17 hex digits)"), or an
// empty string when the value is fine. Callers throw ConfigError (exit 6):
// a wrong value is bad instance data, not a network fault, and asking again
// would only get the same answer.
//
// Owner area: helpers/lib/imds/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"

namespace eksnode::imds::value {

// A value as a message shows it: JSON-quoted (control characters escaped,
// bytes that are not UTF-8 replaced) and cut after 64 bytes, so that neither
// a log line nor the journal ever carries it raw.
std::string shown(std::string_view s);

std::string dns_name(std::string_view s);           // RFC 1123: labels [A-Za-z0-9-], 63 each, 253 in all
std::string instance_id(std::string_view s);        // i- and 8 or 17 lowercase hex digits
std::string eni_id(std::string_view s);             // eni- and 8 or 17 lowercase hex digits
std::string instance_type(std::string_view s);      // family.size: "m5.large", "u-6tb1.metal", "c7i.metal-48xl"
std::string region(std::string_view s);             // "us-west-2", "us-gov-east-1"
std::string availability_zone(std::string_view s);  // "us-west-2f", "us-west-2-lax-1a"
std::string partition(std::string_view s);          // "aws", "aws-cn", "aws-iso-b"
std::string architecture(std::string_view s);       // "x86_64", "arm64"
std::string mac(std::string_view s);                // "0e:49:61:0f:c3:11"
std::string ipv4(std::string_view s);               // dotted quad (inet_pton)
std::string ipv6(std::string_view s);               // inet_pton
std::string ipv4_cidr(std::string_view s);          // "172.16.0.0/16"
std::string ipv6_cidr(std::string_view s);          // "2600:1f14:abc:de00::/56"
std::string cidr(std::string_view s);               // IPv4 or IPv6 address "/" prefix length
std::string account_id(std::string_view s);         // 12 digits
std::string outpost_arn(std::string_view s);        // arn:aws:outposts:<region>:<account>:outpost/op-<17 hex>
std::string iam_role(std::string_view s);           // IAM role name: [A-Za-z0-9+=,.@_-], at most 128
std::string lifecycle_state(std::string_view s);    // Auto Scaling's: "InService", "Warmed:Running"
std::string https_url(std::string_view s);          // https://<DNS name or IPv4>[:port][/path], for EKS endpoints
std::string base64(std::string_view s);             // [A-Za-z0-9+/] with = padding, as EKS sends the cluster CA

// One word of a command line that systemd builds by splitting an unquoted
// $VARIABLE at whitespace (kubelet's $NODEADM_KUBELET_ARGS): no whitespace,
// no control character, valid UTF-8. Anything else would become a second
// argument, or be dropped by systemd with the whole line.
std::string command_word(std::string_view s);

// A newline-separated IMDS list (ipv6s, local-ipv4s, the CIDR blocks): its
// non-empty lines, trimmed, each checked by `check` (one of the above). The
// problem ("line 2: ...") or "", with the entries in `out`.
using Check = std::string (*)(std::string_view);
std::string list(std::string_view text, Check check, std::vector<std::string>& out);

// The listing of meta-data/network/interfaces/macs/: one interface a line,
// its MAC and the '/' IMDS ends a directory's name with
// ("0e:49:61:0f:c3:11/"; a MAC without it passes too). The problem
// ("line 2: ...") or "", with the MACs in `out` in IMDS's order.
std::string mac_listing(std::string_view text, std::vector<std::string>& out);

}  // namespace eksnode::imds::value
