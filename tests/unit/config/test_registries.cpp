// SPDX-License-Identifier: Apache-2.0
// settings.registries and settings.credentialProviders: what a declaration
// must be, read from TOML fragments as eks-node-config reads them (each
// fragment's types, then the merged table's rules between keys).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/credential_providers.hpp"
#include "config/registries.hpp"
#include "config/trust.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "fixtures.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;

namespace {

std::string registries_error_of(const test::Fragments& fragments) {
    std::string e = test::settings_error(fragments);
    return e == "accepted" ? "no error" : e;
}

std::string registries_error_of(const std::string& toml) {
    return registries_error_of({{"/etc/eks-node/node.toml.d/50-r.toml", toml}});
}

std::string toml_literal(const std::string& s) { return "'''\n" + s + "'''"; }

}  // namespace

TEST_CASE("a registry with mirrors, its CA and a client certificate is read in host order", "[config][registries]") {
    const std::string ca = test::certificate_fixture("registry-ca.pem"),
                      cert = test::certificate_fixture("registry-client.pem"),
                      key = test::certificate_fixture("registry-client.key");
    Origins origins;
    json s = test::merged_settings(
        {{"/usr/lib/eks-node/node.toml.d/10-image.toml",
          "[settings.registries.\"registry.example.com:8443\"]\nca = " + toml_literal(ca) +
              "\nclientCertificate = " + toml_literal(cert) + "\n"},
         {"/run/eks-node/node.toml.d/50-user-data",
          "[settings.registries.\"registry.example.com:8443\"]\nclientKey = " + toml_literal(key) +
              "\n[[settings.registries.\"docker.io\".mirrors]]\nendpoint = \"https://m.example\"\n"
              "[[settings.registries.\"docker.io\".mirrors]]\nendpoint = \"http://10.0.0.5:5000\"\n"
              "insecure = true\ncapabilities = [\"pull\"]\n"}},
        origins);
    std::vector<registries::Registry> regs =
        registries::read(s["registries"], [](const std::string& p) { return "source of " + p; });
    REQUIRE(regs.size() == 2);
    CHECK(regs[0].host == "docker.io");
    REQUIRE(regs[0].mirrors.size() == 2);
    CHECK(regs[0].mirrors[0].capabilities == std::vector<std::string>{"pull", "resolve"});
    CHECK(regs[0].mirrors[1].capabilities == std::vector<std::string>{"pull"});
    CHECK(regs[0].mirrors[1].tls.insecure);
    CHECK(regs[1].host == "registry.example.com:8443");
    CHECK(regs[1].tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    CHECK(regs[1].tls.client_key_pem == key);
    CHECK(registries::host_dir(regs[1]) == "/etc/containerd/certs.d/registry.example.com:8443");
}

TEST_CASE("bad registries are exit 6 naming the registry, the key and the source", "[config][registries]") {
    CHECK_THAT(
        registries_error_of("[[settings.registries.\"docker.io\".mirrors]]\nendpoint = \"http://10.0.0.5:5000\"\n"),
        Catch::Contains("settings.registries.docker.io.mirrors[0].endpoint") &&
            Catch::Contains("plain HTTP: set insecure = true") && Catch::Contains("50-r.toml"));
    CHECK_THAT(registries_error_of("[settings.registries.\"r.example\"]\nca = \"not a certificate\"\n"),
               Catch::Contains("settings.registries.r.example.ca"));
    CHECK_THAT(registries_error_of("[settings.registries.\"r.example\"]\nclientCertificate = " +
                                   toml_literal(test::certificate_fixture("registry-client.pem")) + "\n"),
               Catch::Contains("clientCertificate and clientKey go together"));
    CHECK_THAT(
        registries_error_of("[settings.registries.\"r.example\"]\nclientKey = " +
                            toml_literal(test::certificate_fixture("registry-client.pem")) + "\nclientCertificate = " +
                            toml_literal(test::certificate_fixture("registry-client.pem")) + "\n"),
        Catch::Contains("settings.registries.r.example.clientKey") && Catch::Contains("is not a PEM private key"));
    CHECK_THAT(registries_error_of("[settings.registries.\"r.example\"]\npassword = \"x\"\n"),
               Catch::Contains("username and password go together"));
    CHECK_THAT(registries_error_of("[[settings.registries.\"r.example\".mirrors]]\nendpoint = \"https://m\"\n"
                                   "capabilities = [\"referrers\"]\n"),
               Catch::Contains("capabilities"));
    CHECK_THAT(registries_error_of("[settings.registries.\"../etc\"]\ninsecure = true\n"),
               Catch::Contains("is not a registry host"));
    CHECK_THAT(registries_error_of("[settings.registries.\".hidden\"]\ninsecure = true\n"),
               Catch::Contains("is not a registry host"));
    CHECK_THAT(registries_error_of("[settings.registries.\"r.example\"]\nmirror = []\n"),
               Catch::Contains("unknown field"));
    // a secret is never quoted back
    CHECK_THAT(registries_error_of("[settings.registries.\"r.example\"]\npassword = \"s3cret-never-shown\"\n"),
               !Catch::Contains("s3cret-never-shown"));
}

TEST_CASE("credential providers: defaults, versions and what kubelet would refuse", "[config][credential-providers]") {
    Origins origins;
    json s = test::merged_settings(
        {{"/etc/eks-node/node.toml.d/50-p.toml",
          "[settings.credentialProviders.my-provider]\nmatchImages = [\"*.example.com\"]\n"
          "args = [\"--v\"]\nenv = { TOKEN = \"t\", A = \"b\" }\n"
          "[settings.credentialProviders.other]\nmatchImages = [\"x.example\"]\ndefaultCacheDuration = 90\n"
          "apiVersion = \"credentialprovider.kubelet.k8s.io/v1beta1\"\n"}},
        origins);
    auto ps = credential_providers::read(s["credentialProviders"], [](const std::string&) { return "src"; });
    REQUIRE(ps.size() == 2);
    CHECK(ps[0].name == "my-provider");
    CHECK(ps[0].default_cache_duration == "12h");
    CHECK(ps[0].api_version.empty());
    CHECK(ps[0].env == std::vector<std::pair<std::string, std::string>>{{"A", "b"}, {"TOKEN", "t"}});
    CHECK(ps[1].default_cache_duration == "90s");
    CHECK(ps[1].api_version == "credentialprovider.kubelet.k8s.io/v1beta1");

    CHECK_THAT(registries_error_of("[settings.credentialProviders.ecr-credential-provider]\nmatchImages = [\"x\"]\n"),
               Catch::Contains("the provider eks-node configures itself for ECR"));
    CHECK_THAT(registries_error_of("[settings.credentialProviders.p]\nargs = []\n"),
               Catch::Contains("settings.credentialProviders.p.matchImages") && Catch::Contains("is required"));
    CHECK_THAT(registries_error_of("[settings.credentialProviders.p]\nmatchImages = [\"x\"]\napiVersion = \"v2\"\n"),
               Catch::Contains("settings.credentialProviders.p.apiVersion"));
    CHECK_THAT(registries_error_of("[settings.credentialProviders.\"a/b\"]\nmatchImages = [\"x\"]\n"),
               Catch::Contains("is not a program name"));
    CHECK_THAT(registries_error_of(
                   "[settings.credentialProviders.p]\nmatchImages = [\"x\"]\ndefaultCacheDuration = \"1m30s\"\n"),
               Catch::Contains("settings.credentialProviders.p.defaultCacheDuration"));
}

TEST_CASE("trust bundles: checked as the cluster CA is, distrust spelled out", "[config][trust]") {
    Origins origins;
    json s = test::merged_settings(
        {{"/etc/eks-node/node.toml.d/50-t.toml",
          "[settings.trust.corp]\ncertificates = " + toml_literal(test::certificate_fixture("bundle.pem")) +
              "\n[settings.trust.old]\ntrusted = false\ncertificates = " +
              toml_literal(test::certificate_fixture("registry-ca.pem")) + "\n"}},
        origins);
    auto bs = trust::read(s["trust"], [](const std::string&) { return "src"; });
    REQUIRE(bs.size() == 2);
    CHECK(bs[0].name == "corp");
    CHECK(bs[0].trusted);
    CHECK(bs[0].pem == test::certificate_fixture("bundle.expected.pem"));
    CHECK_FALSE(bs[1].trusted);

    CHECK_THAT(registries_error_of("[settings.trust.corp]\ncertificates = \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n\"\n"),
               Catch::Contains("settings.trust.corp.certificates"));
    CHECK_THAT(registries_error_of("[settings.trust.corp]\ntrusted = true\n"),
               Catch::Contains("settings.trust.corp.certificates") && Catch::Contains("is required"));
    CHECK_THAT(registries_error_of("[settings.trust.\"Bad_Name\"]\ncertificates = \"x\"\n"),
               Catch::Contains("settings.trust"));
}
