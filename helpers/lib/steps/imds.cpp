// SPDX-License-Identifier: Apache-2.0
// eks-node-imds: fetch instance metadata and user data into /run/eks-node/.
// See eks-node-imds(8).
#include "steps/steps.hpp"

#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "imds/imds.hpp"
#include "input/fragments.hpp"

namespace eksnode::steps {

const StepSpec imds_spec{"imds", "fetch instance metadata and user data"};

// Reads [settings.imds] from the static configuration, fetches the instance
// facts and user data (--imds-endpoint=URL overrides the endpoints), then
// writes /run/eks-node/instance.json (0644) and the raw user data to
// /run/eks-node/user-data (0600: it may hold secrets); a user-data file left
// from an earlier run is removed when IMDS has none. Both under opts.paths.
// Throws TempError (exit 75) when IMDS stays unreachable until the deadline.
StepResult imds(const StepOptions& opts) {
    // Only [settings.imds]: the rest of the static configuration is eks-node-config's to check.
    json settings = {{"imds", input::static_settings_table(opts.paths, "imds")}};
    imds::ImdsOptions io = imds::imds_options(settings, opts.imds_endpoint);

    auto t0 = std::chrono::steady_clock::now();
    imds::ImdsResult r;
    if (opts.offline_instance) {
        r.instance = *opts.offline_instance;
        r.user_data = opts.user_data_text;
    } else {
        r = fetch_instance(io);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);

    const json& i = r.instance;
    log::info("instance {} ({}) in {} from {}: {} requests in {} ms, user data: {}", i.value("instanceId", ""),
              i.value("instanceType", ""), i.value("availabilityZone", ""), i.value("imdsEndpoint", ""), r.requests,
              ms.count(), r.user_data ? fmt::format("{} bytes", r.user_data->size()) : std::string("none"));

    StepResult out;
    // User data first: a reader that finds instance.json saying userData=true
    // must find the file it describes.
    fs::path ud = opts.paths.of(path::user_data);
    out.add(ud, r.user_data ? write_file_atomic(ud, *r.user_data, outputs::of(path::user_data).mode) : remove_file(ud));
    // The warm pool's marker before instance.json: kubelet's condition reads
    // it, and a run that stops between the two leaves it as IMDS said.
    const json& state = i.at("targetLifecycleState");
    const std::optional<std::string> lifecycle =
        state.is_string() ? std::optional<std::string>(state.get<std::string>()) : std::nullopt;
    fs::path marker = opts.paths.of(path::warm_pool_marker);
    if (imds::holds_kubelet(lifecycle))
        log::info(
            "target lifecycle state {}: in an Auto Scaling warm pool, kubelet held back until InService "
            "(eks-node-warm-pool)",
            *lifecycle);
    out.add(marker, imds::holds_kubelet(lifecycle)
                        ? write_file_atomic(marker, *lifecycle + "\n", outputs::of(path::warm_pool_marker).mode)
                        : remove_file(marker));
    fs::path ij = opts.paths.of(path::instance_json);
    out.add(ij, write_file_atomic(ij, dump_pretty(r.instance), outputs::of(path::instance_json).mode));
    return out;
}

}  // namespace eksnode::steps
