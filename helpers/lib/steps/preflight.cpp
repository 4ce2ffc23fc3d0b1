// SPDX-License-Identifier: Apache-2.0
// eks-node-preflight: before kubelet starts, whether the node reaches what it
// joins through: the API server (name, TCP, a TLS handshake against the
// cluster CA, through the proxy kubelet will use) and, when the pause image
// comes from ECR, the registry and the ECR API. See eks-node-preflight(8).
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "aws/api.hpp"
#include "aws/proxy.hpp"
#include "core/backoff.hpp"
#include "core/curl.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "input/settings.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec preflight_spec{"preflight", "check that the API server is reachable before kubelet starts"};

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds preflight_timeout{10'000};
constexpr const char* policy_field = "settings.preflight.policy";

struct Target {
    std::string what;    // "the API server", for the one line
    std::string url;     // what is connected to
    std::string ca_pem;  // "" for the system's store
};

// The proxy kubelet's client takes: its own section of
// spec.instance.environment (its unit reads kubelet.env after default.env),
// then what eks-node-config's client reads (this unit's environment, then
// the default section).
aws::ProxySettings kubelet_proxies(const json& spec) {
    return aws::client_environment([](const char* name) -> const char* { return std::getenv(name); }, spec, "kubelet")
        .proxies;
}

std::vector<Target> targets(const json& cfg) {
    std::vector<Target> out;
    const json* endpoint = path_in(cfg, {"spec", "cluster", "apiServerEndpoint"});
    const json* ca = path_in(cfg, {"derived", "caPEM"});
    if (!endpoint || !endpoint->is_string() || !ca || !ca->is_string())
        throw ConfigError("config.json", "spec.cluster.apiServerEndpoint",
                          "config.json lacks the API server endpoint or derived.caPEM: run eks-node-config first");
    out.push_back({"the API server", endpoint->get<std::string>(), ca->get<std::string>()});
    // The pause image's registry, and the ECR API the credential provider
    // asks for a pull token: needed when the sandbox image is an ECR one.
    const json* image = path_in(cfg, {"derived", "sandboxImage"});
    if (image && image->is_string()) {
        std::string host = image->get<std::string>().substr(0, image->get<std::string>().find('/'));
        if (size_t at = host.find(".dkr.ecr"); at != std::string::npos) {
            out.push_back({"the pause image's registry (ECR)", "https://" + host, ""});
            // "<account>.dkr.ecr[-fips].<region>.<suffix>" -> "api.ecr[-fips].<region>.<suffix>"
            out.push_back({"the ECR API (pull tokens)", "https://api" + host.substr(at + 4), ""});
        }
    }
    return out;
}

}  // namespace

std::string preflight_policy(const json& cfg) {
    const json* p = path_in(cfg, {"settings", "preflight", "policy"});
    return p && p->is_string() ? p->get<std::string>() : "warn";
}

StepResult preflight(const StepOptions& opts) {
    const json cfg = load_config_json(opts);
    const std::string policy = preflight_policy(cfg);
    if (policy == "off") {
        log::info("{} = \"off\": no checks", policy_field);
        return {};
    }
    milliseconds timeout = preflight_timeout;
    if (const json* t = path_in(cfg, {"settings", "preflight", "timeout"})) {
        std::string problem;
        std::optional<milliseconds> d = input::settings::parse_duration(*t, problem);
        if (!d) throw ConfigError("config.json", "settings.preflight.timeout", problem);
        // under the unit's TimeoutStartSec=, so that the verdict is this step's
        if (*d > input::settings::max_preflight_timeout)
            throw ConfigError("config.json", "settings.preflight.timeout", "at most 5m: the unit allows 330 s");
        timeout = *d;
    }
    const bool fail_closed = policy == "fail";
    const aws::ProxySettings proxies = kubelet_proxies(cfg.contains("spec") ? cfg["spec"] : json::object());
    const Clock::time_point deadline = Clock::now() + timeout;
    std::vector<std::string> failures;
    for (const Target& t : targets(cfg)) {
        const aws::ProxyChoice proxy = aws::choose_proxy(proxies, t.url);
        // proxy.why: "through the proxy of HTTPS_PROXY (...)", never its value
        const std::string via = proxy.url.empty() ? std::string() : " " + proxy.why;
        curl::Reach r;
        for (int attempt = 0;; ++attempt) {
            Clock::time_point now = Clock::now();
            milliseconds left = std::max(milliseconds{1}, std::chrono::duration_cast<milliseconds>(deadline - now));
            r = curl::reach(t.url, proxy.url, t.ca_pem, left);
            // warn: one attempt, so that kubelet waits no longer than it
            // takes; fail: the network gets the whole budget to come up
            if (r.failed == curl::Stage::ok || !fail_closed) break;
            std::optional<Clock::time_point> at =
                next_attempt_at(Clock::now(), backoff_delay(attempt, milliseconds{200}, milliseconds{2000}, jitter_unit()),
                                deadline, milliseconds{500});
            if (!at) break;
            std::this_thread::sleep_until(*at);
        }
        if (r.failed == curl::Stage::ok) {
            log::info("{} at {} is reachable{}", t.what, t.url, via);
            continue;
        }
        failures.push_back(
            fmt::format("{} at {} is unreachable{}: {}: {}", t.what, t.url, via, curl::stage_name(r.failed), r.detail));
    }
    if (failures.empty()) return {};
    if (fail_closed)
        throw TempError(fmt::format("{} (kubelet held back: {} = \"fail\")", fmt::join(failures, "; "), policy_field));
    for (const std::string& f : failures) log::warning("{} (kubelet starts anyway: {} = \"warn\")", f, policy_field);
    return {};
}

}  // namespace eksnode::steps
