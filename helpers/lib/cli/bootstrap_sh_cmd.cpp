// SPDX-License-Identifier: Apache-2.0
// eks-node bootstrap-sh: the body of the /etc/eks/bootstrap.sh shim.
//
// AL2 user data calls /etc/eks/bootstrap.sh when cloud-init runs it, late in
// boot. By then eks-node-config has read the same call statically from the
// user data. If the shell resolved the arguments to what the boot applied,
// there is nothing to do. Otherwise (the script computes a value at run time,
// which the static reading refused with exit 6, or writes the containerd file
// differently) the arguments, as the shell resolved them, take the user data's
// slot: /run/eks-node/node.toml.d/50-user-data.toml hides the user data
// (eks-node.toml(5)), so image defaults (10-*) still yield to it and an
// admin's 90-* still beats it, exactly as for user data. The user data's other
// configuration parts (NodeConfig, TOML) are kept in that file, before the
// flags. Then the chain is re-run: eks-node-config, whose consumers follow.
//
// Either way the call is where kubelet starts, as on AL2, whose bootstrap.sh
// ends with `systemctl start kubelet`: what eks-node-cloud-init would do
// after the script (restart what the script has changed so far) is done
// now, kubelet's start stops waiting for cloud-init (the queued
// eks-node-cloud-init job is stopped, and eks-node-config queues it no more
// on this boot), and the shim returns once kubelet's start has run. Else
// kubelet's start would wait for cloud-final.service, which waits for the
// script: a `systemctl restart kubelet` after the call, as AL2 user data
// has (AWS's own kubelet-config.json idiom), would wait forever.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/step.hpp"
#include "core/systemd.hpp"
#include "format/toml_json.hpp"
#include "input/bootstrap_sh.hpp"
#include "input/fragments.hpp"
#include "input/sources.hpp"
#include "resolve/resolve.hpp"
#include "steps/cloud_init.hpp"

namespace eksnode::cli {

const char* const bootstrap_sh_help =
    "Usage: eks-node bootstrap-sh [--root=DIR] [--user-data=FILE] -- CLUSTER [BOOTSTRAP.SH FLAGS]\n"
    "\n"
    "What /etc/eks/bootstrap.sh runs when AL2 user data calls it. Unless the boot already\n"
    "applied these flags from the user data, it writes them, with the user data's other\n"
    "configuration, to /run/eks-node/node.toml.d/50-user-data.toml. Under systemd on the host\n"
    "it then re-runs what the script changed (eks-node-config.service for new flags), lets\n"
    "kubelet start without waiting for the rest of the script (as AL2's bootstrap.sh starts\n"
    "kubelet) and returns once kubelet's start has run (at most 10 minutes).\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "See eks-node-config(8), AL2 BOOTSTRAP.SH USER DATA.\n";

namespace {

constexpr std::string_view shim_source = "/etc/eks/bootstrap.sh (run by the user data script)";
constexpr std::string_view kubelet_unit = "kubelet.service";

std::string slot_path() { return fmt::format("{}/node.toml.d/{}.toml", input::config_dirs[1], input::user_data_slot); }

// Did eks-node-config read the same call from the user data?
bool applied_at_boot(const std::string& user_data, const std::string& label, const input::Fragment& flags) {
    std::vector<input::Fragment> fragments;
    try {
        fragments = input::fragments_from_user_data(user_data, label);
    } catch (const ConfigError&) {
        return false;  // the boot refused the user data; these flags are news
    }
    return std::any_of(fragments.begin(), fragments.end(), [&](const input::Fragment& f) {
        return input::bootstrap_sh::is_bootstrap_fragment(f) && f.spec == flags.spec && f.settings == flags.settings;
    });
}

// How long the shim waits for kubelet's start: the steps before it are
// bounded by their units' timeouts; past this the script goes on anyway.
constexpr std::chrono::minutes kubelet_start_wait{10};

// The handover, under systemd on the host, in two halves around the write
// of the flags. First what the script changed before its call (before the
// shim's own write, which is no script's), as restart jobs queued while
// kubelet's start still waits: it is ordered after each of them
// (kubelet.service.d/10-eks-node.conf).
void begin_handover(const Paths& paths) {
    // Before eks-node-config runs again: it reads this to queue no
    // eks-node-cloud-init job on this boot (steps/config.cpp)
    write_file_atomic(paths.of(input::bootstrap_sh::called_marker),
                      "/etc/eks/bootstrap.sh was called: kubelet does not wait for cloud-init on this boot\n", 0644);
    steps::redo_what_scripts_changed(paths);
}

// Then kubelet's start: `rerun_config` when the flags are new. Returns the
// exit status.
int start_kubelet_now(bool rerun_config) {
    if (rerun_config) {
        // eks-node-config's consumers follow it (PartOf=); starting the target
        // brings up whatever a refused boot never started
        sd::restart_unit("eks-node-config.service");
        sd::start_unit("eks-node.target");
        fmt::print("eks-node: restarting eks-node-config.service and starting eks-node.target\n");
    }
    // A stop job replaces the queued start (nothing to stop: it never ran)
    if (sd::active_state(cloud_init_unit) == "inactive" && sd::has_job(cloud_init_unit)) {
        sd::stop_unit_and_wait(cloud_init_unit, std::chrono::seconds(10));
        fmt::print("eks-node: kubelet no longer waits for cloud-init to finish the script (as on AL2)\n");
    }
    const auto deadline = std::chrono::steady_clock::now() + kubelet_start_wait;
    while (sd::has_job(kubelet_unit)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            fmt::print(
                "eks-node: kubelet.service has not started after {} minutes; the script goes on (eks-node status "
                "says what kubelet waits for)\n",
                kubelet_start_wait.count());
            return EXIT_OK;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::optional<std::string> state = sd::active_state(kubelet_unit);
    if (state == "active") {
        fmt::print("eks-node: kubelet.service is running\n");
        return EXIT_OK;
    }
    // as AL2's bootstrap.sh fails when `systemctl start kubelet` does
    fmt::print(stderr, "eks-node: kubelet.service is {}: see eks-node status and journalctl -u kubelet\n",
               state.value_or("not installed"));
    return EXIT_FAILURE_;
}

}  // namespace

int bootstrap_sh_cmd(const std::vector<std::string>& args) {
    auto dashdash = std::find(args.begin(), args.end(), "--");
    if (dashdash == args.end()) throw UsageError("bootstrap-sh: bootstrap.sh's arguments go after \"--\"");
    StepOptions opts;
    const ParsedOptions parsed = parse_options("bootstrap-sh", {args.begin(), dashdash});
    apply_common(parsed, opts);
    if (!parsed.args.empty())
        throw UsageError(fmt::format("bootstrap-sh: unexpected argument \"{}\" before --", parsed.args[0]));
    std::vector<std::string> flags(dashdash + 1, args.end());

    std::string label = opts.user_data_file.empty() ? "user data" : opts.user_data_file;
    std::optional<std::string> user_data = opts.user_data_file.empty()
                                               ? read_file_if_exists(opts.paths.of(path::user_data))
                                               : std::optional(input::read_user_data_file(opts.user_data_file));

    input::bootstrap_sh::FileReader node_file = [&](const std::string& p, std::string& why) {
        std::optional<std::string> content = read_file_if_exists(opts.paths.of(p));
        if (!content) why = fmt::format("{} does not exist", p);
        return content;
    };
    // What the script exported to it and its edits of this file map as the
    // boot's static reading mapped them (input/bootstrap_sh.hpp)
    input::bootstrap_sh::Inputs inputs = input::bootstrap_sh::inputs_from_environment(environ);
    std::vector<input::Fragment> fragments;
    if (user_data)
        fragments = input::bootstrap_sh::fragments_from_user_data_without_scripts(*user_data, label, &inputs.edits);
    input::Fragment from_flags =
        input::bootstrap_sh::fragment_from_args(flags, std::string(shim_source), node_file, inputs);
    config::validate_fragment(from_flags);
    if (user_data && applied_at_boot(*user_data, label, from_flags)) {
        fmt::print("eks-node: these bootstrap.sh flags were applied at boot from the user data; nothing to do\n");
        if (!sd::manages_host(opts.paths)) return EXIT_OK;
        begin_handover(opts.paths);
        return start_kubelet_now(false);
    }

    fs::path slot = opts.paths.of(slot_path());
    fragments.push_back(std::move(from_flags));
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const input::Fragment& f : fragments) {
        config::validate_fragment(f);
        config::merge_fragment(spec, settings, f, origins);
    }
    // The NodeConfig parts' unknown fields are not in the slot this writes,
    // so eks-node-config will not see them again: warned of (or, with the
    // node's settings.strict, refused) here, as it would.
    if (std::any_of(fragments.begin(), fragments.end(), [](const input::Fragment& f) { return !f.unknown.empty(); }))
        resolve::log_warnings(
            input::unknown_field_warnings(fragments, config::settings_with_user_data(opts.paths, fragments)));
    json doc = spec;
    if (!settings.empty()) doc["settings"] = settings;
    std::string text = fmt::format(
        "# Written by `eks-node bootstrap-sh` when the user data script ran {}:\n"
        "# the user data's configuration with the flags as the shell resolved them.\n"
        "# It takes the user data's slot (eks-node.toml(5)); delete it to go back to the user data.\n",
        input::bootstrap_sh::script_path);
    text += format::json_to_toml(doc, slot.string());
    config::validate_fragment(input::fragment_from_toml(text, slot.string()));  // reads back as meant

    const bool host = sd::manages_host(opts.paths);
    if (host) begin_handover(opts.paths);
    const bool written = write_file_atomic(slot, text, 0600) == WriteResult::written;
    if (written) fmt::print("eks-node: wrote {}\n", slot_path());
    else fmt::print("eks-node: {} already holds these flags; nothing to do\n", slot_path());
    if (!host) {
        if (written)
            fmt::print(
                "eks-node: not a systemd service on the host; apply with "
                "`systemctl restart eks-node-config.service` (or eks-node render --root=DIR)\n");
        return EXIT_OK;
    }
    return start_kubelet_now(written);
}

}  // namespace eksnode::cli
