// SPDX-License-Identifier: Apache-2.0
// The three AWS API calls eks-node-config may make, signed by us (SigV4 on
// OpenSSL, libcurl loaded on first use), with retries under one deadline:
//   EC2 DescribeInstances      -> PrivateDnsName, nodeadm's default node name
//   EC2 DescribeInstanceTypes  -> ENIs and IPv4 addresses per ENI of a type the
//                                 embedded table does not know
//   EKS DescribeCluster        -> endpoint, CA and service CIDR from the name alone
//                                 (the CIDR may be empty for an ACTIVE cluster
//                                 whose answer has none)
// Each is made only when needed, at most once per run. And one call of
// eks-node-network (featureGates.OSManagedNoManageENIs):
//   EC2 DescribeNetworkInterfaces -> the tags of the ENI an interface is
//
// Errors: throttling (Throttling, RequestLimitExceeded, ...), 5xx, transport
// failures and eventual-consistency answers are retried with full-jitter
// exponential backoff until the deadline (or the attempts AWS_MAX_ATTEMPTS
// allows), then TempError (exit 75).
// Permission errors (AccessDenied, UnauthorizedOperation, AuthFailure) are
// not retried: AccessDeniedError, a ConfigError (exit 6) naming the setting
// that needed the call.
//
// Owner area: helpers/lib/aws/.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aws/credentials.hpp"
#include "aws/endpoint.hpp"
#include "aws/proxy.hpp"
#include "core/backoff.hpp"
#include "core/curl.hpp"
#include "core/jsonutil.hpp"
#include "derive/derive.hpp"
#include "input/aws_env.hpp"

namespace eksnode::aws {

struct ApiOptions {
    // settings.aws.deadline: every call of one run, retries included. A few
    // minutes, as nodeadm waits for PrivateDnsName, and below the unit's
    // TimeoutStartSec so that we report, not systemd.
    std::chrono::milliseconds deadline{180'000};
    std::chrono::milliseconds request_timeout{10'000};  // settings.aws.requestTimeout
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{10'000};
    // Attempts of one API request, the first included (settings.aws.maxAttempts,
    // else AWS_MAX_ATTEMPTS); 0: as many as the deadline allows. Polling for a
    // value still missing from a successful answer (an empty PrivateDnsName, a
    // cluster still CREATING) is bounded by the deadline only.
    int max_attempts = 0;
    std::string max_attempts_origin;  // "AWS_MAX_ATTEMPTS=1 (environment)", for the give-up message
};

// An API error answer, as the service named it.
struct ApiError {
    long status = 0;
    std::string code;     // "RequestLimitExceeded", "AccessDeniedException"
    std::string message;  // the service's text (never holds our secrets)
};

enum class ErrorClass { retry, refresh_credentials, permission, not_found, fatal };

// EC2 Query API XML (<Response><Errors><Error><Code>) or EKS JSON
// (x-amzn-ErrorType header, {"message": ...}) error answers.
ApiError parse_error(const curl::HttpResponse& r);
ErrorClass classify(const ApiError& e);

// Response parsers, exposed for tests. Throw Error on a malformed answer.
// PrivateDnsName of the one instance in a DescribeInstances answer ("" when
// EC2 has not assigned it yet).
std::string parse_private_dns_name(std::string_view xml);
// ENI limits of the default network card, nullopt for an empty instanceTypeSet.
std::optional<derive::EniLimits> parse_eni_limits(std::string_view xml);
// endpoint, certificateAuthority.data and the service CIDR of a DescribeCluster answer.
derive::ClusterDetails parse_cluster(std::string_view json_text);

// What the tags of an ENI say of its owner. The VPC CNI leaves an ENI tagged
// node.k8s.amazonaws.com/no_manage alone, and tags every ENI it creates with
// node.k8s.amazonaws.com/instance_id.
inline constexpr std::string_view no_manage_tag = "node.k8s.amazonaws.com/no_manage";
inline constexpr std::string_view cni_instance_tag = "node.k8s.amazonaws.com/instance_id";
struct EniTags {
    bool listed = false;                   // the answer lists the ENI
    std::optional<std::string> no_manage;  // no_manage_tag's value, if tagged
    bool cni_created = false;              // tagged cni_instance_tag
};
// The first ENI of a DescribeNetworkInterfaces answer (the filters leave one).
EniTags parse_eni_tags(std::string_view xml);

// Who asks, and what for: names the setting in a permission error.
struct CallPurpose {
    std::string action;   // "ec2:DescribeInstances"
    std::string field;    // "settings.nodeNameStrategy"
    std::string source;   // where that setting came from
};

struct SessionConfig {
    std::string region, domain;
    bool fips = false;
    ApiOptions options;
    ProxySettings proxies;  // chosen per request by its URL (aws/proxy.hpp)
    Getenv getenv = nullptr;
};

// One run's API client: one deadline from its first call, one credential provider.
class Session {
public:
    Session(SessionConfig cfg, CredentialProvider creds);

    // A signed request to `service` ("ec2", "eks") with retries; returns the
    // 2xx answer's body. Throws as the header of this file says.
    std::string call(std::string_view service, const std::string& method, const std::string& path,
                     const std::string& body, const CallPurpose& why);

    // Sleeps a backoff and returns true, or returns false at the deadline.
    bool wait_retry(const std::string& why_text);
    int requests() const { return requests_; }

private:
    void start_clock();
    std::chrono::milliseconds backoff();

    SessionConfig cfg_;
    CredentialProvider creds_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    WaitNotice notice_;  // a retrying wait past 2 s, said at warning level
    int requests_ = 0;
    int failures_ = 0;
};

// EC2 DescribeInstances for `instance_id`: its PrivateDnsName, asked again
// (backoff, same deadline) while EC2 returns it empty.
std::string describe_private_dns_name(Session& s, const std::string& instance_id, const CallPurpose& why);
std::optional<derive::EniLimits> describe_eni_limits(Session& s, const std::string& instance_type,
                                                     const CallPurpose& why);
derive::ClusterDetails describe_cluster(Session& s, const std::string& name, const CallPurpose& why);
// EC2 DescribeNetworkInterfaces of the ENI with `mac` attached to
// `instance_id` (a MAC can be reused by another instance of the account),
// asked once: EC2 may list a new ENI or its tags a moment late, which the
// caller decides about.
EniTags describe_eni_tags(Session& s, const std::string& mac, const std::string& instance_id, const CallPurpose& why);

// The variables the client reads besides credentials and endpoints: the proxy
// variables (aws/proxy.hpp) and the AWS SDKs' retry and IMDS ones
// (input/aws_env.hpp). Each from the first of: `unit`'s own section of
// spec.instance.environment when one is named ("kubelet": what its client
// reads, pre-flight's question), this process's environment (an admin's
// drop-in on eks-node-config.service), then spec.instance.environment.default
// (user data); the unit's section counts for the proxies only, the SDK variables
// being eks-node's own client's. The one place these layers are composed. Throws ConfigError
// (exit 6) for an SDK variable the SDKs would refuse, naming it and where it was set.
struct ClientEnvironment {
    ProxySettings proxies;  // NO_PROXY as found, not completed
    input::aws_env::Values sdk;
    std::map<std::string, std::string, std::less<>> sdk_sources;  // "AWS_MAX_ATTEMPTS" -> "environment"
};
ClientEnvironment client_environment(Getenv getenv, const json& spec, std::string_view unit = {});

// Everything make_api_lookups builds its client from, exposed for tests.
struct ClientSetup {
    SessionConfig session;  // proxies with NO_PROXY completed when a proxy is set
    // IMDS for instance-profile credentials; nullopt without an endpoint in
    // instance.json, or with AWS_EC2_METADATA_DISABLED=true.
    std::optional<imds::ImdsOptions> imds;
    KnownProfile profile;
};
ClientSetup client_setup(const json& spec, const json& settings, const json& instance,
                         const derive::MachineFacts& machine, Getenv getenv);

// The ApiFactory eks-node-config passes to resolve_config: lookups that call
// the APIs lazily, with credentials from the environment or the instance
// profile (through IMDS at instance.json's imdsEndpoint), the endpoint from
// instance.json's region and domain (or AWS_ENDPOINT_URL*), FIPS from the
// machine facts, proxies and SDK variables as client_environment() reads them.
derive::ApiLookups make_api_lookups(const json& spec, const json& settings, const json& instance,
                                    const derive::MachineFacts& machine);

// A client for a step after eks-node-config, built as make_api_lookups builds
// its own, from config.json (its spec, settings, instance and machine) and
// this process's environment. `deadline`, if set, replaces settings.aws.deadline.
std::unique_ptr<Session> session_from_config(const json& cfg,
                                             std::optional<std::chrono::milliseconds> deadline = std::nullopt);

}  // namespace eksnode::aws
