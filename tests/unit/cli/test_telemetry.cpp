// SPDX-License-Identifier: Apache-2.0
// eks-node-telemetry's metrics (cli/telemetry.cpp) from a status report: the
// exact text for a joined node, a failed one, and the man page's METRICS list
// held to what is written. The VM tier (scenarios 01, 02) reads the file a
// real boot wrote with Prometheus's own Python parser.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "fixtures.hpp"

using namespace eksnode;

namespace {

json unit(std::string name, std::string state, json start, json since_boot, json duration, json exit, json calls) {
    return {{"unit", name},
            {"state", state},
            {"startUsec", start},
            {"startSinceBootSeconds", since_boot},
            {"durationSeconds", duration},
            {"exitStatus", exit},
            {"calls", calls}};
}

json joined() {
    json r = {{"configured", true}, {"failedTarget", {{"activeState", "inactive"}}}};
    r["units"] = json::array({
        unit("eks-node-imds.service", "active", 1763900000100000ULL, 2.5, 0.021305, 0,
             {{"imds", {{"requests", 9}, {"retries", 1}}}}),
        unit("eks-node-config.service", "active", 1763900000130000ULL, 2.53, 0.0625, 0, json::object()),
        unit("eks-node-hosts.service", "skipped by condition", nullptr, nullptr, nullptr, nullptr, nullptr),
        unit("kubelet.service", "active", 1763900000512077ULL, 2.912077, nullptr, nullptr, nullptr),
        unit("eks-node-telemetry.service", "activating", 1763900000600000ULL, 3.0, nullptr, nullptr, nullptr),
    });
    r["chain"] = {{"firstStep", "eks-node-imds.service"}, {"seconds", 0.412077}, {"bootToKubeletSeconds", 2.912077}};
    r["configWarnings"] = 2;
    return r;
}

// The names of the metric families in `text`, from its # TYPE lines; and
// every line checked against the exposition format's grammar.
std::vector<std::string> families(const std::string& text) {
    static const std::regex sample(
        R"re([a-z_]+(\{[a-z_]+="([^"\\\n]|\\["\\n])*"(,[a-z_]+="([^"\\\n]|\\["\\n])*")*\})? -?[0-9]+(\.[0-9]+)?)re");
    static const std::regex type(R"(# TYPE ([a-z_]+) (gauge|counter))");
    static const std::regex help(R"(# HELP ([a-z_]+) .+)");
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line, current;
    std::smatch m;
    while (std::getline(in, line)) {
        INFO(line);
        if (std::regex_match(line, m, type)) {
            CHECK(std::find(out.begin(), out.end(), m[1].str()) == out.end());  // a family once
            out.push_back(current = m[1]);
        } else if (std::regex_match(line, m, help)) {
            continue;
        } else {
            REQUIRE(std::regex_match(line, sample));
            CHECK(line.rfind(current, 0) == 0);  // the samples of the family just declared
        }
    }
    return out;
}

}  // namespace

TEST_CASE("telemetry: a joined node's metrics, exactly", "[cli][telemetry]") {
    std::string text = cli::prometheus_text(joined());
    CHECK(
        text ==
        R"(# HELP eks_node_configured 1 when eks-node.target is active and no step failed, else 0 (eks-node status's exit status).
# TYPE eks_node_configured gauge
eks_node_configured 1
# HELP eks_node_failed 1 when eks-node-failed.target is active: a step failed, kubelet is held back.
# TYPE eks_node_failed gauge
eks_node_failed 0
# HELP eks_node_unit_state 1 for the state the unit is in (label state): active, failed, skipped by condition, not run, ...
# TYPE eks_node_unit_state gauge
eks_node_unit_state{unit="eks-node-imds.service",state="active"} 1
eks_node_unit_state{unit="eks-node-config.service",state="active"} 1
eks_node_unit_state{unit="eks-node-hosts.service",state="skipped by condition"} 1
eks_node_unit_state{unit="kubelet.service",state="active"} 1
# HELP eks_node_unit_start_timestamp_seconds When the unit's run started (its main process for a service), in seconds since the epoch.
# TYPE eks_node_unit_start_timestamp_seconds gauge
eks_node_unit_start_timestamp_seconds{unit="eks-node-imds.service"} 1763900000.100000
eks_node_unit_start_timestamp_seconds{unit="eks-node-config.service"} 1763900000.130000
eks_node_unit_start_timestamp_seconds{unit="kubelet.service"} 1763900000.512077
# HELP eks_node_unit_start_since_boot_seconds When the unit's run started, in seconds since the kernel started (CLOCK_MONOTONIC).
# TYPE eks_node_unit_start_since_boot_seconds gauge
eks_node_unit_start_since_boot_seconds{unit="eks-node-imds.service"} 2.500000
eks_node_unit_start_since_boot_seconds{unit="eks-node-config.service"} 2.530000
eks_node_unit_start_since_boot_seconds{unit="kubelet.service"} 2.912077
# HELP eks_node_unit_duration_seconds How long the unit's run took, start to end.
# TYPE eks_node_unit_duration_seconds gauge
eks_node_unit_duration_seconds{unit="eks-node-imds.service"} 0.021305
eks_node_unit_duration_seconds{unit="eks-node-config.service"} 0.062500
# HELP eks_node_unit_exit_status The exit status of the service's main process: 0 success, 6 bad or missing configuration, 75 a network failure (eks-node(7)).
# TYPE eks_node_unit_exit_status gauge
eks_node_unit_exit_status{unit="eks-node-imds.service"} 0
eks_node_unit_exit_status{unit="eks-node-config.service"} 0
# HELP eks_node_api_requests_total Requests the step's run made to an API (label api: imds, ec2, eks), retries included.
# TYPE eks_node_api_requests_total counter
eks_node_api_requests_total{unit="eks-node-imds.service",api="imds"} 9
# HELP eks_node_api_retries_total Of those requests, the ones that repeated a failed one.
# TYPE eks_node_api_retries_total counter
eks_node_api_retries_total{unit="eks-node-imds.service",api="imds"} 1
# HELP eks_node_chain_seconds From the first step's start to kubelet's start (label first_step: the step that started first).
# TYPE eks_node_chain_seconds gauge
eks_node_chain_seconds{first_step="eks-node-imds.service"} 0.412077
# HELP eks_node_boot_to_kubelet_seconds From the kernel's start to kubelet's start.
# TYPE eks_node_boot_to_kubelet_seconds gauge
eks_node_boot_to_kubelet_seconds 2.912077
# HELP eks_node_config_warnings NodeConfig fields or feature gates eks-node-config ignored, as nodeadm ignores them (config.json's warnings; eks-node config dump --origins).
# TYPE eks_node_config_warnings gauge
eks_node_config_warnings 2
)");
    families(text);
}

TEST_CASE("telemetry: a failed boot says which step, and has no chain time", "[cli][telemetry]") {
    json r = joined();
    r["configured"] = false;
    r["failedTarget"]["activeState"] = "active";
    r["units"][1]["state"] = "failed";
    r["units"][1]["exitStatus"] = 6;
    r["units"][1]["calls"] = {{"ec2", {{"requests", 3}, {"retries", 2}}}};
    r["units"][3] = unit("kubelet.service", "not run", nullptr, nullptr, nullptr, nullptr, nullptr);
    r["chain"] = {{"firstStep", "eks-node-imds.service"}, {"seconds", nullptr}, {"bootToKubeletSeconds", nullptr}};
    std::string text = cli::prometheus_text(r);
    CHECK_THAT(text, Catch::Contains("\neks_node_configured 0\n"));
    CHECK_THAT(text, Catch::Contains("\neks_node_failed 1\n"));
    CHECK_THAT(text, Catch::Contains("\neks_node_unit_state{unit=\"eks-node-config.service\",state=\"failed\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("\neks_node_unit_state{unit=\"kubelet.service\",state=\"not run\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("\neks_node_unit_exit_status{unit=\"eks-node-config.service\"} 6\n"));
    CHECK_THAT(text,
               Catch::Contains("\neks_node_api_requests_total{unit=\"eks-node-config.service\",api=\"ec2\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("\neks_node_api_retries_total{unit=\"eks-node-config.service\",api=\"ec2\"} 2\n"));
    CHECK_THAT(text, !Catch::Contains("kubelet.service\"} 1763900000"));
    CHECK_THAT(text, !Catch::Contains("eks_node_chain_seconds"));
    CHECK_THAT(text, !Catch::Contains("eks_node_boot_to_kubelet_seconds"));
    CHECK_THAT(text, !Catch::Contains("eks-node-telemetry.service"));
    families(text);
    // without a config.json (the config step failed) there is nothing to count
    r["configWarnings"] = nullptr;
    CHECK_THAT(cli::prometheus_text(r), !Catch::Contains("eks_node_config_warnings"));
    r["configWarnings"] = 0;
    CHECK_THAT(cli::prometheus_text(r), Catch::Contains("\neks_node_config_warnings 0\n"));
}

TEST_CASE("telemetry: label values are escaped", "[cli][telemetry]") {
    json r = joined();
    r["units"] = json::array({unit("odd\"na\\me\n.service", "active", nullptr, nullptr, nullptr, nullptr, nullptr)});
    std::string text = cli::prometheus_text(r);
    CHECK_THAT(text, Catch::Contains(R"(eks_node_unit_state{unit="odd\"na\\me\n.service",state="active"} 1)"));
    families(text);
}

TEST_CASE("eks-node-telemetry(8) documents exactly the metrics written", "[cli][telemetry][docs]") {
    std::set<std::string> written;
    for (const std::string& f : families(cli::prometheus_text(joined()))) written.insert(f);
    std::set<std::string> documented;
    std::istringstream page(read_file(test::source_path("man/eks-node-telemetry.8.scd")));
    std::string line;
    bool in = false;
    static const std::regex entry(R"(^\*([a-z_]+)\*(\{[^}]*\})? \((gauge|counter)\)$)");
    std::smatch m;
    while (std::getline(page, line)) {
        if (line.starts_with("# ")) in = line == "# METRICS";
        else if (in && std::regex_match(line, m, entry)) documented.insert(m[1]);
    }
    CHECK(written == documented);
    CHECK(written.size() == 12);
}
