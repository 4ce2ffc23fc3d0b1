// SPDX-License-Identifier: Apache-2.0
// eks-node-prepull: after kubelet has started, pull settings.prePull.images
// through containerd's CRI image service, with the credentials kubelet's
// credential provider plugins give for each image, so that the first pods
// scheduled on the node start without waiting for their images. Off the
// join path: its unit is ordered after eks-node.target and kubelet, and a
// failure fails only this unit. See eks-node-prepull(8).
#include <sys/stat.h>

#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/environment.hpp"
#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "cri/image_service.hpp"
#include "cri/registry_credentials.hpp"
#include "format/checks.hpp"
#include "input/settings.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec prepull_spec{"prepull", "pull settings.prePull.images through containerd after kubelet has started"};

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ImageStatus is a lookup in containerd's image store: seconds would mean
// containerd is stuck, and the pull would not do better.
constexpr milliseconds status_timeout{30'000};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The plugins kubelet runs, from the file eks-node-kubelet wrote. None (no
// file, or one kubelet would refuse too): every image is pulled
// anonymously, and the journal says why once.
std::vector<cri::Provider> providers(const Paths& paths) {
    const fs::path file = paths.of(path::credential_provider_config);
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(file);
    } catch (const std::exception& e) {
        log::warning("{}; pulling every image without credentials", e.what());
        return {};
    }
    if (!text) {
        log::info("no {}: pulling every image without credentials", path::credential_provider_config);
        return {};
    }
    try {
        return cri::parse_provider_config(*text, std::string(path::credential_provider_config));
    } catch (const ConfigError& e) {
        log::warning("{}; pulling every image without credentials", e.what());
        return {};
    }
}

// What kubelet's unit adds to a plugin's environment (config/environment.hpp),
// so that a plugin reaches its token API through the proxy kubelet's plugin
// would. The steps' own units read neither file (eks-node-sandbox.conf).
cri::EnvVars kubelet_environment(const json& cfg) {
    cri::EnvVars out;
    const json* spec = path_in(cfg, {"spec"});
    if (!spec) return out;
    for (auto& [name, v] : config::environment::of_unit(*spec, "kubelet")) out.emplace_back(name, v.value);
    return out;
}

// What every pull needs: containerd's socket, the plugins kubelet runs and their environment.
struct Puller {
    std::string socket;
    std::vector<cri::Provider> plugins;
    cri::EnvVars service_env;
    std::string bin_dir;
};

Puller puller(const StepOptions& opts, const json& cfg) {
    Puller p;
    p.socket = opts.paths.of(cri::containerd_socket).string();
    p.plugins = providers(opts.paths);
    p.service_env = kubelet_environment(cfg);
    p.bin_dir = opts.paths.of(path::credential_provider_bin_dir).string();
    return p;
}

// containerd's CRI is not serving yet: its socket is missing (containerd stopped, or not yet
// listening) or refuses, or containerd answers before its CRI plugin has initialised. That
// is what a restart looks like from here (eks-node-ca restarts containerd for
// settings.trust; an admin's `systemctl restart containerd`): a pull 0.05 s after such a
// restart got `Unknown (2): server is not initialized yet`, and the image was never pulled.
bool not_ready(const std::exception& e) {
    if (const auto* call = dynamic_cast<const cri::CallError*>(&e)) {
        // UNAVAILABLE from ImageStatus is the server's own (it asks no registry); containerd's
        // "not initialized" is a plain error, which gRPC sends as UNKNOWN
        return call->status() == 14 ||
               (call->status() == 2 && call->reason().find("not initialized") != std::string::npos);
    }
    return dynamic_cast<const TempError*>(&e) != nullptr;  // the socket: missing, refused, cut
}

// Runs call() until containerd's CRI answers it, retrying with backoff while it is not
// ready (not_ready) until `deadline`; then what the call threw, with the wait said. The
// journal says once that the step waits, for what and until when, so a stuck containerd is
// visible in `journalctl -fu` before the deadline. Any other answer, a refusal included,
// returns or throws at once.
template <class Call>
auto when_ready(const Puller& p, const std::string& what, Clock::time_point deadline, Call call) {
    const Clock::time_point start = Clock::now();
    for (int attempt = 0;; ++attempt) {
        std::exception_ptr failed;
        std::string why;
        try {
            struct stat st {};
            if (::stat(p.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
                throw TempError(
                    fmt::format("containerd's CRI socket {} is missing: is containerd running? "
                                "(systemctl status containerd.service)",
                                p.socket));
            return call();
        } catch (const std::exception& e) {
            if (!not_ready(e)) throw;
            failed = std::current_exception();
            why = e.what();
        }
        const std::optional<Clock::time_point> at =
            next_attempt_at(Clock::now(), backoff_delay(attempt, milliseconds{100}, milliseconds{2000}, jitter_unit()),
                            deadline, milliseconds{200});
        if (!at) {
            // a first attempt that used the whole budget (a pull that ran out of time) was no wait
            if (attempt == 0) std::rethrow_exception(failed);
            throw TempError(fmt::format("{}; still so after {:.1f} s of waiting for it", why, seconds_since(start)));
        }
        if (attempt == 0)
            log::info("containerd's CRI is not ready for {} ({}): waiting for it, at most {:.0f} s", what, why,
                      std::chrono::duration<double>(deadline - Clock::now()).count());
        std::this_thread::sleep_until(*at);
    }
}

// One image, kubelet's IfNotPresent: an image containerd has (from an earlier boot, or
// baked into the AMI) costs no registry call. Throws Error when it cannot be pulled.
void pull_if_absent(const Puller& p, const std::string& image, milliseconds timeout) {
    const Clock::time_point start = Clock::now();
    const std::vector<log::Field> fields{{"EKS_NODE_IMAGE", image}};
    // The first call for each image waits for containerd's CRI to answer (bounded by the
    // image's budget): ImageStatus asks no registry, so what it meets is containerd's own state.
    const Clock::time_point deadline = start + timeout;
    const std::optional<std::string> present = when_ready(
        p, image, deadline, [&] { return cri::image_status(p.socket, image, std::min(status_timeout, timeout)); });
    if (present) {
        log::emit(log::Level::info, fmt::format("{} is present already ({})", image, *present), {}, {}, fields);
        return;
    }
    const cri::Lookup creds = cri::lookup(p.plugins, p.bin_dir, image, timeout, p.service_env);
    for (const std::string& problem : creds.problems)
        log::warning("{}: credential provider: {}; pulling without its credentials", image, problem);
    // what is left of this image's budget after its plugin ran
    const milliseconds left =
        std::max(milliseconds{1000}, timeout - std::chrono::duration_cast<milliseconds>(Clock::now() - start));
    // containerd may restart between the two calls; the pull itself is not retried for
    // anything else (a registry's UNAVAILABLE is the step's exit 75, and systemd's to retry)
    const std::string ref = when_ready(p, image, Clock::now() + left, [&] {
        try {
            return cri::pull_image(p.socket, image, creds.auth, left);
        } catch (const cri::CallError& e) {
            if (e.status() == 14) throw Error(e.what(), e.exit_code());  // not a wait: the registry's answer
            throw;
        }
    });
    const std::string how = creds.auth.empty() ? std::string("without credentials")
                                               : fmt::format("with credentials from {}", creds.provider);
    std::vector<log::Field> done = fields;
    done.push_back({"EKS_NODE_IMAGE_REF", ref});
    log::emit(log::Level::info, fmt::format("pulled {} ({}) in {:.1f} s, {}", image, ref, seconds_since(start), how),
              {}, {}, done);
}

// `eks-node-prepull sandbox-image` (eks-node-sandbox-image.service, which kubelet waits
// for): derived.sandboxImage, when the image build cached none. containerd pulls a missing
// sandbox image itself at the first pod sandbox, with no credentials, which ECR refuses;
// pulled here first with the ones kubelet's credential provider gives, it is present then.
StepResult sandbox_image(const StepOptions& opts, const json& cfg, milliseconds timeout) {
    const json* image = path_in(cfg, {"derived", "sandboxImage"});
    if (!image || !image->is_string() || image->get_ref<const std::string&>().empty())
        throw ConfigError("config.json", "derived.sandboxImage", "missing: `systemctl restart eks-node-config`");
    const std::string& name = image->get_ref<const std::string&>();
    if (name.starts_with("localhost/")) {
        log::info("{} is the image's cached pause image: nothing to pull", name);
        return {};
    }
    const Clock::time_point start = Clock::now();
    try {
        pull_if_absent(puller(opts, cfg), name, timeout);
    } catch (const Error& e) {
        const double took = seconds_since(start);
        throw Error(fmt::format("the pause image {} could not be pulled after {:.1f} s: {}; every pod sandbox needs "
                                "it, so kubelet is held back",
                                name, took, e.what()),
                    e.exit_code());
    }
    return {};
}

}  // namespace

StepResult prepull(const StepOptions& opts) {
    const json cfg = load_config_json(opts);
    const json* table = path_in(cfg, {"settings", "prePull"});
    const input::settings::PrePullSettings s = input::settings::read_pre_pull(table ? *table : json(), "config.json");
    if (opts.args.size() == 1 && opts.args[0] == "sandbox-image") return sandbox_image(opts, cfg, s.timeout);
    if (!opts.args.empty())
        throw UsageError(fmt::format("unexpected argument \"{}\" (only sandbox-image)", opts.args[0]));
    if (s.images.empty()) {
        log::info("settings.prePull.images is empty: nothing to pull");
        return {};
    }
    const Puller p = puller(opts, cfg);

    std::vector<std::string> failed;
    size_t temporary = 0;
    for (const std::string& image : s.images) {
        const Clock::time_point start = Clock::now();
        const std::vector<log::Field> fields{{"EKS_NODE_IMAGE", image}};
        try {
            pull_if_absent(p, image, s.timeout);
        } catch (const Error& e) {
            // one line per image; the next image is tried all the same
            const double took = seconds_since(start);
            const bool timed_out = took * 1000 >= static_cast<double>(s.timeout.count());
            std::string why = timed_out ? fmt::format("no answer within settings.prePull.timeout ({:.1f} s): {}",
                                                      static_cast<double>(s.timeout.count()) / 1000, e.what())
                                        : std::string(e.what());
            log::emit(log::Level::warning, fmt::format("failed to pull {} after {:.1f} s: {}", image, took, why), {},
                      {}, fields);
            failed.push_back(image);
            if (e.exit_code() == EXIT_TEMPFAIL) ++temporary;
        }
    }
    if (failed.empty()) return {};
    // 75 when every failure may pass (containerd or the registry unavailable,
    // a deadline): a restart of the unit is worth it; 1 otherwise.
    throw Error(fmt::format("{} of {} images not pulled: {} (kubelet is not affected)", failed.size(), s.images.size(),
                            fmt::join(failed, ", ")),
                temporary == failed.size() ? EXIT_TEMPFAIL : EXIT_FAILURE_);
}

}  // namespace eksnode::steps
