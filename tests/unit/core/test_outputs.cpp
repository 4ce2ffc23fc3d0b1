// SPDX-License-Identifier: Apache-2.0
// The output registry (core/outputs.hpp) against itself, the steps, the
// confinement derived from it and the man pages: the registry is the one list,
// so these hold what the four lists it replaced could only hope for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/confine.hpp"
#include "core/error.hpp"
#include "core/outputs.hpp"
#include "fixtures.hpp"
#include "steps/steps.hpp"

using namespace eksnode;

namespace {

// The lines of "# FILES" in man/eks-node-STEP.8.scd, up to the next section.
std::vector<std::string> files_section(std::string_view step) {
    std::ifstream in(test::source_path(fmt::format("man/eks-node-{}.8.scd", step)));
    REQUIRE(in);
    std::vector<std::string> out;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("# ")) inside = line == "# FILES";
        else if (inside) out.push_back(line);
    }
    return out;
}

}  // namespace

TEST_CASE("the output registry names each file once", "[core][outputs]") {
    std::set<std::string_view> seen;
    for (const outputs::Output& o : outputs::all) {
        INFO(o.path);
        CHECK(o.path.starts_with('/'));
        CHECK(seen.insert(o.path).second);
        CHECK(outputs::find(o.path) == &o);
    }
    CHECK(outputs::find("/etc/not-ours") == nullptr);
    CHECK_THROWS_AS(outputs::of("/etc/not-ours"), Error);
}

TEST_CASE("every step in the output registry is a real step", "[core][outputs]") {
    std::set<std::string_view> real;
    for (const StepSpec* s :
         {&steps::imds_spec, &steps::config_spec, &steps::system_spec, &steps::ca_spec, &steps::kubelet_spec,
          &steps::containerd_spec, &steps::hosts_spec, &steps::instance_store_spec, &steps::network_spec,
          &steps::ecs_spec, &cli::telemetry_spec, &cli::verdict_spec})
        real.insert(s->name);
    for (const outputs::Output& o : outputs::all) {
        INFO(o.path);
        CHECK(real.count(o.step) == 1);
    }
    // every step but instance-store (mounts, not files) leaves a file behind
    std::vector<std::string_view> writers = outputs::steps();
    for (std::string_view s : real) {
        INFO(s);
        CHECK((std::find(writers.begin(), writers.end(), s) != writers.end()) == (s != "instance-store"));
    }
}

TEST_CASE("a pattern stands for the files of its directory that have no entry of their own", "[core][outputs]") {
    const outputs::Output& env = outputs::of(path::unit_env);
    CHECK(env.is_pattern());
    CHECK(env.step == "system");
    // one unit's file, template instances and systemd's escapes included
    for (std::string_view p : {"/run/eks-node/env/kubelet.env", "/run/eks-node/env/bar@1.env",
                               "/run/eks-node/env/foo\\x2dbar.env", "/run/eks-node/env/a.b.env"}) {
        INFO(p);
        CHECK(outputs::find(p) == &env);
        CHECK(&outputs::of(p) == &env);
    }
    // default.env has its own entry; hidden files (a writer's temporary), other
    // names and directories are no unit's file
    CHECK(outputs::find(path::default_env) != &env);
    CHECK(outputs::find(path::default_env)->path == path::default_env);
    for (std::string_view p : {"/run/eks-node/env/.env", "/run/eks-node/env/.kubelet.env", "/run/eks-node/env/x.conf",
                               "/run/eks-node/env/sub/x.env", "/run/eks-node/x.env", "/run/eks-node/env/x.env.tmp"}) {
        INFO(p);
        CHECK(outputs::find(p) == nullptr);
    }
    CHECK_FALSE(outputs::of(path::config_json).is_pattern());

    test::TempRoot root;
    CHECK(outputs::present(env, root.paths()).empty());
    for (std::string_view p :
         {"/run/eks-node/env/kubelet.env", "/run/eks-node/env/default.env", "/run/eks-node/env/bar@1.env",
          "/run/eks-node/env/.x.env.eks-node-tmp.abcdef", "/run/eks-node/env/notes.txt"})
        root.write(p, "A=1\n");
    CHECK(outputs::present(env, root.paths()) ==
          std::vector<std::string>{"/run/eks-node/env/bar@1.env", "/run/eks-node/env/kubelet.env"});
    CHECK(outputs::present(outputs::of(path::default_env), root.paths()) ==
          std::vector<std::string>{"/run/eks-node/env/default.env"});
    CHECK(outputs::present(outputs::of(path::config_json), root.paths()).empty());
}

TEST_CASE("secrets are 0600 and everything else is 0644", "[core][outputs]") {
    for (const outputs::Output& o : outputs::all) {
        INFO(o.path);
        CHECK(o.mode == (o.secret ? 0600 : 0644));
        // the block_only mode is only for a new /etc/hosts: a secret needs its own file
        if (o.block_only) CHECK_FALSE(o.secret);
    }
}

TEST_CASE("each step's Landlock policy is the directories of its outputs", "[core][outputs][confine]") {
    // every writer is confined; a confined step that writes nothing (eks-node-cloud-init,
    // -preflight, -joined, -prepull, which executes the credential provider plugins,
    // -readahead, which only reads) gets no writable directory, but eks-node-warm-pool, which
    // removes eks-node-imds's marker in eks-node-imds's directory
    const std::vector<std::string_view> confined = confine::step_names(), writers = outputs::steps();
    for (std::string_view w : writers) CHECK(std::count(confined.begin(), confined.end(), w) == 1);
    for (std::string_view step : confined) {
        INFO(step);
        if (std::count(writers.begin(), writers.end(), step) == 0 && step != "warm-pool")
            CHECK(confine::policy_of(step).writable.empty());
    }
    CHECK(confined.size() > writers.size() + 4);
    CHECK(confine::policy_of("imds").writable == std::vector<std::string>{"/run/eks-node"});
    CHECK(confine::policy_of("warm-pool").writable == std::vector<std::string>{"/run/eks-node"});
    // settings.trust's store directories are the distribution's; its tool writes the extracted bundles,
    // and its temporary files in a directory of the step's (update-ca-certificates' mktemp)
    CHECK(confine::policy_of("ca").writable ==
          std::vector<std::string>{"/etc/kubernetes/pki", "-/etc/pki/ca-trust/source/anchors",
                                   "-/etc/pki/ca-trust/source/blocklist", "-/usr/local/share/ca-certificates",
                                   "-/etc/pki/ca-trust/extracted", "-/etc/ssl/certs", "/run/eks-node/ca-tmp"});
    CHECK(confine::policy_of("hosts").writable == std::vector<std::string>{"/etc"});
    // SOCI's directory is the package's
    CHECK(confine::policy_of("containerd").writable ==
          std::vector<std::string>{"/etc/containerd", "-/etc/soci-snapshotter-grpc"});
    // config.json.d is beneath /etc/kubernetes/kubelet: one rule for both
    CHECK(confine::policy_of("kubelet").writable ==
          std::vector<std::string>{"/etc/eks/image-credential-provider", "/etc/eks/kubelet", "/etc/kubernetes/kubelet",
                                   "/etc/kubernetes/static-pods", "/var/lib/eks-node/kubelet", "/var/lib/kubelet"});
    // the service environment (a pattern's directory), the sysctl.d file and resolved's drop-in
    CHECK(confine::policy_of("system").writable ==
          std::vector<std::string>{"/run/eks-node/env", "/run/sysctl.d", "/run/systemd/resolved.conf.d"});
    // the atomic write's temporary file and rename need each output's directory
    for (const outputs::Output& o : outputs::all) {
        INFO(o.path);
        std::string_view dir = o.path.substr(0, o.path.rfind('/'));
        const auto& w = confine::policy_of(o.step).writable;
        CHECK(std::any_of(w.begin(), w.end(), [&](const std::string& d) {
            std::string_view g = d.starts_with('-') ? std::string_view(d).substr(1) : std::string_view(d);
            return dir == g || (dir.starts_with(g) && dir[g.size()] == '/');
        }));
    }
}

TEST_CASE("a derived policy is sorted and grants no directory inside another", "[core][outputs][confine]") {
    // derive_policy works on the real registry; its rules, checked on a step
    // that writes beneath two levels (kubelet: config.json and config.json.d)
    const auto& w = confine::policy_of("kubelet").writable;
    CHECK(std::count(w.begin(), w.end(), "/etc/kubernetes/kubelet/config.json.d") == 0);
    CHECK(std::is_sorted(w.begin(), w.end()));
}

TEST_CASE("each step's man page lists its outputs under FILES, with their modes", "[core][outputs][docs]") {
    for (std::string_view step : outputs::steps()) {
        const std::vector<std::string> files = files_section(step);
        INFO("man/eks-node-" << step << ".8.scd");
        REQUIRE_FALSE(files.empty());
        for (const outputs::Output* o : outputs::of_step(step)) {
            INFO(o->path);
            // scdoc's bold; a pattern's "*" escaped, as the page must write it
            std::string text(o->path);
            for (size_t star = 0; (star = text.find('*', star)) != std::string::npos; star += 2)
                text.replace(star, 1, "\\*");
            const std::string quoted = fmt::format("*{}*", text);
            auto line = std::find_if(files.begin(), files.end(),
                                     [&](const std::string& l) { return l.find(quoted) != std::string::npos; });
            REQUIRE(line != files.end());
            // the mode on the same line; /etc/hosts keeps the administrator's
            if (!o->block_only) CHECK(line->find(fmt::format("{:04o}", o->mode)) != std::string::npos);
        }
    }
}
