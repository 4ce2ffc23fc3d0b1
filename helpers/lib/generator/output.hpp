// SPDX-License-Identifier: Apache-2.0
// What the generator executable does with a plan: write it into systemd's
// output directory, and log the way generators must (the journal is not up
// yet when they run at boot, so they log to the kernel's ring buffer).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "core/paths.hpp"
#include "generator/generator.hpp"

namespace eksnode::generator {

// Writes every entry of the plan under `dir`, creating directories (0755):
// files with their mode (0644, a hook's command 0600), symlinks as planned. An existing entry is replaced, so running
// the generator twice into one directory is harmless. Returns one message per
// entry that could not be written, naming the path.
std::vector<std::string> write_plan(const GeneratorPlan& plan, const fs::path& dir);

// Logs as systemd's generators do: one record per message to /dev/kmsg,
// "<PRI>eks-node-generator[PID]: message" with the daemon facility, which
// journald later files under SYSLOG_IDENTIFIER=eks-node-generator. Falls back
// to stderr ("eks-node-generator: warning: message") when /dev/kmsg cannot be
// opened, or always with EKS_NODE_LOG_TARGET=console (tests).
class GeneratorLog {
public:
    GeneratorLog();
    ~GeneratorLog();
    GeneratorLog(const GeneratorLog&) = delete;
    GeneratorLog& operator=(const GeneratorLog&) = delete;

    void set_level(log::Level level) { level_ = level; }
    void emit(log::Level level, std::string_view message);

private:
    int kmsg_ = -1;
    log::Level level_ = log::Level::info;
};

}  // namespace eksnode::generator
