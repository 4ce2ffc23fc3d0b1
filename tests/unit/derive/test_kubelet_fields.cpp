// SPDX-License-Identifier: Apache-2.0
// spec.kubelet.config against the kubelet's own fields (derive/kubelet_fields.hpp,
// data/kubelet-config-fields.tsv): typos with the nearest name, fields of a newer
// kubelet with their minor, nested fields, and clients' real maps clean at every minor.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/table.hpp"
#include "derive/kubelet_fields.hpp"
#include "derive/tables.hpp"
#include "fixtures.hpp"

using namespace eksnode;
using derive::kubelet_field_problems;
using derive::KubeletFieldProblem;
namespace tables = eksnode::derive::tables;

namespace {

std::string kubelet_version_of(int minor) { return fmt::format("1.{}.0", minor); }

std::vector<std::string> kubelet_problem_fields(const std::vector<KubeletFieldProblem>& problems) {
    std::vector<std::string> out;
    for (const KubeletFieldProblem& p : problems) out.push_back(p.field);
    return out;
}

const tables::KubeletField* kubelet_table_row(std::string_view path) {
    for (const tables::KubeletField& f : derive::tables::kubelet_config_fields)
        if (f.path == path) return &f;
    return nullptr;
}

// kubelet.config as Karpenter writes it from an EC2NodeClass's spec.kubelet
// (karpenter-provider-aws: each field of its KubeletConfiguration, by its
// JSON name, values as a NodeClass gives them).
json karpenter_kubelet_config() {
    return json::parse(R"({
        "maxPods": 110,
        "podsPerCore": 4,
        "systemReserved": {"cpu": "100m", "memory": "100Mi", "ephemeral-storage": "1Gi"},
        "kubeReserved": {"cpu": "200m", "memory": "100Mi", "ephemeral-storage": "3Gi"},
        "evictionHard": {"memory.available": "5%", "nodefs.available": "10%", "nodefs.inodesFree": "10%"},
        "evictionSoft": {"memory.available": "500Mi", "nodefs.available": "15%", "nodefs.inodesFree": "15%"},
        "evictionSoftGracePeriod": {"memory.available": "1m", "nodefs.available": "1m30s",
                                    "nodefs.inodesFree": "2m"},
        "evictionMaxPodGracePeriod": 60,
        "imageGCHighThresholdPercent": 85,
        "imageGCLowThresholdPercent": 80,
        "cpuCFSQuota": true,
        "clusterDNS": ["10.0.1.100"]
    })");
}

}  // namespace

TEST_CASE("a typo is warned with the nearest field of that kubelet", "[derive][kubelet-fields]") {
    json config = {{"maxPods", 20}, {"evictionHardd", {{"memory.available", "5%"}}}};
    std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, "1.33.4");
    REQUIRE(p.size() == 1);
    CHECK(p[0].field == "spec.kubelet.config.evictionHardd");
    CHECK(p[0].pointer == "/spec/kubelet/config/evictionHardd");
    CHECK(p[0].nearest == "evictionHard");
    CHECK(p[0].problem == "not a field of kubelet 1.33: did you mean evictionHard?");
    CHECK_FALSE(p[0].note);
    // letter case is a typo too: kubelet's JSON names are matched exactly
    p = kubelet_field_problems({{"MaxPods", 20}}, "1.33.0");
    REQUIRE(p.size() == 1);
    CHECK(p[0].nearest == "maxPods");
    // nothing near: no guess offered
    p = kubelet_field_problems({{"xyzzyQuux", 1}}, "1.33.0");
    REQUIRE(p.size() == 1);
    CHECK(p[0].nearest.empty());
    CHECK(p[0].problem == "not a field of kubelet 1.33");
}

TEST_CASE("a field of a newer kubelet is warned with the minor that added it", "[derive][kubelet-fields]") {
    json config = {{"crashLoopBackOff", {{"maxContainerRestartPeriod", "1m"}}}, {"maxPods", 10}};
    std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, "v1.31.2-eks-1");
    // one warning: what is below a field the kubelet lacks is not checked again
    REQUIRE(p.size() == 1);
    CHECK(p[0].field == "spec.kubelet.config.crashLoopBackOff");
    CHECK(p[0].problem == "a kubelet 1.32 field; this node's kubelet is 1.31");
    CHECK(p[0].nearest.empty());
    CHECK(kubelet_field_problems(config, "1.32.0").empty());
}

TEST_CASE("every field the table says a minor added is warned before it and clean from it on",
          "[derive][kubelet-fields]") {
    const tables::KubeletMinors minors = derive::tables::kubelet_config_minors;
    size_t added = 0;
    for (const tables::KubeletField& f : derive::tables::kubelet_config_fields) {
        if (f.first_minor == minors.oldest || f.path.find_first_of(".[") != std::string_view::npos) continue;
        ++added;
        const json config = {{std::string(f.path), json::object()}};
        CAPTURE(f.path);
        std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, kubelet_version_of(f.first_minor - 1));
        REQUIRE(p.size() == 1);
        CHECK(p[0].problem ==
              fmt::format("a kubelet 1.{} field; this node's kubelet is 1.{}", f.first_minor, f.first_minor - 1));
        CHECK(kubelet_field_problems(config, kubelet_version_of(f.first_minor)).empty());
    }
    // the table has fields added after its oldest minor (else this test says nothing)
    CHECK(added > 0);
}

TEST_CASE("Karpenter's kubelet map is clean for every kubelet minor of the table", "[derive][kubelet-fields]") {
    const tables::KubeletMinors minors = derive::tables::kubelet_config_minors;
    CHECK(minors.oldest <= 29);
    CHECK(minors.newest >= 36);
    const json config = karpenter_kubelet_config();
    for (int minor = minors.oldest; minor <= minors.newest; ++minor) {
        CAPTURE(minor);
        CHECK(kubelet_field_problems(config, kubelet_version_of(minor)).empty());
    }
    // and with the kubelet not known: no warning and no note either
    CHECK(kubelet_field_problems(config, std::nullopt).empty());
    // the same map with one of its keys misspelt is not clean (the check above can fail)
    json typo = config;
    typo["podsPerCores"] = typo["podsPerCore"];
    typo.erase("podsPerCore");
    CHECK(kubelet_problem_fields(kubelet_field_problems(typo, "1.36.0")) ==
          std::vector<std::string>{"spec.kubelet.config.podsPerCores"});
}

TEST_CASE("nested fields: structs and lists of structs are checked, maps and other types are not",
          "[derive][kubelet-fields]") {
    json config = json::parse(R"({
        "authentication": {"x509": {"clientCAFil": "/etc/ca.crt"}, "webhook": {"enabled": true}},
        "authorization": {"mode": "Webhook", "webhok": {}},
        "shutdownGracePeriodByPodPriority": [
            {"priority": 0, "shutdownGracePeriodSeconds": 30},
            {"priorty": 100000, "shutdownGracePeriodSeconds": 60}
        ],
        "evictionHard": {"memory.availablee": "5%"},
        "featureGates": {"NoSuchGate": true},
        "logging": {"format": "json", "anyKey": 1},
        "reservedMemory": [{"numaNode": 0, "limits": {"memory": "1Gi"}}]
    })");
    std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, "1.34.0");
    CHECK(kubelet_problem_fields(p) == std::vector<std::string>{
                                           "spec.kubelet.config.authentication.x509.clientCAFil",
                                           "spec.kubelet.config.authorization.webhok",
                                           "spec.kubelet.config.shutdownGracePeriodByPodPriority[1].priorty",
                                       });
    REQUIRE(p.size() == 3);
    CHECK(p[0].nearest == "clientCAFile");
    CHECK(p[0].pointer == "/spec/kubelet/config/authentication/x509/clientCAFil");
    CHECK(p[1].nearest == "webhook");
    CHECK(p[2].nearest == "priority");
    CHECK(p[2].pointer == "/spec/kubelet/config/shutdownGracePeriodByPodPriority/1/priorty");
    // the nested rows this relies on are in the table
    CHECK(kubelet_table_row("authentication.x509.clientCAFile"));
    CHECK(kubelet_table_row("shutdownGracePeriodByPodPriority[].priority"));
    CHECK_FALSE(kubelet_table_row("logging.format"));  // component-base's type: not below
}

TEST_CASE("a kubelet not known: typos warned against every minor, newer fields only noted",
          "[derive][kubelet-fields]") {
    const tables::KubeletMinors minors = derive::tables::kubelet_config_minors;
    json config = {{"evictionHardd", json::object()}, {"crashLoopBackOff", json::object()}};
    std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, std::nullopt);
    REQUIRE(p.size() == 2);
    CHECK(p[0].field == "spec.kubelet.config.evictionHardd");
    CHECK_FALSE(p[0].note);
    CHECK(p[0].problem == fmt::format("not a field of any kubelet from 1.{} to 1.{}: did you mean evictionHard?",
                                      minors.oldest, minors.newest));
    CHECK(p[1].field == "spec.kubelet.config.crashLoopBackOff");
    CHECK(p[1].note);
    CHECK(p[1].problem == "a kubelet 1.32 field: a node whose kubelet is older does not know it");
    // a version that is no 1.N version is not known either
    CHECK(kubelet_field_problems(config, std::string("garbage")).size() == 2);
    CHECK(kubelet_field_problems(config, std::string("garbage"))[1].note);
}

TEST_CASE("kubelets outside the table's minors are held against its nearest minor", "[derive][kubelet-fields]") {
    const tables::KubeletMinors minors = derive::tables::kubelet_config_minors;
    // newer than the table: a key it does not know may be that kubelet's, and the warning says so
    std::vector<KubeletFieldProblem> p =
        kubelet_field_problems({{"evictionHardd", 1}}, kubelet_version_of(minors.newest + 1));
    REQUIRE(p.size() == 1);
    CHECK(p[0].problem == fmt::format("not a field of kubelet 1.{}: did you mean evictionHard? (eks-node's table of "
                                      "kubelet's fields goes from 1.{} to 1.{})",
                                      minors.newest + 1, minors.oldest, minors.newest));
    // older: a field the table says came later is certain
    p = kubelet_field_problems({{"crashLoopBackOff", json::object()}}, kubelet_version_of(minors.oldest - 1));
    REQUIRE(p.size() == 1);
    CHECK(p[0].problem == fmt::format("a kubelet 1.32 field; this node's kubelet is 1.{}", minors.oldest - 1));
}

TEST_CASE("a field removed from kubelet is warned with the last minor that had it", "[derive][kubelet-fields]") {
    // the real table has no removal between its minors: a table of its own
    static constexpr tables::KubeletField rows[] = {
        {"maxPods", 29, 0},
        {"oldKnob", 29, 31},
    };
    const tables::KubeletMinors minors{29, 36};
    const json config = {{"oldKnob", true}, {"maxPods", 1}};
    std::vector<KubeletFieldProblem> p = kubelet_field_problems(config, "1.33.0", rows, minors);
    REQUIRE(p.size() == 1);
    CHECK(p[0].field == "spec.kubelet.config.oldKnob");
    CHECK(p[0].problem == "removed from kubelet after 1.31; this node's kubelet is 1.33");
    CHECK(kubelet_field_problems(config, "1.31.0", rows, minors).empty());
    // not known: a note
    p = kubelet_field_problems(config, std::nullopt, rows, minors);
    REQUIRE(p.size() == 1);
    CHECK(p[0].note);
    CHECK(p[0].problem == "removed from kubelet after 1.31: a node whose kubelet is newer does not know it");
    // a typo's nearest name is one this kubelet has: not the removed one
    p = kubelet_field_problems({{"oldKnb", 1}}, "1.33.0", rows, minors);
    REQUIRE(p.size() == 1);
    CHECK(p[0].nearest.empty());
    p = kubelet_field_problems({{"oldKnb", 1}}, "1.30.0", rows, minors);
    REQUIRE(p.size() == 1);
    CHECK(p[0].nearest == "oldKnob");
}

TEST_CASE("kubelet_minor reads 1.N versions only", "[derive][kubelet-fields]") {
    CHECK(derive::kubelet_minor("1.33.4") == 33);
    CHECK(derive::kubelet_minor("v1.29.0-eks-5e0fdde") == 29);
    CHECK(derive::kubelet_minor("1.30") == 30);
    CHECK(derive::kubelet_minor("1.30+abc") == 30);
    CHECK_FALSE(derive::kubelet_minor("2.1.0"));
    CHECK_FALSE(derive::kubelet_minor("1.x"));
    CHECK_FALSE(derive::kubelet_minor("1.3a"));
    CHECK_FALSE(derive::kubelet_minor(""));
}

TEST_CASE("the compiled table: sorted, each once, minors within its range", "[derive][kubelet-fields][data]") {
    const tables::KubeletMinors minors = derive::tables::kubelet_config_minors;
    const auto rows = derive::tables::kubelet_config_fields;
    REQUIRE(rows.size() > 100);
    for (size_t i = 0; i < rows.size(); ++i) {
        CAPTURE(rows[i].path);
        if (i > 0) CHECK(rows[i - 1].path < rows[i].path);
        CHECK(rows[i].first_minor >= minors.oldest);
        CHECK(rows[i].first_minor <= minors.newest);
        if (rows[i].last_minor != 0) CHECK(rows[i].last_minor >= rows[i].first_minor);
        if (rows[i].last_minor != 0) CHECK(rows[i].last_minor < minors.newest);
    }
    // what eks-node itself writes into kubelet's configuration is there at every minor
    for (std::string_view f : {"apiVersion", "kind", "authentication", "authorization", "cgroupDriver", "clusterDNS",
                               "clusterDomain", "containerRuntimeEndpoint", "evictionHard", "featureGates",
                               "kubeReserved", "maxPods", "providerID", "serverTLSBootstrap"}) {
        CAPTURE(f);
        const tables::KubeletField* row = kubelet_table_row(f);
        REQUIRE(row);
        CHECK(row->first_minor == minors.oldest);
        CHECK(row->last_minor == 0);
    }
}

// tests/data/kubelet-fields-compat.tsv, row by row.
TEST_CASE("kubelet-fields-compat.tsv: each case as the table says", "[derive][kubelet-fields]") {
    const std::string text = eksnode::read_file(test::source_path("tests/data/kubelet-fields-compat.tsv"));
    size_t rows = 0;
    for (const eksnode::table::Row& row : eksnode::table::rows(text, "tests/data/kubelet-fields-compat.tsv", 5)) {
        const std::vector<std::string>& cols = row.cells;
        CAPTURE(row.text);
        ++rows;
        const std::optional<std::string> version = cols[0] == "-" ? std::nullopt : std::optional<std::string>(cols[0]);
        const std::vector<KubeletFieldProblem> p = kubelet_field_problems(json::parse(cols[1]), version);
        if (cols[2] == "clean") {
            CHECK(p.empty());
            continue;
        }
        REQUIRE((cols[2] == "warning" || cols[2] == "note"));
        REQUIRE(p.size() == 1);
        CHECK(p[0].note == (cols[2] == "note"));
        CHECK(p[0].field == cols[3]);
        CHECK(p[0].problem == cols[4]);
    }
    CHECK(rows > 10);
}
