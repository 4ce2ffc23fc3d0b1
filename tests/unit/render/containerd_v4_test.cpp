// SPDX-License-Identifier: Apache-2.0
// tests/data/containerd-config-v4.tsv, row by row: containerd 2.3's
// configuration version 4, as containerd's source says and eks-node does.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/table.hpp"
#include "render/containerd.hpp"
#include "render/render.hpp"
#include "test_support.hpp"

namespace containerd_v4_test {

using eksnode::ConfigError;
using eksnode::json;

std::vector<std::string> split(const std::string& s, const std::string& by) {
    std::vector<std::string> out;
    for (size_t at = 0;;) {
        const size_t next = s.find(by, at);
        out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
        if (next == std::string::npos) return out;
        at = next + by.size();
    }
}

// Compared as data: the project's json keeps keys in the order written.
nlohmann::json as_data(const json& j) { return nlohmann::json::parse(j.dump()); }

// The rendered config.toml as data, or the field a refusal named.
struct Rendered {
    json config;
    std::string refused;  // "": rendered
};

Rendered render_config_toml(const json& cfg) {
    try {
        return {eksnode::render::detail::containerd_config(cfg), ""};
    } catch (const ConfigError& e) {
        return {json(), e.field()};
    }
}

std::string dropin_warnings(const json& cfg, const std::string& toml) {
    render_test::TempDir root;
    const std::filesystem::path dir = root.path / "etc/containerd/config.d";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "50-row.toml") << toml;
    std::string all;
    for (const eksnode::render::ContainerdDropin& d :
         eksnode::render::containerd_dropins(cfg, eksnode::Paths(root.path)))
        for (const std::string& w : d.warnings) all += w + "\n";
    return all;
}

}  // namespace containerd_v4_test

TEST_CASE("containerd-config-v4.tsv: each behaviour as the table says", "[render][containerd][containerd-v4]") {
    using namespace containerd_v4_test;
    const std::string text = eksnode::read_file(render_test::source_path("tests/data/containerd-config-v4.tsv"));
    size_t rows = 0;
    for (const eksnode::table::Row& row : eksnode::table::rows(text, "tests/data/containerd-config-v4.tsv", 5)) {
        CAPTURE(row.text);
        const std::vector<std::string>& cols = row.cells;
        REQUIRE_FALSE(cols[3].empty());  // every behaviour names containerd's source
        ++rows;
        json input = json::parse(cols[1]);
        json cfg = render_test::base_config();
        std::string dropin;
        if (auto d = input.find("dropin"); d != input.end()) {
            dropin = d->get<std::string>();
            input.erase(d);
        }
        eksnode::deep_merge(cfg, input);
        const Rendered r = dropin.empty() ? render_config_toml(cfg) : Rendered{};
        const std::string warnings = dropin.empty() ? "" : dropin_warnings(cfg, dropin);
        for (const std::string& expect : split(cols[2], " && ")) {
            CAPTURE(expect);
            if (expect == "clean") {
                CHECK(warnings.empty());
            } else if (expect.starts_with("warns ")) {
                CHECK_THAT(warnings, Catch::Contains(expect.substr(6)));
            } else if (expect.starts_with("refused ")) {
                CHECK(r.refused == expect.substr(8));
            } else if (expect.starts_with("absent ")) {
                REQUIRE(r.refused.empty());
                CHECK_FALSE(r.config.contains(json::json_pointer(expect.substr(7))));
            } else {
                REQUIRE(expect.starts_with("at "));
                REQUIRE(r.refused.empty());
                const size_t eq = expect.find(" = ");
                REQUIRE(eq != std::string::npos);
                const json::json_pointer where(expect.substr(3, eq - 3));
                REQUIRE(r.config.contains(where));
                CHECK(as_data(r.config.at(where)) == nlohmann::json::parse(expect.substr(eq + 3)));
            }
        }
    }
    CHECK(rows >= 25);
}
