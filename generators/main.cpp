// SPDX-License-Identifier: Apache-2.0
// eks-node-generator: decides at boot (and on every daemon-reload) whether
// eks-node runs and which optional steps it needs, by writing .wants/ links
// and drop-ins. See eks-node-generator(8); the decisions live in
// helpers/lib/generator/generator.cpp.
#include <cstdlib>

#include "core/error.hpp"
#include "generator/generator.hpp"
#include "generator/output.hpp"

int main(int argc, char** argv) {
    using namespace eksnode;
    generator::GeneratorLog log;
    // systemd passes the normal, early and late directories (or, run by hand,
    // one); everything eks-node generates goes to the normal one.
    if (argc != 2 && argc != 4) {
        log.emit(log::Level::error, "This program takes one or three arguments.");
        return EXIT_FAILURE;
    }
    // Tests re-root every read (proc/cmdline, node.toml.d, run/eks-node/config.json, sys).
    const char* root = std::getenv("EKS_NODE_ROOT");
    Paths paths(root && *root ? root : "/");

    std::string cmdline;
    try {
        cmdline = generator::read_kernel_cmdline(paths);
    } catch (const std::exception& e) {
        log.emit(log::Level::warning, std::string(e.what()) + ", ignoring the kernel command line");
    }
    generator::GeneratorPlan plan;
    try {
        plan = generator::plan_units(paths, cmdline);
    } catch (const std::exception& e) {
        // plan_units() skips bad input itself; this is out of memory and the like.
        log.emit(log::Level::error, std::string("Failed to plan units: ") + e.what());
        return EXIT_FAILURE;
    }
    log.set_level(plan.log_level);
    for (const auto& m : plan.messages) log.emit(m.level, m.text);

    std::vector<std::string> errors = generator::write_plan(plan, argv[1]);
    for (const std::string& e : errors) log.emit(log::Level::error, "Failed to write " + e);
    return errors.empty() ? EXIT_SUCCESS : EXIT_FAILURE;
}
