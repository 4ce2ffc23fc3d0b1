// SPDX-License-Identifier: Apache-2.0
#include "aws/api.hpp"

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "config/environment.hpp"
#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "core/telemetry.hpp"
#include "core/text.hpp"
#include "imds/values.hpp"
#include "input/settings.hpp"

namespace eksnode::aws {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The EC2 Query API version every call here is written against.
constexpr std::string_view ec2_version = "2016-11-15";

std::string seconds_text(Clock::duration d) {
    return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += '&';
        out.append(uri_encode(k, false)).append(1, '=').append(uri_encode(v, false));
    }
    return out;
}

}  // namespace

// --- session ------------------------------------------------------------------------

Session::Session(SessionConfig cfg, CredentialProvider creds) : cfg_(std::move(cfg)), creds_(std::move(creds)) {}

void Session::start_clock() {
    if (deadline_) return;
    const Clock::time_point now = Clock::now();
    deadline_ = now + cfg_.options.deadline;
    notice_ = WaitNotice(now, *deadline_);
}

milliseconds Session::backoff() {
    return backoff_delay(failures_++, cfg_.options.initial_backoff, cfg_.options.max_backoff, jitter_unit());
}

bool Session::wait_retry(const std::string& why_text) {
    start_clock();
    const Clock::time_point now = Clock::now();
    // A backoff past the deadline is cut short so that one last signed HTTPS
    // round trip (half a second) still fits (core/backoff.hpp).
    const std::optional<Clock::time_point> at =
        next_attempt_at(now, backoff(), *deadline_, std::min(cfg_.options.request_timeout, milliseconds{500}));
    if (!at) return false;
    log::debug("AWS API: {}; retry in {} ms", why_text, std::chrono::duration_cast<milliseconds>(*at - now).count());
    notice_.retrying(now, "the AWS API", why_text);
    std::this_thread::sleep_until(*at);
    return true;
}

std::string Session::call(std::string_view service, const std::string& method, const std::string& path,
                          const std::string& body, const CallPurpose& why) {
    start_clock();
    Endpoint ep = resolve_endpoint({service, cfg_.region, cfg_.domain, cfg_.fips}, cfg_.getenv);
    std::string host = ep.url.substr(ep.url.find("://") + 3);
    const ProxyChoice proxy = choose_proxy(cfg_.proxies, ep.url);
    // Which proxy variable applies, never its value (a password may be in it).
    const std::string where =
        fmt::format("{} at {}{}", why.action, ep.url, proxy.url.empty() ? std::string() : " " + proxy.why);
    if (cfg_.proxies.any_proxy()) log::info("AWS API: {} at {}: {}", why.action, ep.url, proxy.why);
    log::debug("AWS API: {} ({})", where, ep.origin);
    Clock::time_point began = Clock::now();
    int attempts = 0;
    bool refreshed = false;
    std::string last;
    const int max_attempts = cfg_.options.max_attempts;
    auto give_up_if_no_attempt_left = [&] {
        if (max_attempts <= 0 || attempts < max_attempts) return;
        throw TempError(fmt::format("{}: {} attempt{} in {}, last: {}; gave up at {}", where, attempts,
                                    attempts == 1 ? "" : "s", seconds_text(Clock::now() - began), last,
                                    cfg_.options.max_attempts_origin));
    };
    for (;;) {
        Clock::time_point now = Clock::now();
        if (now >= *deadline_)
            throw TempError(
                fmt::format("{}: {} attempt{} in {}, last: {}; gave up at the deadline "
                            "(settings.aws.deadline {})",
                            where, attempts, attempts == 1 ? "" : "s", seconds_text(now - began),
                            last.empty() ? "none started" : last, seconds_text(cfg_.options.deadline)));
        const Credentials& creds = creds_.get(false);
        SignableRequest sr;
        sr.method = method;
        sr.path = path;
        sr.body = body;
        sr.headers.emplace_back("Host", host);
        if (method == "POST")
            sr.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        sign(sr, creds, {ep.region, ep.service, amz_date(std::chrono::system_clock::now())});

        curl::HttpRequest hr;
        hr.method = method;
        hr.url = ep.url + path;
        hr.headers = std::move(sr.headers);
        hr.body = body;
        hr.timeout = std::min(cfg_.options.request_timeout,
                              std::max(milliseconds{1}, std::chrono::duration_cast<milliseconds>(*deadline_ - now)));
        hr.proxy = proxy.url;
        ++attempts;
        ++requests_;
        telemetry::count_request(ep.service, attempts > 1);
        curl::HttpResponse resp;
        try {
            resp = curl::perform(hr);
        } catch (const TempError& e) {
            last = e.what();
            give_up_if_no_attempt_left();
            if (!wait_retry(where + ": " + last)) deadline_ = Clock::now();  // the loop reports it
            continue;
        }
        // The proxy, not AWS, refused: 407 is a user or password the proxy
        // does not take, which waiting does not change (exit 6, naming the
        // variable, never its value); any other refusal of a tunnel may pass.
        if (resp.proxy_connect_status == 407 || (!proxy.url.empty() && resp.status == 407)) {
            const ProxyVariable& v = proxy_variable_for(cfg_.proxies, ep.url);
            throw ConfigError(v.source, v.name,
                              fmt::format("the proxy answered HTTP 407 (Proxy Authentication Required) to {} at {}: "
                                          "the user or password in the proxy URL is missing or wrong{}",
                                          why.action, ep.url,
                                          resp.proxy_refusal.empty() ? "" : " (" + resp.proxy_refusal + ")"));
        }
        if (resp.proxy_connect_status != 0) {
            last = fmt::format("the proxy refused the tunnel (HTTP {}; {})", resp.proxy_connect_status,
                               resp.proxy_refusal);
            give_up_if_no_attempt_left();
            if (!wait_retry(where + ": " + last)) deadline_ = Clock::now();
            continue;
        }
        if (resp.status >= 200 && resp.status < 300) {
            if (attempts > 1)
                log::info("{} answered after {} attempts in {}", where, attempts, seconds_text(Clock::now() - began));
            return std::move(resp.body);
        }
        ApiError e = parse_error(resp);
        last = fmt::format("{} (HTTP {}{}{})", e.code, e.status, e.message.empty() ? "" : ": ", e.message);
        switch (classify(e)) {
        case ErrorClass::refresh_credentials:
            if (!refreshed) {
                refreshed = true;
                give_up_if_no_attempt_left();
                creds_.get(true);
                continue;
            }
            [[fallthrough]];
        case ErrorClass::permission:
            throw AccessDeniedError(why.source, why.field,
                                    fmt::format("{} was refused: {}; with credentials from {}. Grant the instance "
                                                "role {}, or change {}",
                                                where, last, creds.source, why.action, why.field),
                                    fmt::format("{} was refused: {}", where, last));
        case ErrorClass::not_found: throw ConfigError(why.source, why.field, fmt::format("{}: {}", where, last));
        case ErrorClass::fatal: throw Error(fmt::format("{}: {}", where, last));
        case ErrorClass::retry:
            give_up_if_no_attempt_left();
            // The next backoff would end past the deadline: report now.
            if (!wait_retry(where + ": " + last)) deadline_ = Clock::now();
            continue;
        }
    }
}

// --- the calls ----------------------------------------------------------------------

std::string describe_private_dns_name(Session& s, const std::string& instance_id, const CallPurpose& why) {
    std::string body = form_encode(
        {{"Action", "DescribeInstances"}, {"Version", std::string(ec2_version)}, {"InstanceId.1", instance_id}});
    for (;;) {
        std::string name = parse_private_dns_name(s.call("ec2", "POST", "/", body, why));
        if (!name.empty()) return name;
        // EC2 fills it in shortly after launch; ask again rather than take another name.
        if (!s.wait_retry("EC2 DescribeInstances: PrivateDnsName of " + instance_id + " is still empty"))
            throw TempError(
                fmt::format("EC2 DescribeInstances: PrivateDnsName of {} stayed empty until the "
                            "deadline (settings.aws.deadline); not falling back to another name "
                            "(settings.nodeNameStrategy = \"imds\" or \"instance-id\" chooses one)",
                            instance_id));
    }
}

std::optional<derive::EniLimits> describe_eni_limits(Session& s, const std::string& instance_type,
                                                     const CallPurpose& why) {
    std::string body = form_encode({{"Action", "DescribeInstanceTypes"},
                                    {"Version", std::string(ec2_version)},
                                    {"InstanceType.1", instance_type}});
    try {
        return parse_eni_limits(s.call("ec2", "POST", "/", body, why));
    } catch (const ConfigError& e) {
        // InvalidInstanceType: EC2 does not know it either; the documented fallback applies.
        if (e.problem().find("InvalidInstanceType") != std::string::npos) return std::nullopt;
        throw;
    }
}

EniTags describe_eni_tags(Session& s, const std::string& mac, const std::string& instance_id, const CallPurpose& why) {
    std::string body = form_encode({{"Action", "DescribeNetworkInterfaces"},
                                    {"Version", std::string(ec2_version)},
                                    {"Filter.1.Name", "mac-address"},
                                    {"Filter.1.Value.1", mac},
                                    {"Filter.2.Name", "attachment.instance-id"},
                                    {"Filter.2.Value.1", instance_id}});
    return parse_eni_tags(s.call("ec2", "POST", "/", body, why));
}

derive::ClusterDetails describe_cluster(Session& s, const std::string& name, const CallPurpose& why) {
    // EKS cluster names: letters, digits, '-' and '_' (validated before; a
    // path segment must not carry anything else).
    std::string path = "/clusters/" + uri_encode(name, false);
    for (;;) {
        derive::ClusterDetails d = parse_cluster(s.call("eks", "GET", path, "", why));
        // An ACTIVE cluster's answer without a service CIDR will not grow
        // one: the caller decides (AL2 then took the VPC's default).
        if (!d.endpoint.empty() && !d.certificate_authority.empty() && (!d.cidr.empty() || d.status == "ACTIVE"))
            return d;
        // A cluster still CREATING has no endpoint yet.
        std::string status = d.status.empty() ? "unknown" : imds::value::shown(d.status);
        if (!s.wait_retry(fmt::format("EKS DescribeCluster {}: status {}, endpoint or CA not yet there", name, status)))
            throw TempError(
                fmt::format("EKS DescribeCluster {}: status {}, no endpoint, CA or service CIDR until "
                            "the deadline (settings.aws.deadline)",
                            name, status));
    }
}

// --- wiring for eks-node-config -----------------------------------------------------

namespace {

std::string instance_field(const json& instance, const char* key) {
    auto it = instance.find(key);
    if (it == instance.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        throw Error(fmt::format("instance.json: {} is missing; the AWS API cannot be called without it", key));
    return it->get<std::string>();
}

std::string origin_or(const Origins& o, const std::string& pointer, const std::string& fallback) {
    auto it = o.find(pointer);
    return it != o.end() ? it->second : fallback;
}

struct Shared {
    std::unique_ptr<Session> session;
    std::string instance_id;
};

}  // namespace

namespace {

// One place variables are read from, in precedence order.
struct Layer {
    // "environment", "spec.instance.environment.default"
    std::string source;
    // The value of a variable, if set and not empty.
    std::function<std::optional<std::string>(const char*)> get;
    // a unit's own section (client_environment's `unit`): its proxies count, the SDK
    // variables are eks-node's own client's and come from the layers below
    bool unit_section = false;
};

// A layer over variables of spec.instance.environment (config::environment::of_unit's)
Layer section_layer(std::string source, std::map<std::string, config::environment::Value> vars, bool unit_section) {
    return {std::move(source),
            [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
                auto it = vars.find(name);
                if (it == vars.end() || it->second.value.empty()) return std::nullopt;
                return it->second.value;
            },
            unit_section};
}

std::vector<Layer> layers(Getenv getenv, const json& spec, std::string_view unit) {
    std::vector<Layer> out;
    // the unit's own section first, as its unit reads UNIT.env after default.env
    if (!unit.empty()) {
        std::map<std::string, config::environment::Value> own = config::environment::of_unit(spec, unit);
        std::erase_if(own, [](const auto& kv) { return kv.second.origin == "spec.instance.environment.default"; });
        if (!own.empty()) {
            std::string origin = own.begin()->second.origin;
            out.push_back(section_layer(std::move(origin), std::move(own), true));
        }
    }
    out.push_back({"environment", [getenv](const char* name) -> std::optional<std::string> {
                       const char* v = getenv ? getenv(name) : nullptr;
                       if (!v || !*v) return std::nullopt;
                       return std::string(v);
                   }});
    // the default section: what a unit without a section of its own sees
    out.push_back(section_layer("spec.instance.environment.default", config::environment::of_unit(spec, ""), false));
    return out;
}

// The first layer that sets either spelling; upper case first within one, as
// Go's net/http reads them (nodeadm, kubelet, containerd).
ProxyVariable proxy_variable(const std::vector<Layer>& from, const config::environment::ProxyName& p) {
    for (const Layer& l : from)
        for (std::string_view name : {p.upper, p.lower})
            if (std::optional<std::string> v = l.get(std::string(name).c_str()))
                return {*v, std::string(name), l.source};
    return {};
}

}  // namespace

ClientEnvironment client_environment(Getenv getenv, const json& spec, std::string_view unit) {
    const std::vector<Layer> from = layers(getenv, spec, unit);
    ClientEnvironment env;
    for (const config::environment::ProxyName& name : config::environment::proxy_names)
        env.proxies.of(name) = proxy_variable(from, name);
    for (std::string_view name : input::aws_env::names) {
        const std::string key(name);
        for (const Layer& l : from) {
            if (l.unit_section) continue;
            std::optional<std::string> v = l.get(key.c_str());
            if (!v) continue;
            // Validation checked the configuration's value already, naming its
            // origin; the process environment is checked here.
            const std::string field = l.source == "environment" ? key : l.source + "." + key;
            input::aws_env::read(name, *v, env.sdk, l.source == "environment" ? l.source : "configuration", field);
            env.sdk_sources[key] = l.source;
            break;
        }
    }
    return env;
}

ClientSetup client_setup(const json& spec, const json& settings, const json& instance,
                         const derive::MachineFacts& machine, Getenv getenv) {
    ClientSetup setup;
    SessionConfig& cfg = setup.session;
    cfg.region = instance_field(instance, "region");
    cfg.domain = instance_field(instance, "domain");
    cfg.fips = machine.fips_enabled;
    cfg.getenv = getenv;
    ClientEnvironment env = client_environment(getenv, spec);
    auto shown = [&](std::string_view name, const auto& value) {
        return fmt::format("{}={} ({})", name, value, env.sdk_sources[std::string(name)]);
    };

    // The reader validation used (input/settings.hpp): it cannot refuse here what passed there.
    const json* aws = path_in(settings, {"aws"});
    input::settings::AwsSettings s = input::settings::read_aws(aws ? *aws : json(), "merged configuration");
    if (s.deadline) cfg.options.deadline = *s.deadline;
    if (s.request_timeout) cfg.options.request_timeout = *s.request_timeout;
    // eks-node's own TOML wins over the SDKs' variable: it is meant for this
    // client alone, while AWS_MAX_ATTEMPTS may be set for every tool on the node.
    if (s.max_attempts) {
        cfg.options.max_attempts = *s.max_attempts;
        cfg.options.max_attempts_origin = fmt::format("settings.aws.maxAttempts={}", *s.max_attempts);
        if (env.sdk.max_attempts)
            log::info("settings.aws.maxAttempts={} wins over {}", *s.max_attempts,
                      shown("AWS_MAX_ATTEMPTS", *env.sdk.max_attempts));
    } else if (env.sdk.max_attempts) {
        cfg.options.max_attempts = *env.sdk.max_attempts;
        cfg.options.max_attempts_origin = shown("AWS_MAX_ATTEMPTS", *env.sdk.max_attempts);
        log::info("AWS API: at most {} attempt{} per request ({})", *env.sdk.max_attempts,
                  *env.sdk.max_attempts == 1 ? "" : "s", cfg.options.max_attempts_origin);
    }
    // Every mode retries the same errors with the same backoff here, and none
    // implies the SDKs' default of 3 attempts: a booting node waits out
    // throttling until settings.aws.deadline (eks-node-config(8), AWS SDK VARIABLES).
    if (env.sdk.retry_mode)
        log::debug("{}: eks-node retries alike in every mode, until settings.aws.deadline",
                   shown("AWS_RETRY_MODE", input::aws_env::mode_name(*env.sdk.retry_mode)));

    // Proxies. NO_PROXY gets what the node's services get (derive/proxy.cpp),
    // from what is known before the first call: the cluster's endpoint and
    // CIDR only when the configuration names them (neither is ever an AWS API
    // endpoint), the VPC's CIDRs always.
    cfg.proxies = env.proxies;
    if (cfg.proxies.any_proxy()) {
        ProxyVariable& np = cfg.proxies.no_proxy();
        np.value = derive::complete_no_proxy_list(np.value, derive::no_proxy_additions(spec, instance));
        np.source = np.name.empty() ? "eks-node NO_PROXY completion" : np.source + ", completed by eks-node";
        if (np.name.empty()) np.name = "NO_PROXY";
    }

    // IMDS for the instance profile: the endpoint that served instance.json,
    // with settings.imds' deadline and timeouts, never through a proxy.
    std::string imds_endpoint = instance.contains("imdsEndpoint") && instance["imdsEndpoint"].is_string()
                                    ? instance["imdsEndpoint"].get<std::string>()
                                    : std::string();
    if (env.sdk.metadata_disabled.value_or(false)) {
        setup.profile.disabled_by = shown("AWS_EC2_METADATA_DISABLED", "true");
    } else if (!imds_endpoint.empty()) {
        imds::ImdsOptions io = imds::imds_options(settings, imds_endpoint);
        if (env.sdk.metadata_timeout) {
            if (path_in(settings, {"imds", "requestTimeout"})) {
                log::info("settings.imds.requestTimeout wins over {}",
                          shown("AWS_METADATA_SERVICE_TIMEOUT", env.sdk.metadata_timeout->count() / 1000));
            } else {
                io.request_timeout = *env.sdk.metadata_timeout;
            }
        }
        if (env.sdk.metadata_attempts) {
            io.max_attempts = *env.sdk.metadata_attempts;
            io.max_attempts_origin = shown("AWS_METADATA_SERVICE_NUM_ATTEMPTS", *env.sdk.metadata_attempts);
        }
        setup.imds = io;
    }
    // eks-node-imds asked for the role list already (instance.json iamRole):
    // without a profile no IMDS request is made here, with one only its document.
    if (instance.contains("iamRole")) {
        setup.profile.known = true;
        if (instance["iamRole"].is_string()) setup.profile.role = instance["iamRole"].get<std::string>();
    }
    return setup;
}

namespace {

const char* process_getenv(const char* name) { return std::getenv(name); }

// The client of a setup: credentials from the environment, else the
// instance profile through the IMDS endpoint that served instance.json.
std::unique_ptr<Session> make_session(const ClientSetup& setup) {
    ImdsGet imds_get;
    if (setup.imds)
        imds_get = [io = *setup.imds](std::vector<std::string> paths, imds::FollowUp then) {
            return fetch_paths(io, std::move(paths), std::move(then));
        };
    return std::make_unique<Session>(setup.session,
                                     CredentialProvider(setup.session.getenv, std::move(imds_get), setup.profile));
}

}  // namespace

derive::ApiLookups make_api_lookups(const json& spec, const json& settings, const json& instance,
                                    const derive::MachineFacts& machine) {
    auto shared = std::make_shared<Shared>();
    shared->instance_id = instance.contains("instanceId") && instance["instanceId"].is_string()
                              ? instance["instanceId"].get<std::string>()
                              : std::string();
    shared->session = make_session(client_setup(spec, settings, instance, machine, process_getenv));

    derive::ApiLookups api;
    api.ec2.private_dns_name = [shared]() -> std::optional<std::string> {
        if (shared->instance_id.empty()) throw Error("instance.json: instanceId is missing");
        CallPurpose why{"ec2:DescribeInstances", "settings.nodeNameStrategy",
                        "node name strategy private-dns-name (nodeadm's default)"};
        return describe_private_dns_name(*shared->session, shared->instance_id, why);
    };
    api.ec2.eni_limits = [shared](std::string_view type) {
        CallPurpose why{"ec2:DescribeInstanceTypes", "settings.maxPods.default",
                        fmt::format("max pods for instance type {}, which the ENI table lacks", type)};
        return describe_eni_limits(*shared->session, std::string(type), why);
    };
    api.describe_cluster = [shared](const std::string& name, const Origins& origins) {
        CallPurpose why{"eks:DescribeCluster", "spec.cluster.apiServerEndpoint",
                        origin_or(origins, "/spec/cluster/name", "configuration")};
        return describe_cluster(*shared->session, name, why);
    };
    api.requests = [shared] { return shared->session->requests(); };
    return api;
}

std::unique_ptr<Session> session_from_config(const json& cfg, std::optional<std::chrono::milliseconds> deadline) {
    static const json none = json::object();
    auto part = [&](const char* key) -> const json& {
        auto it = cfg.find(key);
        return it != cfg.end() && it->is_object() ? *it : none;
    };
    derive::MachineFacts machine;
    if (const json* fips = path_in(part("machine"), {"fipsEnabled"}); fips && fips->is_boolean())
        machine.fips_enabled = fips->get<bool>();
    ClientSetup setup = client_setup(part("spec"), part("settings"), part("instance"), machine, process_getenv);
    if (deadline) setup.session.options.deadline = *deadline;
    return make_session(setup);
}

}  // namespace eksnode::aws
