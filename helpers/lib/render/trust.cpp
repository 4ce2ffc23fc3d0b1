// SPDX-License-Identifier: Apache-2.0
// settings.trust as the distribution keeps its trust store (part of
// eks-node-ca): on AL2023 (p11-kit) each bundle in
// /etc/pki/ca-trust/source/anchors, or blocklist when trusted = false, then
// `update-ca-trust extract`; on Debian in /usr/local/share/ca-certificates,
// then `update-ca-certificates`. The tool runs only when a file changed; a
// bundle no longer configured is removed (and the tool run). Go programs
// (containerd, kubelet, the credential providers) load the system roots once
// per process: containerd is try-restarted, kubelet is this step's consumer.
#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "config/trust.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace {

std::string file_in(std::string_view pattern, const std::string& name) {
    std::string out(pattern);
    out.replace(out.find('*'), 1, name);
    return out;
}

}  // namespace

TrustStore trust_store(const Paths& paths) {
    std::error_code ec;
    if (fs::is_directory(paths.of(path::trust_anchors_dir), ec)) return TrustStore::p11_kit;
    if (fs::is_directory(paths.of(path::debian_trust_dir), ec)) return TrustStore::debian;
    return TrustStore::none;
}

namespace {

// Each bundle's file pattern in `store`, all decided before any is written:
// a bundle the store cannot take refuses the whole table, nothing half-written.
std::vector<std::string_view> trust_patterns(const std::vector<config::trust::Bundle>& bundles, TrustStore store) {
    std::vector<std::string_view> out;
    for (const config::trust::Bundle& b : bundles) {
        if (store == TrustStore::p11_kit) out.push_back(b.trusted ? path::trust_anchor : path::trust_blocklist);
        else if (store == TrustStore::debian && b.trusted) out.push_back(path::debian_trust_anchor);
        else if (store == TrustStore::debian)
            throw ConfigError(b.source, fmt::format("settings.trust.{}.trusted", b.name),
                              "false needs a blocklist, which Debian's update-ca-certificates does not have (AL2023's "
                              "update-ca-trust does)");
        else
            throw ConfigError(b.source, fmt::format("settings.trust.{}", b.name),
                              fmt::format("this node has no trust store eks-node knows ({} or {})",
                                          path::trust_anchors_dir, path::debian_trust_dir));
    }
    return out;
}

}  // namespace

void check_trust(const json& cfg, const Paths& paths) {
    trust_patterns(config::trust::of_config(cfg), trust_store(paths));
}

void render_trust(StepResult& r, const json& cfg, const Paths& paths, const TrustUpdate& update) {
    const std::vector<config::trust::Bundle> bundles = config::trust::of_config(cfg);
    const TrustStore store = trust_store(paths);
    const std::vector<std::string_view> pattern_of = trust_patterns(bundles, store);
    std::vector<std::string> wanted;
    StepResult mine;
    for (size_t i = 0; i < bundles.size(); ++i) {
        const config::trust::Bundle& b = bundles[i];
        const std::string file = file_in(pattern_of[i], b.name);
        detail::put(mine, paths, file, b.pem);
        wanted.push_back(file);
    }
    for (std::string_view pattern : {path::trust_anchor, path::trust_blocklist, path::debian_trust_anchor})
        for (const std::string& f : outputs::present(outputs::of(pattern), paths))
            if (std::find(wanted.begin(), wanted.end(), f) == wanted.end()) detail::withdraw(mine, paths, f);
    const bool changed = mine.changed();
    r.merge(mine);
    if (!changed) return;
    const std::vector<std::string> argv = store == TrustStore::p11_kit
                                              ? std::vector<std::string>{"update-ca-trust", "extract"}
                                              : std::vector<std::string>{"update-ca-certificates"};
    try {
        update(argv);
    } catch (...) {
        // The tool failed (or was killed at its deadline): the anchors written
        // this run go again, so that the next run sees them as new and runs
        // the tool once more, rather than "nothing changed" over a store that
        // never took them. (A withdrawn anchor cannot be put back: its store
        // entry stays until the tool next succeeds.)
        for (const auto& [file, result] : mine.outputs) {
            std::error_code ec;
            if (result == WriteResult::written) fs::remove(file, ec);
        }
        throw;
    }
    r.restart("containerd.service", "settings.trust changed the system trust store");
}

void run_trust_update(const std::vector<std::string>& argv) {
    ProcessOptions o;
    o.stderr_to = ProcessOptions::Stderr::merge;
    // A bound, not an expectation: AL2023's update-ca-trust takes about a
    // second, but Debian's update-ca-certificates forks sed per certificate
    // and took over 60 s under emulation on a slow host (VM 34, a first boot
    // beside nothing else), where a bound of 60 s failed the join.
    o.timeout = std::chrono::seconds(240);
    // its temporary files where this step's confinement lets it write
    // (path::trust_tool_tmp), not in /tmp: update-ca-certificates fails there
    // (made by the confinement for its rule; here when there is none)
    std::error_code ec;
    fs::create_directories(path::trust_tool_tmp, ec);
    o.environment = environment_with({{"TMPDIR", std::string(path::trust_tool_tmp)}});
    ProcessResult p = run_process(argv, o);
    if (!p.succeeded())
        throw Error(fmt::format("{} failed{}: {}", argv.front(),
                                p.started ? fmt::format(" (exit {})", p.exit_status) : " to start", p.out));
    log::info("{}: system trust store updated", argv.front());
}

}  // namespace eksnode::render
