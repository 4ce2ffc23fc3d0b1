// SPDX-License-Identifier: Apache-2.0
// AL2 user data: the variables bootstrap.sh reads from its environment (exported by a
// script, or the shim's process environment) and the edits of bootstrap.sh itself
// (eksctl's --max-pods). The flags: test_bootstrap_sh.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>

#include "bootstrap_sh_support.hpp"
#include "config/support.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "fixtures.hpp"
#include "input/bootstrap_sh.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::cluster_named;
using eksnode::test::script_spec;

namespace {

// A row of tests/data/bootstrap-sh-environment.tsv.
struct EnvRow {
    std::string variable, flag, sample, other, refused;
    std::vector<std::string> with;
};

std::vector<EnvRow> environment_table() {
    const std::string ca = test::ca_base64(), ca2 = test::base64(test::ca_pem + test::ca_pem);
    auto fill = [&](std::string s) {
        for (auto [key, value] : {std::pair<std::string, std::string>{"@CA@", ca}, {"@CA2@", ca2}})
            for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
        return s;
    };
    std::vector<EnvRow> rows;
    for (const std::vector<std::string>& cols : test::tsv_rows("tests/data/bootstrap-sh-environment.tsv", 9)) {
        EnvRow r{cols[0], cols[3], fill(cols[4]), fill(cols[5]), cols[6], {}};
        std::istringstream with(cols[7] == "-" ? "" : fill(cols[7]));
        for (std::string w; with >> w;) r.with.push_back(w);
        rows.push_back(std::move(r));
    }
    return rows;
}

// Two containerd files the script writes before its call, and the shim
// finds on the node.
const std::map<std::string, std::string> containerd_files = {
    {"/etc/containerd/custom.toml", "[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/a\"\n"},
    {"/etc/containerd/other.toml", "[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/b\"\n"},
};

json as_json(const input::Fragment& f) { return {{"spec", f.spec}, {"settings", f.settings}}; }

// The fragment of a script: `prelude`, then the call with `args` after the cluster name.
input::Fragment script_fragment(const std::string& prelude, const std::vector<std::string>& args) {
    std::string script = "#!/bin/bash\n";
    for (const auto& [path, content] : containerd_files) script += "cat > " + path + " <<'EOF'\n" + content + "EOF\n";
    script += prelude + "/etc/eks/bootstrap.sh c";
    for (const std::string& a : args) script += " '" + a + "'";
    std::optional<input::Fragment> f = input::bootstrap_sh::fragment_from_script(script + "\n", "user data");
    REQUIRE(f);
    return *f;
}

// The line of script_fragment()'s prelude.
int prelude_line() {
    int line = 2;
    for (const auto& [path, content] : containerd_files)
        line += 2 + static_cast<int>(std::count(content.begin(), content.end(), '\n'));
    return line;
}

json script_json(const std::string& prelude, const std::vector<std::string>& args) {
    return as_json(script_fragment(prelude, args));
}

// The shim's fragment with `name`=`value` in its environment.
json shim_json(const std::vector<std::string>& args, const std::string& name, const std::string& value) {
    input::bootstrap_sh::FileReader node = [](const std::string& path, std::string& why) -> std::optional<std::string> {
        auto it = containerd_files.find(path);
        if (it != containerd_files.end()) return it->second;
        why = "not on this node";
        return std::nullopt;
    };
    std::string entry = name + "=" + value;
    const char* envp[] = {"PATH=/usr/bin", entry.c_str(), nullptr};
    std::vector<std::string> all = {"c"};
    all.insert(all.end(), args.begin(), args.end());
    return as_json(
        input::bootstrap_sh::fragment_from_args(all, "shim", node, input::bootstrap_sh::inputs_from_environment(envp)));
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The ConfigError of a script: "field: problem".
std::string script_error(const std::string& prelude, const std::vector<std::string>& args) {
    try {
        script_fragment(prelude, args);
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "no error";
}

std::string export_line(const std::string& name, const std::string& value) {
    return "export " + name + "='" + value + "'\n";
}

}  // namespace

TEST_CASE("every variable bootstrap.sh reads from its environment maps as its flag",
          "[config][bootstrap-sh][environment]") {
    std::vector<EnvRow> rows = environment_table();
    // every name the front end reads has a row, and no row is left over
    std::vector<std::string> names;
    for (const EnvRow& r : rows) names.push_back(r.variable);
    CHECK(names == input::bootstrap_sh::environment_names());
    size_t flag_wins_shown = 0;
    for (const EnvRow& r : rows) {
        INFO(r.variable << "=" << r.sample);
        std::vector<std::string> with_flag = plus(r.with, {r.flag, r.sample});
        json exported = script_json(export_line(r.variable, r.sample), r.with);
        if (r.flag != "-") CHECK(exported == script_json("", with_flag));
        else CHECK(exported != script_json("", r.with));
        // the shim, given the same environment, maps it the same
        CHECK(shim_json(r.with, r.variable, r.sample)["spec"] == exported["spec"]);
        CHECK(shim_json(r.with, r.variable, r.sample)["settings"] == exported["settings"]);
        // an empty value is unset, as ${VAR:-default} takes it
        CHECK(script_json(export_line(r.variable, ""), r.with) == script_json("", r.with));
        if (r.flag != "-") {
            // the flag beats the variable
            CHECK(script_json(export_line(r.variable, r.other), with_flag) == script_json("", with_flag));
            if (script_json(export_line(r.variable, r.other), r.with) != exported) ++flag_wins_shown;
        }
        if (r.refused != "-") {
            std::string from_env = script_error(export_line(r.variable, r.refused), r.with);
            std::string from_flag = script_error("", plus(r.with, {r.flag, r.refused}));
            CHECK_THAT(from_env, Catch::StartsWith(r.variable + " in bootstrap.sh's environment (line "));
            REQUIRE(from_flag.find(": ") != std::string::npos);
            CHECK_THAT(from_env, Catch::EndsWith(from_flag.substr(from_flag.find(": "))));
        }
        // not exported, it never reached bootstrap.sh: said, not applied
        json unexported;
        std::string logged = test::logged_at(
            log::Level::warning, [&] { unexported = script_json(r.variable + "='" + r.sample + "'\n", r.with); });
        CHECK(unexported == script_json("", r.with));
        CHECK_THAT(logged,
                   Catch::Contains(r.variable + " is set on line " + std::to_string(prelude_line()) +
                                   " but does not reach bootstrap.sh's environment (not exported): not applied"));
        // exported from a command's output, which only the script's run knows: said, left to
        // the shim (which the row's first checks show maps the real value), not applied
        json computed;
        logged = test::logged_at(log::Level::warning, [&] {
            computed = script_json("export " + r.variable + "=\"$(cat /tmp/" + r.variable + ")\"\n", r.with);
        });
        CHECK(computed == script_json("", r.with));
        CHECK_THAT(logged, Catch::Contains(r.variable + " in bootstrap.sh's environment (line " +
                                           std::to_string(prelude_line()) + "): " + r.variable + " is set on line " +
                                           std::to_string(prelude_line()) + ": $(...) is a command substitution"));
        CHECK_THAT(logged, Catch::Contains("not applied at boot; /etc/eks/bootstrap.sh applies the value"));
    }
    // the samples and others tell the flag from the variable in most rows
    CHECK(flag_wins_shown >= 15);
}

TEST_CASE("the issue's script: exported USE_MAX_PODS and KUBELET_EXTRA_ARGS apply",
          "[config][bootstrap-sh][environment]") {
    json spec = script_spec(
        "#!/bin/bash\nset -ex\nexport USE_MAX_PODS=false\nexport KUBELET_EXTRA_ARGS=\"--max-pods=109 "
        "--node-labels=team=a\"\n/etc/eks/bootstrap.sh c\n");
    CHECK(spec["kubelet"]["config"]["maxPods"] == 109);
    CHECK(spec["kubelet"]["flags"] == json::array({"--max-pods=109", "--node-labels=team=a"}));
    // given on the call's own line, the same; exported later or never, not
    CHECK(script_spec("#!/bin/bash\nUSE_MAX_PODS=false KUBELET_EXTRA_ARGS=--max-pods=109 /etc/eks/bootstrap.sh c\n")
              ["kubelet"]["config"]["maxPods"] == 109);
    CHECK(script_spec("#!/bin/bash\n/etc/eks/bootstrap.sh c\nexport USE_MAX_PODS=false\n") == cluster_named("c"));
    CHECK(script_spec("#!/bin/bash\nUSE_MAX_PODS=false true\n/etc/eks/bootstrap.sh c\n") == cluster_named("c"));
    // an exported value only the script's run can tell is left to the shim, which has it: a
    // warning naming the variable, its line and why, and nothing of it at boot
    json computed;
    std::string logged = test::logged_at(log::Level::warning, [&] {
        computed = script_spec(
            "#!/bin/bash\nexport USE_MAX_PODS=false\nexport KUBELET_EXTRA_ARGS=\"$(cat /tmp/args)\"\n"
            "/etc/eks/bootstrap.sh c\n");
    });
    CHECK_THAT(logged, Catch::Contains("KUBELET_EXTRA_ARGS in bootstrap.sh's environment (line 3): KUBELET_EXTRA_ARGS "
                                       "is set on line 3: $(...) is a command substitution"));
    CHECK_THAT(logged, Catch::Contains("not applied at boot; /etc/eks/bootstrap.sh applies the value"));
    CHECK_FALSE(computed["kubelet"].contains("flags"));
    CHECK(computed["kubelet"]["config"]["maxPods"] == 110);  // USE_MAX_PODS=false, no --max-pods
    // ... unless the call's flag makes it irrelevant
    CHECK(script_spec("#!/bin/bash\nexport KUBELET_EXTRA_ARGS=\"$(cat /tmp/args)\"\n/etc/eks/bootstrap.sh c "
                      "--kubelet-extra-args --v=2\n")["kubelet"]["flags"] == json::array({"--v=2"}));
}

TEST_CASE("PAUSE_CONTAINER_IMAGE is the pause repository, tagged as bootstrap.sh tags it",
          "[config][bootstrap-sh][environment]") {
    const std::string repo = "123456789012.dkr.ecr.us-west-2.amazonaws.com/eks/pause";
    input::Fragment f = script_fragment("export PAUSE_CONTAINER_IMAGE=" + repo + "\n", {});
    CHECK(f.settings["containerd"]["sandboxImage"] == repo + ":3.5");
    config::validate_fragment(f);
    input::Fragment tagged =
        script_fragment("export PAUSE_CONTAINER_IMAGE=" + repo + "\n", {"--pause-container-version", "3.9"});
    CHECK(tagged.settings["containerd"]["sandboxImage"] == repo + ":3.9");
}

TEST_CASE("IS_LOCAL_OUTPOST_DETECTED counts only where bootstrap.sh does not call DescribeCluster",
          "[config][bootstrap-sh][environment]") {
    // without the endpoint and the CA, DescribeCluster's branch sets it first
    CHECK(script_spec("#!/bin/bash\nexport IS_LOCAL_OUTPOST_DETECTED=true\n/etc/eks/bootstrap.sh c\n") ==
          cluster_named("c"));
}

namespace {

// Two shell parts, in the order cloud-init runs them.
std::string two_parts(const std::string& first, const std::string& second) {
    return "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\n"
           "Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\n" +
           first + "\n--//\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n" + second + "\n--//--\n";
}

const std::string eksctl_edit =
    "#!/bin/sh\nset -ex\nsed -i 's/KUBELET_EXTRA_ARGS=$2/KUBELET_EXTRA_ARGS=\"$2 --max-pods=58\"/' "
    "/etc/eks/bootstrap.sh\n";

// What the boot reads of the user data: its one fragment's spec.
json user_data_spec(const std::string& user_data) {
    std::vector<input::Fragment> fs = fragments_from_user_data(user_data);
    REQUIRE(fs.size() == 1);
    return fs[0].spec;
}

}  // namespace

TEST_CASE("eksctl's --max-pods edit of bootstrap.sh applies to the call after it", "[config][bootstrap-sh][edits]") {
    const std::string call = "#!/bin/bash\n/etc/eks/bootstrap.sh c --kubelet-extra-args '--node-labels=a=b'\n";
    json spec = user_data_spec(two_parts(eksctl_edit, call));
    CHECK(spec["kubelet"]["flags"] == json::array({"--node-labels=a=b", "--max-pods=58"}));
    // the shim finds the same edit in the user data, and maps the call the same
    input::bootstrap_sh::Edits edits;
    CHECK(
        input::bootstrap_sh::fragments_from_user_data_without_scripts(two_parts(eksctl_edit, call), "user data", &edits)
            .empty());
    CHECK(edits.after_flag == " --max-pods=58");
    input::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
        return std::nullopt;
    };
    CHECK(input::bootstrap_sh::fragment_from_args({"c", "--kubelet-extra-args", "--node-labels=a=b"}, "shim", none,
                                                  {{}, edits})
              .spec == spec);
    // with USE_MAX_PODS=false, it is the node's maxPods
    json counted = user_data_spec(two_parts(
        eksctl_edit, "#!/bin/bash\n/etc/eks/bootstrap.sh c --use-max-pods false --kubelet-extra-args --v=2\n"));
    CHECK(counted["kubelet"]["config"]["maxPods"] == 58);
    // eksctl's edit changes the flag loop's line: without the flag it does nothing, as on AL2
    std::string logged = test::logged_at(log::Level::warning, [&] {
        CHECK(user_data_spec(two_parts(eksctl_edit, "#!/bin/bash\n/etc/eks/bootstrap.sh c\n")) == cluster_named("c"));
    });
    CHECK_THAT(logged, Catch::Contains("the call passes no --kubelet-extra-args: no effect"));
    // after the call it comes too late
    logged = test::logged_at(log::Level::warning, [&] {
        CHECK(user_data_spec(two_parts(call, eksctl_edit))["kubelet"]["flags"] == json::array({"--node-labels=a=b"}));
    });
    CHECK_THAT(logged, Catch::Contains("user data (MIME part 2, text/x-shellscript) edits /etc/eks/bootstrap.sh on "
                                       "line 3: eks-node does not run that file; the edit has no effect"));
}

TEST_CASE("the reported -E form of the edit adds --max-pods to KUBELET_EXTRA_ARGS", "[config][bootstrap-sh][edits]") {
    const std::string edit =
        "sed -i -E \"s/^KUBELET_EXTRA_ARGS=\\\"\\$\\{KUBELET_EXTRA_ARGS:-\\}/KUBELET_EXTRA_ARGS=\\\"\\$\\{"
        "KUBELET_EXTRA_ARGS:-\\} --max-pods=42/\" /etc/eks/bootstrap.sh\n";
    json spec = script_spec("#!/bin/bash\n" + edit + "export USE_MAX_PODS=false\n/etc/eks/bootstrap.sh c\n");
    CHECK(spec["kubelet"]["config"]["maxPods"] == 42);
    CHECK(spec["kubelet"]["flags"] == json::array({"--max-pods=42"}));
    // after the variable's value, however it came
    CHECK(script_spec("#!/bin/bash\n" + edit +
                      "/etc/eks/bootstrap.sh c --kubelet-extra-args --v=2\n")["kubelet"]["flags"] ==
          json::array({"--v=2", "--max-pods=42"}));
}

TEST_CASE("other writes to bootstrap.sh are warned of, reads are not", "[config][bootstrap-sh][edits]") {
    struct Case {
        std::string line;
        std::string warning;  // "" for none
    };
    const std::string edits =
        "edits /etc/eks/bootstrap.sh on line 2: eks-node does not run that file; the edit has no effect";
    auto c = GENERATE_REF(values<Case>({
        {"sed -i 's/a/b/' /etc/eks/bootstrap.sh", edits},
        {"sed -i.bak -e 's/x/y/' /etc/eks/bootstrap.sh", edits},
        {"cat > /etc/eks/bootstrap.sh <<'EOF'\necho hi\nEOF", edits},
        {"echo 'source /etc/profile.d/x.sh' >> /etc/eks/bootstrap.sh", edits},
        {"printf x | tee -a /etc/eks/bootstrap.sh", edits},
        {"cp /tmp/mine.sh /etc/eks/bootstrap.sh", edits},
        {"ln -sf /tmp/mine.sh /etc/eks/bootstrap.sh", edits},
        {"mv /etc/eks/bootstrap.sh /etc/eks/bootstrap.sh.orig", edits},
        {"curl -sSo /etc/eks/bootstrap.sh https://example.com/b.sh", edits},
        {"sudo perl -pi -e 's/a/b/' /etc/eks/bootstrap.sh", edits},
        {"vim -c wq /etc/eks/bootstrap.sh", "runs vim on /etc/eks/bootstrap.sh on line 2"},
        {"chmod +x /etc/eks/bootstrap.sh", ""},
        {"cat /etc/eks/bootstrap.sh", ""},
        {"grep -q KUBELET /etc/eks/bootstrap.sh", ""},
        {"cp /etc/eks/bootstrap.sh /tmp/copy.sh", ""},
        {"sed -n 1p /etc/eks/bootstrap.sh", ""},
        {"[ -x /etc/eks/bootstrap.sh ]", ""},
    }));
    INFO(c.line);
    std::string logged = test::logged_at(log::Level::warning, [&] {
        CHECK(script_spec("#!/bin/bash\n" + c.line + "\n/etc/eks/bootstrap.sh c\n") == cluster_named("c"));
    });
    if (c.warning.empty()) CHECK(logged.find("bootstrap.sh") == std::string::npos);
    else CHECK_THAT(logged, Catch::Contains("user data " + c.warning));
}

TEST_CASE("the shim takes bootstrap.sh's variables from its process environment",
          "[config][bootstrap-sh][environment]") {
    const char* envp[] = {"PATH=/usr/bin", "USE_MAX_PODS=false", "KUBELET_EXTRA_ARGS=--max-pods=20",
                          "NOT_AN_ENTRY",  "HOME=/root",         nullptr};
    input::bootstrap_sh::Inputs in = input::bootstrap_sh::inputs_from_environment(envp);
    REQUIRE(in.environment.size() == 2);
    CHECK(in.environment["USE_MAX_PODS"].value == "false");
    CHECK(in.environment["KUBELET_EXTRA_ARGS"].value == "--max-pods=20");
    input::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
        return std::nullopt;
    };
    CHECK(input::bootstrap_sh::fragment_from_args({"c"}, "shim", none, in).spec["kubelet"]["config"]["maxPods"] == 20);
}
