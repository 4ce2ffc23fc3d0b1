// SPDX-License-Identifier: Apache-2.0
// Golden trees: tests/golden/<step>/<NN-case>/
//   input/config.json    the resolved configuration, placed at run/eks-node/config.json
//   input/<path>         files already on the node (e.g. etc/hosts), copied as 0644
//   dns                  hosts only: the addresses the resolver answers, or SERVFAIL
//   expected/<path>      every file under the root after the step ran (config.json aside)
//   expected.modes       "<octal mode> <path>" per expected file
// Each case is rendered twice: the first run must produce exactly expected/,
// the second must change nothing (same bytes, same mtimes, nothing "written",
// nothing to restart).
// EKS_NODE_REGENERATE=1 rewrites expected/ and expected.modes from the output;
// review the diff like code.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/outputs.hpp"
#include "fixtures.hpp"
#include "render/render.hpp"
#include "steps/steps.hpp"
#include "test_support.hpp"

namespace {

using namespace eksnode;
using namespace eksnode::render;
using render_test::TempDir;

const fs::path golden_root = test::source_path("tests/golden");
const std::string config_rel = "run/eks-node/config.json";

struct FileState {
    std::string bytes;
    mode_t mode = 0;
    fs::file_time_type mtime;
};
using Tree = std::map<std::string, FileState>;

Tree read_tree(const fs::path& dir) {
    Tree t;
    if (!fs::exists(dir)) return t;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        std::string rel = fs::relative(e.path(), dir).string();
        if (rel == config_rel) continue;
        struct stat st {};
        REQUIRE(::stat(e.path().c_str(), &st) == 0);
        t[rel] = {read_file(e.path()), static_cast<mode_t>(st.st_mode & 07777), e.last_write_time()};
    }
    return t;
}

std::map<std::string, mode_t> read_modes(const fs::path& file) {
    std::map<std::string, mode_t> modes;
    std::istringstream in(read_file_if_exists(file).value_or(""));
    std::string mode, rel;
    while (in >> mode >> rel) modes[rel] = static_cast<mode_t>(std::stoul(mode, nullptr, 8));
    return modes;
}

void copy_input(const fs::path& input, const fs::path& root) {
    for (const auto& e : fs::recursive_directory_iterator(input)) {
        if (!e.is_regular_file()) continue;
        std::string rel = fs::relative(e.path(), input).string();
        fs::path to = root / (rel == "config.json" ? config_rel : rel);
        fs::create_directories(to.parent_path());
        fs::copy_file(e.path(), to);
        // git keeps no modes but the executable bit; make them explicit (an
        // executable input stands for a program on the node, such as a
        // runtime handler's binary, which eks-node-containerd checks)
        const bool exec = (fs::status(e.path()).permissions() & fs::perms::owner_exec) != fs::perms::none;
        fs::permissions(to, fs::perms(exec ? 0755 : 0644));
    }
}

HostResolver resolver_for(const fs::path& case_dir) {
    std::optional<std::string> dns = read_file_if_exists(case_dir / "dns");
    return [dns](const std::string& host) -> std::vector<std::string> {
        if (!dns) throw std::logic_error("the resolver was consulted for " + host + " but the case has no dns file");
        if (dns->find("SERVFAIL") != std::string::npos) throw TempError(host + ": SERVFAIL");
        std::vector<std::string> out;
        std::istringstream in(*dns);
        for (std::string a; in >> a;) out.push_back(a);
        return out;
    };
}

StepResult render(const std::string& step, const fs::path& case_dir, const fs::path& root) {
    StepOptions opts;
    opts.paths = Paths(root);
    opts.config_path = (root / config_rel).string();
    json cfg = steps::load_config_json(opts);
    const Paths& paths = opts.paths;
    if (step == "ca") return render_ca(cfg, paths);
    if (step == "kubelet") return render_kubelet(cfg, paths);
    if (step == "containerd") return render_containerd(cfg, paths);
    if (step == "system") return render_system(cfg, paths);
    if (step == "ecs") return render_ecs(cfg, paths);
    return render_hosts(cfg, paths, resolver_for(case_dir));
}

void regenerate(const fs::path& case_dir, const Tree& actual) {
    fs::remove_all(case_dir / "expected");
    std::string modes;
    for (const auto& [rel, f] : actual) {
        fs::path to = case_dir / "expected" / rel;
        fs::create_directories(to.parent_path());
        std::ofstream(to, std::ios::binary) << f.bytes;
        char line[32];
        std::snprintf(line, sizeof line, "%04o ", static_cast<unsigned>(f.mode));
        modes += line + rel + "\n";
    }
    std::ofstream(case_dir / "expected.modes") << modes;
}

// Everything the step wrote, or found already right, is an output the
// registry (core/outputs.hpp) gives to this step, with the registry's mode:
// validate, collect-logs and the confinement read their lists from there.
void check_registered(const std::string& step, const fs::path& root, const StepResult& result) {
    for (const auto& [p, r] : result.outputs) {
        // by append: GCC 12 at -O3 raises a false -Wrestrict on "/" + string
        std::string absolute = "/";
        absolute.append(fs::relative(p, root).string());
        INFO(step << " output " << absolute);
        const outputs::Output* o = outputs::find(absolute);
        REQUIRE(o != nullptr);
        CHECK(o->written_by(step));
        struct stat st {};
        if (::stat(p.c_str(), &st) != 0) {
            CHECK(o->optional);  // withdrawn: only an optional output may be
            continue;
        }
        // a block-only file keeps the mode it had: the input's 0644 here
        CHECK(static_cast<mode_t>(st.st_mode & 07777) == o->mode);
    }
}

void check_case(const std::string& step, const fs::path& case_dir) {
    TempDir root;
    copy_input(case_dir / "input", root.path);

    StepResult first = render(step, case_dir, root.path);
    check_registered(step, root.path, first);
    const Tree actual = read_tree(root.path);
    if (std::getenv("EKS_NODE_REGENERATE")) regenerate(case_dir, actual);

    const Tree expected = read_tree(case_dir / "expected");
    const auto modes = read_modes(case_dir / "expected.modes");
    for (const auto& [rel, f] : expected) {
        INFO("expected file " << rel);
        auto it = actual.find(rel);
        CHECK(it != actual.end());
        if (it == actual.end()) continue;
        CHECK(it->second.bytes == f.bytes);
        CHECK(modes.count(rel) == 1);
        if (modes.count(rel)) CHECK(it->second.mode == modes.at(rel));
    }
    for (const auto& [rel, f] : actual) {
        INFO("file under the root that expected/ does not list: " << rel);
        CHECK(expected.count(rel) == 1);
    }

    StepResult second = render(step, case_dir, root.path);
    const Tree again = read_tree(root.path);
    CHECK_FALSE(second.changed());
    CHECK(second.restarts.empty());
    // the same outputs, but for a stale file of a pattern the first run withdrew
    // (a section since removed), which the second no longer finds
    for (const auto& [p, r] : first.outputs) {
        const fs::path& path = p;  // clang 14 cannot capture a structured binding in a lambda
        bool again =
            std::any_of(second.outputs.begin(), second.outputs.end(), [&](const auto& o) { return o.first == path; });
        if (again) continue;
        INFO("output of the first run only: " << p);
        CHECK(r == WriteResult::written);
        CHECK_FALSE(fs::exists(p));
        std::string absolute = "/";  // by append, as above
        absolute.append(fs::relative(p, root.path).string());
        const outputs::Output* o = outputs::find(absolute);
        CHECK((o && o->is_pattern()));
    }
    CHECK(second.outputs.size() <= first.outputs.size());
    for (const auto& [rel, f] : actual) {
        INFO("re-rendered file " << rel);
        REQUIRE(again.count(rel) == 1);
        CHECK(again.at(rel).bytes == f.bytes);
        CHECK(again.at(rel).mtime == f.mtime);
    }
}

void check_step(const std::string& step) {
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(golden_root / step))
        if (e.is_directory()) cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    REQUIRE_FALSE(cases.empty());
    for (const fs::path& c : cases) DYNAMIC_SECTION(step << "/" << c.filename().string()) { check_case(step, c); }
}

}  // namespace

TEST_CASE("eks-node-ca renders its golden trees", "[render][golden]") { check_step("ca"); }
TEST_CASE("eks-node-kubelet renders its golden trees", "[render][golden]") { check_step("kubelet"); }
TEST_CASE("eks-node-containerd renders its golden trees", "[render][golden]") { check_step("containerd"); }
TEST_CASE("eks-node-hosts renders its golden trees", "[render][golden]") { check_step("hosts"); }
TEST_CASE("eks-node-system renders its golden trees", "[render][golden][system]") { check_step("system"); }
TEST_CASE("eks-node-ecs renders its golden trees", "[render][golden][ecs]") { check_step("ecs"); }
