// SPDX-License-Identifier: Apache-2.0
// Which proxy eks-node-config's own AWS requests use (aws/proxy.hpp), and
// where the client's variables come from (aws/api.hpp client_environment,
// client_setup). The requests themselves going through a proxy are proven by
// tests/process/aws_proxy.py.
#include <catch2/catch.hpp>

#include <map>

#include "aws/api.hpp"
#include "aws/proxy.hpp"
#include "core/error.hpp"
#include "fake_env.hpp"

using namespace eksnode;
using namespace eksnode::aws;

namespace {

ProxyVariable var(std::string value, std::string name = "X", std::string source = "environment") {
    return {std::move(value), std::move(name), std::move(source)};
}

json spec_with_default(json vars) {
    json spec;
    spec["cluster"] = {
        {"name", "c"}, {"cidr", "10.100.0.0/16"}, {"apiServerEndpoint", "https://ABC.gr7.us-west-2.eks.amazonaws.com"}};
    spec["instance"]["environment"]["default"] = std::move(vars);
    return spec;
}

json instance() {
    return {{"region", "us-west-2"},
            {"domain", "amazonaws.com"},
            {"instanceId", "i-1234567890abcdef0"},
            {"vpcIpv4CidrBlocks", {"172.16.0.0/16"}},
            {"imdsEndpoint", "http://169.254.169.254"}};
}

}  // namespace

TEST_CASE("proxy by the scheme of the request: HTTPS_PROXY for https, HTTP_PROXY for http", "[aws][proxy]") {
    ProxySettings p;
    p.http() = var("http://plain-proxy:3128", "HTTP_PROXY");
    p.https() = var("http://tls-proxy:3128", "HTTPS_PROXY", "spec.instance.environment.default");
    CHECK(choose_proxy(p, "https://ec2.us-west-2.amazonaws.com").url == "http://tls-proxy:3128");
    CHECK(choose_proxy(p, "http://127.0.0.1:8080").url == "http://plain-proxy:3128");
    CHECK(choose_proxy(p, "HTTPS://EC2.us-west-2.amazonaws.com/").url == "http://tls-proxy:3128");
    ProxyChoice c = choose_proxy(p, "https://eks.us-west-2.amazonaws.com");
    CHECK(c.why == "through the proxy of HTTPS_PROXY (spec.instance.environment.default)");

    SECTION("the other scheme's variable is never used") {
        ProxySettings only_https;
        only_https.https() = var("http://tls-proxy:3128", "HTTPS_PROXY");
        ProxyChoice direct = choose_proxy(only_https, "http://127.0.0.1:8080");
        CHECK(direct.url.empty());
        CHECK(direct.why == "directly (no proxy variable for http: HTTPS_PROXY (environment) only)");
        ProxySettings only_http;
        only_http.http() = var("http://plain-proxy:3128", "http_proxy");
        CHECK(choose_proxy(only_http, "https://ec2.us-west-2.amazonaws.com").url.empty());
    }
    SECTION("ALL_PROXY when the scheme's own is unset, as curl does") {
        ProxySettings all;
        all.all() = var("socks5h://fallback:1080", "ALL_PROXY");
        all.https() = var("http://tls-proxy:3128", "HTTPS_PROXY");
        CHECK(choose_proxy(all, "http://127.0.0.1:8080").url == "socks5h://fallback:1080");
        CHECK(choose_proxy(all, "https://ec2.us-west-2.amazonaws.com").url == "http://tls-proxy:3128");
    }
    SECTION("nothing set: direct") {
        ProxyChoice none = choose_proxy({}, "https://ec2.us-west-2.amazonaws.com");
        CHECK(none.url.empty());
        CHECK(none.why == "directly (no proxy variable is set)");
    }
    SECTION("NO_PROXY wins over every proxy variable, and says which entry") {
        p.all() = var("http://fallback:3128", "ALL_PROXY");
        p.no_proxy() = var("localhost, .amazonaws.com", "NO_PROXY", "spec.instance.environment.default");
        ProxyChoice d = choose_proxy(p, "https://ec2.us-west-2.amazonaws.com");
        CHECK(d.url.empty());
        CHECK(d.why == "directly: NO_PROXY (spec.instance.environment.default) lists .amazonaws.com");
    }
}

TEST_CASE("a proxy URL's password never reaches the explanation", "[aws][proxy]") {
    ProxySettings p;
    p.https() = var("http://alice:s3cr%40t@proxy:3128", "HTTPS_PROXY");
    p.no_proxy() = var("169.254.169.254", "NO_PROXY");
    ProxyChoice c = choose_proxy(p, "https://ec2.us-west-2.amazonaws.com");
    CHECK(c.url == "http://alice:s3cr%40t@proxy:3128");
    CHECK(c.why.find("s3cr") == std::string::npos);
    CHECK(c.why.find("alice") == std::string::npos);
}

TEST_CASE("NO_PROXY names: the name itself and every name below it", "[aws][proxy][no-proxy]") {
    CHECK(no_proxy_matches("example.com", "example.com"));
    CHECK(no_proxy_matches("example.com", "www.example.com"));
    CHECK(no_proxy_matches(".example.com", "example.com"));  // curl: a leading dot changes nothing
    CHECK(no_proxy_matches(".example.com", "a.b.example.com"));
    CHECK(no_proxy_matches("EXAMPLE.com.", "www.Example.COM."));
    CHECK_FALSE(no_proxy_matches("example.com", "notexample.com"));
    CHECK_FALSE(no_proxy_matches("www.example.com", "example.com"));
    CHECK_FALSE(no_proxy_matches("example", "example.com"));
    CHECK_FALSE(no_proxy_matches("", "example.com"));
    CHECK_FALSE(no_proxy_matches(",,  ,", "example.com"));
    CHECK_FALSE(no_proxy_matches(".", "example.com"));
    CHECK(no_proxy_matches("a.test , \texample.com ,b.test", "x.example.com"));
    std::string which;
    CHECK(no_proxy_matches("a.test,.amazonaws.com,b.test", "ec2.us-west-2.amazonaws.com", &which));
    CHECK(which == ".amazonaws.com");
}

TEST_CASE("NO_PROXY \"*\" matches every host", "[aws][proxy][no-proxy]") {
    CHECK(no_proxy_matches("*", "ec2.us-west-2.amazonaws.com"));
    CHECK(no_proxy_matches("*", "10.0.0.1"));
    CHECK(no_proxy_matches("localhost,*", "fd00::1"));
    CHECK_FALSE(no_proxy_matches("*.example.com", "www.example.com"));  // not a wildcard pattern
}

TEST_CASE("NO_PROXY addresses and CIDRs match hosts written as addresses", "[aws][proxy][no-proxy]") {
    // IPv4: exact and by network (libcurl 7.88 on Debian 12 also matches
    // CIDRs, but the choice is ours, so the same rules hold with any libcurl).
    CHECK(no_proxy_matches("10.0.0.5", "10.0.0.5"));
    CHECK_FALSE(no_proxy_matches("10.0.0.5", "10.0.0.50"));
    CHECK(no_proxy_matches("172.16.0.0/16", "172.16.34.43"));
    CHECK(no_proxy_matches("172.16.0.0/12", "172.31.255.255"));
    CHECK_FALSE(no_proxy_matches("172.16.0.0/16", "172.17.0.1"));
    CHECK(no_proxy_matches("0.0.0.0/0", "203.0.113.9"));
    CHECK(no_proxy_matches("10.1.2.3/32", "10.1.2.3"));
    CHECK_FALSE(no_proxy_matches("10.1.2.3/32", "10.1.2.4"));
    CHECK(no_proxy_matches("10.1.2.99/24", "10.1.2.7"));  // host bits in the entry are ignored
    // IPv6, with or without brackets on either side, any spelling of the address.
    CHECK(no_proxy_matches("fd00:ec2::254", "[fd00:ec2::254]"));
    CHECK(no_proxy_matches("[FD00:EC2:0::254]", "fd00:ec2::254"));
    CHECK(no_proxy_matches("2600:1f14:abc:de00::/56", "2600:1f14:abc:de12::1"));
    CHECK_FALSE(no_proxy_matches("2600:1f14:abc:de00::/56", "2600:1f14:abc:df00::1"));
    CHECK(no_proxy_matches("::1", "[::1]"));
    // Families never mix, names never match CIDRs, and names are not resolved.
    CHECK_FALSE(no_proxy_matches("::/0", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("0.0.0.0/0", "fd00::1"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "ip-10-0-0-1.ec2.internal"));
    CHECK_FALSE(no_proxy_matches("0.0.0.1", "1"));
    CHECK_FALSE(no_proxy_matches("localhost", "127.0.0.1"));
    // Malformed CIDRs match nothing.
    CHECK_FALSE(no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/x", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("fd00::/129", "fd00::1"));
    // A suffix of an address is not a domain of it.
    CHECK_FALSE(no_proxy_matches("0.1", "10.0.0.1"));
}

TEST_CASE("the client's variables: the process environment first, then spec.instance.environment.default",
          "[aws][proxy]") {
    test::fake_env.clear();
    json spec = spec_with_default({{"HTTPS_PROXY", "http://user-data-proxy:3128"},
                                   {"http_proxy", "http://user-data-plain:3128"},
                                   {"NO_PROXY", ".internal"},
                                   {"AWS_MAX_ATTEMPTS", "4"}});
    SECTION("user data alone") {
        ClientEnvironment env = client_environment(test::fake_getenv, spec);
        CHECK(env.proxies.https().value == "http://user-data-proxy:3128");
        CHECK(env.proxies.https().source == "spec.instance.environment.default");
        CHECK(env.proxies.http().name == "http_proxy");
        CHECK(env.proxies.no_proxy().value == ".internal");
        CHECK(env.sdk.max_attempts == 4);
        CHECK(env.sdk_sources["AWS_MAX_ATTEMPTS"] == "spec.instance.environment.default");
    }
    SECTION("an admin's drop-in wins, variable by variable, in either spelling") {
        test::fake_env = {{"https_proxy", "http://admin-proxy:3128"}, {"AWS_MAX_ATTEMPTS", "1"}};
        ClientEnvironment env = client_environment(test::fake_getenv, spec);
        CHECK(env.proxies.https().value == "http://admin-proxy:3128");
        CHECK(env.proxies.https().name == "https_proxy");
        CHECK(env.proxies.https().source == "environment");
        CHECK(env.proxies.http().value == "http://user-data-plain:3128");  // not overridden
        CHECK(env.proxies.no_proxy().value == ".internal");
        CHECK(env.sdk.max_attempts == 1);
        CHECK(env.sdk_sources["AWS_MAX_ATTEMPTS"] == "environment");
    }
    SECTION("upper case first within one source; empty is unset") {
        test::fake_env = {{"HTTPS_PROXY", "http://upper:1"}, {"https_proxy", "http://lower:2"}, {"NO_PROXY", ""}};
        ClientEnvironment env = client_environment(test::fake_getenv, spec);
        CHECK(env.proxies.https().value == "http://upper:1");
        CHECK(env.proxies.no_proxy().value == ".internal");
    }
    SECTION("a unit's own section first, for its proxies only (pre-flight asks for kubelet's)") {
        spec["instance"]["environment"]["kubelet"] = {{"https_proxy", "http://kubelet-proxy:3128"},
                                                      {"AWS_MAX_ATTEMPTS", "9"},
                                                      {"AWS_RETRY_MODE", "not checked here"}};
        test::fake_env = {{"HTTPS_PROXY", "http://admin-proxy:3128"}, {"NO_PROXY", ".admin"}};
        ClientEnvironment env = client_environment(test::fake_getenv, spec, "kubelet");
        CHECK(env.proxies.https().value == "http://kubelet-proxy:3128");
        CHECK(env.proxies.https().name == "https_proxy");
        CHECK(env.proxies.https().source == "spec.instance.environment.kubelet");
        CHECK(env.proxies.no_proxy().value == ".admin");                   // the unit sets none
        CHECK(env.proxies.http().value == "http://user-data-plain:3128");  // default's
        CHECK(env.sdk.max_attempts == 4);                                  // eks-node's own client's
        // eks-node-config's own client (no unit) never sees kubelet's section
        CHECK(client_environment(test::fake_getenv, spec).proxies.https().value == "http://admin-proxy:3128");
    }
    SECTION("within a unit's section, upper case first as Go reads them; an empty one is unset") {
        test::fake_env = {{"HTTPS_PROXY", "http://admin-proxy:3128"}};
        spec["instance"]["environment"]["kubelet"] = {{"https_proxy", "http://lower"}, {"HTTPS_PROXY", ""}};
        ProxySettings p = client_environment(test::fake_getenv, spec, "kubelet").proxies;
        CHECK(p.https().name == "https_proxy");
        CHECK(p.https().value == "http://lower");
        spec["instance"]["environment"]["kubelet"]["HTTPS_PROXY"] = "http://upper";
        p = client_environment(test::fake_getenv, spec, "kubelet").proxies;
        CHECK(p.https().name == "HTTPS_PROXY");
        CHECK(p.http().source == "spec.instance.environment.default");  // the section sets none
        CHECK_FALSE(p.all().set());                                     // set nowhere: none
    }
    SECTION("a bad SDK variable in the environment is exit 6 naming it") {
        test::fake_env = {{"AWS_RETRY_MODE", "fast"}};
        try {
            client_environment(test::fake_getenv, spec);
            FAIL("AWS_RETRY_MODE=fast accepted");
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()) ==
                  "environment: AWS_RETRY_MODE: \"fast\" is not one of standard, adaptive, legacy");
        }
    }
    test::fake_env.clear();
}

TEST_CASE("the client's NO_PROXY is completed as the node's, when a proxy is set", "[aws][proxy]") {
    test::fake_env.clear();
    derive::MachineFacts machine;
    ClientSetup s = client_setup(spec_with_default({{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", ".internal"}}),
                                 json::object(), instance(), machine, test::fake_getenv);
    const ProxyVariable& np = s.session.proxies.no_proxy();
    CHECK(np.value ==
          ".internal,169.254.169.254,fd00:ec2::254,localhost,127.0.0.1,::1,172.16.0.0/16,10.100.0.0/16,"
          "abc.gr7.us-west-2.eks.amazonaws.com");
    CHECK(np.source == "spec.instance.environment.default, completed by eks-node");
    // An endpoint inside the VPC is reached directly, one outside through the proxy.
    CHECK(choose_proxy(s.session.proxies, "https://172.16.5.5").url.empty());
    CHECK(choose_proxy(s.session.proxies, "https://ec2.us-west-2.amazonaws.com").url == "http://p:3128");

    SECTION("no proxy: NO_PROXY as given") {
        ClientSetup none = client_setup(spec_with_default({{"NO_PROXY", ".internal"}}), json::object(), instance(),
                                        machine, test::fake_getenv);
        CHECK(none.session.proxies.no_proxy().value == ".internal");
    }
}

TEST_CASE("AWS_MAX_ATTEMPTS caps attempts; settings.aws.maxAttempts wins over it", "[aws][retry]") {
    derive::MachineFacts machine;
    test::fake_env = {{"AWS_MAX_ATTEMPTS", "2"}};
    ClientSetup s =
        client_setup(spec_with_default(json::object()), json::object(), instance(), machine, test::fake_getenv);
    CHECK(s.session.options.max_attempts == 2);
    CHECK(s.session.options.max_attempts_origin == "AWS_MAX_ATTEMPTS=2 (environment)");

    json settings = {{"aws", {{"maxAttempts", 7}}}};
    s = client_setup(spec_with_default(json::object()), settings, instance(), machine, test::fake_getenv);
    CHECK(s.session.options.max_attempts == 7);
    CHECK(s.session.options.max_attempts_origin == "settings.aws.maxAttempts=7");

    test::fake_env.clear();
    s = client_setup(spec_with_default(json::object()), json::object(), instance(), machine, test::fake_getenv);
    CHECK(s.session.options.max_attempts == 0);  // until the deadline

    // Every retry mode is accepted and changes nothing here.
    for (const char* mode : {"standard", "adaptive", "legacy", "Adaptive"}) {
        test::fake_env = {{"AWS_RETRY_MODE", mode}};
        s = client_setup(spec_with_default(json::object()), json::object(), instance(), machine, test::fake_getenv);
        CHECK(s.session.options.max_attempts == 0);
    }
    test::fake_env.clear();
}

TEST_CASE("the IMDS credential fetch: AWS_METADATA_SERVICE_* and AWS_EC2_METADATA_DISABLED", "[aws][retry]") {
    derive::MachineFacts machine;
    test::fake_env = {{"AWS_METADATA_SERVICE_TIMEOUT", "7"}, {"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3"}};
    ClientSetup s =
        client_setup(spec_with_default(json::object()), json::object(), instance(), machine, test::fake_getenv);
    REQUIRE(s.imds);
    CHECK(s.imds->request_timeout == std::chrono::seconds(7));
    CHECK(s.imds->max_attempts == 3);
    CHECK(s.imds->max_attempts_origin == "AWS_METADATA_SERVICE_NUM_ATTEMPTS=3 (environment)");
    CHECK(s.imds->endpoints == std::vector<std::string>{"http://169.254.169.254"});

    // settings.imds.requestTimeout wins over the variable.
    json settings = {{"imds", {{"requestTimeout", "2s"}}}};
    s = client_setup(spec_with_default(json::object()), settings, instance(), machine, test::fake_getenv);
    REQUIRE(s.imds);
    CHECK(s.imds->request_timeout == std::chrono::seconds(2));

    // From user data too.
    test::fake_env.clear();
    s = client_setup(spec_with_default({{"AWS_EC2_METADATA_DISABLED", "TRUE"}}), json::object(), instance(), machine,
                     test::fake_getenv);
    CHECK_FALSE(s.imds);
    CHECK(s.profile.disabled_by == "AWS_EC2_METADATA_DISABLED=true (spec.instance.environment.default)");
    CredentialProvider creds(test::fake_getenv, nullptr, s.profile);
    CHECK_THROWS_AS(creds.get(), NoCredentialsError);
    test::fake_env.clear();
}
