// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "config/validate.hpp"
#include "core/error.hpp"
#include "format/certificate.hpp"
#include "format/encoding.hpp"
#include "input/schema.hpp"
#include "input/settings.hpp"
#include "input/sources.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::replace_all;

namespace {

// "field: problem" of the first error in a fragment, or "" when it validates.
std::string problem(const json& spec, const json& settings = json::object()) {
    input::Fragment f{"src", spec, settings};
    try {
        validate_fragment(f);
    } catch (const ConfigError& e) {
        CHECK(e.source() == "src");
        return e.field() + ": " + e.problem();
    }
    return "";
}

json at(std::string_view pointer, json value) {
    json out = json::object();
    out[json::json_pointer(std::string(pointer))] = std::move(value);
    return out;
}

// A value of the wrong type for every kind of field.
json wrong_value(const input::schema::Field& f) {
    switch (f.kind) {
    case input::schema::Kind::string: return 5;
    case input::schema::Kind::boolean: return "yes";
    case input::schema::Kind::integer: return "5";
    case input::schema::Kind::duration: return true;
    case input::schema::Kind::list: return "x";
    default: return json::array({1});
    }
}

// The document that sets the table path `path` ("spec.a.b[].c", map keys "*")
// to `value`, and the field path an error about that value names. Map keys
// become "default", valid wherever the table has a map; lists get one element.
std::pair<json, std::string> document_at(const std::string& path, const json& value) {
    std::string field = replace_all(replace_all(path, "*", "default"), "[]", "[0]");
    std::string pointer = replace_all(replace_all(field.substr(field.find('.')), ".", "/"), "[0]", "/0");
    json doc;
    doc[json::json_pointer(pointer)] = value;
    return {doc, field};
}

}  // namespace

TEST_CASE("every field in the table rejects a value of the wrong type", "[config][validate]") {
    size_t checked = 0;
    for (const input::schema::Field* root : {&input::schema::spec(), &input::schema::settings()}) {
        input::schema::for_each_field(*root, root->name, [&](const std::string& path, const input::schema::Field& f) {
            if (path == root->name) return;
            // a string or an integer, under a checked name: test_profiles.cpp
            if (path == "settings.sysctls.*") return;
            json wrong = wrong_value(f);
            auto [doc, error_path] = document_at(path, wrong);
            INFO(path << " = " << wrong.dump());
            // a field eks-node refuses says so whatever the value (test_nodeadm_fields.cpp)
            std::string expected = !f.refused.empty() ? error_path + ": " + input::schema::refusal(f, wrong)
                                                      : error_path + ": expected " + input::schema::expected(f) +
                                                            ", got " + (wrong.is_array() ? "a list" : wrong.dump());
            std::string got = root == &input::schema::spec() ? problem(doc) : problem(json::object(), doc);
            CHECK(got == expected);
            ++checked;
        });
    }
    CHECK(checked >= 40);
}

TEST_CASE("a complete valid fragment validates", "[config][validate]") {
    auto fragments = fragments_from_nodeconfig(test::nodeconfig_yaml(R"(  kubelet:
    flags: ["--node-labels=a=b,c=d", "--register-with-taints=x=y:NoSchedule", "--v=2"]
    config: {maxPods: 110}
    maxPodsExpression: "max_pods * 2"
  containerd:
    config: "version = 2"
    baseRuntimeSpec: {process: {rlimits: []}}
  instance:
    localStorage: {strategy: RAID10, mountPath: /mnt/k8s-disks, disabledMounts: [Containerd, PodLogs, SOCI]}
    environment:
      default: {HTTP_PROXY: "http://proxy:3128", _lower: x}
      containerd: {NO_PROXY: "169.254.169.254"}
      "foo@bar": {}
    network: {nameservers: [10.0.0.2, "fd00:ec2::253"], domains: [ec2.internal, example.com.]}
  featureGates: {InstanceIdNodeName: true, FastImagePull: false}
)"),
                                               "t");
    REQUIRE(fragments.size() == 1);
    CHECK_NOTHROW(validate_fragment(fragments[0]));
}

TEST_CASE("cluster fields are checked", "[config][validate]") {
    struct Case {
        json value;
        std::string problem;
    };
    SECTION("cidr") {
        for (const char* good : {"10.100.0.0/16", "172.20.0.0/16", "fd00:10:96::/108", "0.0.0.0/0", "10.100.0.1/32"})
            CHECK(problem(at("/cluster/cidr", good)).empty());
        for (const char* bad : {"10.100.0.0/33", "10.100.0.0", "10.100.0.0/", "fd00::/129", "300.1.1.1/8",
                                "10.0.0.0/8 ", "10.0.0.0/-1", "10.0.0.0/0008", "x/8"})
            CHECK(problem(at("/cluster/cidr", bad)) == "spec.cluster.cidr: " + json(bad).dump() + " is not a CIDR");
    }
    SECTION("apiServerEndpoint") {
        for (const char* good : {"https://example.com", "https://ABC.gr7.us-west-2.eks.amazonaws.com",
                                 "http://10.0.0.1:6443/path", "https://[fd00::1]:443", "HTTPS://example.com/"})
            CHECK(problem(at("/cluster/apiServerEndpoint", good)).empty());
        for (const char* bad :
             {"example.com", "ftp://example.com", "https://", "https://exa mple.com", "https://host:0",
              "https://host:99999", "https://[::1", "https://user@host", "https://:443"})
            CHECK(problem(at("/cluster/apiServerEndpoint", bad)) ==
                  "spec.cluster.apiServerEndpoint: " + json(bad).dump() +
                      " is not an http:// or https:// URL with a host");
    }
    SECTION("name") {
        for (const char* good : {"my-cluster", "a", "Cluster_1"}) CHECK(problem(at("/cluster/name", good)).empty());
        for (const char* bad : {"", "my cluster", "-x", "a/b"})
            CHECK(problem(at("/cluster/name", bad)) ==
                  "spec.cluster.name: " + json(bad).dump() +
                      " is not an EKS cluster name (letters, digits, - and _, at most 100)");
        CHECK_FALSE(problem(at("/cluster/name", std::string(101, 'a'))).empty());
    }
    SECTION("id and enableOutpost") {
        CHECK(problem(at("/cluster/id", "6f8b0e2c-1d")).empty());
        CHECK(problem(at("/cluster/id", "")) ==
              "spec.cluster.id: \"\" must be one word without spaces or control characters");
        CHECK(problem(at("/cluster/enableOutpost", "true")) ==
              "spec.cluster.enableOutpost: expected a boolean, got \"true\"");
    }
}

TEST_CASE("the certificate authority must hold X.509 certificates", "[config][validate]") {
    for (const std::string& good : {test::ca_base64(), test::ca_pem, test::base64(test::ca_pem + test::ca_pem)})
        CHECK(problem(at("/cluster/certificateAuthority", good)).empty());
    struct Case {
        std::string value, problem;
    };
    auto c = GENERATE_REF(values<Case>({
        {"Y2VydGlmaWNhdGVBdXRob3JpdHk=",  // base64 of "certificateAuthority", nodeadm's test value
         "is base64 of neither PEM text nor a DER certificate (set it to the certificateAuthority `aws eks "
         "describe-cluster` gives, or leave it out for eks:DescribeCluster to fill): certificate 1 is not a valid "
         "X.509 certificate"},
        {"not base64!", "is neither base64 nor PEM text"},
        {"QUJDR", "invalid base64: 5 characters do not form whole groups (truncated?)"},
        {"", "is empty"},
        {test::base64("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
         "PEM block 1 is a \"PRIVATE KEY\", not a CERTIFICATE"},
        {test::ca_pem.substr(0, 200), "PEM block 1 is malformed"},
        {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
         "certificate 1 is not a valid X.509 certificate"},
    }));
    CHECK_THAT(problem(at("/cluster/certificateAuthority", c.value)),
               Catch::StartsWith("spec.cluster.certificateAuthority: " + c.problem));
}

TEST_CASE("certificate_authority_pem normalizes every accepted form to PEM", "[config][validate]") {
    std::string crlf;
    for (char ch : test::ca_pem) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    CHECK(certificate_authority_pem(test::ca_pem, "t") == test::ca_pem);
    CHECK(certificate_authority_pem(test::ca_base64(), "t") == test::ca_pem);
    CHECK(certificate_authority_pem("subject=CN = kubernetes\n" + crlf, "t") == test::ca_pem);
    CHECK(certificate_authority_pem(test::base64(test::ca_pem + test::ca_pem), "t") == test::ca_pem + test::ca_pem);
    // DER: the base64 between the PEM armour lines, decoded, is the certificate itself
    std::string body = test::ca_pem.substr(test::ca_pem.find('\n') + 1);
    std::string der = base64_decode(body.substr(0, body.find("-----END")), "t");
    CHECK(certificate_authority_pem(test::base64(der), "t") == test::ca_pem);
    CHECK_THROWS_WITH(certificate_authority_pem("junk!", "src", "settings.x"),
                      "src: settings.x: is neither base64 nor PEM text");
}

TEST_CASE("kubelet fields are checked", "[config][validate]") {
    for (const char* good :
         {"--v=2", "--node-labels=a=b,c=d", "--register-with-taints=x=y:NoSchedule", "--enable-debugging-handlers"})
        CHECK(problem(at("/kubelet/flags", {good})).empty());
    for (const char* bad : {"v=2", "-v=2", "--", "--=x", "--node-labels=a\nb", "--bad name"})
        CHECK(problem(at("/kubelet/flags", {"--v=2", bad})) ==
              "spec.kubelet.flags[1]: " + json(bad).dump() +
                  " is not a kubelet flag (expected --name or --name=value)");
    CHECK(problem(at("/kubelet/flags", "--v=2")) == "spec.kubelet.flags: expected a list, got \"--v=2\"");
    CHECK(problem(at("/kubelet/config", "maxPods: 5")) ==
          "spec.kubelet.config: expected an object, got \"maxPods: 5\"");
    CHECK(problem(at("/kubelet/maxPodsExpression", "")) == "spec.kubelet.maxPodsExpression: must not be empty");
}

TEST_CASE("instance fields are checked", "[config][validate]") {
    CHECK(problem(at("/instance/localStorage/strategy", "RAID5")) ==
          "spec.instance.localStorage.strategy: \"RAID5\" is not one of RAID0, RAID10, Mount");
    CHECK(problem(at("/instance/localStorage/disabledMounts", {"PodLogs", "Kubelet"})) ==
          "spec.instance.localStorage.disabledMounts[1]: \"Kubelet\" is not one of Containerd, PodLogs, SOCI");
    CHECK(problem(at("/instance/localStorage/mountPath", "mnt/disks")) ==
          "spec.instance.localStorage.mountPath: \"mnt/disks\" is not an absolute path");
    CHECK_FALSE(problem(at("/instance/localStorage/mountPath", "/mnt/../etc")).empty());
    CHECK(problem(at("/instance/network/nameservers", {"10.0.0.2", "dns.example.com"})) ==
          "spec.instance.network.nameservers[1]: \"dns.example.com\" is not an IP address");
    CHECK_FALSE(problem(at("/instance/network/nameservers", {"10.0.0.300"})).empty());
    for (const char* bad : {"-bad.com", "a..b", "with space", "x\nsearch evil"})
        CHECK(problem(at("/instance/network/domains", {bad})) ==
              "spec.instance.network.domains[0]: " + json(bad).dump() + " is not a domain name");
    for (const char* bad : {"1FOO", "FOO-BAR", "A B", ""})
        CHECK(problem(at("/instance/environment/default", {{bad, "x"}})) ==
              "spec.instance.environment.default." + std::string(bad) + ": " + json(bad).dump() +
                  " is not an environment variable name");
    for (const char* bad : {"../etc", ".hidden", "a/b"})
        CHECK(problem(at("/instance/environment", {{bad, json::object()}})) ==
              "spec.instance.environment." + std::string(bad) + ": " + json(bad).dump() +
                  " is not \"default\" or a service name");
    CHECK(problem(at("/instance/environment/kubelet/PORT", 8080)) ==
          "spec.instance.environment.kubelet.PORT: expected a string, got 8080");
}

TEST_CASE("environment sections name services as systemd names them", "[config][validate][environment]") {
    auto section = [](const std::string& key) { return problem(at("/instance/environment", {{key, {{"A", "1"}}}})); };
    auto refused = [&](const std::string& key, const std::string& why) {
        INFO(key);
        CHECK(section(key) == "spec.instance.environment." + key + ": " + json(key).dump() + " " + why);
    };
    // default, plain names, NAME.service, template instances, systemd's escapes
    for (const char* good : {"default", "kubelet", "kubelet.service", "foo.bar", "bar@1", "bar@1.service", "getty@tty1",
                             "a@b@c", "x:y_z-1", "systemd-fsck@dev-disk-by\\x2dlabel-root"}) {
        INFO(good);
        CHECK(section(good).empty());
    }
    // other unit types: an environment is a service's
    refused("x.timer", "is a .timer unit: the environment applies to services");
    refused("x.socket", "is a .socket unit: the environment applies to services");
    refused("multi-user.target", "is a .target unit: the environment applies to services");
    // a template is no unit that runs
    refused("foo@", "is a template: name one of its instances (foo@NAME)");
    refused("foo@.service", "is a template: name one of its instances (foo@NAME)");
    // what systemd would refuse, or a file name that would be hidden or escape the directory
    for (const char* bad : {"", ".service", "@x", "a b", "a/b", "../etc", ".hidden", "caf\xc3\xa9", "x%n", "x\n"})
        refused(bad, "is not \"default\" or a service name");
    CHECK(section(std::string(247, 'a')).empty());
    // (the message shortens so long a name)
    CHECK_THAT(section(std::string(248, 'a')),
               Catch::EndsWith("...\" is longer than a unit name may be (255 characters with \".service\")"));
    CHECK(section(std::string(247, 'a') + ".service").empty());
    // default.service would be the default section's file; eks-node's own steps reset the service environment
    refused("default.service", "would be read as the section \"default\" (every service)");
    refused("eks-node-config",
            "is one of eks-node's own units, which take their settings from the node "
            "configuration, not from the service environment");
}

TEST_CASE("two environment sections for one unit are refused, naming both", "[config][validate][environment]") {
    json spec = fragments_from_nodeconfig(test::nodeconfig_yaml(), "t")[0].spec;
    spec["instance"]["environment"] = {{"kubelet", {{"A", "1"}}}, {"foo@1", {{"B", "2"}}}};
    Origins origins = {{"/spec/instance/environment/kubelet/A", "user data"},
                       {"/spec/instance/environment/kubelet.service/A", "/etc/eks-node/node.toml.d/90-a.toml"}};
    CHECK_NOTHROW(validate_merged(spec, json::object(), origins));
    spec["instance"]["environment"]["kubelet.service"] = {{"A", "3"}};
    CHECK_THROWS_WITH(validate_merged(spec, json::object(), origins),
                      "/etc/eks-node/node.toml.d/90-a.toml: spec.instance.environment.kubelet.service: names the same "
                      "unit as spec.instance.environment.kubelet (kubelet.service): use one section for it");
    // an empty section counts: it names the unit too
    spec["instance"]["environment"].erase("kubelet.service");
    spec["instance"]["environment"]["foo@1.service"] = json::object();
    CHECK_THROWS_WITH(validate_merged(spec, json::object(), origins),
                      Catch::Contains("spec.instance.environment.foo@1.service: names the same unit as "
                                      "spec.instance.environment.foo@1 (foo@1.service)"));
}

TEST_CASE("feature gates are known names with boolean values", "[config][validate]") {
    CHECK(problem(at("/featureGates", {{"InstanceIdNodeName", true}, {"FastImagePull", false}})).empty());
    // as eks-node's TOML has it (a NodeConfig's unknown gate never gets here: test_unknown_fields.cpp)
    CHECK(
        problem(at("/featureGates/InstanceIDNodeName", true)) ==
        "spec.featureGates.InstanceIDNodeName: not a feature gate eks-node knows (InstanceIdNodeName, "
        "FastImagePull, OSManagedNoManageENIs): eks-node's TOML refuses names it does not know (in a NodeConfig, an unknown gate is "
        "ignored with a warning, as nodeadm ignores it)");
    CHECK(problem(at("/featureGates/OSManagedNoManageENIs", true)).empty());
    CHECK(problem(at("/featureGates/OSManagedNoManageENIs", false)).empty());
    CHECK(problem(at("/featureGates/FastImagePull", "true")) ==
          "spec.featureGates.FastImagePull: expected a boolean, got \"true\"");
}

// validate_fragment() on a spec as eks-node's TOML gives it
TEST_CASE("unknown fields are errors at every level", "[config][validate]") {
    CHECK_THAT(problem(at("/clusters", json::object())),
               Catch::StartsWith("spec.clusters: unknown field (nearest known field: cluster; known fields: cluster, "
                                 "kubelet,"));
    CHECK(problem(at("/cluster/nmae", "x")) ==
          "spec.cluster.nmae: unknown field (nearest known field: name; known fields: name, apiServerEndpoint, "
          "certificateAuthority, cidr, enableOutpost, id)");
    // a section of many keys: the nearest, and where they are all listed
    CHECK_THAT(problem(json::object(), {{"nodeNameStrategi", "imds"}}),
               Catch::StartsWith("settings.nodeNameStrategi: unknown field (nearest known field: nodeNameStrategy; "
                                 "eks-node.toml(5), FIELDS, lists the ") &&
                   Catch::EndsWith(" of settings)"));
    CHECK_THAT(problem(json::object(), {{"imds", {{"timeout", 5}}}}),
               Catch::StartsWith("settings.imds.timeout: unknown field"));
    CHECK(problem(at("/kubelet/config/anything/goes", json::array())).empty());
    CHECK(problem(at("/containerd/baseRuntimeSpec/anything", 1)).empty());
}

namespace {
// How every duration error explains the grammar (input/settings.cpp).
const std::string duration_grammar = std::string(settings::duration_expected);
}  // namespace

TEST_CASE("settings are checked", "[config][validate]") {
    struct Case {
        json settings;
        std::string problem;
    };
    auto c = GENERATE(values<Case>({
        {{{"enable", false}, {"logLevel", "debug"}, {"nodeNameStrategy", "instance-id"}}, ""},
        {{{"logLevel", "verbose"}}, "settings.logLevel: \"verbose\" is not one of error, warning, notice, info, debug"},
        {{{"nodeNameStrategy", "hostname"}},
         "settings.nodeNameStrategy: \"hostname\" is not one of imds, instance-id, private-dns-name"},
        {{{"imds", {{"endpoint", "http://[fd00:ec2::254]"}, {"endpointMode", "ipv6"}}}}, ""},
        {{{"imds", {{"endpoint", "169.254.169.254"}}}},
         "settings.imds.endpoint: \"169.254.169.254\": must start with http:// (e.g. http://169.254.169.254)"},
        {{{"imds", {{"endpoint", "https://169.254.169.254"}}}},
         "settings.imds.endpoint: \"https://169.254.169.254\": IMDS speaks plain http, not https"},
        {{{"imds", {{"endpointMode", "ipv5"}}}}, "settings.imds.endpointMode: \"ipv5\" is not one of auto, ipv4, ipv6"},
        {{{"imds", {{"deadline", "500ms"}, {"requestTimeout", 1}}}}, ""},
        {{{"imds", {{"deadline", "2m"}, {"requestTimeout", "1h"}}}}, ""},
        {{{"imds", {{"deadline", "5x"}}}}, "settings.imds.deadline: expected " + duration_grammar + ", got \"5x\""},
        {{{"imds", {{"deadline", 0}}}}, "settings.imds.deadline: expected " + duration_grammar + ", got 0"},
        {{{"imds", {{"requestTimeout", "1.5s"}}}},
         "settings.imds.requestTimeout: expected " + duration_grammar + ", got \"1.5s\""},
        {{{"aws", {{"deadline", "1m30s"}}}}, "settings.aws.deadline: expected " + duration_grammar + ", got \"1m30s\""},
        {{{"maxPods", {{"prefixDelegation", true}, {"customNetworking", false}, {"maxEnis", 1}, {"default", 1000}}}},
         ""},
        {{{"maxPods", {{"maxEnis", 0}}}}, "settings.maxPods.maxEnis: 0 is less than 1"},
        {json::parse(R"({"maxPods": {"maxEnis": 0}})"), "settings.maxPods.maxEnis: 0 is less than 1"},  // unsigned 0
        {{{"maxPods", {{"default", 1001}}}}, "settings.maxPods.default: 1001 is more than 1000"},
        {{{"maxPods", {{"default", 18446744073709551615u}}}},
         "settings.maxPods.default: 18446744073709551615 is more than 1000"},
        {{{"maxPods", {{"default", 1.5}}}}, "settings.maxPods.default: expected an integer, got 1.5"},
        {{{"containerd", {{"sandboxImage", "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"}}}}, ""},
        {{{"containerd", {{"sandboxImage", "pause 3.10"}}}},
         "settings.containerd.sandboxImage: \"pause 3.10\" must be one word without spaces or control characters"},
        {"debug", "settings: expected an object, got \"debug\""},
    }));
    INFO(c.settings.dump());
    CHECK(problem(json::object(), c.settings) == c.problem);
}

TEST_CASE("validate_merged requires the cluster coordinates", "[config][validate]") {
    json full = fragments_from_nodeconfig(test::nodeconfig_yaml(), "t")[0].spec;
    Origins origins = {{"/spec/cluster/name", "user data"},
                       {"/spec/kubelet/flags/0", "/etc/eks-node/node.toml.d/10-a.toml"}};
    CHECK_NOTHROW(validate_merged(full, json::object(), origins));
    for (const char* field : {"name", "apiServerEndpoint", "certificateAuthority", "cidr"}) {
        json spec = full;
        spec["cluster"].erase(field);
        INFO(field);
        try {
            validate_merged(spec, json::object(), origins);
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(e.source() == "/etc/eks-node/node.toml.d/10-a.toml, user data");
            CHECK(e.field() == std::string("spec.cluster.") + field);
            CHECK(e.problem() == "required, but no source sets it");
        }
    }
    CHECK_THROWS_WITH(validate_merged(json::object(), json::object(), {}),
                      "configuration: spec.cluster.name: required, but no source sets it");
}

TEST_CASE("the cluster coordinates can be left to a later lookup", "[config][validate]") {
    json named = {{"cluster", {{"name", "c"}}}};
    CHECK_THROWS_AS(validate_merged(named, json::object(), {}), ConfigError);
    CHECK_NOTHROW(validate_merged(named, json::object(), {}, config::Requirements{.cluster_coordinates = false}));
    CHECK_THROWS_WITH(
        validate_merged(json::object(), json::object(), {}, config::Requirements{.cluster_coordinates = false}),
        Catch::Contains("spec.cluster.name"));
}

TEST_CASE("the service CIDR is not required when the node derives it from its VPC", "[config][validate][al2]") {
    json spec = fragments_from_nodeconfig(test::nodeconfig_yaml(), "t")[0].spec;
    spec["cluster"].erase("cidr");
    CHECK_THROWS_WITH(validate_merged(spec, json::object(), {}), Catch::Contains("spec.cluster.cidr: required"));
    CHECK_THROWS_WITH(validate_merged(spec, json{{"serviceCidrStrategy", "describe-cluster"}}, {}),
                      Catch::Contains("spec.cluster.cidr: required"));
    for (const char* s : {"vpc", "describe-cluster-or-vpc"}) {
        INFO(s);
        CHECK_NOTHROW(validate_merged(spec, json{{"serviceCidrStrategy", s}}, {}));
    }
    // the other coordinates stay required
    spec["cluster"].erase("certificateAuthority");
    CHECK_THROWS_WITH(validate_merged(spec, json{{"serviceCidrStrategy", "vpc"}}, {}),
                      Catch::Contains("spec.cluster.certificateAuthority: required"));
    // and the setting is one of three
    CHECK(problem(json::object(), json{{"serviceCidrStrategy", "guess"}}) ==
          "settings.serviceCidrStrategy: \"guess\" is not one of describe-cluster, vpc, describe-cluster-or-vpc");
}

TEST_CASE("an Outpost cluster needs its id, named after the source that enabled it", "[config][validate]") {
    json spec = fragments_from_nodeconfig(test::nodeconfig_yaml("    enableOutpost: true\n"), "t")[0].spec;
    Origins origins = {{"/spec/cluster/enableOutpost", "user data (MIME part 2, application/node.eks.aws)"}};
    CHECK_THROWS_WITH(validate_merged(spec, json::object(), origins),
                      "user data (MIME part 2, application/node.eks.aws): spec.cluster.id: "
                      "required when spec.cluster.enableOutpost is true");
    spec["cluster"]["id"] = "abc";
    CHECK_NOTHROW(validate_merged(spec, json::object(), origins));
    spec["cluster"]["enableOutpost"] = false;
    spec["cluster"].erase("id");
    CHECK_NOTHROW(validate_merged(spec, json::object(), origins));
}

TEST_CASE("an IMDS request may not outlast the IMDS deadline", "[config][validate]") {
    json spec = fragments_from_nodeconfig(test::nodeconfig_yaml(), "t")[0].spec;
    Origins origins = {{"/settings/imds/requestTimeout", "/etc/eks-node/node.toml.d/90-admin.toml"}};
    CHECK_NOTHROW(validate_merged(spec, {{"imds", {{"deadline", "90s"}, {"requestTimeout", 90}}}}, origins));
    CHECK_THROWS_WITH(validate_merged(spec, {{"imds", {{"deadline", "90s"}, {"requestTimeout", "2m"}}}}, origins),
                      "/etc/eks-node/node.toml.d/90-admin.toml: settings.imds.requestTimeout: "
                      "\"2m\" is longer than settings.imds.deadline (\"90s\")");
}

TEST_CASE("the node kind of a whole configuration is its settings' node", "[config][validate]") {
    CHECK(config_node_kind(json::parse(R"({"settings": {"node": "ecs"}})")) == NodeKind::ecs);
    CHECK(config_node_kind(json::parse(R"({"settings": {"node": "eks"}})")) == NodeKind::eks);
    // no settings, settings of the wrong type, or no object at all: an EKS node
    CHECK(config_node_kind(json::parse(R"({"spec": {}})")) == NodeKind::eks);
    CHECK(config_node_kind(json::parse(R"({"settings": "ecs"})")) == NodeKind::eks);
    CHECK(config_node_kind(json::array()) == NodeKind::eks);
}
