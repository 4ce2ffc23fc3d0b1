// SPDX-License-Identifier: Apache-2.0
// nodeadm's kubelet version toggles (tests/data/nodeadm-version-toggles.md),
// each rendered at its release and at the one before: a toggle the table
// lists and the renderers lack fails here.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "render/render.hpp"
#include "test_support.hpp"

using namespace eksnode;
using render_test::TempDir;

namespace {

struct Toggle {
    std::string name;
    std::string since;  // "1.34": from that release on
    std::string until;  // "1.30": before that release only
    std::string file;   // absolute path on the node
    std::string text;   // what the file holds where the toggle is on
    json given;         // merged over the base config.json
};

std::string cell(std::string c) {
    c.erase(0, c.find_first_not_of(' '));
    c.erase(c.find_last_not_of(' ') + 1);
    if (c.size() >= 2 && c.front() == '`' && c.back() == '`') c = c.substr(1, c.size() - 2);
    return c;
}

// The rows: "| toggle | nodeadm | `>= 1.34` | `file` | `text` | `given` |".
std::vector<Toggle> toggles() {
    std::ifstream in(render_test::source_path("tests/data/nodeadm-version-toggles.md"));
    REQUIRE(in);
    static const std::regex release(R"((>=|<) (1\.[0-9]+))");
    std::vector<Toggle> out;
    bool table = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("|---")) {
            table = true;
            continue;
        }
        if (!table || !line.starts_with("| ")) continue;
        INFO(line);
        std::vector<std::string> cells;
        std::istringstream bars(line.substr(1, line.size() - 2));
        for (std::string c; std::getline(bars, c, '|');) cells.push_back(cell(c));
        REQUIRE(cells.size() == 6);
        std::smatch m;
        REQUIRE(std::regex_match(cells[2], m, release));
        Toggle t{cells[0], "", "", cells[3], cells[4], json::parse(cells[5])};
        (m[1] == ">=" ? t.since : t.until) = m[2];
        out.push_back(std::move(t));
    }
    return out;
}

// "1.34" -> "1.33"
std::string release_before(const std::string& release) {
    int minor = std::stoi(release.substr(2));
    return fmt::format("1.{}", minor - 1);
}

// The node's kubelet and containerd files for this config.json, `file` read back.
std::string rendered(const json& given, const std::string& kubelet, const std::string& file) {
    json cfg = render_test::base_config();
    deep_merge(cfg, given);
    cfg["machine"]["kubeletVersion"] = kubelet + ".0";
    TempDir root;
    Paths paths(root.path);
    render::render_kubelet(cfg, paths);
    render::render_containerd(cfg, paths);
    std::optional<std::string> text = read_file_if_exists(paths.of(file));
    REQUIRE(text.has_value());
    return *text;
}

}  // namespace

TEST_CASE("every nodeadm version toggle is rendered from its kubelet release on, not before", "[render][toggles]") {
    std::vector<Toggle> table = toggles();
    REQUIRE(table.size() >= 8);
    for (const Toggle& t : table) {
        INFO(t.name << ": " << t.text << " in " << t.file);
        const std::string on = t.since.empty() ? release_before(t.until) : t.since;
        const std::string off = t.since.empty() ? t.until : release_before(t.since);
        {
            INFO("kubelet " << on);
            CHECK_THAT(rendered(t.given, on, t.file), Catch::Contains(t.text));
        }
        {
            INFO("kubelet " << off);
            CHECK_THAT(rendered(t.given, off, t.file), !Catch::Contains(t.text));
        }
    }
}
