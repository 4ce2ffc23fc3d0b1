// SPDX-License-Identifier: Apache-2.0
// units/steps.tsv (core/units.hpp) against the tree it describes: every unit
// file, program, page and ExecStart= it names is there, and nothing it
// leaves out is.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "cli/chain.hpp"
#include "core/confine.hpp"
#include "core/units.hpp"
#include "fixtures.hpp"

using namespace eksnode;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// eks-node-hook@.service -> eks-node-hook
std::string page_of(std::string_view unit) {
    std::string name(unit.substr(0, unit.find(".service")));
    if (name.ends_with('@')) name.pop_back();
    return name;
}

}  // namespace

TEST_CASE("units/steps.tsv lists every eks-node service under units/, and only those", "[core][units]") {
    std::set<std::string> files, rows;
    for (const auto& e : fs::directory_iterator(test::source_path("units"))) {
        const std::string n = e.path().filename().string();
        if (n.starts_with("eks-node-") && n.ends_with(".service")) files.insert(n);
    }
    for (const units::Unit& u : units::all()) rows.insert(std::string(u.unit));
    CHECK(files == rows);
    CHECK(rows.size() == units::all().size());  // no unit twice
}

TEST_CASE("each row's program is its unit's ExecStart=, built from its step's file, with its page", "[core][units]") {
    for (const units::Unit& u : units::all()) {
        INFO(u.unit);
        const std::string text = read(test::source_path("units") / u.unit);
        if (text.find("\nExecStart=") != std::string::npos)
            CHECK(text.find("\nExecStart=/usr/libexec/eks-node/" + std::string(u.program)) != std::string::npos);
        else  // eks-node-hook@: the generator's drop-in gives each hook its ExecStart=
            CHECK(text.find(std::string(u.program) + " NAME") != std::string::npos);
        CHECK(fs::exists(test::source_path("man") / (page_of(u.unit) + ".8.scd")));
        if (!u.step.empty()) {
            CHECK(u.program == "eks-node-" + std::string(u.step));
            // helpers/lib/steps/meson.build and helpers/meson.build find the step's code by its name
            std::string file(u.step);
            std::replace(file.begin(), file.end(), '-', '_');
            const char* library = u.library == units::Library::steps ? "steps" : "cli";
            CHECK(fs::exists(test::source_path("helpers/lib") / library / (file + ".cpp")));
        }
        // a unit of the shared sandbox has no other 10-sandbox.conf
        CHECK_FALSE(fs::exists(test::source_path("units") / (std::string(u.unit) + ".d") / "10-sandbox.conf"));
    }
    // the steps' mains are made from the table (helpers/step-main.cpp.in): no hand-written one
    for (const auto& e : fs::directory_iterator(test::source_path("helpers")))
        if (e.is_directory()) CHECK((e.path().filename() == "cli" || e.path().filename() == "lib"));
}

TEST_CASE("the chain, the confinement and the generator's lists read the table", "[core][units]") {
    std::vector<std::string_view> chain;
    for (const cli::ChainStep& s : cli::chain_steps()) chain.push_back(s.name);
    CHECK(chain ==
          std::vector<std::string_view>{"imds", "config", "system", "ca", "kubelet", "containerd", "hosts", "ecs"});
    CHECK(cli::chain_steps()[3].kinds == units::Kinds::eks);
    CHECK(cli::chain_steps()[7].kinds == units::Kinds::ecs);
    // every program that confines itself has a policy; a second unit of a program none of its own
    for (const units::Unit& u : units::all()) CHECK((confine::find_policy(u.step) != nullptr) == u.landlock);
    const std::vector<std::string_view> eks_only = units::eks_only();
    CHECK(std::count(eks_only.begin(), eks_only.end(), "eks-node-sandbox-image.service") == 1);
    CHECK(std::count(eks_only.begin(), eks_only.end(), "eks-node-config.service") == 0);
    const std::vector<std::string_view> on_demand = units::started_on_demand();
    CHECK(std::count(on_demand.begin(), on_demand.end(), "eks-node-network@.service") == 1);
    CHECK(std::count(on_demand.begin(), on_demand.end(), "eks-node-kubelet.service") == 0);
}
