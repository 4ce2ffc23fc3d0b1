// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: the SOCI snapshotter (spec.featureGates.FastImagePull,
// as eks-node-config decided it) and its config.toml, for the release installed.
#include <fmt/format.h>

#include "core/paths.hpp"
#include "core/syntax.hpp"
#include "derive/derive.hpp"
#include "format/toml_json.hpp"
#include "render/containerd.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace detail {

bool use_soci_snapshotter(const json& cfg) {
    // eks-node-config decided (derive.cpp, derive_soci_snapshotter): the gate,
    // the machine's size, the snapshotter installed.
    return flag(cfg, "/derived/sociSnapshotter");
}

// Releases before 0.10 (Debian's 0.4.1, tested in the VM): no parallel pull
// mode; a "containerd" content store they connect to when they start (10 s
// without containerd's socket and they exit, while containerd starts after
// the snapshotter); and the CRI image service they proxy for their keychain is
// CRI v1alpha2 only, which kubelet 1.26+ does not speak. An unknown release
// (no version recorded) is taken as current.
bool soci_before_0_10(const json& cfg) {
    const json* v = find(cfg, "/machine/sociSnapshotterVersion");
    const std::string version = v && v->is_string() ? v->get<std::string>() : std::string();
    return !version.empty() && derive::compare_versions(version, "0.10") < 0;
}

// The SOCI snapshotter's config.toml as data, for the release of machine.sociSnapshotterVersion.
json soci_config_document(const json& cfg) {
    json soci = json::object();
    soci["debug"] = false;
    if (soci_before_0_10(cfg)) {
        // Its own content store (SOCI indexes and zTOCs), so that it starts
        // before containerd; layers are pulled lazily where the registry has a
        // SOCI index, else as containerd would. No keychain: kubelet's image
        // requests cannot pass through it (CRI v1alpha2 only).
        soci["content_store"] = {{"type", "soci"}};
        return soci;
    }
    // The snapshotter learns registry credentials from the CRI image requests
    // that pass through it on their way to containerd (kubelet's
    // imageServiceEndpoint is its socket).
    soci["cri_keychain"] = {{"enable_keychain", true}, {"image_service_path", containerd_socket}};
    soci["content_store"] = {{"type", "containerd"}};
    json pull = json::object();
    pull["enable"] = true;
    pull["concurrent_download_chunk_size"] = "16mb";
    pull["discard_unpacked_layers"] = true;
    pull["max_concurrent_downloads"] = -1;
    pull["max_concurrent_downloads_per_image"] = 20;
    pull["max_concurrent_unpacks"] = -1;
    pull["max_concurrent_unpacks_per_image"] = 12;
    // unpigz decompresses gzip layers on several cores.
    pull["decompress_streams"] = {{"gzip", {{"path", "/usr/bin/unpigz"}, {"args", json::array({"-d", "-c"})}}}};
    soci["pull_modes"] = {{"parallel_pull_unpack", std::move(pull)}};
    return soci;
}

std::string soci_snapshotter_config(const json& cfg) {
    std::string out = generated_header("eks-node-containerd", "spec.featureGates.FastImagePull");
    if (soci_before_0_10(cfg))
        out += fmt::format(
            "# soci-snapshotter {} (before 0.10): no parallel pull mode, its own content store, no credential proxy\n",
            syntax::comment(need_string(cfg, "/machine/sociSnapshotterVersion")));
    return out.append(format::json_to_toml(soci_config_document(cfg), path::soci_config));
}

}  // namespace detail

using detail::find;

std::vector<std::string> soci_snapshotter_programs(const json& cfg) {
    std::vector<std::string> out;
    const json soci = detail::soci_config_document(cfg);
    const json* modes = find(soci, "/pull_modes");
    if (!modes || !modes->is_object()) return out;
    for (const auto& [mode, m] : modes->items()) {
        const json* streams = find(m, "/decompress_streams");
        if (!streams || !streams->is_object()) continue;
        for (const auto& [format, d] : streams->items())
            if (const json* p = find(d, "/path"); p && p->is_string()) out.push_back(p->get<std::string>());
    }
    return out;
}

}  // namespace eksnode::render
