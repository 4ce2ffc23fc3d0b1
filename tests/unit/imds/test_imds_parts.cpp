// SPDX-License-Identifier: Apache-2.0
// The IMDS client's pure parts: backoff, options, derivations, validation.
#include <catch2/catch.hpp>

#include <array>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/backoff.hpp"
#include "core/error.hpp"
#include "imds/detail.hpp"
#include "imds/imds.hpp"

using namespace eksnode;
using namespace eksnode::imds;
using namespace eksnode::imds::detail;
using std::chrono::milliseconds;

TEST_CASE("backoff: full jitter below a doubling ceiling capped at max", "[imds][backoff]") {
    const milliseconds initial{50}, cap{2000};
    // unit 0 and unit just below 1 are the two ends of the range.
    for (int attempt = 0; attempt < 8; ++attempt) {
        long long ceiling = std::min<long long>(50LL << attempt, 2000);
        CHECK(backoff_delay(attempt, initial, cap, 0.0) == milliseconds{0});
        CHECK(backoff_delay(attempt, initial, cap, 0.999999) == milliseconds{ceiling});
    }
    CHECK(backoff_delay(0, initial, cap, 0.5) == milliseconds{25});
    CHECK(backoff_delay(2, initial, cap, 0.5) == milliseconds{100});
    // Huge attempt counts neither overflow nor pass the cap.
    CHECK(backoff_delay(1000, initial, cap, 0.999999) == cap);
    CHECK(backoff_delay(std::numeric_limits<int>::max(), initial, cap, 0.5) == milliseconds{1000});
    // Out-of-range randomness is clamped, never scaled past the ceiling.
    CHECK(backoff_delay(0, initial, cap, 7.0) == milliseconds{50});
    CHECK(backoff_delay(0, initial, cap, -1.0) == milliseconds{0});
}

TEST_CASE("jitter_unit: in [0, 1), spread, and its own per thread", "[backoff]") {
    // Spread over the whole range: each tenth gets some of 2,000 draws (a constant, or a
    // generator stuck at its seed, would fill one).
    std::array<int, 10> tenths{};
    for (int i = 0; i < 2000; ++i) {
        const double u = jitter_unit();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        ++tenths[static_cast<size_t>(u * 10)];
    }
    for (int n : tenths) CHECK(n > 100);
    // Another thread's generator is seeded apart: its first draws are not this thread's.
    std::vector<double> mine, theirs;
    std::thread([&] { for (int i = 0; i < 4; ++i) theirs.push_back(jitter_unit()); }).join();
    for (int i = 0; i < 4; ++i) mine.push_back(jitter_unit());
    CHECK(mine != theirs);
}

TEST_CASE("backoff: delays are spread, not identical", "[imds][backoff]") {
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::set<long long> seen;
    for (int i = 0; i < 200; ++i) {
        milliseconds d = backoff_delay(5, milliseconds{50}, milliseconds{2000}, unit(rng));
        REQUIRE(d >= milliseconds{0});
        REQUIRE(d <= milliseconds{1600});
        seen.insert(d.count());
    }
    // 200 draws from 0..1600 ms: lockstep retries would give one value.
    CHECK(seen.size() > 150);
    CHECK(*seen.begin() < 400);
    CHECK(*seen.rbegin() > 1200);
}

TEST_CASE("backoff: one past the deadline is cut short while a last attempt fits", "[imds][aws][backoff]") {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point t0{}, deadline = t0 + milliseconds{8000};
    const milliseconds last{500};
    // within the budget: the drawn delay as is
    CHECK(next_attempt_at(t0 + milliseconds{2400}, milliseconds{1000}, deadline, last) == t0 + milliseconds{3400});
    // a delay past the deadline no longer forfeits the rest of the budget
    // (an AWS session gave up 8 s early at 2.4 s): the last attempt starts
    // with `last` to go
    CHECK(next_attempt_at(t0 + milliseconds{2400}, milliseconds{6000}, deadline, last) == t0 + milliseconds{7500});
    // no room for an attempt: give up, at the deadline
    CHECK_FALSE(next_attempt_at(t0 + milliseconds{7500}, milliseconds{1}, deadline, last));
    CHECK_FALSE(next_attempt_at(t0 + milliseconds{9000}, milliseconds{0}, deadline, last));
}

TEST_CASE("a retrying wait past 2 s is said, then at most every 10 s", "[imds]") {
    using namespace std::chrono;
    using Clock = steady_clock;
    const Clock::time_point t0{}, deadline = t0 + seconds{120};
    WaitNotice n(t0, deadline);
    // the first retries of a network coming up: nothing
    CHECK_FALSE(n.due(t0 + milliseconds{300}, "IMDS", "connection refused"));
    CHECK_FALSE(n.due(t0 + milliseconds{1999}, "IMDS", "connection refused"));
    // past 2 s: what, how long, until when, the last failure
    std::optional<std::string> line = n.due(t0 + milliseconds{2100}, "IMDS at http://169.254.169.254", "timeout");
    REQUIRE(line);
    CHECK(*line ==
          "still waiting for IMDS at http://169.254.169.254: 2.1 s so far, giving up at 120.0 s (last: timeout)");
    // retries close together say it once
    CHECK_FALSE(n.due(t0 + milliseconds{2500}, "IMDS", "timeout"));
    CHECK_FALSE(n.due(t0 + milliseconds{12000}, "IMDS", "timeout"));
    line = n.due(t0 + milliseconds{12100}, "IMDS", "");
    REQUIRE(line);
    CHECK(*line == "still waiting for IMDS: 12.1 s so far, giving up at 120.0 s (last: no answer yet)");
}

TEST_CASE("region from availability zone", "[imds]") {
    CHECK(region_from_az("us-west-2f") == "us-west-2");
    CHECK(region_from_az("cn-north-1a") == "cn-north-1");
    CHECK(region_from_az("us-gov-west-1b") == "us-gov-west-1");
    CHECK(region_from_az("eusc-de-east-1a") == "eusc-de-east-1");
    CHECK(region_from_az("us-west-2-lax-1a") == "us-west-2");         // Local Zone
    CHECK(region_from_az("us-east-1-wl1-bos-wlz-1") == "us-east-1");  // Wavelength Zone
    CHECK(region_from_az("us-west-2").empty());                       // a region, not a zone
    CHECK(region_from_az("usw2-az1").empty());                        // a zone ID
    CHECK(region_from_az("").empty());
}

TEST_CASE("partition and domain defaults", "[imds]") {
    CHECK(partition_for_region("us-west-2") == "aws");
    CHECK(partition_for_region("cn-northwest-1") == "aws-cn");
    CHECK(partition_for_region("us-gov-east-1") == "aws-us-gov");
    CHECK(partition_for_region("us-iso-east-1") == "aws-iso");
    CHECK(partition_for_region("us-isob-east-1") == "aws-iso-b");
    CHECK(partition_for_region("eu-isoe-west-1") == "aws-iso-e");
    CHECK(partition_for_region("us-isof-south-1") == "aws-iso-f");
    CHECK(partition_for_region("eusc-de-east-1") == "aws-eusc");
    CHECK(domain_for_partition("aws") == "amazonaws.com");
    CHECK(domain_for_partition("aws-cn") == "amazonaws.com.cn");
    CHECK(domain_for_partition("aws-us-gov") == "amazonaws.com");
    CHECK(domain_for_partition("aws-iso") == "c2s.ic.gov");
    CHECK(domain_for_partition("aws-iso-b") == "sc2s.sgov.gov");
    CHECK(domain_for_partition("aws-iso-e") == "cloud.adc-e.uk");
    CHECK(domain_for_partition("aws-iso-f") == "csp.hci.ic.gov");
    CHECK(domain_for_partition("aws-eusc") == "amazonaws.eu");
    CHECK(domain_for_partition("aws-moon").empty());
}

TEST_CASE("imds options from settings and --imds-endpoint", "[imds][options]") {
    SECTION("defaults race IPv4 and IPv6") {
        imds::ImdsOptions o = imds_options(json::object(), "");
        CHECK(o.endpoints == std::vector<std::string>{"http://169.254.169.254", "http://[fd00:ec2::254]"});
        CHECK(o.deadline == milliseconds{120'000});
        CHECK(o.request_timeout == milliseconds{3'000});
    }
    SECTION("endpointMode picks one of the pair") {
        CHECK(imds_options(json::parse(R"({"imds":{"endpointMode":"ipv4"}})"), "").endpoints ==
              std::vector<std::string>{"http://169.254.169.254"});
        CHECK(imds_options(json::parse(R"({"imds":{"endpointMode":"ipv6"}})"), "").endpoints ==
              std::vector<std::string>{"http://[fd00:ec2::254]"});
        CHECK(imds_options(json::parse(R"({"imds":{"endpointMode":"auto"}})"), "").endpoints.size() == 2);
    }
    SECTION("durations") {
        imds::ImdsOptions o = imds_options(json::parse(R"({"imds":{"deadline":"2m","requestTimeout":"500ms"}})"), "");
        CHECK(o.deadline == milliseconds{120'000});
        CHECK(o.request_timeout == milliseconds{500});
        CHECK(imds_options(json::parse(R"({"imds":{"deadline":30}})"), "").deadline == milliseconds{30'000});
        // the grammar itself: tests/unit/input/test_settings.cpp
    }
    SECTION("an endpoint setting is the only endpoint; the override beats it") {
        json s = json::parse(R"({"imds":{"endpoint":"http://10.0.0.1:8080/","endpointMode":"ipv6"}})");
        CHECK(imds_options(s, "").endpoints == std::vector<std::string>{"http://10.0.0.1:8080"});
        CHECK(imds_options(s, "http://[::1]:1234").endpoints == std::vector<std::string>{"http://[::1]:1234"});
        CHECK(imds_options(json::object(), "http://127.0.0.1:9").endpoints ==
              std::vector<std::string>{"http://127.0.0.1:9"});
    }
    SECTION("bad settings are configuration errors naming the key") {
        auto field_of = [](const char* doc) {
            try {
                imds_options(json::parse(doc), "");
            } catch (const ConfigError& e) {
                return e.field();
            }
            return std::string("(no error)");
        };
        CHECK(field_of(R"({"imds":{"endpointMode":"ipv5"}})") == "settings.imds.endpointMode");
        CHECK(field_of(R"({"imds":{"endpoint":"https://169.254.169.254"}})") == "settings.imds.endpoint");
        CHECK(field_of(R"({"imds":{"endpoint":"http://"}})") == "settings.imds.endpoint");
        CHECK(field_of(R"({"imds":{"endpoint":"http://a b"}})") == "settings.imds.endpoint");
        CHECK(field_of(R"({"imds":{"deadline":"soon"}})") == "settings.imds.deadline");
        CHECK(field_of(R"({"imds":{"requestTimeout":[]}})") == "settings.imds.requestTimeout");
        CHECK(field_of(R"({"imds":{"dealine":"5s"}})") == "settings.imds.dealine");
        CHECK(field_of(R"({"imds":"fast"})") == "settings.imds");
    }
    SECTION("a bad override is a usage error") {
        CHECK_THROWS_AS(imds_options(json::object(), "169.254.169.254"), UsageError);
        CHECK_THROWS_AS(imds_options(json::object(), "http://user@host"), UsageError);
    }
}

namespace {
Fetched minimal() {
    return Fetched{
        {"meta-data/instance-id", "i-0abc1234"},
        {"meta-data/instance-type", "t3.small"},
        {"meta-data/placement/availability-zone", "cn-north-1b"},
        {"meta-data/mac", "02:00:00:00:00:01"},
    };
}
}  // namespace

TEST_CASE("instance.json from the bare minimum: every default is derived", "[imds]") {
    Fetched v = minimal();
    v["meta-data/network/interfaces/macs/02:00:00:00:00:01/ipv6s"] = "2406:da00::1\n2406:da00::2\n";
    v["user-data"] = std::nullopt;
    json i = assemble_instance(v, "http://[fd00:ec2::254]");
    CHECK(i.dump() == json::parse(R"({"instanceId":"i-0abc1234","instanceType":"t3.small","region":"cn-north-1",
                          "availabilityZone":"cn-north-1b","partition":"aws-cn","domain":"amazonaws.com.cn",
                          "mac":"02:00:00:00:00:01","interfaceMacs":[],"ipv6s":["2406:da00::1","2406:da00::2"],
                          "vpcIpv4CidrBlocks":[],"vpcIpv6CidrBlocks":[],
                          "iamRole":null,"targetLifecycleState":null,"imdsEndpoint":"http://[fd00:ec2::254]","userData":false})")
                          .dump());
}

TEST_CASE("instance.json: the identity document is the second source of the region", "[imds]") {
    Fetched v = minimal();
    v["dynamic/instance-identity/document"] = R"({"region":"cn-northwest-1","architecture":"arm64"})";
    json i = assemble_instance(v, "e");
    CHECK(i["region"] == "cn-northwest-1");
    CHECK(i["architecture"] == "arm64");
    v["meta-data/placement/region"] = "cn-north-1\n";
    CHECK(assemble_instance(v, "e")["region"] == "cn-north-1");
}

TEST_CASE("instance.json refuses values that could inject lines", "[imds]") {
    Fetched v = minimal();
    v["meta-data/local-hostname"] = "evil\nExtraFlag=1";
    CHECK_THROWS_WITH(assemble_instance(v, "e"), Catch::Contains("meta-data/local-hostname"));
    v = minimal();
    v["meta-data/mac"] = "../../../etc";
    CHECK_THROWS_WITH(assemble_instance(v, "e"), Catch::Contains("not a MAC address"));
    v = minimal();
    v["meta-data/instance-id"] = "  ";
    CHECK_THROWS_WITH(assemble_instance(v, "e"), Catch::Contains("meta-data/instance-id"));
    v = minimal();
    v["dynamic/instance-identity/document"] = "{truncated";
    CHECK_THROWS_WITH(assemble_instance(v, "e"), Catch::Contains("dynamic/instance-identity/document"));
    v = minimal();
    v["meta-data/placement/availability-zone"] = "usw2-az1";
    CHECK_THROWS_WITH(assemble_instance(v, "e"), Catch::Contains("does not name a region"));
}

namespace {
// The one ConfigError (exit 6) assemble_instance throws for `v`: its source
// names the path, the value is shown quoted.
ConfigError refusal(const Fetched& v) {
    try {
        assemble_instance(v, "e");
    } catch (const ConfigError& e) {
        return e;
    }
    FAIL("assemble_instance accepted it");
    throw;  // not reached
}
}  // namespace

TEST_CASE("instance.json: every IMDS value is checked by its type, exit 6 naming IMDS <path>", "[imds][values]") {
    const std::string nul_ip = std::string("10.0.0.1") + '\0' + "--register-node=false";
    const std::string mac_dir = "meta-data/network/interfaces/macs/02:00:00:00:00:01/";
    struct Case {
        std::string path, value, shown;
    } cases[] = {
        {"meta-data/local-hostname", "ip-10-0-0-1.ec2.internal --register-node=false",
         "\"ip-10-0-0-1.ec2.internal --register-node=false\" is not a DNS name"},
        {"meta-data/hostname", "a;b", "\"a;b\" is not a DNS name"},
        {"meta-data/instance-id", "../../x", "\"../../x\" is not an EC2 instance id"},
        {"meta-data/instance-type", "m5.large --v=9", "is not an EC2 instance type"},
        {"meta-data/placement/availability-zone", "us-west-2a/../x", "is not an availability zone name"},
        {"meta-data/placement/region", "us-west-2.evil", "is not an AWS region name"},
        {"meta-data/services/partition", "aws cn", "is not an AWS partition name"},
        {"meta-data/services/domain", "amazonaws.com/x", "is not a DNS name"},
        {"meta-data/local-ipv4", "10.0.0.256", "\"10.0.0.256\" is not an IPv4 address"},
        {"meta-data/local-ipv4", nul_ip, "\"10.0.0.1\\u0000--register-node=false\" is not an IPv4 address"},
        {"meta-data/outpost-arn", "arn:aws:outposts:us-west-2:1:outpost/op-1", "is not an Outpost ARN"},
        {"meta-data/iam/security-credentials/", "role name", "\"role name\" is not an IAM role name"},
        {"meta-data/network/interfaces/macs/", "02:00:00:00:00:01/\n../../etc/\n",
         "line 2: \"../../etc/\" is not an interface's directory (a MAC address and '/')"},
        {"meta-data/network/interfaces/macs/", "02:00:00:00:00:01 --x/", "is not an interface's directory"},
        {mac_dir + "ipv6s", "2600::1\n--node-ip=1.2.3.4\n", "line 2: \"--node-ip=1.2.3.4\" is not an IPv6 address"},
        {mac_dir + "vpc-ipv4-cidr-blocks", "10.0.0.0/33", "line 1: \"10.0.0.0/33\" is not an IPv4 CIDR"},
        {mac_dir + "vpc-ipv6-cidr-blocks", "2600:1f14::/56\n10.0.0.0/16",
         "line 2: \"10.0.0.0/16\" is not an IPv6 CIDR"},
        // bytes that are not UTF-8, and control characters: refused before any JSON is written
        {"meta-data/local-hostname", "ip-10-0-0-1\xff.ec2.internal", "\"ip-10-0-0-1\\ufffd.ec2.internal\""},
        {"meta-data/hostname", "evil\nExtraFlag=1", "\"evil\\nExtraFlag=1\""},
        {"meta-data/instance-id", "  ", "the value is empty"},
    };
    for (const Case& c : cases) {
        INFO(c.path << " = " << c.value);
        Fetched v = minimal();
        v[c.path] = c.value;
        ConfigError e = refusal(v);
        CHECK(e.exit_code() == EXIT_CONFIG);
        CHECK(e.source() == "IMDS " + c.path);
        CHECK_THAT(e.what(), Catch::Contains(c.shown));
        // one line, printable: what the journal and the console get
        for (char ch : std::string(e.what())) CHECK((ch >= 0x20 && ch < 0x7f));
    }
    // long values are cut in the message
    Fetched v = minimal();
    v["meta-data/local-hostname"] = std::string(5000, 'a');
    CHECK(std::string(refusal(v).what()).size() < 300);
}

TEST_CASE("instance.json: the identity document is checked too", "[imds][values]") {
    Fetched v = minimal();
    v["dynamic/instance-identity/document"] = R"({"region":"cn-north-1 x"})";
    CHECK_THAT(refusal(v).what(), Catch::Contains("IMDS dynamic/instance-identity/document: region: \"cn-north-1 x\""));
    v["dynamic/instance-identity/document"] = R"({"region":"cn-north-1","architecture":"x86_64\n"})";
    CHECK_THAT(refusal(v).what(), Catch::Contains("architecture"));
    // A number nlohmann cannot hold is as unreadable as any broken document:
    // the same error, not the library's out_of_range.
    v["dynamic/instance-identity/document"] = R"({"region":"cn-north-1","version":1e400})";
    CHECK_THAT(refusal(v).what(), Catch::Contains("IMDS dynamic/instance-identity/document: not a JSON object"));
    v["dynamic/instance-identity/document"] = "{\"region\":\"\xff\"}";
    CHECK_THAT(refusal(v).what(), Catch::Contains("not a JSON object"));
    v["dynamic/instance-identity/document"] = "{truncated";
    CHECK_THAT(refusal(v).what(), Catch::Contains("not a JSON object"));
}

TEST_CASE("instance.json: what IMDS serves right passes whole", "[imds][values]") {
    Fetched v = minimal();
    const std::string mac_dir = "meta-data/network/interfaces/macs/02:00:00:00:00:01/";
    v["meta-data/local-hostname"] = "ip-10-0-0-1.cn-north-1.compute.internal\n";
    v["meta-data/hostname"] = "ip-10-0-0-1.cn-north-1.compute.internal";
    v["meta-data/local-ipv4"] = "10.0.0.1";
    v["meta-data/outpost-arn"] = "arn:aws:outposts:cn-north-1:111122223333:outpost/op-0123456789abcdef0";
    v["meta-data/iam/security-credentials/"] = "eks-node-role\n";
    v[mac_dir + "ipv6s"] = "2406:da00::1\n";
    v[mac_dir + "vpc-ipv4-cidr-blocks"] = "10.0.0.0/16\n10.1.0.0/16";
    v[mac_dir + "vpc-ipv6-cidr-blocks"] = "2406:da00:ff00::/56\n";
    v["meta-data/network/interfaces/macs/"] = "02:00:00:00:00:01/\n02:00:00:00:00:02/";
    v["dynamic/instance-identity/document"] = R"({"region":"cn-north-1","architecture":"arm64","accountId":"111122223333"})";
    json i = assemble_instance(v, "http://169.254.169.254");
    CHECK(i["localHostname"] == "ip-10-0-0-1.cn-north-1.compute.internal");
    CHECK(i["vpcIpv4CidrBlocks"] == json::array({"10.0.0.0/16", "10.1.0.0/16"}));
    CHECK(i["vpcIpv6CidrBlocks"] == json::array({"2406:da00:ff00::/56"}));
    CHECK(i["interfaceMacs"] == json::array({"02:00:00:00:00:01", "02:00:00:00:00:02"}));
    CHECK(i["iamRole"] == "eks-node-role");
    CHECK(i["architecture"] == "arm64");
    // and eks-node-config's second look at the file agrees
    CHECK_NOTHROW(check_instance(i, "instance.json"));
}

TEST_CASE("instance.json as eks-node-config reads it is checked again", "[imds][values]") {
    Fetched v = minimal();
    v["meta-data/local-hostname"] = "ip-10-0-0-1.ec2.internal";
    v["meta-data/local-ipv4"] = "10.0.0.1";
    const json good = assemble_instance(v, "http://169.254.169.254");
    REQUIRE_NOTHROW(check_instance(good, "/run/eks-node/instance.json"));
    auto refused = [&](const char* key, json value) -> std::string {
        json i = good;
        i[key] = std::move(value);
        try {
            check_instance(i, "/run/eks-node/instance.json");
        } catch (const ConfigError& e) {
            CHECK(e.source() == "/run/eks-node/instance.json");
            CHECK(e.field().starts_with(key));
            return e.what();
        }
        return "accepted";
    };
    CHECK_THAT(refused("instanceId", "../../x"), Catch::Contains("instanceId: \"../../x\" is not an EC2 instance id"));
    CHECK_THAT(refused("localHostname", "a --register-node=false"), Catch::Contains("not a DNS name"));
    CHECK_THAT(refused("ipv6s", json::array({"--node-ip=1.2.3.4"})), Catch::Contains("ipv6s[0]"));
    CHECK_THAT(refused("ipv6s", "2600::1"), Catch::Contains("not a list"));
    CHECK_THAT(refused("interfaceMacs", json::array({"02:00:00:00:00:01/"})),
               Catch::Contains("interfaceMacs[0]: \"02:00:00:00:00:01/\" is not a MAC address"));
    CHECK_THAT(refused("localIpv4", 10), Catch::Contains("not a string"));
    CHECK_THAT(refused("iamRole", "a/b"), Catch::Contains("not an IAM role name"));
    CHECK_THAT(refused("imdsEndpoint", "http://imds.example"), Catch::Contains("not an IMDS endpoint"));
    CHECK(refused("iamRole", nullptr) == "accepted");
    CHECK_THROWS_AS(check_instance(json::array(), "f"), ConfigError);
}

TEST_CASE("MAC addresses", "[imds]") {
    CHECK(is_mac("0e:49:61:0f:c3:11"));
    CHECK(is_mac("0E:49:61:0F:C3:11"));
    CHECK_FALSE(is_mac("0e:49:61:0f:c3"));
    CHECK_FALSE(is_mac("0e-49-61-0f-c3-11"));
    CHECK_FALSE(is_mac("0e:49:61:0f:c3:1g"));
    CHECK(mac_path("0e:49:61:0f:c3:11", "ipv6s") == "meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/ipv6s");
}
