// SPDX-License-Identifier: Apache-2.0
// [settings.prePull]: the image reference grammar and the reader
// eks-node-config and eks-node-prepull share.
#include <catch2/catch.hpp>

#include "core/confine.hpp"
#include "core/error.hpp"
#include "format/checks.hpp"
#include "input/settings.hpp"

using namespace eksnode;
using format::check::image_reference;
namespace settings = input::settings;

TEST_CASE("image references containerd's CRI takes", "[config][prepull]") {
    for (const char* ok :
         {"busybox", "busybox:1.36", "library/busybox", "localhost/app", "localhost:5000/app:v1",
          "127.0.0.1:5000/eks-node/prepull:v1", "public.ecr.aws/eks-distro/kubernetes/pause:3.9",
          "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3",
          "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097",
          "quay.io/a__b/c-d--e.f_g:Tag_1.0-x"}) {
        INFO(ok);
        CHECK(image_reference(ok).empty());
    }
}

TEST_CASE("what is not an image reference, and why", "[config][prepull]") {
    CHECK_THAT(image_reference(""), Catch::Contains("empty"));
    CHECK_THAT(image_reference("busy box"), Catch::Contains("a space, a control character"));
    CHECK_THAT(image_reference("busybox\n"), Catch::Contains("a space, a control character"));
    CHECK_THAT(image_reference("caf\xc3\xa9"), Catch::Contains("not ASCII"));
    CHECK_THAT(image_reference("BusyBox"), Catch::Contains("a path component is not lower-case letters"));
    CHECK_THAT(image_reference("busybox:"), Catch::Contains("tag"));
    CHECK_THAT(image_reference("busybox:-x"), Catch::Contains("tag"));
    CHECK_THAT(image_reference("busybox@sha256:abc"), Catch::Contains("digest"));
    CHECK_THAT(image_reference("registry.io:x/app"), Catch::Contains("port"));
    CHECK_THAT(image_reference("registry.io:99999999/app"), Catch::Contains("port"));
    CHECK_THAT(image_reference("-bad.io/app"), Catch::Contains("registry"));
    CHECK_THAT(image_reference("bad-.io/app"), Catch::Contains("registry"));
    CHECK_THAT(image_reference("registry.io//app"), Catch::Contains("path component"));
    CHECK_THAT(image_reference("app/"), Catch::Contains("path component"));
    CHECK_THAT(image_reference("a...b"), Catch::Contains("joined by"));
    CHECK_THAT(image_reference(std::string(513, 'a')), Catch::Contains("512"));
}

TEST_CASE("settings.prePull: images in order, a per-image timeout, bounds", "[config][prepull]") {
    settings::PrePullSettings s =
        settings::read_pre_pull(json::parse(R"({"images": ["b:1", "a:1"], "timeout": "90s"})"), "f");
    CHECK(s.images == std::vector<std::string>{"b:1", "a:1"});
    CHECK(s.timeout == std::chrono::milliseconds{90'000});
    CHECK(settings::read_pre_pull(json(), "f").images.empty());
    CHECK(settings::read_pre_pull(json(), "f").timeout == std::chrono::milliseconds{300'000});
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"images": "busybox"})"), "f"),
                      "f: settings.prePull.images: expected a list, got \"busybox\"");
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"images": ["ok", 3]})"), "f"),
                      Catch::StartsWith("f: settings.prePull.images[1]: expected a string"));
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"images": ["ok", "Bad"]})"), "f"),
                      Catch::StartsWith("f: settings.prePull.images[1]: \"Bad\" is not an image reference"));
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"images": ["a", "a"]})"), "f"),
                      Catch::Contains("listed twice"));
    json many = json::array();
    for (int i = 0; i < 65; ++i) many.push_back("image" + std::to_string(i));
    CHECK_THROWS_WITH(settings::read_pre_pull(json{{"images", many}}, "f"), Catch::Contains("65 images; at most 64"));
    many.erase(many.end() - 1);
    CHECK(settings::read_pre_pull(json{{"images", many}}, "f").images.size() == 64);
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"timeout": "31m"})"), "f"),
                      Catch::Contains("at most 30m"));
    CHECK(settings::read_pre_pull(json::parse(R"({"timeout": "30m"})"), "f").timeout == std::chrono::minutes{30});
    CHECK_THROWS_AS(settings::read_pre_pull(json::parse(R"({"timeout": "1m30s"})"), "f"), ConfigError);
    CHECK_THROWS_WITH(settings::read_pre_pull(json::parse(R"({"image": []})"), "f"),
                      Catch::Contains("unknown field (known fields: images, timeout)"));
}

TEST_CASE("eks-node-prepull may execute the credential plugins and /usr, and write nothing",
          "[core][confine][prepull]") {
    const confine::Policy& p = confine::policy_of("prepull");
    CHECK(p.writable.empty());
    CHECK(p.executable == std::vector<std::string>{"-/etc/eks/image-credential-provider"});
    CHECK(p.system_executables);
    // every other step executes nothing, but eks-node-ca the trust store's tool (settings.trust)
    for (std::string_view s : confine::step_names())
        if (s != "prepull") {
            INFO(s);
            CHECK(confine::policy_of(s).executable.empty());
            CHECK(confine::policy_of(s).system_executables == (s == "ca"));
        }
}
