// SPDX-License-Identifier: Apache-2.0
// The names of configuration files end up in generated files (SourcePath=,
// comments, config.json's origins): a name no generated file could carry is
// refused where it is found, naming the file (issue 34, item 5).
#include <catch2/catch.hpp>

#include "config/merge.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/fragments.hpp"

using namespace eksnode;

namespace {

std::string refusal(const test::TempRoot& r) {
    try {
        input::fragment_files(r.paths());
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == EXIT_CONFIG);
        return e.what();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("a fragment name with a control character or not UTF-8 is refused", "[config][syntax]") {
    test::TempRoot r;
    r.write("/etc/eks-node/node.toml.d/10-fine.toml", "");
    CHECK(refusal(r) == "accepted");
    SECTION("a line break") {
        r.write("/etc/eks-node/node.toml.d/20-a\nExecStartPre=x.toml", "");
        CHECK_THAT(refusal(r), Catch::Contains("/etc/eks-node/node.toml.d/20-a\nExecStartPre=x.toml") &&
                                   Catch::Contains("file name"));
        // the whole static configuration with it: eks-node-config and eks-node-imds exit 6
        CHECK_THROWS_AS(config::static_settings(r.paths()), ConfigError);
        CHECK_THROWS_AS(input::static_settings_table(r.paths(), "imds"), ConfigError);
    }
    SECTION("an escape character") {
        r.write("/usr/lib/eks-node/node.toml.d/20-\x1b[31m.toml", "");
        CHECK_THAT(refusal(r), Catch::Contains("file name"));
    }
    SECTION("bytes that are not UTF-8") {
        r.write("/run/eks-node/node.toml.d/20-\xff.toml", "");
        CHECK_THAT(refusal(r), Catch::Contains("file name"));
    }
    SECTION("not a fragment's name: not read, so not refused") {
        r.write("/etc/eks-node/node.toml.d/20-a\nb.toml.bak", "");
        CHECK(refusal(r) == "accepted");
    }
    SECTION("'%', '\\' and spaces are written escaped where they go") {
        r.write("/etc/eks-node/node.toml.d/20-100% a\\b.toml", "");
        CHECK(refusal(r) == "accepted");
    }
}

TEST_CASE("a nodeadm drop-in name with a control character is refused", "[config][syntax]") {
    test::TempRoot r;
    r.write("/etc/eks/nodeadm.d/10-a\nb.yaml", "");
    CHECK_THROWS_WITH(input::nodeadm_dropins(r.paths()),
                      Catch::Contains("10-a\nb.yaml") && Catch::Contains("file name"));
}
