// SPDX-License-Identifier: Apache-2.0
// IMDSv2 client: token PUT with a TTL, every needed path fetched concurrently
// on one token, refresh on 401, bounded exponential backoff with jitter under
// an overall deadline, 404 means absent, never through a proxy.
//
// Owner area: helpers/lib/imds/. Output schema: man/eks-node-imds.8.scd.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::imds {

inline constexpr std::string_view imds_ipv4_endpoint = "http://169.254.169.254";
inline constexpr std::string_view imds_ipv6_endpoint = "http://[fd00:ec2::254]";

struct ImdsOptions {
    // Endpoints raced for the token; the first that answers serves every GET.
    // The race is staggered: each endpoint starts when the one before it
    // fails, or `stagger` after it started, so a healthy instance always
    // settles on the first one (deterministic instance.json, one token request).
    std::vector<std::string> endpoints{std::string(imds_ipv4_endpoint), std::string(imds_ipv6_endpoint)};
    std::chrono::milliseconds stagger{50};
    std::chrono::milliseconds deadline{120'000};        // overall, from the first request
    std::chrono::milliseconds request_timeout{3'000};   // one HTTP exchange
    std::chrono::milliseconds initial_backoff{50};
    std::chrono::milliseconds max_backoff{2'000};
    int token_ttl_seconds = 21600;
    // Attempts of one request, the first included; 0: as many as the deadline
    // allows. eks-node-config's credential fetch sets it from
    // AWS_METADATA_SERVICE_NUM_ATTEMPTS; `max_attempts_origin` names that in
    // the give-up message.
    int max_attempts = 0;
    std::string max_attempts_origin;
};

struct ImdsResult {
    json instance;                           // instance.json (schema in eks-node-imds(8))
    std::optional<std::string> user_data;    // absent when IMDS has none (404)
    int requests = 0;                        // HTTP requests made, for benchmarks
};

// Throws TempError (exit 75) when IMDS is unreachable past the deadline, Error
// for a required path that is absent.
ImdsResult fetch_instance(const ImdsOptions& opts);

// More paths to GET from one path's answer (std::nullopt for a 404): the
// instance profile's document once the listing has named the role. May throw
// (a value that cannot go into a path), which ends the fetch.
using FollowUp =
    std::function<std::vector<std::string>(std::string_view path, const std::optional<std::string>& answer)>;

// GETs `paths` (under /latest/, e.g. "meta-data/iam/info"), and what `then`
// names from their answers, on one session token, with fetch_instance's race,
// retries and deadline and never through a proxy; for the instance profile's
// credentials (eks-node-config, eks-node get-token). A 404 is std::nullopt.
// Throws as fetch_instance does.
std::map<std::string, std::optional<std::string>, std::less<>> fetch_paths(const ImdsOptions& opts,
                                                                           std::vector<std::string> paths,
                                                                           FollowUp then = {});

// The DNS suffix of a region's service endpoints, from its partition (by the
// region's prefix, as instance.json's "domain" when IMDS serves none):
// "amazonaws.com", "amazonaws.com.cn" for cn-*, "c2s.ic.gov" for us-iso-*, ...
std::string_view default_domain(std::string_view region);

// The instance `eks-node render` makes up offline, from flags, when there
// is no IMDS to ask (a laptop, a CI job): what a node would be given.
// Empty strings take the defaults: availability zone REGION + "a", private
// IPv4 10.0.0.10, VPC 10.0.0.0/16, instance id i-00000000000000000, MAC
// 02:00:00:00:00:01, local hostname EC2's default for the address
// (ip-10-0-0-10.REGION.compute.internal; ec2.internal in us-east-1).
struct OfflineFacts {
    std::string instance_type, region;  // required
    std::string availability_zone, private_ipv4, vpc_cidr, instance_id, mac, hostname;
    std::optional<std::string> user_data;
};
// instance.json from them, through the same assembly and checks as IMDS's
// answers; no imdsEndpoint (nothing may ask IMDS). Throws UsageError naming
// the flag (--instance-type, --region, ...) whose value is not one IMDS
// could serve.
ImdsResult offline_instance(const OfflineFacts& facts);

// Options from `settings.imds` (static TOML) and an --imds-endpoint override.
// `settings` is the merged [settings] table (static_settings()); its "imds"
// table is read by settings::read_imds() (input/settings.hpp), the reader
// eks-node-config validates with, grammar in eks-node.toml(5). Bad values
// throw ConfigError (exit 6); a bad override throws UsageError (exit 2). The
// override wins and is the only endpoint tried.
ImdsOptions imds_options(const json& settings, const std::string& endpoint_override);

// Checks instance.json as eks-node-config reads it, with the checks
// eks-node-imds made before writing it (imds/values.hpp): the file may have
// been edited by hand or written by another version. Keys it holds are
// checked by type; absent ones are left to the reader. Throws ConfigError
// (exit 6) naming `source` (the file) and the key.
void check_instance(const json& instance, const std::string& source);

// ---- Auto Scaling warm pools (eks-node-warm-pool(8); imds/autoscaling.cpp) ----

// Whether a node holds kubelet back for this target lifecycle state
// (instance.json's targetLifecycleState): every "Warmed:" state (Running,
// Stopped, Hibernated, Terminated), where the instance is prepared but not
// in service. Anything else starts kubelet: InService, Standby, Detached, and
// no state at all (404: not in an Auto Scaling group).
bool holds_kubelet(const std::optional<std::string>& target_lifecycle_state);

// How often eks-node-warm-pool asks while IMDS answers (Bottlerocket's
// warm-pool-wait asks as often), and the longest wait after polls IMDS did
// not answer.
inline constexpr std::chrono::seconds warm_pool_poll_interval{5};
inline constexpr std::chrono::seconds warm_pool_max_backoff{60};

// The wait before the next poll after `failures` polls in a row that got no
// answer: the interval, doubled per failure, at most warm_pool_max_backoff.
std::chrono::seconds warm_pool_next_poll(int failures);

// The target lifecycle state now, std::nullopt for a 404, with fetch_paths'
// token, retries and `opts.deadline`. Throws as fetch_paths does, and
// ConfigError (exit 6) for a value that is not a lifecycle state.
std::optional<std::string> fetch_target_lifecycle_state(const ImdsOptions& opts);

}  // namespace eksnode::imds

// instance.json (written by eks-node-imds to /run/eks-node/instance.json, 0644):
// {
//   "instanceId": "i-1234567890abcdef0",        // meta-data/instance-id            (required)
//   "instanceType": "m4.xlarge",                // meta-data/instance-type          (required)
//   "region": "us-west-2",                      // meta-data/placement/region (else identity document, else the AZ)
//   "availabilityZone": "us-west-2f",           // meta-data/placement/availability-zone (required)
//   "architecture": "x86_64",                   // identity document, if served
//   "partition": "aws",                         // meta-data/services/partition (else by region prefix: cn- aws-cn)
//   "domain": "amazonaws.com",                  // meta-data/services/domain (default by partition)
//   "mac": "0e:49:61:0f:c3:11",                 // meta-data/mac                    (required)
//   "interfaceMacs": ["0e:49:61:0f:c3:11"],     // meta-data/network/interfaces/macs/ (absent -> []), every
//                                               // interface attached when eks-node-imds ran (eks-node-network)
//   "localIpv4": "172.16.34.43",                // meta-data/local-ipv4 (absent on IPv6-only)
//   "ipv6s": ["2600:1f14::1"],                  // .../macs/<mac>/ipv6s (absent -> [])
//   "localHostname": "ip-172-16-34-43.ec2.internal",  // meta-data/local-hostname
//   "hostname": "ip-172-16-34-43.ec2.internal", // meta-data/hostname
//   "vpcIpv4CidrBlocks": ["172.16.0.0/16"],     // .../macs/<mac>/vpc-ipv4-cidr-blocks (absent -> [])
//   "vpcIpv6CidrBlocks": ["2600:1f14::/56"],    // .../macs/<mac>/vpc-ipv6-cidr-blocks (absent -> [])
//   "outpostArn": "arn:...",                    // meta-data/outpost-arn, only when served
//   "targetLifecycleState": "Warmed:Running",   // meta-data/autoscaling/target-lifecycle-state, null outside a group
//   "imdsEndpoint": "http://169.254.169.254",   // the endpoint that answered
//   "userData": true                            // whether IMDS served user data
// }
