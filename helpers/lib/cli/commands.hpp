// SPDX-License-Identifier: Apache-2.0
// Subcommands of the operator CLI that live in their own files (internal to cli/).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"
#include "core/systemd.hpp"
#include "input/sources.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::cli {

// The unit that holds kubelet until cloud-init has run the user data's scripts
// (eks-node-cloud-init(8)): bootstrap-sh drops its queued start, status reports it apart from
// the join's steps
inline constexpr std::string_view cloud_init_unit = "eks-node-cloud-init.service";

// `eks-node max-pods`: the AL2 max-pods-calculator.sh, same options, same numbers.
int max_pods_cmd(const std::vector<std::string>& args);
extern const char* const max_pods_help;

// `eks-node get-token (--cluster-name NAME | --cluster-id ID) [--region R]`:
// kubelet's exec credential plugin, an ExecCredential on stdout.
int get_token_cmd(const std::vector<std::string>& args);
extern const char* const get_token_help;

// `eks-node bootstrap-sh -- CLUSTER [FLAGS]`: what /etc/eks/bootstrap.sh runs.
int bootstrap_sh_cmd(const std::vector<std::string>& args);
extern const char* const bootstrap_sh_help;

// `eks-node status [--json]`: every unit eks-node.target wants, from systemd.
int status_cmd(const std::vector<std::string>& args);
extern const char* const status_help;
// One unit's state as status shows it: "active", "failed", "skipped by
// condition", "not run", or systemd's ActiveState otherwise ("activating", ...).
std::string step_state(const sd::UnitStatus& u);
// The whole report `status --json` prints (throws Error when systemd cannot be
// reached); "configured" is what the exit status says. "configWarnings"
// counts the NodeConfig fields eks-node-config ignored (config.json's
// "warnings" under `paths`), null without a readable config.json.
json status_report(const Paths& paths = Paths());
// config.json's warnings of one kind (NodeConfig fields ignored as nodeadm
// ignores them, or kubelet.config keys the node's kubelet lacks) counted,
// under `paths`; null when there is no config.json to count them in (the
// config step has not run, or failed) or it cannot be read.
json config_warning_count(const Paths& paths, input::Warning::Kind kind);
// That report as Prometheus metrics, text exposition format 0.0.4
// (`status --prometheus`; the names are documented in eks-node-telemetry(8)).
std::string prometheus_text(const json& report);

// eks-node-telemetry: prometheus_text into path::telemetry_textfile, after the boot.
inline constexpr std::string_view telemetry_unit = "eks-node-telemetry.service";
extern const StepSpec telemetry_spec;
StepResult telemetry(const StepOptions& opts);

// eks-node-verdict (eks-node-verdict(8)): one line on the serial console
// when the join ended, failed or not; `eks-node-verdict fail-fast`, run by
// eks-node-fail-fast.service, waits settings.onFailureDelay and powers off
// or reboots (settings.onFailure).
extern const StepSpec verdict_spec;
StepResult verdict(const StepOptions& opts);
inline constexpr std::string_view verdict_unit = "eks-node-verdict.service";
inline constexpr std::string_view fail_fast_unit = "eks-node-fail-fast.service";
// Polls IMDS while an Auto Scaling warm pool holds kubelet back (eks-node-warm-pool(8)).
inline constexpr std::string_view warm_pool_unit = "eks-node-warm-pool.service";
inline constexpr std::string_view prepull_unit_name = "eks-node-prepull.service";
struct Verdict {
    bool failed = false;
    bool cannot_heal = false;  // exit status 6 (bad input) or 75 (its deadline passed)
    std::string line;          // the console line, one line
    bool pass_ended = true;    // false while a warm pool holds kubelet back: the pass goes on at InService
};
// The verdict of a status_report(): the first failed step (in the order they
// ran) with its exit status and last error line, or the chain's time.
Verdict verdict_of(const json& report);
struct FailFast {
    std::string action = "none";               // settings.onFailure: none, poweroff, reboot
    std::chrono::milliseconds delay{120'000};  // settings.onFailureDelay
};
// settings.onFailure and onFailureDelay from the static fragments (image and
// admin; user data may not set them).
FailFast fail_fast_settings(const Paths& paths);

// `eks-node validate [--root=DIR] [--json]`: the running node against its outputs.
int validate_cmd(const std::vector<std::string>& args);
extern const char* const validate_help;

struct CheckResult {
    // warning: something to look at in a file eks-node does not own (a
    // containerd drop-in); not a failure of the node's own files
    enum class Outcome { ok, failed, skipped, warning };
    std::string name;
    Outcome outcome;
    std::string detail;     // why it failed or was skipped; "" when ok
    std::string path = {};  // what its absence would fail it for: a node path, a unit ("": nothing in particular)
};
// The checks on files under the root: present, mode, parseable; and the
// containerd drop-ins config.toml imports (warnings). No systemd, no kernel:
// these run anywhere (tests run them on a rendered temp root).
std::vector<CheckResult> validate_files(const Paths& paths);

// containerd reads config.toml and the base runtime spec only when it starts,
// and starts at boot in parallel with the steps: it runs on them only if it
// started after their last write (`start_usec`, systemd's ExecMainStartTimestamp,
// and `written_usec` the newer file's mtime, both CLOCK_REALTIME microseconds).
CheckResult containerd_current(const std::string& state, uint64_t start_usec, uint64_t written_usec);

// `eks-node validate --image`: the image under `paths` has every program, file and unit
// that what eks-node renders on it and its units name, each run where it answers
// --version (validate_image.cpp). Runs the image's programs: under a root that is not the
// host's, by their path there.
std::vector<CheckResult> validate_image(const Paths& paths);

// `eks-node readahead-list [--root=DIR] [--print]`: the join's files, for
// eks-node-readahead (readahead_list.cpp).
int readahead_list_cmd(const std::vector<std::string>& args);
extern const char* const readahead_list_help;
// `eks-node readahead-record [--root=DIR] [--print]`: what a recording boot's join
// read of each file of the image's list, added to its line (readahead_record.cpp).
int readahead_record_cmd(const std::vector<std::string>& args);
extern const char* const readahead_record_help;
// The files a join of the image under `paths` reads, in the order it reads them,
// by what reads them (real paths on the node). Throws Error when the image's
// configuration cannot be read.
std::vector<readahead::Section> join_files(const Paths& paths);

// `eks-node confinement [STEP...] | --probe=STEP|none`: the steps' Landlock policies.
int confinement_cmd(const std::vector<std::string>& args);
extern const char* const confinement_help;

// `eks-node check-archive [--arch=GOARCH] FILE...`: image archives checked by content.
int check_archive_cmd(const std::vector<std::string>& args);
extern const char* const check_archive_help;

// `eks-node collect-logs [--output=FILE] [--root=DIR]`: a tar.gz for a bug report.
int collect_logs_cmd(const std::vector<std::string>& args);
extern const char* const collect_logs_help;

// An in-memory ustar archive, gzip-compressed on finish().
class TarGzWriter {
public:
    void add(std::string_view name, std::string_view data, unsigned mode = 0644);
    std::string finish(); // the .tar.gz bytes
private:
    std::string tar_;
};

}  // namespace eksnode::cli
