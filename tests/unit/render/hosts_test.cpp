// SPDX-License-Identifier: Apache-2.0
// eks-node-hosts's renderer: the /etc/hosts block of an Outposts node's API server addresses.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "format/toml_json.hpp"
#include "render/hosts.hpp"
#include "render/render.hpp"
#include "render/render_config.hpp"
#include "render/shared.hpp"
#include "steps/steps.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::format;
using namespace eksnode::render;
using namespace eksnode::render::detail;
using render_test::base_config;
using render_test::mode_of;
using render_test::TempDir;

namespace {

json outposts_config() {
    json cfg = base_config();
    cfg["spec"]["cluster"]["enableOutpost"] = true;
    cfg["spec"]["cluster"]["id"] = "6b7d1c2e-0f5a-4c3b-9e8d-1a2b3c4d5e6f";
    cfg["derived"]["apiServerHost"] = "api.outpost.example.com";
    return cfg;
}

HostResolver answers(const std::vector<std::string>& addresses) {
    return [addresses](const std::string&) { return addresses; };
}

}  // namespace

TEST_CASE("our /etc/hosts block is replaced in place and the rest kept byte for byte", "[render][hosts]") {
    const std::string before = "127.0.0.1 localhost\n";
    const std::string after = "10.9.9.9  kept # comment\n";
    const std::string old_block = hosts_block("api.example.com", {"10.0.0.9"});
    const std::string new_block = hosts_block("api.example.com", {"10.0.0.2", "fd00::1", "10.0.0.1", "10.0.0.2"});
    CHECK(new_block ==
          "# BEGIN eks-node (Outposts API server)\n10.0.0.1\tapi.example.com\n"
          "10.0.0.2\tapi.example.com\nfd00::1\tapi.example.com\n# END eks-node\n");
    CHECK(with_hosts_block(before + old_block + after, new_block, "hosts") == before + new_block + after);
    CHECK(with_hosts_block(before + old_block + after, "", "hosts") == before + after);
    CHECK(with_hosts_block("no newline", new_block, "hosts") == "no newline\n" + new_block);
    CHECK(with_hosts_block(before, "", "hosts") == before);
}

TEST_CASE("a hand-broken /etc/hosts block is an error, not a guess", "[render][hosts]") {
    const std::string begin = std::string(hosts_begin) + "\n", end = std::string(hosts_end) + "\n";
    CHECK_THROWS_AS(find_hosts_block(begin + "1.2.3.4 x\n", "hosts"), Error);
    CHECK_THROWS_AS(find_hosts_block("1.2.3.4 x\n" + end, "hosts"), Error);
    CHECK_THROWS_AS(find_hosts_block(begin + end + begin + end, "hosts"), Error);
}

TEST_CASE("eks-node-hosts keeps the file's mode and skips address literals", "[render][hosts]") {
    TempDir root;
    Paths paths(root.path);
    const fs::path hosts = root.path / "etc/hosts";
    fs::create_directories(hosts.parent_path());
    write_file_atomic(hosts, "127.0.0.1 localhost\n", 0640);

    CHECK(render_hosts(outposts_config(), paths, answers({"10.0.1.10"})).changed());
    CHECK(mode_of(hosts) == 0640);
    CHECK(read_file(hosts).find("10.0.1.10\tapi.outpost.example.com\n") != std::string::npos);

    json literal = outposts_config();
    literal["derived"]["apiServerHost"] = "10.0.1.10";
    render_hosts(literal, paths, [](const std::string&) -> std::vector<std::string> {
        throw std::logic_error("an address needs no lookup");
    });
    CHECK(read_file(hosts) == "127.0.0.1 localhost\n");
}

TEST_CASE("an unresolvable API server is a temporary failure unless a block exists", "[render][hosts]") {
    TempDir root;
    Paths paths(root.path);
    HostResolver down = [](const std::string& h) -> std::vector<std::string> { throw TempError(h + ": timeout"); };
    try {
        render_hosts(outposts_config(), paths, down);
        FAIL("no error");
    } catch (const TempError& e) {
        CHECK(e.exit_code() == EXIT_TEMPFAIL);
    }
    render_hosts(outposts_config(), paths, answers({"10.0.1.10"}));
    StepResult r = render_hosts(outposts_config(), paths, down);
    CHECK_FALSE(r.changed());
    CHECK(read_file(root.path / "etc/hosts").find("10.0.1.10") != std::string::npos);
}

TEST_CASE("addresses are read from a DNS answer, past CNAMEs and compressed names", "[render][hosts]") {
    const std::vector<unsigned char> msg = {
        0x12, 0x34, 0x81, 0x80, 0, 1,   0,   3,   0,   0,   0,   0,  // header: 1 question, 3 answers
        3,    'a',  'p',  'i',  7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,  'c', 'o', 'm',  0,   // api.example.com
        0,    1,    0,    1,                                                                   // A, IN
        0xc0, 12,   0,    5,    0, 1,   0,   0,   0,   60,  0,   5,   2,  'l', 'b', 0xc0, 16,  // CNAME lb.example.com
        0xc0, 45,   0,    1,    0, 1,   0,   0,   0,   60,  0,   4,   10, 0,   1,   10,        // lb: A 10.0.1.10
        0xc0, 45,   0,    28,   0, 1,   0,   0,   0,   60,  0,   16,                           // lb: AAAA fd00:ec2::10
        0xfd, 0,    0x0e, 0xc2, 0, 0,   0,   0,   0,   0,   0,   0,   0,  0,   0,   0x10,
    };
    CHECK(addresses_in_dns_answer(msg.data(), msg.size()) == std::vector<std::string>{"10.0.1.10", "fd00:ec2::10"});
    // Cut inside the AAAA record: what came before it still counts.
    CHECK(addresses_in_dns_answer(msg.data(), msg.size() - 3) == std::vector<std::string>{"10.0.1.10"});
    CHECK(addresses_in_dns_answer(msg.data(), 5).empty());
}
