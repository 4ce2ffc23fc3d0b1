// SPDX-License-Identifier: Apache-2.0
// imds/values.hpp: the type checks every value from IMDS, EC2 and EKS passes
// before it reaches instance.json, config.json or a kubelet flag.
#include <catch2/catch.hpp>

#include <string>

#include "imds/values.hpp"

using namespace eksnode;
using namespace eksnode::imds;
namespace v = eksnode::imds::value;

namespace {

using Check = std::string (*)(std::string_view);

std::string with_nul(std::string_view before, std::string_view after) {
    std::string s(before);
    s += '\0';
    s += after;
    return s;
}

// The values no check may accept, whatever its type: empty, blank, a second
// word, a line break, other control characters, a NUL hiding a tail, bytes
// that are not UTF-8, and a value that is nothing but far too long.
void refuses_junk(Check check, std::string_view good) {
    INFO("good value: " << good);
    CHECK(check(good).empty());
    CHECK_FALSE(check("").empty());
    CHECK_FALSE(check(" ").empty());
    CHECK_FALSE(check(std::string(good) + " --register-node=false").empty());
    CHECK_FALSE(check(std::string(good) + "\nExtra=1").empty());
    CHECK_FALSE(check(std::string(good) + "\r").empty());
    CHECK_FALSE(check(std::string(good) + "\t").empty());
    CHECK_FALSE(check(std::string(good) + "\x7f").empty());
    CHECK_FALSE(check(std::string(good) + "\x1b[31m").empty());
    CHECK_FALSE(check(with_nul(good, "junk")).empty());
    CHECK_FALSE(check(with_nul(good, "")).empty());
    CHECK_FALSE(check(std::string(good) + "\xff").empty());
    CHECK_FALSE(check(std::string(good) + "\xc3\xa9").empty());  // é: valid UTF-8, but not in any of these types
    CHECK_FALSE(check(std::string(good) + std::string(5000, 'a')).empty());
}

}  // namespace

TEST_CASE("values: DNS names are RFC 1123 host names", "[imds][values]") {
    refuses_junk(v::dns_name, "ip-10-0-0-1.ec2.internal");
    CHECK(v::dns_name("ip-172-16-34-43.us-west-2.compute.internal").empty());
    CHECK(v::dns_name("i-0123456789abcdef0.us-west-2.compute.internal").empty());  // resource-name hosts
    CHECK(v::dns_name("localhost").empty());
    CHECK(v::dns_name("A-1.Example.COM").empty());  // RFC 1123 names are case-insensitive
    CHECK(v::dns_name("1.2.3.4").empty());          // all-digit labels are allowed by RFC 1123
    CHECK(v::dns_name(std::string(63, 'a') + ".b").empty());
    // 253 in all: four labels of 63 and the dots make 255, one of 61 makes 253
    std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                          std::string(61, 'd');
    REQUIRE(longest.size() == 253);
    CHECK(v::dns_name(longest).empty());
    CHECK_FALSE(v::dns_name(longest + "d").empty());
    CHECK_FALSE(v::dns_name(std::string(64, 'a') + ".b").empty());
    CHECK_FALSE(v::dns_name("ip-10-0-0-1.ec2.internal --register-node=false").empty());
    CHECK_FALSE(v::dns_name("-a.b").empty());
    CHECK_FALSE(v::dns_name("a-.b").empty());
    CHECK_FALSE(v::dns_name("a..b").empty());
    CHECK_FALSE(v::dns_name(".a").empty());
    CHECK_FALSE(v::dns_name("a.").empty());  // the root dot has no place in a node name
    CHECK_FALSE(v::dns_name("a_b.c").empty());
    CHECK_FALSE(v::dns_name("../../x").empty());
    CHECK_FALSE(v::dns_name("a/b").empty());
    CHECK_FALSE(v::dns_name("a=b").empty());
    CHECK_THAT(v::dns_name("a b"), Catch::Contains("\"a b\" is not a DNS name"));
}

TEST_CASE("values: ENI ids", "[imds][values]") {
    refuses_junk(v::eni_id, "eni-0a1b2c3d4e5f60718");
    CHECK(v::eni_id("eni-0a1b2c3d").empty());
    CHECK_FALSE(v::eni_id("eni-0A1B2C3D").empty());
    CHECK_FALSE(v::eni_id("eni-0a1b2c3d4e5f6071").empty());  // 16 digits
    CHECK_FALSE(v::eni_id("i-0a1b2c3d").empty());
    CHECK_FALSE(v::eni_id("eni-../x").empty());
    CHECK_THAT(v::eni_id("eni-"), Catch::Contains("\"eni-\" is not an ENI id"));
}

TEST_CASE("values: EC2 instance ids", "[imds][values]") {
    refuses_junk(v::instance_id, "i-1234567890abcdef0");
    CHECK(v::instance_id("i-0abc1234").empty());  // the old 8-digit form
    CHECK_FALSE(v::instance_id("i-1234567890ABCDEF0").empty());
    CHECK_FALSE(v::instance_id("i-1234567890abcdef").empty());  // 16 digits
    CHECK_FALSE(v::instance_id("i-1234567890abcdef01").empty());
    CHECK_FALSE(v::instance_id("i-0abc123").empty());
    CHECK_FALSE(v::instance_id("i-0123456g").empty());
    CHECK_FALSE(v::instance_id("../../x").empty());
    CHECK_FALSE(v::instance_id("i-../../x").empty());
    CHECK_FALSE(v::instance_id("x-1234567890abcdef0").empty());
    CHECK_FALSE(v::instance_id("i-").empty());
    CHECK_THAT(v::instance_id("../../x"), Catch::Contains("\"../../x\" is not an EC2 instance id"));
}

TEST_CASE("values: instance types", "[imds][values]") {
    refuses_junk(v::instance_type, "m5.large");
    for (const char* t : {"t3.small", "m4.xlarge", "u-6tb1.metal", "c7i.metal-48xl", "m7i-flex.large", "trn1n.32xlarge",
                          "mac2-m2pro.metal", "m99.large"})
        CHECK(v::instance_type(t).empty());
    CHECK_FALSE(v::instance_type("m5").empty());
    CHECK_FALSE(v::instance_type("m5.").empty());
    CHECK_FALSE(v::instance_type(".large").empty());
    CHECK_FALSE(v::instance_type("m5.large.x").empty());
    CHECK_FALSE(v::instance_type("M5.large").empty());
    CHECK_FALSE(v::instance_type("-m5.large").empty());
    CHECK_FALSE(v::instance_type("m5/../x.large").empty());
    CHECK_FALSE(v::instance_type(std::string(60, 'm') + ".large").empty());
}

TEST_CASE("values: regions, zones and partitions", "[imds][values]") {
    refuses_junk(v::region, "us-west-2");
    refuses_junk(v::availability_zone, "us-west-2f");
    refuses_junk(v::partition, "aws-cn");
    for (const char* r : {"us-gov-east-1", "cn-north-1", "eusc-de-east-1", "us-isob-east-1"}) CHECK(v::region(r).empty());
    for (const char* z : {"us-west-2-lax-1a", "us-east-1-wl1-bos-wlz-1", "usw2-az1"})
        CHECK(v::availability_zone(z).empty());
    for (const char* p : {"aws", "aws-us-gov", "aws-iso-b"}) CHECK(v::partition(p).empty());
    CHECK_FALSE(v::region("uswest2").empty());  // one group is not a region
    CHECK_FALSE(v::region("us--west-2").empty());
    CHECK_FALSE(v::region("us-west-2-").empty());
    CHECK_FALSE(v::region("-us-west-2").empty());
    CHECK_FALSE(v::region("2-us-west").empty());
    CHECK_FALSE(v::region("US-WEST-2").empty());
    CHECK_FALSE(v::region("us-west-2.evil.com").empty());
    CHECK_FALSE(v::region("us-" + std::string(61, 'a')).empty());  // 64: longer than a DNS label
    CHECK_FALSE(v::availability_zone("us/west").empty());
    CHECK_FALSE(v::partition("aws cn").empty());
}

TEST_CASE("values: architectures", "[imds][values]") {
    refuses_junk(v::architecture, "x86_64");
    CHECK(v::architecture("arm64").empty());
    CHECK(v::architecture("i386").empty());
    CHECK_FALSE(v::architecture("x86-64").empty());
    CHECK_FALSE(v::architecture("ARM64").empty());
}

TEST_CASE("values: MAC addresses", "[imds][values]") {
    refuses_junk(v::mac, "0e:49:61:0f:c3:11");
    CHECK(v::mac("0E:49:61:0F:C3:11").empty());
    CHECK_FALSE(v::mac("0e:49:61:0f:c3").empty());
    CHECK_FALSE(v::mac("0e-49-61-0f-c3-11").empty());
    CHECK_FALSE(v::mac("0e:49:61:0f:c3:1g").empty());
    CHECK_FALSE(v::mac("../../../etc/pass").empty());  // 17 characters, like a MAC
}

TEST_CASE("values: IP addresses", "[imds][values]") {
    refuses_junk(v::ipv4, "172.16.34.43");
    refuses_junk(v::ipv6, "2600:1f14:abcd:1200::1");
    CHECK(v::ipv4("0.0.0.0").empty());
    CHECK(v::ipv6("::1").empty());
    CHECK(v::ipv6("fd00:ec2::254").empty());
    CHECK(v::ipv6("::ffff:10.0.0.1").empty());
    CHECK_FALSE(v::ipv4("256.0.0.1").empty());
    CHECK_FALSE(v::ipv4("10.0.0").empty());
    CHECK_FALSE(v::ipv4("10.0.0.1/32").empty());
    CHECK_FALSE(v::ipv4("2600::1").empty());
    CHECK_FALSE(v::ipv4("--node-ip=1.2.3.4").empty());
    CHECK_FALSE(v::ipv6("--node-ip=1.2.3.4").empty());
    CHECK_FALSE(v::ipv6("1.2.3.4").empty());
    CHECK_FALSE(v::ipv6("2600::1::2").empty());
    CHECK_FALSE(v::ipv6("[2600::1]").empty());
    // inet_pton reads a C string: the NUL must not end the value early
    CHECK_FALSE(v::ipv4(with_nul("10.0.0.1", "--register-node=false")).empty());
    CHECK_THAT(v::ipv6("--node-ip=1.2.3.4"), Catch::Contains("\"--node-ip=1.2.3.4\" is not an IPv6 address"));
}

TEST_CASE("values: CIDRs", "[imds][values]") {
    refuses_junk(v::ipv4_cidr, "172.16.0.0/16");
    refuses_junk(v::cidr, "fd00::/108");
    CHECK(v::ipv4_cidr("10.0.0.0/8").empty());
    CHECK(v::ipv4_cidr("0.0.0.0/0").empty());
    CHECK(v::cidr("172.20.0.0/16").empty());
    CHECK(v::cidr("fd00::/128").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0/33").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0/").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0/08").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0/+8").empty());
    CHECK_FALSE(v::ipv4_cidr("fd00::/108").empty());
    CHECK_FALSE(v::ipv4_cidr("10.0.0.0/16/1").empty());
    refuses_junk(v::ipv6_cidr, "2600:1f14:abc:de00::/56");
    CHECK(v::ipv6_cidr("::/0").empty());
    CHECK_FALSE(v::ipv6_cidr("10.0.0.0/8").empty());
    CHECK_FALSE(v::ipv6_cidr("fd00::/129").empty());
    CHECK_FALSE(v::ipv6_cidr("fd00::").empty());
    CHECK_FALSE(v::cidr("fd00::/129").empty());
    CHECK_FALSE(v::cidr("10.0.0.0/64").empty());
}

TEST_CASE("values: account ids and Outpost ARNs", "[imds][values]") {
    refuses_junk(v::account_id, "111122223333");
    CHECK_FALSE(v::account_id("11112222333").empty());
    CHECK_FALSE(v::account_id("1111222233334").empty());
    CHECK_FALSE(v::account_id("11112222333a").empty());

    const std::string arn = "arn:aws:outposts:us-west-2:111122223333:outpost/op-0123456789abcdef0";
    refuses_junk(v::outpost_arn, arn);
    CHECK(v::outpost_arn("arn:aws-us-gov:outposts:us-gov-west-1:111122223333:outpost/op-0123456789abcdef0").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts:us-west-2:111122223333:outpost/op-0123").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts:us-west-2:11112222333:outpost/op-0123456789abcdef0").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:ec2:us-west-2:111122223333:outpost/op-0123456789abcdef0").empty());
    CHECK_FALSE(v::outpost_arn("arn:evil:outposts:us-west-2:111122223333:outpost/op-0123456789abcdef0").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts:us-west-2:111122223333:site/op-0123456789abcdef0").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts:us-west-2:111122223333:outpost/op-0123456789abcdef0:x").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts:us-west-2:111122223333").empty());
    CHECK_FALSE(v::outpost_arn("arn:aws:outposts").empty());
}

TEST_CASE("values: IAM role names", "[imds][values]") {
    refuses_junk(v::iam_role, "eks-node-test-role");
    CHECK(v::iam_role("Role+=,.@_-1").empty());
    CHECK(v::iam_role(std::string(128, 'r')).empty());
    CHECK_FALSE(v::iam_role(std::string(129, 'r')).empty());
    CHECK_FALSE(v::iam_role("../admin").empty());
    CHECK_FALSE(v::iam_role("role?x=1").empty());
}

TEST_CASE("values: EKS endpoints and CA data", "[imds][values]") {
    refuses_junk(v::https_url, "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com");
    CHECK(v::https_url("https://x.eks.amazonaws.com/").empty());
    CHECK(v::https_url("https://x.eks.amazonaws.com:443/path").empty());
    CHECK(v::https_url("https://10.0.0.1").empty());
    CHECK_FALSE(v::https_url("http://x.eks.amazonaws.com").empty());
    CHECK_FALSE(v::https_url("https://").empty());
    CHECK_FALSE(v::https_url("https://x:0").empty());
    CHECK_FALSE(v::https_url("https://x:65536").empty());
    CHECK_FALSE(v::https_url("https://x:").empty());
    CHECK_FALSE(v::https_url("https://user@x").empty());
    CHECK_FALSE(v::https_url("https://x/a b").empty());

    refuses_junk(v::base64, "Q0E=");
    CHECK(v::base64("QUJD").empty());
    CHECK(v::base64("QQ==").empty());
    CHECK(v::base64("a+/9").empty());
    CHECK_FALSE(v::base64("QQ=").empty());
    CHECK_FALSE(v::base64("Q===").empty());
    CHECK_FALSE(v::base64("Q=E=").empty());
    CHECK_FALSE(v::base64("QU\nJD").empty());
}

TEST_CASE("values: one word of an unquoted command line", "[imds][values][kubelet]") {
    CHECK(v::command_word("--hostname-override=ip-10-0-0-1.ec2.internal").empty());
    CHECK(v::command_word("--node-labels=a=b,c=d").empty());
    CHECK(v::command_word("--node-labels=team=caf\xc3\xa9").empty());  // UTF-8 is one word
    CHECK_FALSE(v::command_word("").empty());
    CHECK_FALSE(v::command_word("--hostname-override=a --register-node=false").empty());
    CHECK_FALSE(v::command_word("--node-ip=1.2.3.4\n--x").empty());
    CHECK_FALSE(v::command_word("--a=b\tc").empty());
    CHECK_FALSE(v::command_word("--a=\x7f").empty());
    CHECK_FALSE(v::command_word(with_nul("--a=b", "c")).empty());
    CHECK_FALSE(v::command_word("--a=\xff").empty());
    CHECK_FALSE(v::command_word("--a=\xc3").empty());  // cut inside a sequence
}

TEST_CASE("values: UTF-8", "[imds][values]") {
    CHECK(is_utf8_text(""));
    CHECK(is_utf8_text("plain"));
    CHECK(is_utf8_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK_FALSE(is_utf8_text(with_nul("a", "b")));
    CHECK_FALSE(is_utf8_text("\xff"));
    CHECK_FALSE(is_utf8_text("\x80"));
    CHECK_FALSE(is_utf8_text("\xc3"));
    CHECK_FALSE(is_utf8_text("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(is_utf8_text("\xe0\x80\xaf"));      // overlong '/'
    CHECK_FALSE(is_utf8_text("\xed\xa0\x80"));      // a UTF-16 surrogate
    CHECK_FALSE(is_utf8_text("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(is_utf8_text("\xe2\x82"));
}

TEST_CASE("values are shown quoted, escaped and cut", "[imds][values]") {
    CHECK(v::shown("ip-1.ec2.internal --x") == "\"ip-1.ec2.internal --x\"");
    CHECK(v::shown("a\nb") == "\"a\\nb\"");
    CHECK(v::shown(with_nul("a", "b")) == "\"a\\u0000b\"");
    CHECK(v::shown("\x1b[31m") == "\"\\u001b[31m\"");
    CHECK(v::shown("a\xff") == "\"a\\ufffd\"");  // not UTF-8: replaced, never thrown
    std::string long_value(500, 'x');
    std::string s = v::shown(long_value);
    CHECK(s == "\"" + std::string(64, 'x') + "...\"");
    // cut inside a UTF-8 sequence: still printable
    std::string cut = std::string(63, 'x') + "\xc3\xa9";
    CHECK_THAT(v::shown(cut), Catch::EndsWith("\\ufffd...\""));
    // nothing but printable ASCII leaves it, whatever came in
    for (char c : v::shown("\xc3\xa9\t\r\x7f\x01\xff")) CHECK((c >= 0x20 && c < 0x7f));
}

TEST_CASE("values: newline-separated lists (imds/instance.cpp and eks-node-network read them so)", "[imds][values]") {
    std::vector<std::string> out;
    CHECK(value::list("10.0.0.1\r\n\n 10.0.0.2 \n", value::ipv4, out).empty());
    CHECK(out == std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
    out.clear();
    CHECK(value::list("", value::ipv4, out).empty());
    CHECK(out.empty());
    // the first bad line is named by its number, blank lines counted
    CHECK(value::list("10.0.0.1\n\n--node-ip=1.2.3.4\n", value::ipv4, out) ==
          "line 3: \"--node-ip=1.2.3.4\" is not an IPv4 address");
}

TEST_CASE("values: the listing of the interfaces' directories (instance.json's interfaceMacs)", "[imds][values]") {
    std::vector<std::string> out;
    // as IMDS serves it: one directory a line, no newline after the last
    CHECK(value::mac_listing("0e:49:61:0f:c3:11/\n0e:49:61:0f:c3:22/", out).empty());
    CHECK(out == std::vector<std::string>{"0e:49:61:0f:c3:11", "0e:49:61:0f:c3:22"});
    // line ends, blank lines and a MAC without its '/' pass; IMDS's order is kept
    out.clear();
    CHECK(value::mac_listing("0e:49:61:0f:c3:33/\r\n\n0e:49:61:0f:c3:11\n", out).empty());
    CHECK(out == std::vector<std::string>{"0e:49:61:0f:c3:33", "0e:49:61:0f:c3:11"});
    out.clear();
    CHECK(value::mac_listing("", out).empty());
    CHECK(out.empty());
    // anything else is named by its line, as served
    for (std::string_view bad :
         {"0e:49:61:0f:c3:11//", "../0e:49:61:0f:c3:11/", "0e:49:61:0f:c3/", "/", "ipv6s", "0e:49:61:0f:c3:11/ x"}) {
        INFO(bad);
        out.clear();
        CHECK(value::mac_listing(std::string("0e:49:61:0f:c3:11/\n") + std::string(bad), out) ==
              "line 2: " + value::shown(bad) + " is not an interface's directory (a MAC address and '/')");
    }
}
