// SPDX-License-Identifier: Apache-2.0
// The AWS client's pure parts: endpoints, credentials, error mapping and the
// EC2/EKS answer parsers. The network side is covered by
// tests/process/aws_lookups.py against the botocore-verifying fake.
#include <catch2/catch.hpp>

#include <map>

#include "aws/api.hpp"
#include "core/error.hpp"
#include "fake_env.hpp"

using namespace eksnode;
using namespace eksnode::aws;
using eksnode::curl::HttpResponse;

namespace {

HttpResponse answer(long status, std::string body, std::map<std::string, std::string> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

using Answers = std::map<std::string, std::optional<std::string>, std::less<>>;

// IMDS as imds::fetch_paths serves it: `answer` for each path asked, then for
// each path a follow-up names; `calls` counts the fetches (one session token each).
ImdsGet fake_imds(const std::function<std::optional<std::string>(const std::string&)>& answer, int* calls = nullptr) {
    return [answer, calls](std::vector<std::string> paths, const imds::FollowUp& then) {
        if (calls) ++*calls;
        Answers out;
        for (size_t i = 0; i < paths.size(); ++i) {
            std::optional<std::string> a = answer(paths[i]);
            if (then)
                for (std::string& next : then(paths[i], a)) paths.push_back(std::move(next));
            out[paths[i]] = std::move(a);
        }
        return out;
    };
}

std::string ec2_error(const std::string& code) {
    return "<?xml version=\"1.0\"?><Response><Errors><Error><Code>" + code +
           "</Code><Message>text</Message></Error></Errors><RequestID>x</RequestID></Response>";
}

}  // namespace

TEST_CASE("endpoints from region and partition suffix, FIPS where it exists", "[aws]") {
    test::fake_env.clear();
    CHECK(resolve_endpoint({"ec2", "us-west-2", "amazonaws.com", false}, test::fake_getenv).url ==
          "https://ec2.us-west-2.amazonaws.com");
    CHECK(resolve_endpoint({"eks", "cn-north-1", "amazonaws.com.cn", false}, test::fake_getenv).url ==
          "https://eks.cn-north-1.amazonaws.com.cn");
    CHECK(resolve_endpoint({"ec2", "us-east-1", "amazonaws.com", true}, test::fake_getenv).url ==
          "https://ec2-fips.us-east-1.amazonaws.com");
    CHECK(resolve_endpoint({"eks", "us-gov-west-1", "amazonaws.com", true}, test::fake_getenv).url ==
          "https://fips.eks.us-gov-west-1.amazonaws.com");
    Endpoint no_fips = resolve_endpoint({"eks", "eu-west-1", "amazonaws.com", true}, test::fake_getenv);
    CHECK(no_fips.url == "https://eks.eu-west-1.amazonaws.com");
    CHECK_THAT(no_fips.origin, Catch::Contains("no FIPS endpoint"));
    CHECK_THROWS_AS(resolve_endpoint({"ec2", "us-west-2/evil", "amazonaws.com", false}, test::fake_getenv), Error);
}

TEST_CASE("AWS_ENDPOINT_URL_<SERVICE> beats AWS_ENDPOINT_URL", "[aws]") {
    test::fake_env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:1/"}, {"AWS_ENDPOINT_URL_EKS", "http://127.0.0.1:2"}};
    CHECK(resolve_endpoint({"ec2", "us-west-2", "amazonaws.com", false}, test::fake_getenv).url ==
          "http://127.0.0.1:1");
    Endpoint eks = resolve_endpoint({"eks", "us-west-2", "amazonaws.com", false}, test::fake_getenv);
    CHECK(eks.url == "http://127.0.0.1:2");
    CHECK(eks.origin == "AWS_ENDPOINT_URL_EKS");
    CHECK(eks.region == "us-west-2");
    test::fake_env = {{"AWS_ENDPOINT_URL", "ftp://x"}};
    CHECK_THROWS_AS(resolve_endpoint({"ec2", "us-west-2", "amazonaws.com", false}, test::fake_getenv), ConfigError);
    test::fake_env.clear();
}

TEST_CASE("credentials: the environment first, both halves or neither", "[aws]") {
    test::fake_env = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SESSION_TOKEN", "t"}};
    auto c = environment_credentials(test::fake_getenv);
    REQUIRE(c);
    CHECK(c->session_token == "t");
    test::fake_env = {{"AWS_ACCESS_KEY_ID", "AKID"}};
    CHECK_THROWS_AS(environment_credentials(test::fake_getenv), ConfigError);
    test::fake_env.clear();
    CHECK_FALSE(environment_credentials(test::fake_getenv));
}

TEST_CASE("credentials: the instance profile through IMDS, renewed near expiry", "[aws]") {
    test::fake_env.clear();
    int fetches = 0;
    std::string expiration = "2099-01-01T00:00:00Z";
    int calls = 0;
    ImdsGet imds = fake_imds(
        [&](const std::string& p) -> std::optional<std::string> {
            if (p == "meta-data/iam/security-credentials/") return "node-role\n";
            if (p != "meta-data/iam/security-credentials/node-role") return std::nullopt;
            ++fetches;
            return R"({"Code": "Success", "AccessKeyId": "AKIDP", "SecretAccessKey": "sec", "Token": "tok",
                       "Expiration": ")" +
                   expiration + "\"}";
        },
        &calls);
    CredentialProvider p(test::fake_getenv, imds);
    CHECK(p.get().access_key_id == "AKIDP");
    CHECK(p.get().source == "instance profile node-role (IMDS)");
    CHECK(fetches == 1);  // cached while far from expiry
    CHECK(calls == 1);    // the listing and the document on one session token
    p.get(true);
    CHECK(fetches == 2);  // the API said the token expired

    expiration = "2000-01-01T00:00:00Z";  // already expired: fetched at every use
    CredentialProvider q(test::fake_getenv, imds);
    q.get();
    q.get();
    CHECK(fetches == 4);

    ImdsGet none = fake_imds([](const std::string&) { return std::nullopt; });
    CredentialProvider r(test::fake_getenv, none);
    CHECK_THROWS_WITH(r.get(), Catch::Contains("no IAM instance profile"));
}

TEST_CASE("instance profile documents: refused without echoing values", "[aws]") {
    CHECK_THROWS_AS(parse_instance_profile("not json", "r"), Error);
    // beyond what system_clock holds (found by fuzzing: from_time_t overflowed)
    CHECK_THROWS_WITH(parse_instance_profile(R"({"Code": "Success", "AccessKeyId": "A", "SecretAccessKey": "S",
                                               "Token": "t", "Expiration": "9999-12-31T23:59:59Z"})", "r"),
                      Catch::Contains("is not a time"));
    CHECK_THROWS_AS(parse_instance_profile(R"({"Code": "Failure"})", "r"), TempError);
    try {
        parse_instance_profile(R"({"Code": "Success", "AccessKeyId": "A", "SecretAccessKey": "TOPSECRET",
                                   "Token": "t", "Expiration": "tomorrow"})", "r");
        FAIL("no exception");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), !Catch::Contains("TOPSECRET"));
    }
    CHECK(parse_iso8601("2015-08-30T12:36:00Z") == std::chrono::system_clock::from_time_t(1440938160));
    CHECK_FALSE(parse_iso8601("2015-08-30 12:36"));
}

TEST_CASE("API errors: throttling and 5xx retried, permission refused at once", "[aws]") {
    CHECK(classify(parse_error(answer(503, ec2_error("RequestLimitExceeded")))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(400, ec2_error("Throttling")))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(500, ""))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(400, ec2_error("InvalidInstanceID.NotFound")))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(403, ec2_error("UnauthorizedOperation")))) == ErrorClass::permission);
    CHECK(classify(parse_error(answer(401, ec2_error("AuthFailure")))) == ErrorClass::permission);
    CHECK(classify(parse_error(answer(400, ec2_error("RequestExpired")))) == ErrorClass::refresh_credentials);
    CHECK(classify(parse_error(answer(400, ec2_error("InvalidInstanceID.Malformed")))) == ErrorClass::fatal);
    ApiError eks = parse_error(answer(403, R"({"message": "User is not authorized"})",
                                      {{"x-amzn-errortype", "AccessDeniedException:http://internal.amazon.com/"}}));
    CHECK(eks.code == "AccessDeniedException");
    CHECK(eks.message == "User is not authorized");
    CHECK(classify(eks) == ErrorClass::permission);
    CHECK(classify(parse_error(answer(429, R"({"message": "Rate exceeded"})",
                                      {{"x-amzn-errortype", "ThrottlingException"}}))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(404, "{}", {{"x-amzn-errortype", "ResourceNotFoundException"}}))) ==
          ErrorClass::not_found);
}

TEST_CASE("EC2 answers: PrivateDnsName and ENI limits", "[aws]") {
    std::string xml = R"(<?xml version="1.0"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
      <reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>
      <privateDnsName>ip-10-0-0-1.ec2.internal</privateDnsName></item></instancesSet></item></reservationSet>
      </DescribeInstancesResponse>)";
    CHECK(parse_private_dns_name(xml) == "ip-10-0-0-1.ec2.internal");
    std::string empty = xml;
    empty.replace(empty.find("ip-10-0-0-1.ec2.internal"), 24, "");
    CHECK(parse_private_dns_name(empty).empty());
    std::string evil = xml;
    evil.replace(evil.find("ip-10-0-0-1.ec2.internal"), 24, "a b --flag");
    CHECK_THROWS_AS(parse_private_dns_name(evil), Error);
    CHECK_THROWS_AS(parse_private_dns_name("<DescribeInstancesResponse/>"), Error);
    CHECK_THROWS_AS(parse_private_dns_name("not xml <"), Error);

    // Two network cards: the default card's interfaces count, not the sum.
    std::string types = R"(<DescribeInstanceTypesResponse><instanceTypeSet><item><networkInfo>
      <maximumNetworkInterfaces>16</maximumNetworkInterfaces><ipv4AddressesPerInterface>50</ipv4AddressesPerInterface>
      <defaultNetworkCardIndex>0</defaultNetworkCardIndex><networkCards>
      <item><networkCardIndex>0</networkCardIndex><maximumNetworkInterfaces>8</maximumNetworkInterfaces></item>
      <item><networkCardIndex>1</networkCardIndex><maximumNetworkInterfaces>8</maximumNetworkInterfaces></item>
      </networkCards></networkInfo></item></instanceTypeSet></DescribeInstanceTypesResponse>)";
    auto l = parse_eni_limits(types);
    REQUIRE(l);
    CHECK(l->enis == 8);
    CHECK(l->ips_per_eni == 50);
    CHECK_FALSE(parse_eni_limits("<DescribeInstanceTypesResponse><instanceTypeSet/></DescribeInstanceTypesResponse>"));
}

TEST_CASE("EKS DescribeCluster answer: endpoint, CA and the service CIDR of the cluster's family", "[aws]") {
    derive::ClusterDetails d =
        parse_cluster(R"({"cluster": {"status": "ACTIVE", "endpoint": "https://x.eks.amazonaws.com",
        "certificateAuthority": {"data": "Q0E="},
        "kubernetesNetworkConfig": {"ipFamily": "ipv6", "serviceIpv4Cidr": "10.0.0.0/16", "serviceIpv6Cidr": "fd00::/108"}}})");
    CHECK(d.endpoint == "https://x.eks.amazonaws.com");
    CHECK(d.certificate_authority == "Q0E=");
    CHECK(d.cidr == "fd00::/108");
    CHECK(d.status == "ACTIVE");
    CHECK_THROWS_AS(parse_cluster("<html>"), Error);
}

TEST_CASE("malformed AWS answers map to our errors, never the JSON library's", "[aws][values]") {
    // An error answer whose body nlohmann cannot hold (1e400 is out_of_range,
    // not a parse_error) is read as a body-less answer: the HTTP status
    // decides, so throttling (429) and 5xx are still retried.
    const std::string huge = R"({"__type": "ThrottlingException", "message": "slow down", "retryAfter": 1e400})";
    ApiError e;
    REQUIRE_NOTHROW(e = parse_error(answer(429, huge)));
    CHECK(e.code == "HTTP 429");
    CHECK(classify(e) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(503, huge))) == ErrorClass::retry);
    // with the code in the header, as EKS sends it, nothing is lost
    CHECK(classify(parse_error(answer(400, huge, {{"x-amzn-errortype", "ThrottlingException"}}))) == ErrorClass::retry);
    CHECK(classify(parse_error(answer(400, huge))) == ErrorClass::fatal);  // as for any other garbage body
    CHECK(classify(parse_error(answer(400, "{garbage"))) == ErrorClass::fatal);

    // The service's text reaches our one error line as one line.
    ApiError lines = parse_error(answer(403, "{\"message\": \"denied\\nFAKE: second line\"}",
                                        {{"x-amzn-errortype", "AccessDeniedException"}}));
    CHECK(lines.message.find('\n') == std::string::npos);
    CHECK_THAT(lines.message, Catch::Contains("denied\\nFAKE"));
    ApiError bytes = parse_error(answer(400, ec2_error("Bad\xff\x01")));
    for (char c : bytes.code) CHECK((c >= 0x20 && c < 0x7f));

    // A 2xx answer that cannot be read is refused as garbage is (Error, exit 1).
    try {
        parse_cluster(R"({"cluster": {"endpoint": "https://x.eks.amazonaws.com", "version": 1e400}})");
        FAIL("accepted");
    } catch (const ConfigError&) {
        FAIL("bad data, not a malformed answer");
    } catch (const Error& err) {
        CHECK(err.exit_code() == EXIT_FAILURE_);
        CHECK_THAT(err.what(), Catch::Contains("EKS DescribeCluster: the answer is not JSON"));
    }
    CHECK_THROWS_AS(parse_instance_profile(R"({"Code": "Success", "Expiration": 1e400})", "r"), Error);
    CHECK_THROWS_WITH(parse_instance_profile(R"({"Code": "Success", "Expiration": 1e400})", "r"),
                      Catch::Contains("the credentials document is not JSON"));
}

TEST_CASE("EC2 answers: an ENI's tags (DescribeNetworkInterfaces)", "[aws]") {
    auto answer = [](const std::string& items) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeNetworkInterfacesResponse "
               "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><networkInterfaceSet>" +
               items + "</networkInterfaceSet></DescribeNetworkInterfacesResponse>";
    };
    auto eni = [](const std::string& tags) {
        return "<item><networkInterfaceId>eni-0a1b2c3d4e5f60713</networkInterfaceId><macAddress>0e:49:61:0f:c3:13"
               "</macAddress><tagSet>" +
               tags + "</tagSet></item>";
    };
    auto tag = [](const std::string& k, const std::string& v) {
        return "<item><key>" + k + "</key><value>" + v + "</value></item>";
    };
    EniTags t = parse_eni_tags(answer(""));
    CHECK_FALSE(t.listed);
    t = parse_eni_tags(answer(eni("")));
    CHECK(t.listed);
    CHECK_FALSE(t.no_manage);
    CHECK_FALSE(t.cni_created);
    t = parse_eni_tags(answer(eni(tag("Name", "db") + tag("node.k8s.amazonaws.com/no_manage", "true"))));
    CHECK(t.no_manage == "true");
    CHECK_FALSE(t.cni_created);
    t = parse_eni_tags(answer(eni(tag("node.k8s.amazonaws.com/instance_id", "i-1234567890abcdef0") +
                                  tag("cluster.k8s.amazonaws.com/name", "my-cluster"))));
    CHECK(t.cni_created);
    CHECK_FALSE(t.no_manage);
    // keys compare exactly, as the VPC CNI compares them
    t = parse_eni_tags(answer(eni(tag("Node.K8s.Amazonaws.Com/No_Manage", "true"))));
    CHECK_FALSE(t.no_manage);
    // an empty value is a value
    t = parse_eni_tags(answer(eni("<item><key>node.k8s.amazonaws.com/no_manage</key><value/></item>")));
    CHECK(t.no_manage == "");
    CHECK_THROWS_AS(parse_eni_tags("<DescribeNetworkInterfacesResponse/>"), Error);
    CHECK_THROWS_AS(parse_eni_tags("not xml <"), Error);
}

TEST_CASE("EC2 PrivateDnsName passes the DNS name check IMDS local-hostname passes", "[aws][values]") {
    auto answer_with = [](const std::string& name) {
        return "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><privateDnsName>" + name +
               "</privateDnsName></item></instancesSet></item></reservationSet></DescribeInstancesResponse>";
    };
    CHECK(parse_private_dns_name(answer_with("ip-10-0-0-1.ec2.internal")) == "ip-10-0-0-1.ec2.internal");
    for (const std::string& bad : std::vector<std::string>{"ip-10-0-0-1.ec2.internal --register-node=false", "a..b",
                                                           "-a.b", "a_b.c", std::string(254, 'a'), "x\xff.internal",
                                                           "x&#10;--v=9"}) {
        INFO(bad);
        try {
            parse_private_dns_name(answer_with(bad));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(e.exit_code() == EXIT_CONFIG);
            CHECK(e.source() == "EC2 DescribeInstances");
            CHECK(e.field() == "privateDnsName");
            CHECK_THAT(e.problem(), Catch::Contains("is not a DNS name"));
            for (char c : std::string(e.what())) CHECK((c >= 0x20 && c < 0x7f));
        }
    }
}

TEST_CASE("EKS DescribeCluster values are checked by type", "[aws][values]") {
    auto cluster = [](const std::string& endpoint, const std::string& ca, const std::string& cidr) {
        json j = {{"cluster",
                   {{"status", "ACTIVE"},
                    {"endpoint", endpoint},
                    {"certificateAuthority", {{"data", ca}}},
                    {"kubernetesNetworkConfig", {{"ipFamily", "ipv4"}, {"serviceIpv4Cidr", cidr}}}}}};
        return j.dump();
    };
    CHECK(parse_cluster(cluster("https://x.eks.amazonaws.com", "Q0E=", "172.20.0.0/16")).cidr == "172.20.0.0/16");
    // a cluster still CREATING: empty values are waited for, not refused
    CHECK(parse_cluster(cluster("", "", "")).endpoint.empty());
    struct Bad {
        std::string endpoint, ca, cidr, field;
    } bads[] = {
        {"https://x.eks.amazonaws.com --v=9", "Q0E=", "172.20.0.0/16", "cluster.endpoint"},
        {"http://x.eks.amazonaws.com", "Q0E=", "172.20.0.0/16", "cluster.endpoint"},
        {"https://x.eks.amazonaws.com", "Q0E=\n", "172.20.0.0/16", "cluster.certificateAuthority.data"},
        {"https://x.eks.amazonaws.com", "Q0E=", "172.20.0.0/33", "cluster.kubernetesNetworkConfig.serviceIpv4Cidr"},
        {"https://x.eks.amazonaws.com", "Q0E=", "--cluster-dns=1.2.3.4", "cluster.kubernetesNetworkConfig.serviceIpv4Cidr"},
    };
    for (const Bad& b : bads) {
        INFO(b.field << ": " << b.endpoint << " " << b.ca << " " << b.cidr);
        try {
            parse_cluster(cluster(b.endpoint, b.ca, b.cidr));
            FAIL("accepted");
        } catch (const ConfigError& e) {
            CHECK(e.source() == "EKS DescribeCluster");
            CHECK(e.field() == b.field);
        }
    }
}

TEST_CASE("instance profile: the role name and the credentials go through type checks", "[aws][values]") {
    test::fake_env.clear();
    std::string listing = "role name with spaces\n";
    ImdsGet imds = fake_imds([&](const std::string& p) -> std::optional<std::string> {
        if (p == "meta-data/iam/security-credentials/") return listing;
        return std::nullopt;
    });
    CredentialProvider p(test::fake_getenv, imds);
    try {
        p.get();
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "IMDS meta-data/iam/security-credentials/");
        CHECK_THAT(e.what(), Catch::Contains("\"role name with spaces\" is not an IAM role name"));
    }
    // a key or token with a line break would add a request header of its own
    for (const char* key : {"AccessKeyId", "SecretAccessKey", "Token"}) {
        json doc = {{"Code", "Success"}, {"AccessKeyId", "AKID"}, {"SecretAccessKey", "sec"}, {"Token", "tok"},
                    {"Expiration", "2099-01-01T00:00:00Z"}};
        doc[key] = "TOPSECRET\r\nX-Injected: 1";
        try {
            parse_instance_profile(doc.dump(), "r");
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::Contains(key));
            CHECK_THAT(e.what(), !Catch::Contains("TOPSECRET"));
        }
    }
}
