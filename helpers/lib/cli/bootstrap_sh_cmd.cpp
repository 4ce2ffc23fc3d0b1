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
// Either way eks-node-containerd runs again, for the containerd drop-ins the
// script may have written before its call.
#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "config/bootstrap_sh.hpp"
#include "config/fragments.hpp"
#include "config/sources.hpp"
#include "config/toml_json.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/step.hpp"
#include "core/systemd.hpp"
#include "resolve/resolve.hpp"

namespace eksnode::cli {

const char* const bootstrap_sh_help =
    "Usage: eks-node bootstrap-sh [--root=DIR] [--user-data=FILE] -- CLUSTER [BOOTSTRAP.SH FLAGS]\n"
    "\n"
    "What /etc/eks/bootstrap.sh runs when AL2 user data calls it. If the boot already applied\n"
    "these flags from the user data, it only re-runs eks-node-containerd.service (for drop-ins\n"
    "the script wrote to /etc/containerd/config.d); else it writes them, with the user data's\n"
    "other configuration, to /run/eks-node/node.toml.d/50-user-data.toml and restarts\n"
    "eks-node-config.service (under systemd on the host).\n"
    "\n"
    "  --root=DIR         read and write under DIR (default /)\n"
    "  --user-data=FILE   the user data (default: the copy eks-node-imds saved)\n"
    "  --help             show this help\n"
    "\n"
    "See eks-node-config(8), AL2 BOOTSTRAP.SH USER DATA.\n";

namespace {

constexpr std::string_view shim_source = "/etc/eks/bootstrap.sh (run by the user data script)";

std::string slot_path() {
    return fmt::format("{}/node.toml.d/{}.toml", config::config_dirs[1], config::user_data_slot);
}

// Did eks-node-config read the same call from the user data?
bool applied_at_boot(const std::string& user_data, const std::string& label, const config::Fragment& flags) {
    std::vector<config::Fragment> fragments;
    try {
        fragments = config::fragments_from_user_data(user_data, label);
    } catch (const ConfigError&) {
        return false;  // the boot refused the user data; these flags are news
    }
    return std::any_of(fragments.begin(), fragments.end(), [&](const config::Fragment& f) {
        return config::bootstrap_sh::is_bootstrap_fragment(f) && f.spec == flags.spec && f.settings == flags.settings;
    });
}

// The script may have written containerd drop-ins (/etc/containerd/config.d)
// before calling bootstrap.sh, as AL2 user data does, after containerd
// started. eks-node-containerd lists them in config.toml's header: re-run,
// it changes config.toml, and so restarts containerd, only if they changed.
void rerender_containerd(const Paths& paths) {
    if (!sd::manages_host(paths)) return;
    sd::restart_unit("eks-node-containerd.service");
    fmt::print(
        "eks-node: re-running eks-node-containerd.service for {}/*.toml (containerd restarts if they "
        "changed)\n",
        path::containerd_dropin_dir);
}

}  // namespace

int bootstrap_sh_cmd(const std::vector<std::string>& args) {
    auto dashdash = std::find(args.begin(), args.end(), "--");
    if (dashdash == args.end()) throw UsageError("bootstrap-sh: bootstrap.sh's arguments go after \"--\"");
    StepOptions opts;
    parse_common_options({args.begin(), dashdash}, opts);
    if (!opts.args.empty())
        throw UsageError(fmt::format("bootstrap-sh: unexpected argument \"{}\" before --", opts.args[0]));
    std::vector<std::string> flags(dashdash + 1, args.end());

    std::string label = opts.user_data_file.empty() ? "user data" : opts.user_data_file;
    std::optional<std::string> user_data = opts.user_data_file.empty()
                                               ? read_file_if_exists(opts.paths.of(path::user_data))
                                               : std::optional(config::read_user_data_file(opts.user_data_file));

    config::bootstrap_sh::FileReader node_file = [&](const std::string& p, std::string& why) {
        std::optional<std::string> content = read_file_if_exists(opts.paths.of(p));
        if (!content) why = fmt::format("{} does not exist", p);
        return content;
    };
    config::Fragment from_flags = config::bootstrap_sh::fragment_from_args(flags, std::string(shim_source), node_file);
    config::validate_fragment(from_flags);
    if (user_data && applied_at_boot(*user_data, label, from_flags)) {
        fmt::print("eks-node: these bootstrap.sh flags were applied at boot from the user data; nothing to do\n");
        rerender_containerd(opts.paths);
        return EXIT_OK;
    }

    fs::path slot = opts.paths.of(slot_path());
    std::vector<config::Fragment> fragments;
    if (user_data) fragments = config::bootstrap_sh::fragments_from_user_data_without_scripts(*user_data, label);
    fragments.push_back(std::move(from_flags));
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const config::Fragment& f : fragments) {
        validate_fragment(f);
        merge_fragment(spec, settings, f, origins);
    }
    // The NodeConfig parts' unknown fields are not in the slot this writes,
    // so eks-node-config will not see them again: warned of (or, with the
    // node's settings.strict, refused) here, as it would.
    if (std::any_of(fragments.begin(), fragments.end(), [](const config::Fragment& f) { return !f.unknown.empty(); }))
        resolve::log_warnings(
            config::unknown_field_warnings(fragments, config::settings_with_user_data(opts.paths, fragments)));
    json doc = spec;
    if (!settings.empty()) doc["settings"] = settings;
    std::string text = fmt::format(
        "# Written by `eks-node bootstrap-sh` when the user data script ran {}:\n"
        "# the user data's configuration with the flags as the shell resolved them.\n"
        "# It takes the user data's slot (eks-node.toml(5)); delete it to go back to the user data.\n",
        config::bootstrap_sh::script_path);
    text += config::json_to_toml(doc, slot.string());
    validate_fragment(config::fragment_from_toml(text, slot.string()));  // reads back as meant

    if (write_file_atomic(slot, text, 0600) == WriteResult::unchanged) {
        fmt::print("eks-node: {} already holds these flags; nothing to do\n", slot_path());
        return EXIT_OK;
    }
    fmt::print("eks-node: wrote {}\n", slot_path());
    if (!sd::manages_host(opts.paths)) {
        fmt::print(
            "eks-node: not a systemd service on the host; apply with "
            "`systemctl restart eks-node-config.service` (or eks-node render --root=DIR)\n");
        return EXIT_OK;
    }
    // eks-node-config's consumers follow it (PartOf=); starting the target
    // brings up whatever a refused boot never started.
    sd::restart_unit("eks-node-config.service");
    sd::start_unit("eks-node.target");
    fmt::print("eks-node: restarting eks-node-config.service and starting eks-node.target\n");
    return EXIT_OK;
}

}  // namespace eksnode::cli
