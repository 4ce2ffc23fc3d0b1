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

struct Family {
    std::string text;
    void head(std::string_view name, std::string_view type, std::string_view help) {
        text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    void add(std::string_view name, std::string_view labels, std::string_view value) {
        text +=
            labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
};

}  // namespace

std::string prometheus_text(const json& report) {
    // eks-node-telemetry itself is left out: while it writes the file it is
    // always "activating", which says nothing
    json units = json::array();
    for (const json& u : report["units"])
        if (u["unit"] != "eks-node-telemetry.service") units.push_back(u);
    std::string out;
    auto unit_label = [](const json& u) { return fmt::format("unit=\"{}\"", label(u["unit"].get<std::string>())); };
    // One family per metric, each with its HELP and TYPE once (the format
    // wants a family's samples together), over the units that have a value.
    auto per_unit = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
        Family f;
        for (const json& u : units)
            if (std::optional<std::string> v = value(u)) f.add(name, unit_label(u), *v);
        if (!f.text.empty()) {
            Family h;
            h.head(name, type, help);
            out += h.text + f.text;
        }
    };
    Family top;
    top.head("eks_node_configured", "gauge",
             "1 when eks-node.target is active and no step failed, else 0 (eks-node status's exit status).");
    top.add("eks_node_configured", "", report["configured"].get<bool>() ? "1" : "0");
    top.head("eks_node_failed", "gauge",
             "1 when eks-node-failed.target is active: a step failed, kubelet is held back.");
    top.add("eks_node_failed", "", report["failedTarget"]["activeState"] == "active" ? "1" : "0");
    out += top.text;

    // the enum as a label, one sample per unit: the state it is in
    {
        Family f;
        f.head("eks_node_unit_state", "gauge",
               "1 for the state the unit is in (label state): active, failed, skipped by condition, not run, ...");
        for (const json& u : units)
            f.add("eks_node_unit_state",
                  fmt::format("{},state=\"{}\"", unit_label(u), label(u["state"].get<std::string>())), "1");
        out += f.text;
    }
    per_unit("eks_node_unit_start_timestamp_seconds", "gauge",
             "When the unit's run started (its main process for a service), in seconds since the epoch.",
             [](const json& u) -> std::optional<std::string> {
                 if (u["startUsec"].is_null()) return std::nullopt;
                 return seconds(u["startUsec"]);
             });
    per_unit("eks_node_unit_start_since_boot_seconds", "gauge",
             "When the unit's run started, in seconds since the kernel started (CLOCK_MONOTONIC).",
             [](const json& u) -> std::optional<std::string> {
                 if (u["startSinceBootSeconds"].is_null()) return std::nullopt;
                 return seconds(u["startSinceBootSeconds"]);
             });
    per_unit("eks_node_unit_duration_seconds", "gauge", "How long the unit's run took, start to end.",
             [](const json& u) -> std::optional<std::string> {
                 if (u["durationSeconds"].is_null()) return std::nullopt;
                 return seconds(u["durationSeconds"]);
             });
    per_unit("eks_node_unit_exit_status", "gauge",
             "The exit status of the service's main process: 0 success, 6 bad or missing configuration, "
             "75 a network failure (eks-node(7)).",
             [](const json& u) -> std::optional<std::string> {
                 if (u["exitStatus"].is_null()) return std::nullopt;
                 return std::to_string(u["exitStatus"].get<int>());
             });
    for (const auto& [name, key, help] :
         {std::tuple{"eks_node_api_requests_total", "requests",
                     "Requests the step's run made to an API (label api: imds, ec2, eks), retries included."},
          std::tuple{"eks_node_api_retries_total", "retries",
                     "Of those requests, the ones that repeated a failed one."}}) {
        Family f;
        for (const json& u : units) {
            if (!u["calls"].is_object()) continue;
            for (const auto& [api, v] : u["calls"].items())
                f.add(name, fmt::format("{},api=\"{}\"", unit_label(u), label(api)),
                      std::to_string(v[key].get<unsigned>()));
        }
        if (f.text.empty()) continue;
        Family h;
        h.head(name, "counter", help);
        out += h.text + f.text;
    }
    const json& c = report["chain"];
    Family chain;
    if (!c["seconds"].is_null()) {
        chain.head("eks_node_chain_seconds", "gauge",
                   "From the first step's start to kubelet's start (label first_step: the step that started first).");
        chain.add("eks_node_chain_seconds", fmt::format("first_step=\"{}\"", label(c["firstStep"].get<std::string>())),
                  seconds(c["seconds"]));
    }
    if (!c["bootToKubeletSeconds"].is_null()) {
        chain.head("eks_node_boot_to_kubelet_seconds", "gauge", "From the kernel's start to kubelet's start.");
        chain.add("eks_node_boot_to_kubelet_seconds", "", seconds(c["bootToKubeletSeconds"]));
    }
    return out + chain.text;
}

StepResult telemetry(const StepOptions& opts) {
    StepResult r;
    const fs::path file = opts.paths.of(path::telemetry_textfile);
    r.add(file, write_file_atomic(file, prometheus_text(status_report()), outputs::of(path::telemetry_textfile).mode));
    log::info("metrics of this boot in {}", path::telemetry_textfile);
    return r;
}

}  // namespace eksnode::cli
