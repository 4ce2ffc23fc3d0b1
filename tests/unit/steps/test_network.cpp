// SPDX-License-Identifier: Apache-2.0
// eks-node-network: who owns an ENI at its first sight, and IMDS's list of the
// interfaces (instance.json's interfaceMacs) as a sign of a launch ENI.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/error.hpp"
#include "imds/fake_imds.hpp"
#include "steps/network.hpp"

using namespace eksnode;
using eksnode::render::EniOwner;
using eksnode::steps::detail::first_sight_owner;
using eksnode::steps::detail::FirstSight;
using eksnode::steps::detail::interface_macs;
using eksnode::steps::detail::tagged_owner;
using eksnode::steps::detail::written_before;

TEST_CASE("network: the first sight's rules, in their order", "[steps][network]") {
    struct Case {
        FirstSight sight;
        EniOwner owner;
        std::string_view why;
    } cases[] = {
        // the primary, whatever else is true
        {{true, false, false}, EniOwner::systemd, "the primary interface"},
        {{true, true, false}, EniOwner::systemd, "the primary interface"},
        // before kubelet: systemd-networkd's, listed or not
        {{false, false, false}, EniOwner::systemd, "attached before kubelet started"},
        {{false, false, true}, EniOwner::systemd, "attached before kubelet started"},
        // after: listed by IMDS before kubelet started, or the VPC CNI's
        {{false, true, true}, EniOwner::systemd, "listed by IMDS before kubelet started"},
        {{false, true, false}, EniOwner::cni, "attached after kubelet started"},
    };
    for (const Case& c : cases) {
        INFO("primary " << c.sight.primary << ", kubelet started " << c.sight.kubelet_started << ", listed "
                        << c.sight.listed_before_kubelet);
        steps::detail::OwnerRule rule = first_sight_owner(c.sight);
        CHECK(rule.owner == c.owner);
        CHECK(rule.why == c.why);
    }
}

TEST_CASE("network: OSManagedNoManageENIs, what EC2's tags decide", "[steps][network]") {
    auto tags = [](bool listed, std::optional<std::string> no_manage, bool cni_created) {
        aws::EniTags t;
        t.listed = listed;
        t.no_manage = std::move(no_manage);
        t.cni_created = cni_created;
        return t;
    };
    // not listed yet, or listed with neither tag: asked again
    CHECK_FALSE(tagged_owner(tags(false, std::nullopt, false)));
    CHECK_FALSE(tagged_owner(tags(false, "true", false)));  // nothing counts of an ENI not listed
    CHECK_FALSE(tagged_owner(tags(true, std::nullopt, false)));
    // exactly "true" opts out of the VPC CNI, whatever else is tagged
    auto r = tagged_owner(tags(true, "true", true));
    REQUIRE(r);
    CHECK(r->owner == EniOwner::systemd);
    CHECK(r->why == "tagged node.k8s.amazonaws.com/no_manage=true");
    for (const char* other : {"True", "TRUE", "false", "", "yes", "1"}) {
        INFO(other);
        r = tagged_owner(tags(true, other, false));
        REQUIRE(r);
        CHECK(r->owner == EniOwner::cni);
        CHECK_THAT(r->why, Catch::Contains("only \"true\" opts out"));
    }
    // the VPC CNI's own ENI, without waiting for its link
    r = tagged_owner(tags(true, std::nullopt, true));
    REQUIRE(r);
    CHECK(r->owner == EniOwner::cni);
    CHECK(r->why == "created by the VPC CNI (tagged node.k8s.amazonaws.com/instance_id)");
}

TEST_CASE("network: OSManagedNoManageENIs against nodeadm (tests/data/os-managed-enis-compat.tsv)",
          "[steps][network]") {
    int rows = 0, differ = 0;
    for (const std::vector<std::string>& f : test::tsv_rows("tests/data/os-managed-enis-compat.tsv", 7)) {
        INFO(f[0] << " " << f[1] << " " << f[2] << ": " << f[5]);
        aws::EniTags t;
        t.listed = f[0] == "yes";
        if (f[1] != "-") t.no_manage = f[1];
        t.cni_created = f[2] == "yes";
        std::optional<steps::detail::OwnerRule> r = tagged_owner(t);
        const std::string ours = !r ? "pending" : r->owner == EniOwner::systemd ? "systemd" : "cni";
        CHECK(ours == f[4]);
        CHECK(!f[5].empty());
        // a difference from nodeadm is a decision, said in the row
        if (f[3] != f[4]) {
            ++differ;
            CHECK(f[6] != "-");
        } else {
            CHECK(f[6] == "-");
        }
        ++rows;
    }
    CHECK(rows == 8);
    CHECK(differ == 1);
}

TEST_CASE("network: instance.json's list of the interfaces, if it is this instance's", "[steps][network]") {
    const std::string id = "i-1234567890abcdef0";
    json i = test::conformance_instance();
    i["interfaceMacs"] = json::array({"0e:49:61:0f:c3:11", "0e:49:61:0f:c3:22"});
    std::string problem;
    auto macs = interface_macs(dump_pretty(i), id, problem);
    REQUIRE(macs);
    CHECK(*macs == std::vector<std::string>{"0e:49:61:0f:c3:11", "0e:49:61:0f:c3:22"});
    CHECK(problem.empty());

    // each problem is a line for the log, and no list
    auto refused = [&](const std::string& text) {
        problem.clear();
        CHECK_FALSE(interface_macs(text, id, problem));
        CHECK_FALSE(problem.empty());
        return problem;
    };
    CHECK(refused(dump_pretty(i).substr(0, 40)) == "not a JSON object");
    CHECK(refused("[]") == "not a JSON object");
    CHECK(refused(R"({"version": 1e400})") == "not a JSON object");
    json other = i;
    other["instanceId"] = "i-0fedcba9876543210";
    CHECK(refused(dump_pretty(other)) == "not this instance's (i-1234567890abcdef0)");
    json older = i;
    older.erase("interfaceMacs");
    CHECK_THAT(refused(dump_pretty(older)), Catch::StartsWith("no interfaceMacs"));
    json bad = i;
    bad["interfaceMacs"] = json::array({"0e:49:61:0f:c3:11", "../etc"});
    CHECK_THAT(refused(dump_pretty(bad)), Catch::StartsWith("interfaceMacs[1]: \"../etc\" is not a MAC address"));
    bad["interfaceMacs"] = "0e:49:61:0f:c3:11";
    CHECK(refused(dump_pretty(bad)) == "interfaceMacs: not a list");
    // the file as a whole passes eks-node-config's checks, or counts for nothing
    bad = i;
    bad["localHostname"] = "a --register-node=false";
    CHECK_THAT(refused(dump_pretty(bad)), Catch::StartsWith("localHostname: "));
}

TEST_CASE("network: written before kubelet started, by a whole microsecond", "[steps][network]") {
    const timespec at{1'700'000'000, 123'456'789};  // 1700000000123456 us and 789 ns
    CHECK(written_before(at, 1'700'000'000'123'457));
    CHECK_FALSE(written_before(at, 1'700'000'000'123'456));  // the same microsecond: a tie
    CHECK_FALSE(written_before(at, 1'700'000'000'000'000));
    CHECK_FALSE(written_before(at, 0));  // no start known
    CHECK(written_before({0, 0}, 1));
}

namespace {

// IMDS's answers of an instance with a primary (11) and a second ENI (22).
const char* const two_enis = R"({
  "meta-data/instance-id": "i-1234567890abcdef0",
  "meta-data/mac": "0e:49:61:0f:c3:11",
  "meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/device-number": "0",
  "meta-data/network/interfaces/macs/0e:49:61:0f:c3:22/device-number": "1",
  "meta-data/network/interfaces/macs/0e:49:61:0f:c3:22/interface-id": "eni-0b1b2c3d4e5f60719",
  "meta-data/network/interfaces/macs/0e:49:61:0f:c3:22/local-ipv4s": "172.16.40.10",
  "meta-data/network/interfaces/macs/0e:49:61:0f:c3:22/subnet-ipv4-cidr-block": "172.16.40.0/24"
})";

void set_mtime(const fs::path& p, time_t seconds) {
    const timespec times[2] = {{seconds, 0}, {seconds, 0}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

// eks-node-network ens6 (MAC 22) under `root`, off the host: what it logged,
// and the owner it recorded.
std::pair<std::string, std::string> run_ens6(const test::TempRoot& root) {
    root.write("/tmp/imds.json", two_enis);
    test::FakeImds fake({"--data=" + root.paths().of("/tmp/imds.json").string()});
    StepOptions opts;
    opts.paths = root.paths();
    opts.imds_endpoint = fake.endpoint();
    opts.args = {"ens6"};
    std::string log = test::logged_at(log::Level::info, [&] { steps::network(opts); });
    std::string record = read_file(root.paths().of("/var/lib/eks-node/network/0e:49:61:0f:c3:22"));
    return {log, record};
}

}  // namespace

TEST_CASE("network: off the host, config.json's time stands in for kubelet's start", "[steps][network]") {
    test::TempRoot root;
    root.write("/sys/class/net/ens6/address", "0e:49:61:0f:c3:22\n");
    root.write("/run/eks-node/config.json", "{}");
    json i = test::conformance_instance();
    i["interfaceMacs"] = json::array({"0e:49:61:0f:c3:11", "0e:49:61:0f:c3:22"});
    root.write("/run/eks-node/instance.json", dump_pretty(i));
    const fs::path instance = root.paths().of("/run/eks-node/instance.json");
    const fs::path config = root.paths().of("/run/eks-node/config.json");

    SECTION("listed in an instance.json written before: systemd-networkd's") {
        set_mtime(instance, 1'700'000'000);
        set_mtime(config, 1'700'000'002);
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("configured with route table 10001; listed by IMDS before kubelet started"));
        CHECK(record == "i-1234567890abcdef0 systemd\n");
    }
    SECTION("listed in an instance.json written after (eks-node-imds ran again): the VPC CNI's") {
        set_mtime(config, 1'700'000'000);
        set_mtime(instance, 1'700'000'002);
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("was written after kubelet started (eks-node-imds ran again)"));
        CHECK_THAT(log, Catch::Contains("left to the VPC CNI (Unmanaged=yes); attached after kubelet started"));
        CHECK(record == "i-1234567890abcdef0 cni\n");
    }
    SECTION("not listed: the VPC CNI's") {
        i["interfaceMacs"] = json::array({"0e:49:61:0f:c3:11"});
        root.write("/run/eks-node/instance.json", dump_pretty(i));
        set_mtime(instance, 1'700'000'000);
        set_mtime(config, 1'700'000'002);
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("attached after kubelet started"));
        CHECK(record == "i-1234567890abcdef0 cni\n");
    }
    SECTION("an instance.json that is not readable is passed over with a warning, never a failure") {
        root.write("/run/eks-node/instance.json", "{not json");
        set_mtime(instance, 1'700'000'000);
        set_mtime(config, 1'700'000'002);
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("instance.json: not a JSON object; deciding without its list of interfaces"));
        CHECK_THAT(log, Catch::Contains("attached after kubelet started"));
        CHECK(record == "i-1234567890abcdef0 cni\n");
    }
    SECTION("no instance.json: today's rule") {
        fs::remove(instance);
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("attached after kubelet started"));
        CHECK(record == "i-1234567890abcdef0 cni\n");
    }
    SECTION("kubelet not started (no config.json): seen before it, the list not asked") {
        fs::remove(config);
        root.write("/run/eks-node/instance.json", "{not json");
        auto [log, record] = run_ens6(root);
        CHECK_THAT(log, Catch::Contains("attached before kubelet started"));
        CHECK_THAT(log, !Catch::Contains("instance.json"));
        CHECK(record == "i-1234567890abcdef0 systemd\n");
    }
}
