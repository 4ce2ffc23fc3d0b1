// SPDX-License-Identifier: Apache-2.0
// eks-node-telemetry: the status report (cli/status.cpp) as Prometheus
// metrics in the text exposition format, written where node-exporter's
// textfile collector reads them. See eks-node-telemetry(8), which documents
// every metric; tests/unit/cli/test_telemetry.cpp holds the two to each other.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"

namespace eksnode::cli {

const StepSpec telemetry_spec{"telemetry", "write the boot's step times and network counts for Prometheus"};

namespace {

// A label value: backslash, double quote and line feed escaped (the format's rule).
std::string label(std::string_view v) {
    std::string out;
    for (char ch : v) {
        if (ch == '\\') out += "\\\\";
        else if (ch == '"') out += "\\\"";
        else if (ch == '\n') out += "\\n";
        else out += ch;
    }
    return out;
}

// Seconds, exact to the microsecond systemd keeps, without an exponent.
std::string seconds(const json& v) {
    if (v.is_number_unsigned()) {
        uint64_t usec = v.get<uint64_t>();
        return fmt::format("{}.{:06}", usec / 1000000, usec % 1000000);
    }
    return fmt::format("{:.6f}", v.get<double>());
}

// One metric family: its HELP and TYPE once, then its samples together, as
// the format wants. A family without a sample is left out.
struct Family {
    // a constructor, so that `{name, type, help}` reads without
    // -Wmissing-field-initializers for the samples
    Family(std::string_view n, std::string_view t, std::string_view h) : name(n), type(t), help(h) {}

    std::string_view name, type, help;
    std::string samples;

    void add(std::string_view labels, std::string_view value) {
        samples +=
            labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    std::string text() const {
        return samples.empty() ? std::string()
                               : fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, samples);
    }
};

std::string unit_label(const json& u) { return fmt::format("unit=\"{}\"", label(u["unit"].get<std::string>())); }

}  // namespace

std::string prometheus_text(const json& report) {
    // eks-node-telemetry itself is left out: while it writes the file it is
    // always "activating", which says nothing
    json units = json::array();
    for (const json& u : report["units"])
        if (u["unit"] != telemetry_unit) units.push_back(u);

    Family configured{"eks_node_configured", "gauge",
                      "1 when eks-node.target is active and no step failed, else 0 (eks-node status's exit status)."};
    configured.add("", report["configured"].get<bool>() ? "1" : "0");
    Family failed{"eks_node_failed", "gauge",
                  "1 when eks-node-failed.target is active: a step failed, kubelet is held back."};
    failed.add("", report["failedTarget"]["activeState"] == "active" ? "1" : "0");
    // the enum as a label, one sample per unit: the state it is in
    Family state{"eks_node_unit_state", "gauge",
                 "1 for the state the unit is in (label state): active, failed, skipped by condition, not run, ..."};
    for (const json& u : units)
        state.add(fmt::format("{},state=\"{}\"", unit_label(u), label(u["state"].get<std::string>())), "1");
    std::string out = configured.text() + failed.text() + state.text();

    // A family of one value per unit, over the units that have it (not null).
    auto per_unit = [&](Family f, const char* key, auto format) {
        for (const json& u : units)
            if (!u[key].is_null()) f.add(unit_label(u), format(u[key]));
        out += f.text();
    };
    per_unit({"eks_node_unit_start_timestamp_seconds", "gauge",
              "When the unit's run started (its main process for a service), in seconds since the epoch."},
             "startUsec", seconds);
    per_unit({"eks_node_unit_start_since_boot_seconds", "gauge",
              "When the unit's run started, in seconds since the kernel started (CLOCK_MONOTONIC)."},
             "startSinceBootSeconds", seconds);
    per_unit({"eks_node_unit_duration_seconds", "gauge", "How long the unit's run took, start to end."},
             "durationSeconds", seconds);
    per_unit({"eks_node_unit_exit_status", "gauge",
              "The exit status of the service's main process: 0 success, 6 bad or missing configuration, "
              "75 a network failure (eks-node(7))."},
             "exitStatus", [](const json& v) { return std::to_string(v.get<int>()); });

    // one sample per unit and API, from the step's own counts
    for (auto [f, key] : {std::pair{Family{"eks_node_api_requests_total", "counter",
                                           "Requests the step's run made to an API (label api: imds, ec2, eks), "
                                           "retries included."},
                                    "requests"},
                          std::pair{Family{"eks_node_api_retries_total", "counter",
                                           "Of those requests, the ones that repeated a failed one."},
                                    "retries"}}) {
        for (const json& u : units) {
            if (!u["calls"].is_object()) continue;
            for (const auto& item : u["calls"].items())
                f.add(fmt::format("{},api=\"{}\"", unit_label(u), label(item.key())),
                      std::to_string(item.value()[key].get<unsigned>()));
        }
        out += f.text();
    }

    const json& c = report["chain"];
    Family chain{"eks_node_chain_seconds", "gauge",
                 "From the first step's start to kubelet's start (label first_step: the step that started first)."};
    if (!c["seconds"].is_null())
        chain.add(fmt::format("first_step=\"{}\"", label(c["firstStep"].get<std::string>())), seconds(c["seconds"]));
    Family boot{"eks_node_boot_to_kubelet_seconds", "gauge", "From the kernel's start to kubelet's start."};
    if (!c["bootToKubeletSeconds"].is_null()) boot.add("", seconds(c["bootToKubeletSeconds"]));
    // a fleet's dashboard finds the nodes whose user data carries a typo
    // (or a newer nodeadm's field) that their join passed over
    Family warnings{"eks_node_config_warnings", "gauge",
                    "NodeConfig fields or feature gates eks-node-config ignored, as nodeadm ignores them "
                    "(config.json's warnings; eks-node config dump --origins)."};
    if (auto w = report.find("configWarnings"); w != report.end() && w->is_number_integer() && *w >= 0)
        warnings.add("", std::to_string(w->get<uint64_t>()));
    return out + chain.text() + boot.text() + warnings.text();
}

StepResult telemetry(const StepOptions& opts) {
    StepResult r;
    const fs::path file = opts.paths.of(path::telemetry_textfile);
    r.add(file, write_file_atomic(file, prometheus_text(status_report(opts.paths)),
                                  outputs::of(path::telemetry_textfile).mode));
    log::info("metrics of this boot in {}", path::telemetry_textfile);
    return r;
}

}  // namespace eksnode::cli
