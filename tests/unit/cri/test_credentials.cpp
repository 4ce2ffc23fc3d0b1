// SPDX-License-Identifier: Apache-2.0
// Credentials as kubelet gets them: matchImages globbing by kubelet's rules
// (pkg/credentialprovider URLsMatch), the provider config and response, and
// plugins run with their request, arguments and environment.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "cri/registry_credentials.hpp"
#include "fixtures.hpp"

using namespace eksnode;
using cri::image_matches;

namespace {

constexpr const char* ecr = "*.dkr.ecr.*.amazonaws.com";
constexpr const char* v1 = "credentialprovider.kubelet.k8s.io/v1";

}  // namespace

TEST_CASE("matchImages: each host label is a glob of its own", "[cri][credentials]") {
    CHECK(image_matches(ecr, "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3"));
    // '*' never spans a '.': another number of labels never matches
    CHECK_FALSE(image_matches(ecr, "602401143452.dkr.ecr.cn-north-1.amazonaws.com.cn/x:1"));
    CHECK_FALSE(image_matches(ecr, "a.b.dkr.ecr.us-west-2.amazonaws.com/x:1"));
    CHECK(image_matches("*.dkr.ecr.*.amazonaws.com.cn", "602401143452.dkr.ecr.cn-north-1.amazonaws.com.cn/x:1"));
    CHECK(image_matches("registry-?.example.com", "registry-1.example.com/x"));
    CHECK_FALSE(image_matches("registry-?.example.com", "registry-12.example.com/x"));
    CHECK(image_matches("registry-[0-9].example.com", "registry-7.example.com/x"));
    CHECK_FALSE(image_matches("registry-[0-9].example.com", "registry-a.example.com/x"));
    CHECK(image_matches("registry-[^0-9].example.com", "registry-a.example.com/x"));
    // a malformed class matches nothing (Go's ErrBadPattern)
    CHECK_FALSE(image_matches("registry-[0-9.example.com", "registry-1.example.com/x"));
}

TEST_CASE("matchImages: stars within a label, in linear steps", "[cri][credentials]") {
    CHECK(image_matches("a*b*c.io", "aXXbYYc.io/x"));
    CHECK(image_matches("a*b*c.io", "abc.io/x"));
    CHECK(image_matches("*-*-*.io", "a-b-c-d.io/x"));
    CHECK_FALSE(image_matches("a*b*c.io", "aXXbYY.io/x"));
    CHECK(image_matches("**.io", ".io/x") == image_matches("*.io", ".io/x"));
    CHECK(image_matches("\\*x.io", "*x.io/x"));
    CHECK_FALSE(image_matches("\\*x.io", "ax.io/x"));
    CHECK(image_matches("*[0-9]?.io", "abc12.io/x"));
    CHECK_FALSE(image_matches("*[0-9]?.io", "abc1.io/x"));
    // a malformed part anywhere matches nothing, even after a mismatch
    CHECK_FALSE(image_matches("*a[", "aa/x"));

    // 13 stars against a 40-byte label that almost matches: a recursive
    // try of every split took minutes; the steps stay within
    // (pattern + 1) * (label + 1)
    const std::string label(40, 'a');
    std::string pattern;
    for (int i = 0; i < 13; ++i) pattern += "*a";
    pattern += "*b";
    size_t steps = 0;
    CHECK_FALSE(cri::detail::glob(pattern, label, steps));
    CHECK(steps <= (pattern.size() + 1) * (label.size() + 1));
    CHECK_FALSE(image_matches(pattern + ".io", label + ".io/x"));
    steps = 0;
    CHECK(cri::detail::glob(pattern.substr(0, pattern.size() - 2), label, steps));
    CHECK(steps <= (pattern.size() + 1) * (label.size() + 1));
}

TEST_CASE("matchImages: the port must be the same, none included", "[cri][credentials]") {
    CHECK(image_matches("registry.local:5000", "registry.local:5000/app:1"));
    CHECK_FALSE(image_matches("registry.local", "registry.local:5000/app:1"));
    CHECK_FALSE(image_matches("registry.local:5000", "registry.local/app:1"));
    CHECK_FALSE(image_matches("registry.local:5000", "registry.local:5001/app:1"));
}

TEST_CASE("matchImages: the image's path starts with the pattern's", "[cri][credentials]") {
    CHECK(image_matches("registry.io/team", "registry.io/team/app:1"));
    CHECK_FALSE(image_matches("registry.io/team", "registry.io/other/app:1"));
    // a string prefix, as kubelet's strings.HasPrefix: /teamwork too
    CHECK(image_matches("registry.io/team", "registry.io/teamwork:1"));
    CHECK(image_matches("https://registry.io", "registry.io/x:1"));
}

TEST_CASE("images without a registry are Docker Hub's", "[cri][credentials]") {
    CHECK(cri::normalized_image("busybox") == "docker.io/library/busybox");
    CHECK(cri::normalized_image("busybox:1.36") == "docker.io/library/busybox:1.36");
    CHECK(cri::normalized_image("bitnami/redis:7") == "docker.io/bitnami/redis:7");
    CHECK(cri::normalized_image("localhost/app:1") == "localhost/app:1");
    CHECK(cri::normalized_image("localhost:5000/app:1") == "localhost:5000/app:1");
    CHECK(cri::normalized_image("quay.io/x/y") == "quay.io/x/y");
    CHECK(image_matches("docker.io", "busybox"));
    CHECK(image_matches("docker.io/library", "busybox:1.36"));
    CHECK_FALSE(image_matches("quay.io", "busybox"));
}

TEST_CASE("a CredentialProviderConfig as eks-node-kubelet renders it", "[cri][credentials]") {
    const std::string text = R"({
        "apiVersion": "kubelet.config.k8s.io/v1",
        "kind": "CredentialProviderConfig",
        "providers": [{
            "name": "ecr-credential-provider",
            "matchImages": ["*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn"],
            "defaultCacheDuration": "12h",
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            "args": ["--v=2"],
            "env": [{"name": "AWS_PROFILE", "value": "node"}]
        }]
    })";
    std::vector<cri::Provider> p = cri::parse_provider_config(text, "config.json");
    REQUIRE(p.size() == 1);
    CHECK(p[0].name == "ecr-credential-provider");
    CHECK(p[0].match_images.size() == 2);
    CHECK(p[0].api_version == v1);
    CHECK(p[0].args == std::vector<std::string>{"--v=2"});
    CHECK(p[0].env == std::vector<std::pair<std::string, std::string>>{{"AWS_PROFILE", "node"}});
}

TEST_CASE("a CredentialProviderConfig kubelet would refuse is refused", "[cri][credentials]") {
    auto with = [](const std::string& provider) {
        return R"({"kind": "CredentialProviderConfig", "providers": [)" + provider + "]}";
    };
    const std::string ok = R"("matchImages": ["x.io"], "apiVersion": "credentialprovider.kubelet.k8s.io/v1")";
    CHECK_THROWS_WITH(cri::parse_provider_config(with(R"({"name": "../bin/sh", )" + ok + "}"), "f"),
                      Catch::Contains("providers[0].name: not a file name"));
    CHECK_THROWS_WITH(
        cri::parse_provider_config(
            with(R"({"name": "p", "matchImages": [], "apiVersion": "credentialprovider.kubelet.k8s.io/v1"})"), "f"),
        Catch::Contains("matchImages: empty"));
    CHECK_THROWS_WITH(
        cri::parse_provider_config(with(R"({"name": "p", "matchImages": ["x"], "apiVersion": "v1"})"), "f"),
        Catch::Contains("apiVersion"));
    CHECK_THROWS_WITH(cri::parse_provider_config(R"({"kind": "Pod"})", "f"),
                      Catch::Contains("not a CredentialProviderConfig"));
    CHECK_THROWS_AS(cri::parse_provider_config("{", "f"), ConfigError);
    std::string many;
    for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"name": "p", )" + ok + "}";
    CHECK_THROWS_WITH(cri::parse_provider_config(with(many), "f"), Catch::Contains("more than 64"));
    // ours: a pattern longer than the cap, named by its index
    const std::string long_pattern(cri::max_pattern_bytes + 1, '*');
    CHECK_THROWS_WITH(cri::parse_provider_config(with(R"({"name": "p", "matchImages": ["x.io", ")" + long_pattern +
                                                      R"("], "apiVersion": "credentialprovider.kubelet.k8s.io/v1"})"),
                                                 "f"),
                      Catch::Contains("providers[0].matchImages[1]: \"" + long_pattern.substr(0, 8)));
}

TEST_CASE("a CredentialProviderResponse: the most specific matching key's credentials", "[cri][credentials]") {
    const std::string image = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1";
    const std::string both =
        R"({"kind": "CredentialProviderResponse", "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "cacheKeyType": "Registry", "auth": {
          "*.dkr.ecr.*.amazonaws.com": {"username": "AWS", "password": "wide"},
          "602401143452.dkr.ecr.us-west-2.amazonaws.com": {"username": "AWS", "password": "exact"},
          "quay.io": {"username": "q", "password": "other"}}})";
    cri::Auth a = cri::parse_provider_response(both, v1, image);
    CHECK(a.username == "AWS");
    CHECK(a.password == "exact");
    CHECK(cri::parse_provider_response(both, v1, "registry.k8s.io/pause:3.9").empty());
    // no auth at all: anonymous
    CHECK(cri::parse_provider_response(
              R"({"kind": "CredentialProviderResponse", "apiVersion": "credentialprovider.kubelet.k8s.io/v1"})", v1,
              image)
              .empty());
    CHECK_THROWS_WITH(cri::parse_provider_response(
                          R"({"kind": "X", "apiVersion": "credentialprovider.kubelet.k8s.io/v1"})", v1, image),
                      Catch::Contains("not a CredentialProviderResponse"));
    CHECK_THROWS_WITH(cri::parse_provider_response(both, "credentialprovider.kubelet.k8s.io/v1beta1", image),
                      Catch::Contains("another apiVersion"));
    CHECK_THROWS_WITH(
        cri::parse_provider_response(
            R"({"kind": "CredentialProviderResponse", "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                              "auth": {"x.io": {"password": 7}}})",
            v1, image),
        Catch::Contains("password is not a string"));
    CHECK_THROWS_AS(cri::parse_provider_response("not json", v1, image), Error);
}

namespace {

void script(const fs::path& p, const std::string& body) {
    std::ofstream(p) << "#!/bin/sh\n" << body;
    ::chmod(p.c_str(), 0755);
}

cri::Provider provider(std::string name, std::vector<std::string> match) {
    return {std::move(name), std::move(match), v1, {}, {}};
}

}  // namespace

TEST_CASE("a plugin gets the request on stdin, its args and env, and its answer is used", "[cri][credentials]") {
    test::TempRoot root;
    // answers only for the image it was asked about, with what it was given
    script(
        root.dir / "echo-plugin",
        "req=$(cat)\n"
        "case \"$req\" in *'\"image\":\"docker.io/library/busybox:1\"'*'' ) ;; *) echo \"bad request $req\" >&2; exit 3;; esac\n"
        "case \"$req\" in *'\"kind\":\"CredentialProviderRequest\"'*) ;; *) exit 4;; esac\n"
        "printf '{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\","
        "\"auth\":{\"docker.io\":{\"username\":\"%s\",\"password\":\"%s-%s\"}}}' \"$1\" \"$PLUGIN_SECRET\" \"$HOME\"\n");
    cri::Provider p = provider("echo-plugin", {"docker.io"});
    p.args = {"user-from-args"};
    p.env = {{"PLUGIN_SECRET", "s3cret"}};
    ::setenv("HOME", "/home/inherited", 1);
    ::setenv("PLUGIN_SECRET", "inherited", 1);
    cri::Lookup l = cri::lookup({p}, root.dir.string(), "busybox:1", std::chrono::milliseconds{10'000});
    CHECK(l.problems.empty());
    CHECK(l.provider == "echo-plugin");
    CHECK(l.auth.username == "user-from-args");
    CHECK(l.auth.password == "s3cret-/home/inherited");
    // kubelet's service environment over this process's; the provider's env over both
    l = cri::lookup({p}, root.dir.string(), "busybox:1", std::chrono::milliseconds{10'000},
                    {{"HOME", "/home/service"}, {"PLUGIN_SECRET", "from-service"}});
    CHECK(l.auth.password == "s3cret-/home/service");
    ::unsetenv("PLUGIN_SECRET");
}

TEST_CASE("a failing plugin is a problem, and the next matching one is asked", "[cri][credentials]") {
    test::TempRoot root;
    script(root.dir / "broken", "echo 'no credentials here' >&2\nexit 1\n");
    script(root.dir / "silent", "sleep 10\n");
    script(root.dir / "good",
           "cat >/dev/null\necho '{\"kind\":\"CredentialProviderResponse\",\"apiVersion\":"
           "\"credentialprovider.kubelet.k8s.io/v1\",\"auth\":{\"x.io\":{\"username\":\"u\",\"password\":\"p\"}}}'\n");
    const std::vector<cri::Provider> providers{provider("broken", {"x.io"}), provider("silent", {"x.io"}),
                                               provider("missing", {"x.io"}), provider("good", {"x.io"})};
    cri::Lookup l = cri::lookup(providers, root.dir.string(), "x.io/app:1", std::chrono::milliseconds{300});
    REQUIRE(l.problems.size() == 3);
    CHECK_THAT(l.problems[0], Catch::Contains("broken exited with status 1: no credentials here"));
    CHECK_THAT(l.problems[1], Catch::Contains("silent gave no answer within 300 ms"));
    CHECK_THAT(l.problems[2], Catch::Contains("cannot run"));
    CHECK(l.provider == "good");
    CHECK(l.auth.password == "p");
    // no provider matches: anonymous, no plugin run, nothing to say
    cri::Lookup none = cri::lookup(providers, root.dir.string(), "quay.io/app:1", std::chrono::milliseconds{300});
    CHECK(none.auth.empty());
    CHECK(none.provider.empty());
    CHECK(none.problems.empty());
}
