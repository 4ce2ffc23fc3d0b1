// SPDX-License-Identifier: Apache-2.0
// eks-node-generator's decisions as a pure function: which units, drop-ins and
// .wants/ links this boot needs (the decision table is at the top of
// generator.cpp and in eks-node-generator(8)). The generator executable only
// writes the plan; eks-node-config computes it too, to know whether writing
// config.json changed the generated units and a daemon-reload is due.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "core/paths.hpp"

namespace eksnode::generator {

// One entry of the output directory: a regular file or a symlink.
struct GeneratedFile {
    enum class Kind { file, symlink };
    Kind kind = Kind::file;
    std::string data;  // the file's content, or the symlink's target
    // A file's mode: 0644, as systemd's own generators write units, or 0600
    // for one systemd does not load and only root may read (a hook's command).
    mode_t mode = 0644;

    bool operator==(const GeneratedFile&) const = default;
};

struct GeneratorPlan {
    // Path relative to the output directory -> what to put there.
    std::map<std::string, GeneratedFile> files;
    // The threshold the generator itself logs at (the steps' level, if set).
    log::Level log_level = log::Level::info;
    // For the caller to log: bad input at warning (each worded "…, ignoring"),
    // what was decided and why at info or debug. The library itself logs nothing.
    struct Message {
        log::Level level;
        std::string text;
    };
    std::vector<Message> messages;

    // Two plans generate the same units (messages do not count).
    bool same_units(const GeneratorPlan& other) const { return files == other.files; }
};

// Whether to read run/eks-node/config.json. `ignore` gives the plan the
// generator made at boot, before eks-node-config wrote it.
enum class ConfigJson { read, ignore };

// The kernel command line, proc/cmdline under the root (proc/1/cmdline in a
// container, kernel_cmdline_source()). Throws Error naming
// the file when it cannot be read (the generator warns and goes on without).
std::string read_kernel_cmdline(const Paths& paths);

// The decisions, from the kernel command line `cmdline`, config.json (unless
// ignored) or else the static TOML fragments, all read under `paths`. Never
// throws on bad input: it is skipped with a warning in the plan.
GeneratorPlan plan_units(const Paths& paths, std::string_view cmdline, ConfigJson config = ConfigJson::read);

// Optional steps the configuration asks for, each pulled in by eks-node.target.
// The seam for more of them: the instance-store issue adds its units here
// (and the .mount units they need to the plan). `config` is config.json, or
// null when it does not exist yet (at boot, only the static settings are known).
// Bad values are skipped with a warning added to `warnings`.
struct OptionalUnit {
    std::string unit;                      // "eks-node-hosts.service"
    std::string reason;                    // "spec.cluster.enableOutpost = true", for the drop-in's comment
    std::string source;                    // the input that decided it, for SourcePath=
    std::vector<std::string> required_by;  // units that must not start without it (fail closed)
};
std::vector<OptionalUnit> wanted_optional_units(const Paths& paths, const json* config,
                                                std::vector<std::string>& warnings);

// Where the plan puts the drop-in of hook NAME (settings.hooks):
// "eks-node-hook@NAME.service.d/50-hook.conf".
std::string hook_dropin(std::string_view name);
// And the hook's command and environment (input::hooks::command_file_text),
// 0600 beside the drop-in: "eks-node-hook@NAME.service.d/hook.json". systemd
// reads only *.conf there; eks-node-hook NAME reads this, under
// /run/systemd/generator (hook_generator_dir).
std::string hook_command_file(std::string_view name);
inline constexpr std::string_view hook_generator_dir = "/run/systemd/generator";

// Where the plan puts containerd's drop-in that loads the runtime handlers'
// kernel modules (settings.runtimes.*.kernelModules) before it starts.
std::string runtime_modules_dropin_path();

// The units only an EKS node runs, and those started on demand: units::eks_only()
// and units::started_on_demand() (core/units.hpp, from units/steps.tsv).

// A program a unit the plan may write runs (`eks-node validate --image` checks that an
// image has each), and the unit.
struct GeneratedProgram {
    std::string path;
    std::string unit;
};
std::vector<GeneratedProgram> generated_programs();

// The plan the generator makes of the root as it is now: its kernel command
// line (none if unreadable, as for the generator) and config.json if present.
// That is what the generator made at boot, before config.json existed, or at
// the last daemon-reload. eks-node-config takes it before and after writing
// config.json and asks for one daemon-reload only if the two differ.
GeneratorPlan plan_from_disk(const Paths& paths);

}  // namespace eksnode::generator
