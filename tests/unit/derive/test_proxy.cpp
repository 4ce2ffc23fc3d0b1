// SPDX-License-Identifier: Apache-2.0
// NO_PROXY completion (derive/proxy.cpp): what is added, where, in which order,
// and what config.json's origins say about it.
#include <catch2/catch.hpp>

#include "derive/derive.hpp"

using namespace eksnode;
using namespace eksnode::derive;

namespace {

constexpr const char* ours =
    "169.254.169.254,fd00:ec2::254,localhost,127.0.0.1,::1,172.16.0.0/16,"
    "2600:1f14:abc:de00::/56,10.100.0.0/16,abc.gr7.us-west-2.eks.amazonaws.com";

json spec_with(json environment) {
    json spec;
    spec["cluster"] = {{"name", "c"},
                       {"cidr", "10.100.0.0/16"},
                       {"apiServerEndpoint", "https://ABC.gr7.us-west-2.eks.amazonaws.com:443/"}};
    spec["instance"]["environment"] = std::move(environment);
    return spec;
}

json instance() {
    return {{"vpcIpv4CidrBlocks", {"172.16.0.0/16"}}, {"vpcIpv6CidrBlocks", {"2600:1f14:abc:de00::/56"}}};
}

json environment_after(json environment, Origins* origins_out = nullptr) {
    json spec = spec_with(std::move(environment));
    Origins origins = {{"/spec/instance/environment/default/NO_PROXY", "user data"},
                       {"/spec/instance/environment/default/HTTPS_PROXY", "user data"},
                       {"/spec/instance/environment/kubelet/no_proxy", "/etc/eks-node/node.toml.d/90-admin.toml"}};
    complete_no_proxy(spec, instance(), origins);
    if (origins_out) *origins_out = origins;
    return spec["instance"]["environment"];
}

}  // namespace

TEST_CASE("what is added: IMDS, loopback, VPC CIDRs, service CIDR, cluster endpoint host", "[derive][no-proxy]") {
    std::vector<NoProxyEntry> a = no_proxy_additions(spec_with(json::object()), instance());
    std::string joined;
    for (const NoProxyEntry& e : a) joined += (joined.empty() ? "" : ",") + e.entry;
    CHECK(joined == ours);
    CHECK(a.front().why == "IMDS");
    CHECK(a.back().why == "cluster endpoint, host of spec.cluster.apiServerEndpoint");

    // Only what is known: no VPC data, no cluster coordinates yet.
    json bare;
    bare["cluster"] = {{"name", "c"}};
    CHECK(no_proxy_additions(bare, json::object()).size() == 5);
}

TEST_CASE("an ECS node also bypasses the task credentials endpoint and Docker's socket", "[derive][no-proxy]") {
    json spec;
    spec["instance"]["environment"] = {
        {"default", {{"HTTP_PROXY", "http://p:3128"}, {"NO_PROXY", "/VAR/run/docker.sock"}}}};
    std::vector<NoProxyEntry> a = no_proxy_additions(spec, instance(), ProxyNode::ecs);
    REQUIRE(a.size() == 9);
    CHECK(a[7].entry == "169.254.170.2");
    CHECK(a[8].entry == "/var/run/docker.sock");
    CHECK(no_proxy_additions(spec, instance()).size() == 7);  // an EKS node's: neither

    Origins origins;
    complete_no_proxy(spec, instance(), origins, ProxyNode::ecs);
    // the user's spelling of the socket counts (compared without regard to case)
    CHECK(spec["instance"]["environment"]["default"]["NO_PROXY"] ==
          "/VAR/run/docker.sock,169.254.169.254,fd00:ec2::254,localhost,127.0.0.1,::1,172.16.0.0/16,"
          "2600:1f14:abc:de00::/56,169.254.170.2");
}

TEST_CASE("no proxy set: nothing changes", "[derive][no-proxy]") {
    json env = {{"default", {{"NO_PROXY", "localhost"}, {"FOO", "bar"}}}, {"kubelet", {{"X", "1"}}}};
    CHECK(environment_after(env) == env);
    json empty_proxy = {{"default", {{"HTTPS_PROXY", ""}, {"NO_PROXY", "localhost"}}}};
    CHECK(environment_after(empty_proxy) == empty_proxy);
    // And no environment at all.
    json spec = spec_with(json::object());
    spec["instance"].erase("environment");
    json before = spec;
    Origins origins;
    complete_no_proxy(spec, instance(), origins);
    CHECK(spec == before);
    CHECK(origins.empty());
}

TEST_CASE("the user's entries first, in their order, then ours, without duplicates", "[derive][no-proxy]") {
    Origins origins;
    json env = environment_after(
        {{"default",
          {{"HTTPS_PROXY", "http://p:3128"},
           {"NO_PROXY", ".internal, 10.100.0.0/16,FD00:EC2:0::254 ,LOCALHOST,abc.GR7.us-west-2.eks.amazonaws.com.,"}}}},
        &origins);
    const std::string expected =
        ".internal, 10.100.0.0/16,FD00:EC2:0::254 ,LOCALHOST,abc.GR7.us-west-2.eks.amazonaws.com.,169.254.169.254,"
        "127.0.0.1,::1,172.16.0.0/16,2600:1f14:abc:de00::/56";
    CHECK(env["default"]["NO_PROXY"] == expected);
    CHECK(env["default"]["no_proxy"] == expected);  // the other spelling, the same list
    CHECK(origins["/spec/instance/environment/default/NO_PROXY"] ==
          "user data; completed by eks-node, as a proxy is set: 169.254.169.254 (IMDS), 127.0.0.1 (loopback), "
          "::1 (loopback), 172.16.0.0/16 (VPC CIDR, from IMDS), 2600:1f14:abc:de00::/56 (VPC CIDR, from IMDS)");
    CHECK(origins["/spec/instance/environment/default/no_proxy"].starts_with("copy of NO_PROXY: user data; completed"));

    // A leading dot is another entry to Go, so it does not count as the host itself.
    json dotted = environment_after(
        {{"default", {{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", ".abc.gr7.us-west-2.eks.amazonaws.com"}}}});
    CHECK(dotted["default"]["NO_PROXY"].get<std::string>().ends_with(",abc.gr7.us-west-2.eks.amazonaws.com"));
}

TEST_CASE("completing twice changes nothing more", "[derive][no-proxy]") {
    json once = environment_after({{"default", {{"HTTP_PROXY", "http://p:3128"}, {"no_proxy", "a.test"}}}});
    json spec = spec_with(once);
    Origins origins;
    complete_no_proxy(spec, instance(), origins);
    CHECK(spec["instance"]["environment"] == once);
    CHECK(origins.empty());
}

TEST_CASE("both spellings: each completed to the same list; the user's lower-case one kept", "[derive][no-proxy]") {
    SECTION("only no_proxy set: NO_PROXY becomes its copy") {
        json env = environment_after({{"default", {{"https_proxy", "http://p:3128"}, {"no_proxy", "a.test"}}}});
        CHECK(env["default"]["no_proxy"] == std::string("a.test,") + ours);
        CHECK(env["default"]["NO_PROXY"] == env["default"]["no_proxy"]);
    }
    SECTION("both set, different: joined, NO_PROXY's entries first") {
        json env = environment_after(
            {{"default",
              {{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", "a.test,b.test"}, {"no_proxy", "b.test,c.test"}}}});
        CHECK(env["default"]["NO_PROXY"] == std::string("a.test,b.test,c.test,") + ours);
        CHECK(env["default"]["no_proxy"] == env["default"]["NO_PROXY"]);
    }
    SECTION("neither set: ours alone, in both") {
        json env = environment_after({{"default", {{"ALL_PROXY", "socks5://p:1080"}}}});
        CHECK(env["default"]["NO_PROXY"] == ours);
        CHECK(env["default"]["no_proxy"] == ours);
    }
}

TEST_CASE("sections: default always, another when it lists its own and goes through a proxy", "[derive][no-proxy]") {
    Origins origins;
    json env = environment_after({{"kubelet", {{"HTTPS_PROXY", "http://kubelet-proxy:3128"}, {"no_proxy", "k.test"}}},
                                  {"containerd", {{"HTTPS_PROXY", "http://c:3128"}}},
                                  {"amazon-ssm-agent", {{"NO_PROXY", "s.test"}}}},
                                 &origins);
    // A proxy in kubelet's section alone still completes default (created for it).
    CHECK(env["default"]["NO_PROXY"] == ours);
    CHECK(origins["/spec/instance/environment/default/NO_PROXY"].starts_with(
        "eks-node NO_PROXY completion, as a proxy is set: 169.254.169.254 (IMDS)"));
    // kubelet lists its own: completed, both spellings.
    CHECK(env["kubelet"]["no_proxy"] == std::string("k.test,") + ours);
    CHECK(env["kubelet"]["NO_PROXY"] == env["kubelet"]["no_proxy"]);
    CHECK(origins["/spec/instance/environment/kubelet/no_proxy"].starts_with(
        "/etc/eks-node/node.toml.d/90-admin.toml; completed by eks-node"));
    // containerd lists none: it inherits default's, nothing written there.
    CHECK_FALSE(env["containerd"].contains("NO_PROXY"));
    CHECK_FALSE(env["containerd"].contains("no_proxy"));
    // No proxy reaches the SSM agent's section (none of its own, none in default): left alone.
    CHECK(env["amazon-ssm-agent"] == json({{"NO_PROXY", "s.test"}}));

    SECTION("a proxy in default reaches a section that only overrides NO_PROXY") {
        json e = environment_after(
            {{"default", {{"HTTPS_PROXY", "http://p:3128"}}}, {"containerd", {{"NO_PROXY", "registry.test"}}}});
        CHECK(e["containerd"]["NO_PROXY"] == std::string("registry.test,") + ours);
        CHECK(e["containerd"]["no_proxy"] == e["containerd"]["NO_PROXY"]);
    }
}

TEST_CASE("complete_no_proxy_list: trailing separators dropped, IPs compared by value", "[derive][no-proxy]") {
    std::vector<NoProxyEntry> add = {{"169.254.169.254", "IMDS"}, {"fd00:ec2::254", "IMDS"}, {"10.0.0.0/16", "VPC"}};
    std::vector<NoProxyEntry> added;
    CHECK(complete_no_proxy_list("x.test, ", add, &added) == "x.test,169.254.169.254,fd00:ec2::254,10.0.0.0/16");
    CHECK(added.size() == 3);
    added.clear();
    CHECK(complete_no_proxy_list("[fd00:ec2:0:0::254],10.0.0.0/16,169.254.169.254", add, &added) ==
          "[fd00:ec2:0:0::254],10.0.0.0/16,169.254.169.254");
    CHECK(added.empty());
    // Another prefix is another entry.
    CHECK(complete_no_proxy_list("10.0.0.0/8", add) == "10.0.0.0/8,169.254.169.254,fd00:ec2::254,10.0.0.0/16");
    CHECK(complete_no_proxy_list("", add) == "169.254.169.254,fd00:ec2::254,10.0.0.0/16");
}
