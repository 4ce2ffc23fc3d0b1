// SPDX-License-Identifier: Apache-2.0
// Syntax checks on configuration strings (input/'s and config/'s, and render/'s
// last line of defence on config.json). Each returns the problem as errors
// show it after the field path ("\"10.100.0.0/33\" is not a CIDR"), or an
// empty string when the value is fine.
#pragma once

#include <string>
#include <string_view>

namespace eksnode::format::check {

std::string cluster_name(std::string_view s);  // EKS: [0-9A-Za-z][A-Za-z0-9_-]*, at most 100
std::string http_url(std::string_view s);      // http:// or https:// with a host, optional port and path
std::string cidr(std::string_view s);          // IPv4 or IPv6 address "/" prefix length
std::string ip_address(std::string_view s);
std::string domain_name(std::string_view s);            // a DNS search domain
std::string certificate_authority(std::string_view s);  // see certificate_authority_pem()
std::string kubelet_flag(std::string_view s);           // --name or --name=value
std::string absolute_path(std::string_view s);
std::string service_section(std::string_view s);  // instance.environment keys: "default", NAME or NAME.service
std::string env_name(std::string_view s);         // POSIX environment variable name
std::string single_token(std::string_view s);     // non-empty, no whitespace or control characters
std::string non_empty(std::string_view s);
std::string aws_account_id(std::string_view s);  // 12 digits
std::string image_tag(std::string_view s);       // an OCI tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
// settings.swap.size: a whole number of MiB or GiB ("512M", "4G"), from 1 MiB to 16 TiB
// (swap_size_mib() gives the MiB).
std::string swap_size(std::string_view s);
long swap_size_mib(std::string_view s);  // 0 when swap_size() refuses s
// A runtime handler's name as a RuntimeClass's `handler` takes it: a DNS label
// ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63), which is also a safe containerd
// table key.
std::string runtime_handler_name(std::string_view s);
// settings.staticPods: a name is the file NAME.yaml in kubelet's
// staticPodPath, so a DNS label as runtime_handler_name() takes it.
std::string static_pod_name(std::string_view s);
// A static pod's manifest as kubelet reads it from staticPodPath: YAML (read
// by the NodeConfig reader), one document, a mapping of apiVersion "v1",
// kind "Pod" and a metadata.name. Checked here so that a typo is refused by
// eks-node-config (exit 6), not found in kubelet's log after the join.
std::string static_pod_manifest(std::string_view s);
// A kernel module name as modprobe takes it: [A-Za-z0-9_-]+, at most 55
// (MODULE_NAME_LEN - 1 on 64-bit).
std::string kernel_module(std::string_view s);
// An image reference as containerd's CRI takes it: [HOST[:PORT]/]PATH[:TAG][@DIGEST],
// path components in lower case, at most 512 bytes (image_reference() in checks.cpp).
std::string image_reference(std::string_view s);
// A registry as containerd looks up its host directory under config_path
// (settings.registries keys): HOST[:PORT] as image references name it, or
// "_default" (containerd's fallback directory).
std::string registry_host(std::string_view s);
// A kubelet credential provider's name: its program's file name in kubelet's
// --image-credential-provider-bin-dir ([A-Za-z0-9][A-Za-z0-9._-]*, at most 64).
std::string credential_provider_name(std::string_view s);
// A kubelet credential provider's matchImages pattern (match_images.cpp):
// what kubelet's URL check takes (HOST[:PORT][/PATH], the port digits, no
// control character), each host label a glob Go's path.Match reads, at most
// max_match_image_bytes; and nothing the credential reader would compare
// otherwise than kubelet (a scheme, ? # @ %, bytes outside ASCII). The
// rules: tests/data/match-images.tsv.
std::string match_image(std::string_view s);
inline constexpr size_t max_match_image_bytes = 512;
namespace glob {
// One element of a glob at p[i] (not '*'): its end, or npos if malformed
// (Go's ErrBadPattern); `c` matched sets `hit`. `?` any byte, `[...]` a
// class with ranges and `^` negation, `\` an escape, else the byte itself.
size_t element(std::string_view p, size_t i, char c, bool& hit);
// Whether the whole glob is well formed, as Go checks all of it.
bool well_formed(std::string_view p);
}  // namespace glob

// settings.ecs (eks-node-ecs(8)). Each value ends up on one line of
// /etc/ecs/ecs.config, which the agent reads as KEY=VALUE lines: none may
// carry a control character (a newline would inject another key).
// An ECS cluster: a name ([A-Za-z0-9_-], at most 255, as ECS CreateCluster
// takes it) or a cluster ARN (arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME).
std::string ecs_cluster(std::string_view s);
// A custom attribute's name: [A-Za-z0-9_.@/:-], at most 128 (ECS's rule,
// without the spaces it also allows: one word keeps ecs.config greppable).
std::string ecs_attribute_name(std::string_view s);
// A custom attribute's value: [A-Za-z0-9_.@/:-], at most 128 (ECS's rule,
// without spaces and backslashes, so the JSON in ecs.config needs no escapes).
std::string ecs_attribute_value(std::string_view s);

// A byte below 0x20 or DEL: what ends a line or a word where the value goes.
bool has_control(std::string_view s);

// The unit of an instance.environment key that service_section() accepts,
// without ".service": "kubelet.service" and "kubelet" -> "kubelet", the name
// of its file (NAME.env) and of its unit (NAME.service). eks-node-system
// renders the sections by it.
std::string service_section_unit(std::string_view s);

}  // namespace eksnode::format::check
