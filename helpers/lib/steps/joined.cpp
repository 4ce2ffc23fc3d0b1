// SPDX-License-Identifier: Apache-2.0
// eks-node-joined: done once kubelet answers its health check, the most a
// node can tell of its join without credentials for the API server. The
// after-join hooks (settings.hooks, stage "after-join") wait for it; nothing
// pulls it in otherwise, so a plain node never runs it. See eks-node-joined(8).
//
// kubelet serves GET /healthz on healthzBindAddress:healthzPort (127.0.0.1:
// 10248 unless its configuration says otherwise) once it runs; it registers
// the node with the API server while starting, so "ok" there follows the
// registration attempt. Node readiness itself (CNI up) is the cluster's view
// and is not claimed here.
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "core/curl.hpp"
#include "core/error.hpp"
#include "core/http.hpp"
#include "core/log.hpp"
#include "input/settings.hpp"
#include "render/render.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec joined_spec{"joined", "wait until kubelet answers its health check (after-join hooks follow)"};

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Below the unit's TimeoutStartSec= (330 s), so the step's own line says why.
constexpr milliseconds joined_timeout{300'000};
// kubelet binds its health port within a second or two of starting; a poll
// this often adds at most that much to the after-join hooks, at the cost of a
// refused connect() per poll.
constexpr milliseconds poll_interval{250};
constexpr milliseconds request_timeout{2'000};

struct Probe {
    std::string url;  // "http://127.0.0.1:10248/healthz"
};

// Where kubelet listens, from the configuration it was given: the rendered
// KubeletConfiguration with the user's drop-in over it. nullopt: the health
// port is off.
std::optional<Probe> probe_of(const json& cfg) {
    json kc = render::kubelet_effective_config(cfg);
    int64_t port = 10248;
    std::string address = "127.0.0.1";
    if (auto it = kc.find("healthzPort"); it != kc.end()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 65535)
            throw ConfigError("config.json", "spec.kubelet.config.healthzPort",
                              fmt::format("{} is not a port", it->dump()));
        port = it->get<int64_t>();
    }
    if (port == 0) return std::nullopt;
    if (auto it = kc.find("healthzBindAddress"); it != kc.end() && it->is_string() && !it->get<std::string>().empty())
        address = it->get<std::string>();
    // A wildcard bind answers on loopback too.
    if (address == "0.0.0.0") address = "127.0.0.1";
    if (address == "::") address = "::1";
    std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
    std::string base = fmt::format("http://{}:{}", host, port);
    // an IP literal, as kubelet takes it: the grammar of core/http.hpp's endpoints
    std::string problem;
    if (!http::parse_endpoint(base, problem))
        throw ConfigError("config.json", "spec.kubelet.config.healthzBindAddress",
                          fmt::format("{}: {}", address, problem));
    return Probe{base + "/healthz"};
}

// One GET /healthz, through the one HTTP client (core/curl.hpp): direct,
// whatever proxy the environment names (kubelet's port is local). Returns ""
// when kubelet said ok, else what went wrong ("Couldn't connect to server",
// "HTTP 500: ...").
std::string ask(const Probe& p) {
    curl::HttpRequest r;
    r.method = "GET";
    r.url = p.url;
    r.timeout = request_timeout;
    r.body_cap = 4096;  // "ok", or a short list of failed checks
    r.agent = "joined";
    curl::HttpResponse answer;
    try {
        answer = curl::perform(r);
    } catch (const TempError& e) {
        return e.what();
    }
    std::string body = answer.body.substr(0, 200);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    if (answer.status == 200 && body == "ok") return {};
    return fmt::format("HTTP {}: {}", answer.status, body);
}

}  // namespace

StepResult joined(const StepOptions& opts) {
    json cfg = load_config_json(opts);
    milliseconds timeout = joined_timeout;
    if (const char* t = std::getenv("EKS_NODE_JOINED_TIMEOUT")) {
        // For tests and admins (a drop-in's Environment=), with the settings' grammar.
        std::string problem;
        auto d = input::settings::parse_duration(json(t), problem);
        if (!d) throw ConfigError("EKS_NODE_JOINED_TIMEOUT", "", problem);
        timeout = *d;
    }
    std::optional<Probe> probe = probe_of(cfg);
    if (!probe) {
        log::info("kubelet's health check is off (healthzPort: 0): kubelet's start is all the node can tell");
        return {};
    }
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    std::string last;
    int attempts = 0;
    for (;;) {
        ++attempts;
        last = ask(*probe);
        if (last.empty()) break;
        if (attempts == 1) log::debug("{}: {}; asking again every {} ms", probe->url, last, poll_interval.count());
        if (Clock::now() + poll_interval >= deadline)
            throw TempError(
                fmt::format("kubelet did not answer {} with ok within {} s (last: {}); the after-join "
                            "hooks do not run",
                            probe->url, std::chrono::duration_cast<std::chrono::seconds>(timeout).count(), last));
        std::this_thread::sleep_for(poll_interval);
    }
    auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
    log::info("kubelet answered {} with ok after {}.{:03} s ({} attempts): joined, as far as the node can tell",
              probe->url, took / 1000, took % 1000, attempts);
    return {};
}

}  // namespace eksnode::steps
