// SPDX-License-Identifier: Apache-2.0
// eks-node get-token: kubelet's exec credential plugin (eks-node-get-token(1)).
//
// kubelet runs it for its first request to the API server and again whenever
// the ExecCredential it printed expires, so it does nothing the token does not
// need: no configuration merge, no network but IMDS, and from IMDS at most one
// session token and the instance profile's credentials (the role comes from
// instance.json, which eks-node-imds wrote at boot; without that file, the
// role listing too, on the same session token). The token itself is signed
// here, offline: STS is never asked.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "aws/api.hpp"
#include "aws/credentials.hpp"
#include "aws/eks_token.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/step.hpp"
#include "format/checks.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"

namespace eksnode::cli {

const char* const get_token_help =
    "Usage: eks-node get-token (--cluster-name NAME | --cluster-id ID) [--region REGION]\n"
    "\n"
    "Prints an ExecCredential (client.authentication.k8s.io/v1beta1, or the apiVersion\n"
    "KUBERNETES_EXEC_INFO asks for) holding the token an EKS API server accepts: kubelet's exec\n"
    "credential plugin, in place of `aws eks get-token`, which takes the same arguments.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), else the\n"
    "instance profile through IMDS. See eks-node-get-token(1).\n";

namespace {

using Clock = std::chrono::system_clock;

// IMDS answers in a millisecond; kubelet waits for the plugin on a request of
// its own, and runs it again at the next one.
constexpr std::chrono::milliseconds imds_deadline{10'000};

struct GetTokenOptions {
    std::string cluster_name, cluster_id, region;
    StepOptions common;
};

GetTokenOptions parse_get_token(const std::vector<std::string>& args) {
    // the AWS CLI's options of get-token we do not take: refused by name
    for (const std::string& a : args)
        if (a == "--role-arn" || a.starts_with("--role-arn="))
            throw UsageError(
                "get-token: --role-arn is not supported: the token is signed with the node's own "
                "credentials");
    const ParsedOptions p = parse_options("get-token", args);
    if (!p.args.empty()) throw UsageError(fmt::format("get-token: unexpected argument \"{}\"", p.args[0]));
    GetTokenOptions o;
    for (const auto& [name, slot] : {std::pair{"--cluster-name", &o.cluster_name},
                                     std::pair{"--cluster-id", &o.cluster_id}, std::pair{"--region", &o.region}})
        if (std::optional<std::string> v = p.value(name)) {
            if (v->empty()) throw UsageError(fmt::format("get-token: {} is empty", name));
            *slot = *v;
        }
    apply_common(p, o.common);
    if (o.cluster_name.empty() == o.cluster_id.empty())
        throw UsageError(o.cluster_name.empty() ? "get-token: --cluster-name NAME or --cluster-id ID is required"
                                                : "get-token: --cluster-name and --cluster-id exclude each other");
    return o;
}

// A file of /run/eks-node under the root, as JSON; an empty object when it
// is absent. A file that is not JSON is left out with a warning: the token
// does not depend on it.
json read_run_file(const fs::path& p) {
    std::optional<std::string> text = read_file_if_exists(p);
    if (!text) return json::object();
    json doc = json::parse(*text, nullptr, false);
    if (doc.is_object()) return doc;
    log::warning("{}: not a JSON object, left out", p.string());
    return json::object();
}

std::string string_at(const json& doc, const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The time the token is signed at: the clock, or EKS_NODE_TEST_NOW
// ("2026-01-01T00:00:00Z"), which tests set so that an independent signer
// (botocore's) must produce the same URL. For tests only.
Clock::time_point now() {
    const char* fixed = std::getenv("EKS_NODE_TEST_NOW");
    if (!fixed || !*fixed) return Clock::now();
    std::optional<Clock::time_point> t = aws::parse_iso8601(fixed);
    if (!t) throw UsageError("EKS_NODE_TEST_NOW: not a time such as 2026-01-01T00:00:00Z");
    return *t;
}

const char* env(const char* name) { return std::getenv(name); }

// The region, in the AWS CLI's order: the option, AWS_REGION,
// AWS_DEFAULT_REGION; then this instance's.
std::string region_of(const GetTokenOptions& o, const json& instance, const fs::path& instance_file) {
    std::string region = o.region, from = "--region";
    for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
        if (!region.empty()) break;
        if (const char* v = env(var); v && *v) region = v, from = var;
    }
    if (region.empty()) region = string_at(instance, "region"), from = instance_file.string();
    if (region.empty())
        throw ConfigError("eks-node get-token", "--region",
                          fmt::format("no region: none given, AWS_REGION and AWS_DEFAULT_REGION are unset, and {} "
                                      "names none",
                                      instance_file.string()));
    if (std::string problem = imds::value::region(region); !problem.empty())
        throw ConfigError("eks-node get-token", from, problem);
    return region;
}

// Environment credentials, else the instance profile's, through the IMDS
// client eks-node-config's EC2 and EKS calls use (aws::client_setup: the
// endpoint that served instance.json, settings.imds, the SDKs' IMDS
// variables), with a deadline of its own.
aws::Credentials credentials(const GetTokenOptions& o, json instance, const std::string& region,
                             const std::string& domain) {
    if (std::optional<aws::Credentials> c = aws::environment_credentials(env)) return *c;
    // settings.imds and the SDKs' variables in spec.instance.environment.default
    const json config = read_run_file(o.common.config_file());
    instance["region"] = region;
    instance["domain"] = domain;
    // client_setup() asks the IMDS endpoint instance.json names, and only it;
    // --imds-endpoint names another (whose role instance.json cannot know),
    // and without instance.json the link-local pair is raced as eks-node-imds
    // races it (settings.imds.endpointMode).
    bool link_local = false;
    if (!o.common.imds_endpoint.empty()) {
        instance["imdsEndpoint"] = o.common.imds_endpoint;
        instance.erase("iamRole");
    } else if (string_at(instance, "imdsEndpoint").empty()) {
        instance["imdsEndpoint"] = std::string(imds::imds_ipv4_endpoint);
        link_local = true;
    }
    const json spec = config.value("spec", json::object()), settings = config.value("settings", json::object());
    aws::ClientSetup setup = aws::client_setup(spec, settings, instance, derive::MachineFacts{}, env);
    if (link_local && setup.imds) setup.imds->endpoints = imds::imds_options(settings, "").endpoints;
    aws::ImdsGet get;
    if (setup.imds) {
        setup.imds->deadline = std::min(setup.imds->deadline, imds_deadline);
        get = [io = *setup.imds](std::vector<std::string> paths, imds::FollowUp then) {
            return imds::fetch_paths(io, std::move(paths), std::move(then));
        };
    }
    aws::CredentialProvider provider(env, std::move(get), setup.profile);
    try {
        // STS refuses a token signed with credentials past their Expiration,
        // and kubelet would hold on to it for 14 minutes: IMDS renews them
        // well before they expire, so one more fetch is asked for, and
        // credentials still expired are refused as temporary (exit 75).
        auto expired = [](const aws::Credentials& c) { return c.expiration && *c.expiration <= now(); };
        // a copy: get() itself renews credentials near their expiry, each call a fetch
        aws::Credentials first = provider.get();  // not const: returned by move
        if (!expired(first)) return first;
        log::debug("the credentials from {} expired at {}: fetching them again", first.source,
                   aws::rfc3339(*first.expiration));
        const aws::Credentials& again = provider.get(true);
        if (expired(again))
            throw TempError(
                fmt::format("get-token: the credentials from {} expired at {}, and so did those "
                            "fetched again: no token signed with them",
                            again.source, aws::rfc3339(*again.expiration)));
        return again;
    } catch (const NoCredentialsError& e) {
        throw ConfigError("eks-node get-token", "AWS credentials",
                          fmt::format("none to sign the token with: {}", e.what()));
    }
}

}  // namespace

int get_token_cmd(const std::vector<std::string>& args) {
    const GetTokenOptions o = parse_get_token(args);
    const bool by_id = !o.cluster_id.empty();
    const std::string& cluster = by_id ? o.cluster_id : o.cluster_name;
    // The value is signed as a header: one word of printable ASCII.
    std::string problem = by_id ? format::check::single_token(cluster) : format::check::cluster_name(cluster);
    if (problem.empty() && !std::all_of(cluster.begin(), cluster.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        problem = imds::value::shown(cluster) + " is not printable ASCII";
    if (!problem.empty())
        throw UsageError(fmt::format("get-token: {}: {}", by_id ? "--cluster-id" : "--cluster-name", problem));

    const aws::ExecInfo exec_info = aws::parse_exec_info(env("KUBERNETES_EXEC_INFO"));
    if (!exec_info.warning.empty()) log::warning("{}", exec_info.warning);

    const fs::path instance_file = o.common.paths.of(path::instance_json);
    const json instance = read_run_file(instance_file);
    const std::string region = region_of(o, instance, instance_file);
    // IMDS's own suffix for this instance's region; the partition's otherwise.
    std::string domain = string_at(instance, "domain");
    if (domain.empty() || string_at(instance, "region") != region) domain = std::string(imds::default_domain(region));
    const std::string host = aws::sts_host(region, domain);

    const aws::Credentials creds = credentials(o, instance, region, domain);
    // after IMDS, which may take seconds: the token's 15 minutes start here
    const Clock::time_point signed_at = now();
    log::debug("signing for {} with credentials from {}", host, creds.source);
    const std::string token =
        aws::token_from_url(aws::presigned_get_caller_identity(creds, region, host, cluster, signed_at));
    const std::string out =
        aws::exec_credential_json(exec_info.api_version, token, aws::token_expiration(signed_at, creds.expiration));
    if (std::fputs(out.c_str(), stdout) < 0 || std::fflush(stdout) != 0)
        throw Error("get-token: cannot write to stdout");
    return EXIT_OK;
}

}  // namespace eksnode::cli
