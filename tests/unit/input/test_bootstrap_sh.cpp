// SPDX-License-Identifier: Apache-2.0
// AL2 user data: the mapping of bootstrap.sh's flags (input/bootstrap_sh.hpp),
// from the shim's arguments and from a script's call. How scripts are read is
// test_shell.cpp's.
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
using eksnode::test::cluster_endpoint;
using eksnode::test::cluster_named;
using eksnode::test::script_spec;

namespace {

input::Fragment fragment_of_args(const std::vector<std::string>& args) {
    input::bootstrap_sh::FileReader none = [](const std::string&, std::string& why) -> std::optional<std::string> {
        why = "no files here";
        return std::nullopt;
    };
    return input::bootstrap_sh::fragment_from_args(args, "test", none);
}

json spec_of_args(const std::vector<std::string>& args) { return fragment_of_args(args).spec; }

// settings.serviceCidrStrategy of a call, "" when it sets none.
std::string strategy_of_args(const std::vector<std::string>& args) {
    return fragment_of_args(args).settings.value("serviceCidrStrategy", "");
}

// The error a script gives: "field: problem".
std::string error_of(std::string_view script) {
    try {
        input::bootstrap_sh::fragment_from_script(script, "user data");
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "no error";
}

}  // namespace

TEST_CASE("a name-only bootstrap.sh call maps to just the cluster name", "[config][bootstrap-sh]") {
    CHECK(script_spec("#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster\n") == cluster_named("my-cluster"));
    CHECK(spec_of_args({"my-cluster"}) == cluster_named("my-cluster"));
}

TEST_CASE("scripts without a bootstrap.sh call yield nothing", "[config][bootstrap-sh]") {
    for (std::string_view s :
         {"#!/bin/bash\necho hi\n", "#!/bin/sh\n# /etc/eks/bootstrap.sh c\n",
          "#!/bin/sh\necho /etc/eks/bootstrap.sh c\n", "#!/bin/sh\ncat <<EOF\n/etc/eks/bootstrap.sh c\nEOF\n"}) {
        INFO(s);
        CHECK_FALSE(input::bootstrap_sh::fragment_from_script(s, "user data"));
    }
}

TEST_CASE("a script's call maps as the shim's arguments do", "[config][bootstrap-sh]") {
    std::string ca = test::ca_base64();
    std::string script =
        "#!/bin/bash\nset -ex\nB64_CLUSTER_CA=" + ca + "\nAPI_SERVER_URL=" + cluster_endpoint +
        "\nK8S_CLUSTER_DNS_IP=10.100.0.10\n/etc/eks/bootstrap.sh prod --b64-cluster-ca $B64_CLUSTER_CA "
        "--apiserver-endpoint $API_SERVER_URL --dns-cluster-ip $K8S_CLUSTER_DNS_IP "
        "--kubelet-extra-args '--node-labels=env=prod,team=a -v 2'\n";
    json expected = {{"cluster",
                      {{"name", "prod"},
                       {"apiServerEndpoint", cluster_endpoint},
                       {"certificateAuthority", ca},
                       {"cidr", "10.100.0.0/16"}}},
                     {"kubelet", {{"flags", {"--node-labels=env=prod,team=a", "--v=2"}}}}};
    CHECK(script_spec(script) == expected);
    CHECK(spec_of_args({"prod", "--b64-cluster-ca", ca, "--apiserver-endpoint", cluster_endpoint, "--dns-cluster-ip",
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
        CHECK(spec_of_args({"c", "--use-max-pods", "true"}) == cluster_named("c"));
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
        CHECK(spec_of_args({"c", "--ip-family", "ipv6"}) == cluster_named("c"));
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
        input::bootstrap_sh::FileReader none = [](const std::string&, std::string&) -> std::optional<std::string> {
            return std::nullopt;
        };
        input::Fragment f = input::bootstrap_sh::fragment_from_args(
            {"c", "--pause-container-account", "123456789012", "--pause-container-version", "3.9"}, "test", none);
        CHECK(f.spec == cluster_named("c"));
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
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", cluster_endpoint}) == "vpc");
    CHECK(strategy_of_args(
              {"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", cluster_endpoint, "--ip-family", "ipv4"}) == "vpc");
    // either missing: it called DescribeCluster and used its CIDR, else the VPC's
    CHECK(strategy_of_args({"c"}) == "describe-cluster-or-vpc");
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca}) == "describe-cluster-or-vpc");
    CHECK(strategy_of_args({"c", "--apiserver-endpoint", cluster_endpoint}) == "describe-cluster-or-vpc");
    // a CIDR or a DNS address given: the CIDR is known, no strategy
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", cluster_endpoint,
                            "--service-ipv4-cidr", "10.50.0.0/16"})
              .empty());
    CHECK(strategy_of_args({"c", "--b64-cluster-ca", ca, "--apiserver-endpoint", cluster_endpoint, "--dns-cluster-ip",
                            "10.100.0.10"})
              .empty());
    // IPv6: bootstrap.sh never derived from the VPC (the CIDR is required, or comes from DescribeCluster)
    CHECK(strategy_of_args({"c", "--ip-family", "ipv6"}).empty());
    CHECK(strategy_of_args({"c", "--service-ipv6-cidr", "fd30:1c53:5f8a::/108"}).empty());
    // and a script's call says the same as the shim's arguments
    std::optional<input::Fragment> f =
        input::bootstrap_sh::fragment_from_script("#!/bin/bash\n/etc/eks/bootstrap.sh c --b64-cluster-ca " + ca +
                                                      " --apiserver-endpoint " + cluster_endpoint + "\n",
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
    CHECK(script_spec(head + body + call) == expected);
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
        spec = script_spec("/etc/eks/bootstrap.sh c --enable-docker-bridge true --docker-config-json '" + secret + "'");
    });
    CHECK(spec == cluster_named("c"));
    CHECK_THAT(logged, Catch::Contains("bootstrap.sh --enable-docker-bridge: ignored") &&
                           Catch::Contains("bootstrap.sh --docker-config-json: ignored"));
    CHECK(logged.find("c2VjcmV0") == std::string::npos);
    // --container-runtime dockerd asks for a runtime eks-node cannot give: still exit 6.
    CHECK_THAT(error_of("/etc/eks/bootstrap.sh c --container-runtime dockerd"),
               Catch::Contains("dockerd is not supported"));
}

TEST_CASE("AWS's user-data logging line does not stop the reading", "[config][bootstrap-sh]") {
    CHECK(script_spec("#!/bin/bash\nset -ex\n"
                      "exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n"
                      "/etc/eks/bootstrap.sh c\n") == cluster_named("c"));
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
    std::vector<input::Fragment> alone = fragments_from_user_data(script);
    REQUIRE(alone.size() == 1);
    CHECK(alone[0].source == "user data (bootstrap.sh, line 3)");
    CHECK(alone[0].spec == cluster_named("my-cluster"));
    CHECK(input::bootstrap_sh::is_bootstrap_fragment(alone[0]));
    CHECK(input::bootstrap_sh::fragments_from_user_data_without_scripts(script, "user data").empty());

    std::string mime =
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\n"
        "Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\n" +
        script + "\n--//\nContent-Type: application/vnd.eks-node+toml\n\n[cluster]\ncidr = \"10.100.0.0/16\"\n--//--\n";
    std::vector<input::Fragment> parts = fragments_from_user_data(mime);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].source == "user data (MIME part 1, text/x-shellscript, bootstrap.sh, line 3)");
    CHECK(parts[0].spec == cluster_named("my-cluster"));
    CHECK_FALSE(input::bootstrap_sh::is_bootstrap_fragment(parts[1]));
    CHECK(input::bootstrap_sh::fragments_from_user_data_without_scripts(mime, "user data").size() == 1);
}
