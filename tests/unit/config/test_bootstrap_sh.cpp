// SPDX-License-Identifier: Apache-2.0
// AL2 user data: the mapping of bootstrap.sh's flags (config/bootstrap_sh.hpp),
// from the shim's arguments and from a script's call. How scripts are read is
// test_shell.cpp's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>

#include "config/bootstrap_sh.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "fixtures.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;

namespace {

const std::string endpoint = "https://ABCD.gr7.us-west-2.eks.amazonaws.com";

// The spec a script's call maps to. Its settings hold at most where the
// service CIDR comes from (the flags without one say how bootstrap.sh found
// it); the tests below of the pause image and the CIDR strategy check them.
json spec_of(std::string_view script) {
    std::optional<config::Fragment> f = config::bootstrap_sh::fragment_from_script(script, "user data");
    REQUIRE(f);
    json rest = f->settings;
    rest.erase("serviceCidrStrategy");
    CHECK(rest == json::object());
    return f->spec;
}

config::Fragment fragment_of_args(const std::vector<std::string>& args) {
    config::bootstrap_sh::FileReader none = [](const std::string&, std::string& why) -> std::optional<std::string> {
        why = "no files here";
        return std::nullopt;
    };
    return config::bootstrap_sh::fragment_from_args(args, "test", none);
}

json spec_of_args(const std::vector<std::string>& args) { return fragment_of_args(args).spec; }

// settings.serviceCidrStrategy of a call, "" when it sets none.
std::string strategy_of_args(const std::vector<std::string>& args) {
    return fragment_of_args(args).settings.value("serviceCidrStrategy", "");
}

// The error a script gives: "field: problem".
std::string error_of(std::string_view script) {
    try {
        config::bootstrap_sh::fragment_from_script(script, "user data");
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "no error";
}

json named(std::string_view name) { return {{"cluster", {{"name", name}}}}; }

}  // namespace

TEST_CASE("a name-only bootstrap.sh call maps to just the cluster name", "[config][bootstrap-sh]") {
    CHECK(spec_of("#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster\n") == named("my-cluster"));
    CHECK(spec_of_args({"my-cluster"}) == named("my-cluster"));
}

TEST_CASE("scripts without a bootstrap.sh call yield nothing", "[config][bootstrap-sh]") {
    for (std::string_view s :
         {"#!/bin/bash\necho hi\n", "#!/bin/sh\n# /etc/eks/bootstrap.sh c\n",
          "#!/bin/sh\necho /etc/eks/bootstrap.sh c\n", "#!/bin/sh\ncat <<EOF\n/etc/eks/bootstrap.sh c\nEOF\n"}) {
        INFO(s);
        CHECK_FALSE(config::bootstrap_sh::fragment_from_script(s, "user data"));
    }
}

TEST_CASE("a script's call maps as the shim's arguments do", "[config][bootstrap-sh]") {
    std::string ca = test::ca_base64();
    std::string script =
        "#!/bin/bash\nset -ex\nB64_CLUSTER_CA=" + ca + "\nAPI_SERVER_URL=" + endpoint +
        "\nK8S_CLUSTER_DNS_IP=10.100.0.10\n/etc/eks/bootstrap.sh prod --b64-cluster-ca $B64_CLUSTER_CA "
        "--apiserver-endpoint $API_SERVER_URL --dns-cluster-ip $K8S_CLUSTER_DNS_IP "
        "--kubelet-extra-args '--node-labels=env=prod,team=a -v 2'\n";
    json expected = {
        {"cluster",
         {{"name", "prod"}, {"apiServerEndpoint", endpoint}, {"certificateAuthority", ca}, {"cidr", "10.100.0.0/16"}}},
        {"kubelet", {{"flags", {"--node-labels=env=prod,team=a", "--v=2"}}}}};
    CHECK(spec_of(script) == expected);
    CHECK(spec_of_args({"prod", "--b64-cluster-ca", ca, "--apiserver-endpoint", endpoint, "--dns-cluster-ip",
                        "10.100.0.10", "--kubelet-extra-args", "--node-labels=env=prod,team=a -v 2"}) == expected);
}

TEST_CASE("every AL2 flag maps onto the model", "[config][bootstrap-sh]") {
    SECTION("--use-max-pods false leaves maxPods to kubelet's flag or default") {
        CHECK(spec_of_args({"c", "--use-max-pods", "false"}) ==
              json{{"cluster", {{"name", "c"}}}, {"kubelet", {{"config", {{"maxPods", 110}}}}}});
        CHECK(
            spec_of_args({"c", "--use-max-pods", "false", "--kubelet-extra-args", "--max-pods=58 --node-labels=a=b"}) ==
            json{{"cluster", {{"name", "c"}}},
                 {"kubelet", {{"flags", {"--max-pods=58", "--node-labels=a=b"}}, {"config", {{"maxPods", 58}}}}}});
        CHECK(spec_of_args({"c", "--use-max-pods", "true"}) == named("c"));
    }
    SECTION("DNS address and service CIDRs") {
        CHECK(spec_of_args({"c", "--dns-cluster-ip", "172.20.0.10"})["cluster"]["cidr"] == "172.20.0.0/16");
        json local_dns = spec_of_args({"c", "--dns-cluster-ip", "169.254.20.10"});
        CHECK(local_dns["cluster"]["cidr"] == "169.254.20.0/24");
        CHECK_FALSE(local_dns.contains("kubelet"));
        json custom = spec_of_args({"c", "--service-ipv4-cidr", "10.50.0.0/16", "--dns-cluster-ip", "169.254.20.10"});
        CHECK(custom["cluster"]["cidr"] == "10.50.0.0/16");
        CHECK(custom["kubelet"]["config"]["clusterDNS"] == json::array({"169.254.20.10"}));
        // the CIDR's own DNS address (network + 10, whatever the CIDR is written as) is not repeated
        CHECK(spec_of_args({"c", "--service-ipv4-cidr", "10.50.3.7/16", "--dns-cluster-ip", "10.50.0.10"}) ==
              json{{"cluster", {{"name", "c"}, {"cidr", "10.50.3.7/16"}}}});
        CHECK(spec_of_args({"c", "--service-ipv4-cidr", "10.50.3.7/16", "--dns-cluster-ip",
                            "10.50.3.10"})["kubelet"]["config"]["clusterDNS"] == json::array({"10.50.3.10"}));
        CHECK_THROWS_WITH(spec_of_args({"c", "--service-ipv4-cidr", "10.0.0.0/29", "--dns-cluster-ip", "10.0.0.3"}),
                          Catch::Contains("\"10.0.0.0/29\" is too small to hold the cluster DNS address"));
        json v6 = spec_of_args({"c", "--ip-family", "IPv6", "--service-ipv6-cidr", "fd30:1c53:5f8a::/108",
                                "--dns-cluster-ip", "10.100.0.10"});
        CHECK(v6 == json{{"cluster", {{"name", "c"}, {"cidr", "fd30:1c53:5f8a::/108"}}}});
        CHECK(spec_of_args({"c", "--ip-family", "ipv6"}) == named("c"));
    }
    SECTION("Outposts, local disks and accepted no-ops") {
        CHECK(spec_of_args({"c", "--enable-local-outpost", "true", "--cluster-id", "0123abcd-aaaa", "--local-disks",
                            "raid0", "--mount-bpf-fs", "false", "--aws-api-retry-attempts", "5", "--container-runtime",
                            "containerd"}) ==
              json{{"cluster", {{"name", "c"}, {"enableOutpost", true}, {"id", "0123abcd-aaaa"}}},
                   {"instance", {{"localStorage", {{"strategy", "RAID0"}}}}}});
        CHECK(spec_of_args({"c", "--local-disks", "mount"})["instance"]["localStorage"]["strategy"] == "Mount");
    }
    SECTION("the pause image's account and tag become settings") {
        config::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
            return std::nullopt;
        };
        config::Fragment f = config::bootstrap_sh::fragment_from_args(
            {"c", "--pause-container-account", "123456789012", "--pause-container-version", "3.9"}, "test", none);
        CHECK(f.spec == named("c"));
        CHECK(f.settings == json{{"serviceCidrStrategy", "describe-cluster-or-vpc"},
                                 {"containerd", {{"pauseAccount", "123456789012"}, {"pauseTag", "3.9"}}}});
    }
    SECTION("repeated flags: the last wins, as in bootstrap.sh") {
        CHECK(spec_of_args({"c", "--local-disks", "mount",
                            "--local-disks=raid10"})["instance"]["localStorage"]["strategy"] == "RAID10");
    }
}

TEST_CASE("without a service CIDR or DNS address, the CIDR comes the way bootstrap.sh found it",
          "[config][bootstrap-sh][al2]") {
    const std::string ca = test::ca_base64();
    // endpoint and CA given: bootstrap.sh never called EKS, it read the VPC's CIDRs from IMDS
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", endpoint}) == "vpc");
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", endpoint, "--ip-family", "ipv4"}) ==
          "vpc");
    // either missing: it called DescribeCluster and used its CIDR, else the VPC's
    CHECK(strategy_of_args({"c"}) == "describe-cluster-or-vpc");
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca}) == "describe-cluster-or-vpc");
    CHECK(strategy_of_args({"c", "--apiserver-endpoint", endpoint}) == "describe-cluster-or-vpc");
    // a CIDR or a DNS address given: the CIDR is known, no strategy
    CHECK(strategy_of_args(
              {"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", endpoint, "--service-ipv4-cidr", "10.50.0.0/16"})
              .empty());
    CHECK(strategy_of_args(
              {"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", endpoint, "--dns-cluster-ip", "10.100.0.10"})
              .empty());
    // IPv6: bootstrap.sh never derived from the VPC (the CIDR is required, or comes from DescribeCluster)
    CHECK(strategy_of_args({"c", "--ip-family", "ipv6"}).empty());
    CHECK(strategy_of_args({"c", "--service-ipv6-cidr", "fd30:1c53:5f8a::/108"}).empty());
    // and a script's call says the same as the shim's arguments
    std::optional<config::Fragment> f = config::bootstrap_sh::fragment_from_script(
        "#!/bin/bash\n/etc/eks/bootstrap.sh c --b64-cluster-ca " + ca + " --apiserver-endpoint " + endpoint + "\n",
        "user data");
    REQUIRE(f);
    CHECK(f->settings == json{{"serviceCidrStrategy", "vpc"}});
    CHECK_FALSE(f->spec["cluster"].contains("cidr"));
    config::validate_fragment(*f);  // the setting is one the schema knows
}

TEST_CASE("--containerd-config-file comes from the script's own here-document", "[config][bootstrap-sh]") {
    std::string head = "#!/bin/bash\nREG=/etc/containerd/certs.d\n";
    std::string call = "/etc/eks/bootstrap.sh c --containerd-config-file /etc/containerd/custom.toml\n";
    json expected = {
        {"cluster", {{"name", "c"}}},
        {"containerd",
         {{"config",
           {{"plugins",
             {{"io.containerd.grpc.v1.cri", {{"registry", {{"config_path", "/etc/containerd/certs.d"}}}}}}}}}}}};
    auto body = GENERATE_REF(values<std::string>({
        "cat > /etc/containerd/custom.toml <<'EOF'\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
        "config_path = \"/etc/containerd/certs.d\"\nEOF\n",
        "cat <<EOF >/etc/containerd/custom.toml\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
        "config_path = \"$REG\"\nEOF\n",
        "mkdir -p /etc/containerd; tee /etc/containerd/custom.toml >/dev/null "
        "<<-EOF\n\t[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
        "\tconfig_path = \"${REG}\"\n\tEOF\n",
    }));
    INFO(body);
    CHECK(spec_of(head + body + call) == expected);
    CHECK_THAT(error_of(head + call), Catch::Contains("--containerd-config-file") &&
                                          Catch::Contains("is not written by the script before the call"));
    CHECK_THAT(error_of(head + call + body), Catch::Contains("is not written by the script before the call"));
}

TEST_CASE("docker-era flags are ignored with a warning, as AL2 did under containerd", "[config][bootstrap-sh]") {
    // AL2's bootstrap.sh warned and the node joined (kubelet >= 1.24); a
    // leftover flag must not fail the boot. The value is never logged: a
    // docker config.json can carry registry credentials.
    const std::string secret = "{\"auths\":{\"r.example\":{\"auth\":\"c2VjcmV0\"}}}";
    json spec;
    std::string logged = test::logged_at(log::Level::warning, [&] {
        spec = spec_of("/etc/eks/bootstrap.sh c --enable-docker-bridge true --docker-config-json '" + secret + "'");
    });
    CHECK(spec == named("c"));
    CHECK_THAT(logged, Catch::Contains("bootstrap.sh --enable-docker-bridge: ignored") &&
                           Catch::Contains("bootstrap.sh --docker-config-json: ignored"));
    CHECK(logged.find("c2VjcmV0") == std::string::npos);
    // --container-runtime dockerd asks for a runtime eks-node cannot give: still exit 6.
    CHECK_THAT(error_of("/etc/eks/bootstrap.sh c --container-runtime dockerd"),
               Catch::Contains("dockerd is not supported"));
}

TEST_CASE("AWS's user-data logging line does not stop the reading", "[config][bootstrap-sh]") {
    CHECK(spec_of("#!/bin/bash\nset -ex\n"
                  "exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n"
                  "/etc/eks/bootstrap.sh c\n") == named("c"));
}

TEST_CASE("bootstrap.sh calls eks-node refuses, naming the flag", "[config][bootstrap-sh]") {
    struct Bad {
        std::string script, error;
    };
    auto c = GENERATE_REF(values<Bad>({
        {"/etc/eks/bootstrap.sh c --container-runtime dockerd",
         "bootstrap.sh --container-runtime: dockerd is not supported"},
        {"/etc/eks/bootstrap.sh c --pause-container-account 12345678901",
         "bootstrap.sh --pause-container-account: \"12345678901\" is not a 12-digit AWS account ID"},
        {"/etc/eks/bootstrap.sh c --pause-container-version 'bad tag'",
         "bootstrap.sh --pause-container-version: \"bad tag\" is not an image tag"},
        {"/etc/eks/bootstrap.sh c --apiserver-endpoint $(cat /tmp/ep)",
         "bootstrap.sh --apiserver-endpoint: $(cat /tmp/ep): $(...) is a command substitution"},
        {"EP=`cat /tmp/ep`\n/etc/eks/bootstrap.sh c --apiserver-endpoint \"$EP\"",
         "bootstrap.sh --apiserver-endpoint: \"$EP\": $EP is set on line 2: `...` is a command substitution"},
        {"/etc/eks/bootstrap.sh c --b64-cluster-ca $CA",
         "bootstrap.sh --b64-cluster-ca: $CA: $CA is not set by the script"},
        {"/etc/eks/bootstrap.sh $1", "bootstrap.sh argument 1: $1: $1 is a positional or special parameter"},
        {"/etc/eks/bootstrap.sh c --use-max-pods yes", "bootstrap.sh --use-max-pods: \"yes\" is not true or false"},
        {"/etc/eks/bootstrap.sh c --use-max-pods", "bootstrap.sh --use-max-pods: needs a value"},
        {"/etc/eks/bootstrap.sh c --no-such-flag x", "bootstrap.sh --no-such-flag: not a bootstrap.sh flag"},
        {"/etc/eks/bootstrap.sh --apiserver-endpoint https://x",
         "bootstrap.sh CLUSTER: the cluster name (first argument) is missing"},
        {"/etc/eks/bootstrap.sh a b", "bootstrap.sh CLUSTER: one cluster name expected"},
        {"/etc/eks/bootstrap.sh c --ip-family ipv5", "bootstrap.sh --ip-family: \"ipv5\" is not ipv4 or ipv6"},
        {"/etc/eks/bootstrap.sh c --ip-family ipv4 --service-ipv6-cidr fd00::/108",
         "bootstrap.sh --service-ipv6-cidr: given with --ip-family ipv4"},
        {"/etc/eks/bootstrap.sh c --ip-family ipv6 --apiserver-endpoint https://x --b64-cluster-ca " +
             test::ca_base64(),
         "bootstrap.sh --service-ipv6-cidr: required with --ip-family ipv6"},
        {"/etc/eks/bootstrap.sh c --service-ipv4-cidr 10.0.0.0/33",
         "bootstrap.sh --service-ipv4-cidr: \"10.0.0.0/33\" is not a CIDR"},
        {"/etc/eks/bootstrap.sh c --dns-cluster-ip 10.100.0.300", "bootstrap.sh --dns-cluster-ip:"},
        {"/etc/eks/bootstrap.sh c --local-disks raid5",
         "bootstrap.sh --local-disks: \"raid5\" is not raid0, raid10 or mount"},
        {"/etc/eks/bootstrap.sh c --kubelet-extra-args 'node-labels=a=b'",
         "bootstrap.sh --kubelet-extra-args: \"node-labels=a=b\" is not a kubelet flag"},
        {"/etc/eks/bootstrap.sh c --use-max-pods false --kubelet-extra-args '--max-pods=lots'",
         "bootstrap.sh --kubelet-extra-args: --max-pods=lots is not a number of pods"},
        {"/etc/eks/bootstrap.sh c --aws-api-retry-attempts many",
         "bootstrap.sh --aws-api-retry-attempts: \"many\" is not a number"},
        {"/etc/eks/bootstrap.sh c --apiserver-endpoint ftp://x", "bootstrap.sh --apiserver-endpoint:"},
        {"/etc/eks/bootstrap.sh c --help", "bootstrap.sh --help: prints help and exits"},
        {"/etc/eks/bootstrap.sh a\n/etc/eks/bootstrap.sh b", ": calls /etc/eks/bootstrap.sh 2 times (lines 2, 3)"},
        {"/etc/eks/bootstrap.sh 'c", ": line 2: unterminated single quote"},  // the reader's errors pass through
    }));
    INFO(c.script);
    CHECK_THAT(error_of("#!/bin/bash\n" + c.script + "\n"), Catch::StartsWith(c.error));
}

TEST_CASE("user data dispatches scripts and text/x-shellscript parts to bootstrap.sh",
          "[config][bootstrap-sh][userdata]") {
    std::string script = "#!/bin/bash\nset -e\n/etc/eks/bootstrap.sh my-cluster\n";
    std::vector<config::Fragment> alone = fragments_from_user_data(script);
    REQUIRE(alone.size() == 1);
    CHECK(alone[0].source == "user data (bootstrap.sh, line 3)");
    CHECK(alone[0].spec == named("my-cluster"));
    CHECK(config::bootstrap_sh::is_bootstrap_fragment(alone[0]));
    CHECK(config::bootstrap_sh::fragments_from_user_data_without_scripts(script, "user data").empty());

    std::string mime =
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\n"
        "Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\n" +
        script + "\n--//\nContent-Type: application/vnd.eks-node+toml\n\n[cluster]\ncidr = \"10.100.0.0/16\"\n--//--\n";
    std::vector<config::Fragment> parts = fragments_from_user_data(mime);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].source == "user data (MIME part 1, text/x-shellscript, bootstrap.sh, line 3)");
    CHECK(parts[0].spec == named("my-cluster"));
    CHECK_FALSE(config::bootstrap_sh::is_bootstrap_fragment(parts[1]));
    CHECK(config::bootstrap_sh::fragments_from_user_data_without_scripts(mime, "user data").size() == 1);
}

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

json as_json(const config::Fragment& f) { return {{"spec", f.spec}, {"settings", f.settings}}; }

// The fragment of a script: `prelude`, then the call with `args` after the cluster name.
config::Fragment script_fragment(const std::string& prelude, const std::vector<std::string>& args) {
    std::string script = "#!/bin/bash\n";
    for (const auto& [path, content] : containerd_files) script += "cat > " + path + " <<'EOF'\n" + content + "EOF\n";
    script += prelude + "/etc/eks/bootstrap.sh c";
    for (const std::string& a : args) script += " '" + a + "'";
    std::optional<config::Fragment> f = config::bootstrap_sh::fragment_from_script(script + "\n", "user data");
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
    config::bootstrap_sh::FileReader node = [](const std::string& path,
                                               std::string& why) -> std::optional<std::string> {
        auto it = containerd_files.find(path);
        if (it != containerd_files.end()) return it->second;
        why = "not on this node";
        return std::nullopt;
    };
    std::string entry = name + "=" + value;
    const char* envp[] = {"PATH=/usr/bin", entry.c_str(), nullptr};
    std::vector<std::string> all = {"c"};
    all.insert(all.end(), args.begin(), args.end());
    return as_json(config::bootstrap_sh::fragment_from_args(all, "shim", node,
                                                            config::bootstrap_sh::inputs_from_environment(envp)));
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
    CHECK(names == config::bootstrap_sh::environment_names());
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
                                           std::to_string(prelude_line()) + "): " + r.variable +
                                           " is set on line " + std::to_string(prelude_line()) +
                                           ": $(...) is a command substitution"));
        CHECK_THAT(logged, Catch::Contains("not applied at boot; /etc/eks/bootstrap.sh applies the value"));
    }
    // the samples and others tell the flag from the variable in most rows
    CHECK(flag_wins_shown >= 15);
}

TEST_CASE("the issue's script: exported USE_MAX_PODS and KUBELET_EXTRA_ARGS apply",
          "[config][bootstrap-sh][environment]") {
    json spec = spec_of(
        "#!/bin/bash\nset -ex\nexport USE_MAX_PODS=false\nexport KUBELET_EXTRA_ARGS=\"--max-pods=109 "
        "--node-labels=team=a\"\n/etc/eks/bootstrap.sh c\n");
    CHECK(spec["kubelet"]["config"]["maxPods"] == 109);
    CHECK(spec["kubelet"]["flags"] == json::array({"--max-pods=109", "--node-labels=team=a"}));
    // given on the call's own line, the same; exported later or never, not
    CHECK(spec_of("#!/bin/bash\nUSE_MAX_PODS=false KUBELET_EXTRA_ARGS=--max-pods=109 /etc/eks/bootstrap.sh c\n")
              ["kubelet"]["config"]["maxPods"] == 109);
    CHECK(spec_of("#!/bin/bash\n/etc/eks/bootstrap.sh c\nexport USE_MAX_PODS=false\n") == named("c"));
    CHECK(spec_of("#!/bin/bash\nUSE_MAX_PODS=false true\n/etc/eks/bootstrap.sh c\n") == named("c"));
    // an exported value only the script's run can tell is left to the shim, which has it: a
    // warning naming the variable, its line and why, and nothing of it at boot
    json computed;
    std::string logged = test::logged_at(log::Level::warning, [&] {
        computed = spec_of("#!/bin/bash\nexport USE_MAX_PODS=false\nexport KUBELET_EXTRA_ARGS=\"$(cat /tmp/args)\"\n"
                           "/etc/eks/bootstrap.sh c\n");
    });
    CHECK_THAT(logged, Catch::Contains("KUBELET_EXTRA_ARGS in bootstrap.sh's environment (line 3): KUBELET_EXTRA_ARGS "
                                       "is set on line 3: $(...) is a command substitution"));
    CHECK_THAT(logged, Catch::Contains("not applied at boot; /etc/eks/bootstrap.sh applies the value"));
    CHECK_FALSE(computed["kubelet"].contains("flags"));
    CHECK(computed["kubelet"]["config"]["maxPods"] == 110);  // USE_MAX_PODS=false, no --max-pods
    // ... unless the call's flag makes it irrelevant
    CHECK(spec_of("#!/bin/bash\nexport KUBELET_EXTRA_ARGS=\"$(cat /tmp/args)\"\n/etc/eks/bootstrap.sh c "
                  "--kubelet-extra-args --v=2\n")["kubelet"]["flags"] == json::array({"--v=2"}));
}

TEST_CASE("PAUSE_CONTAINER_IMAGE is the pause repository, tagged as bootstrap.sh tags it",
          "[config][bootstrap-sh][environment]") {
    const std::string repo = "123456789012.dkr.ecr.us-west-2.amazonaws.com/eks/pause";
    config::Fragment f = script_fragment("export PAUSE_CONTAINER_IMAGE=" + repo + "\n", {});
    CHECK(f.settings["containerd"]["sandboxImage"] == repo + ":3.5");
    config::validate_fragment(f);
    config::Fragment tagged =
        script_fragment("export PAUSE_CONTAINER_IMAGE=" + repo + "\n", {"--pause-container-version", "3.9"});
    CHECK(tagged.settings["containerd"]["sandboxImage"] == repo + ":3.9");
}

TEST_CASE("IS_LOCAL_OUTPOST_DETECTED counts only where bootstrap.sh does not call DescribeCluster",
          "[config][bootstrap-sh][environment]") {
    // without the endpoint and the CA, DescribeCluster's branch sets it first
    CHECK(spec_of("#!/bin/bash\nexport IS_LOCAL_OUTPOST_DETECTED=true\n/etc/eks/bootstrap.sh c\n") == named("c"));
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
    std::vector<config::Fragment> fs = fragments_from_user_data(user_data);
    REQUIRE(fs.size() == 1);
    return fs[0].spec;
}

}  // namespace

TEST_CASE("eksctl's --max-pods edit of bootstrap.sh applies to the call after it", "[config][bootstrap-sh][edits]") {
    const std::string call = "#!/bin/bash\n/etc/eks/bootstrap.sh c --kubelet-extra-args '--node-labels=a=b'\n";
    json spec = user_data_spec(two_parts(eksctl_edit, call));
    CHECK(spec["kubelet"]["flags"] == json::array({"--node-labels=a=b", "--max-pods=58"}));
    // the shim finds the same edit in the user data, and maps the call the same
    config::bootstrap_sh::Edits edits;
    CHECK(config::bootstrap_sh::fragments_from_user_data_without_scripts(two_parts(eksctl_edit, call), "user data",
                                                                         &edits)
              .empty());
    CHECK(edits.after_flag == " --max-pods=58");
    config::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
        return std::nullopt;
    };
    CHECK(config::bootstrap_sh::fragment_from_args({"c", "--kubelet-extra-args", "--node-labels=a=b"}, "shim", none,
                                                   {{}, edits})
              .spec == spec);
    // with USE_MAX_PODS=false, it is the node's maxPods
    json counted = user_data_spec(two_parts(
        eksctl_edit, "#!/bin/bash\n/etc/eks/bootstrap.sh c --use-max-pods false --kubelet-extra-args --v=2\n"));
    CHECK(counted["kubelet"]["config"]["maxPods"] == 58);
    // eksctl's edit changes the flag loop's line: without the flag it does nothing, as on AL2
    std::string logged = test::logged_at(log::Level::warning, [&] {
        CHECK(user_data_spec(two_parts(eksctl_edit, "#!/bin/bash\n/etc/eks/bootstrap.sh c\n")) == named("c"));
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
    json spec = spec_of("#!/bin/bash\n" + edit + "export USE_MAX_PODS=false\n/etc/eks/bootstrap.sh c\n");
    CHECK(spec["kubelet"]["config"]["maxPods"] == 42);
    CHECK(spec["kubelet"]["flags"] == json::array({"--max-pods=42"}));
    // after the variable's value, however it came
    CHECK(
        spec_of("#!/bin/bash\n" + edit + "/etc/eks/bootstrap.sh c --kubelet-extra-args --v=2\n")["kubelet"]["flags"] ==
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
        CHECK(spec_of("#!/bin/bash\n" + c.line + "\n/etc/eks/bootstrap.sh c\n") == named("c"));
    });
    if (c.warning.empty()) CHECK(logged.find("bootstrap.sh") == std::string::npos);
    else CHECK_THAT(logged, Catch::Contains("user data " + c.warning));
}

TEST_CASE("the shim takes bootstrap.sh's variables from its process environment",
          "[config][bootstrap-sh][environment]") {
    const char* envp[] = {"PATH=/usr/bin", "USE_MAX_PODS=false", "KUBELET_EXTRA_ARGS=--max-pods=20",
                          "NOT_AN_ENTRY",  "HOME=/root",         nullptr};
    config::bootstrap_sh::Inputs in = config::bootstrap_sh::inputs_from_environment(envp);
    REQUIRE(in.environment.size() == 2);
    CHECK(in.environment["USE_MAX_PODS"].value == "false");
    CHECK(in.environment["KUBELET_EXTRA_ARGS"].value == "--max-pods=20");
    config::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
        return std::nullopt;
    };
    CHECK(config::bootstrap_sh::fragment_from_args({"c"}, "shim", none, in).spec["kubelet"]["config"]["maxPods"] == 20);
}
