// SPDX-License-Identifier: Apache-2.0
// The generator's drop-ins and units (generator::plan_units) from a fuzzed
// config.json: hooks with any name, command, description and origin, an
// instance-store mountPath, a log level and node kind; a kernel command line.
// Every file it plans reads back through systemd's rules
// (tests/unit/systemd_model.hpp) without a problem, a section beyond [Unit]
// [Service] [Mount], or a continued line; each hook drop-in gives back the
// hook's description, command and source, and an essential hook keeps its
// OnFailure=; no planned file name is longer than 255 bytes. The plan is
// never an exception: the generator must not fail.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../unit/systemd_model.hpp"
#include "core/paths.hpp"
#include "fuzz.hpp"
#include "generator/generator.hpp"
#include "input/hooks.hpp"

namespace {

using namespace eksnode;
using generator::GeneratedFile;
using generator::GeneratorPlan;

// One node root for the whole run, with an instance-store disk.
const fs::path& root() {
    static const fs::path dir = [] {
        // tmpfs when there is one: rewriting config.json on ext4 (O_TRUNC) waits for
        // the old blocks' flush (auto_da_alloc), 1-7 ms a run, 4/5 of the run's time
        std::error_code ec;
        const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / "fuzz-generator-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) std::abort();
        fs::path d = tmpl;
        fs::create_directories(d / "sys/block/nvme1n1/device");
        fs::create_directories(d / "run/eks-node");
        std::ofstream(d / "sys/block/nvme1n1/device/model") << "Amazon EC2 NVMe Instance Storage\n";
        std::ofstream(d / "sys/block/nvme1n1/device/serial") << "AWS1\n";
        std::ofstream(d / "sys/block/nvme1n1/dev") << "259:1\n";
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(root(), ec);
        });
        return d;
    }();
    return dir;
}

const char* const stages[] = {"before-containerd", "before-kubelet", "after-join"};

// Fuzzed text as config.json carries it: JSON holds only UTF-8, so bytes that
// are not become U+FFFD, as eks-node-config's writer would make them.
std::string text(FuzzedDataProvider& in, size_t max) {
    return json::parse(json(in.ConsumeRandomLengthString(max)).dump(-1, ' ', false, json::error_handler_t::replace))
        .get<std::string>();
}

struct Expected {
    std::string name, description, origin;
    std::vector<std::string> command;
    bool essential = true;
};

void check_file(const std::string& rel, const std::string& text) {
    systemd_model::UnitFile u = systemd_model::parse(text);
    if (!u.problems.empty()) fuzz::broken("a generated file systemd would complain about");
    for (const std::string& s : u.sections)
        if (s != "Unit" && s != "Service" && s != "Mount") fuzz::broken("a generated file with a foreign section");
    for (std::string_view line : systemd_model::lines(text)) {
        line = systemd_model::strip(line);
        if (!line.empty() && line.front() != '#' && line.back() == '\\') fuzz::broken("a generated line continues");
    }
    (void)rel;
}

void check_hook(const GeneratorPlan& p, const Expected& h) {
    auto it = p.files.find(generator::hook_dropin(h.name));
    if (it == p.files.end()) return;  // refused (the generator warned), or never declared so
    systemd_model::UnitFile u = systemd_model::parse(it->second.data);
    auto one = [&](const char* section, const char* key) {
        std::vector<std::string> v = u.values(section, key);
        if (v.size() != 1) fuzz::broken("a hook drop-in without exactly one of its settings");
        std::optional<std::string> r = systemd_model::without_specifiers(v[0]);
        if (!r) fuzz::broken("a hook drop-in value with a specifier");
        return *r;
    };
    std::string want =
        h.description.empty() ? "EKS node hook " + h.name : "EKS node hook " + h.name + ": " + h.description;
    if (one("Unit", "Description") != want) fuzz::broken("a hook's description read back differently");
    // systemd runs eks-node-hook NAME; it runs the command from hook.json
    std::optional<std::vector<std::string>> words = systemd_model::exec_words(one("Service", "ExecStart"));
    if (!words || *words != std::vector<std::string>{"/usr/libexec/eks-node/eks-node-hook", h.name})
        fuzz::broken("a hook's ExecStart= is not eks-node-hook NAME");
    auto file = p.files.find(generator::hook_command_file(h.name));
    if (file == p.files.end()) fuzz::broken("a hook drop-in without its hook.json");
    if (input::hooks::parse_command_file(file->second.data, "hook.json").argv != h.command)
        fuzz::broken("a hook's command read back as other words");
    std::string source = one("Unit", "SourcePath");
    if (source != h.origin && source != "/run/eks-node/config.json")
        fuzz::broken("a hook's source read back differently");
    if (h.essential && u.values("Unit", "OnFailure") != std::vector<std::string>{"eks-node-failed.target"})
        fuzz::broken("an essential hook lost its OnFailure=");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    json settings = json::object(), origins = json::object();
    std::map<std::string, Expected> hooks;  // a name declared twice: the last
    const size_t n = in.ConsumeIntegralInRange<size_t>(0, 3);
    for (size_t i = 0; i < n; ++i) {
        Expected h;
        h.name = in.ConsumeBool() ? "h" + std::to_string(i) : text(in, 16);
        h.command.push_back("/" + text(in, 32));
        for (size_t w = in.ConsumeIntegralInRange<size_t>(0, 3); w > 0; --w) h.command.push_back(text(in, 32));
        json hook = {{"command", h.command}, {"stage", stages[in.ConsumeIntegralInRange<size_t>(0, 2)]}};
        if (in.ConsumeBool()) hook["description"] = h.description = text(in, 64);
        h.essential = in.ConsumeBool();
        hook["essential"] = h.essential;
        h.origin = (in.ConsumeBool() ? "/" : "") + text(in, 64);
        settings["hooks"][h.name] = hook;
        origins["/settings/hooks/" + h.name + "/command/0"] = h.origin;
        hooks[h.name] = h;
    }
    if (in.ConsumeBool()) settings["logLevel"] = text(in, 16);
    if (in.ConsumeBool()) settings["node"] = in.ConsumeBool() ? "ecs" : text(in, 8);
    json spec = json::object();
    if (in.ConsumeBool())
        spec["instance"]["localStorage"] = {{"strategy", in.ConsumeBool() ? "Mount" : "RAID0"},
                                            {"mountPath", "/" + text(in, 32)}};
    const std::string cmdline = in.ConsumeRandomLengthString(64);

    // config.json as eks-node-config would write it, only with any text in it
    json cfg = {{"schemaVersion", 1}, {"spec", spec}, {"settings", settings}, {"origins", origins}};
    std::ofstream(root() / "run/eks-node/config.json", std::ios::trunc) << cfg.dump();
    GeneratorPlan plan = generator::plan_units(Paths(root()), cmdline);
    // every name it plans can be written (NAME_MAX, systemd's unit name limit):
    // one that cannot failed the write, and systemd then dropped the mount
    // from RequiresMountsFor= without a word (issue 58)
    for (const auto& [rel, entry] : plan.files)
        for (size_t at = 0; at < rel.size();) {
            const size_t end = std::min(rel.find('/', at), rel.size());
            if (end - at > 255) fuzz::broken("a planned file name longer than 255 bytes");
            at = end + 1;
        }
    for (const auto& [rel, entry] : plan.files)
        // a hook's hook.json is JSON for eks-node-hook: check_hook reads it back
        if (entry.kind == GeneratedFile::Kind::file && !rel.ends_with(".json")) check_file(rel, entry.data);
    for (const auto& [name, h] : hooks) check_hook(plan, h);
    return 0;
}
