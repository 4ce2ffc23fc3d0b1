// SPDX-License-Identifier: Apache-2.0
// eks-node-verdict's console line (cli/verdict.cpp) from a status report, and
// settings.onFailure read from the static fragments only.
#include <catch2/catch.hpp>

#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"

using namespace eksnode;

namespace {

json unit(std::string name, std::string state, json exit, json last_error) {
    return {{"unit", name}, {"state", state}, {"exitStatus", exit}, {"lastError", last_error}, {"result", "exit-code"}};
}

// A vector, not a json: a braced list of one unit would be that unit itself
// under clang's reading of one-element initializer lists, not an array of it.
json report(const std::vector<json>& units, bool configured) {
    return {{"configured", configured},
            {"units", json(units)},
            {"chain", {{"firstStep", "eks-node-imds.service"}, {"seconds", configured ? json(1.5) : json(nullptr)}}}};
}

}  // namespace

TEST_CASE("the verdict of a failed join names the first failed step, its reason and where to look", "[cli][verdict]") {
    const std::string why = "user data: spec.cluster.cidr: \"10.100.0.0/33\" is not a CIDR";
    json r =
        report({unit("eks-node-imds.service", "active", 0, nullptr), unit("eks-node-config.service", "failed", 6, why),
                unit("eks-node-kubelet.service", "failed", 1, "config.json: missing")},
               false);
    cli::Verdict v = cli::verdict_of(r);
    CHECK(v.failed);
    CHECK(v.cannot_heal);
    CHECK(v.line == "eks-node: node NOT joined: eks-node-config.service failed (exit status 6): " + why +
                        "; see journalctl -b -u eks-node-config and eks-node status");
    CHECK(v.line.find('\n') == std::string::npos);
}

TEST_CASE("only exit status 6 and 75 are failures waiting cannot heal", "[cli][verdict]") {
    for (auto [exit, heal] : {std::pair{6, true}, std::pair{75, true}, std::pair{1, false}}) {
        INFO(exit);
        cli::Verdict v = cli::verdict_of(report({unit("eks-node-imds.service", "failed", exit, "x")}, false));
        CHECK(v.failed);
        CHECK(v.cannot_heal == heal);
    }
    // killed by systemd (a timeout): no exit status at all
    cli::Verdict v = cli::verdict_of(report({unit("eks-node-imds.service", "failed", nullptr, nullptr)}, false));
    CHECK(v.failed);
    CHECK_FALSE(v.cannot_heal);
    CHECK(v.line.find("result exit-code") != std::string::npos);
}

TEST_CASE("the verdict of a join gives the chain's time; a failed pre-pull or telemetry is no failed join",
          "[cli][verdict]") {
    json r = report({unit("eks-node-imds.service", "active", 0, nullptr),
                     unit("eks-node-prepull.service", "failed", 75, "pull failed"),
                     unit("cloud-final.service", "failed", 1, "script failed"),
                     unit("eks-node-telemetry.service", "failed", 1, "a run before this one")},
                    true);
    cli::Verdict v = cli::verdict_of(r);
    CHECK_FALSE(v.failed);
    CHECK(v.line == "eks-node: node configured: kubelet started 1.500s after eks-node-imds.service started");
}

TEST_CASE("a reason stays one line on the console, cut short", "[cli][verdict]") {
    std::string why = "bad\nsecond line\x1b[2J" + std::string(2000, 'x');
    cli::Verdict v = cli::verdict_of(report({unit("eks-node-config.service", "failed", 6, why)}, false));
    CHECK(v.line.find('\n') == std::string::npos);
    CHECK(v.line.find('\x1b') == std::string::npos);
    CHECK(v.line.size() < 600);
}

TEST_CASE("settings.onFailure comes from the static fragments, none by default", "[cli][verdict]") {
    test::TempRoot root;
    CHECK(cli::fail_fast_settings(root.paths()).action == "none");
    root.write("/usr/lib/eks-node/node.toml.d/10-image.toml",
               "[settings]\nonFailure = \"poweroff\"\nonFailureDelay = \"30s\"\n");
    cli::FailFast f = cli::fail_fast_settings(root.paths());
    CHECK(f.action == "poweroff");
    CHECK(f.delay == std::chrono::seconds(30));
    // an admin's fragment turns it off again
    root.write("/etc/eks-node/node.toml.d/90-admin.toml", "[settings]\nonFailure = \"none\"\n");
    CHECK(cli::fail_fast_settings(root.paths()).action == "none");
    // the user data's slot is not read
    root.write("/run/eks-node/node.toml.d/50-user-data.toml", "[settings]\nonFailure = \"reboot\"\n");
    CHECK(cli::fail_fast_settings(root.paths()).action == "none");
}

// eks-node-containerd's unit runs on every start once a pass has ended
// (/run/eks-node/verdict); a warm pool's hold is no end: the steps that had
// nothing to do at boot still have none at InService
TEST_CASE("a pass ends with a join or a failure, not with a warm pool's hold", "[cli][verdict]") {
    CHECK(cli::verdict_of(report({unit("eks-node-imds.service", "active", 0, nullptr)}, true)).pass_ended);
    CHECK(cli::verdict_of(report({unit("eks-node-imds.service", "failed", 6, "x")}, false)).pass_ended);
    json held = report({unit("eks-node-imds.service", "active", 0, nullptr)}, true);
    held["warmPool"] = {{"holdingKubelet", true}, {"targetLifecycleState", "Warmed:Running"}};
    cli::Verdict v = cli::verdict_of(held);
    CHECK_THAT(v.line, Catch::Contains("warm pool"));
    CHECK_FALSE(v.pass_ended);
}
