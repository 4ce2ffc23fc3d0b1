// SPDX-License-Identifier: Apache-2.0
// The containerd step's documents, each a pure function of config.json (the
// drop-ins containerd imports aside, which are read from the node).
// Internal to helpers/lib/render/ and its tests; render_containerd() writes them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/registries.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "render/render.hpp"

namespace eksnode::render::detail {

// containerd's socket and its CRI plugins' names: schema 2's one, schema 3's two.
inline constexpr std::string_view containerd_socket = "/run/containerd/containerd.sock";
inline constexpr std::string_view v2_cri = "io.containerd.grpc.v1.cri";
inline constexpr std::string_view v3_images = "io.containerd.cri.v1.images";
inline constexpr std::string_view v3_runtime = "io.containerd.cri.v1.runtime";
// containerd 2.3's server plugins: in version 4 they hold what versions 2 and
// 3 set in the top-level grpc, ttrpc, debug and metrics tables.
inline constexpr std::string_view v4_grpc = "io.containerd.server.v1.grpc";
inline constexpr std::string_view v4_grpc_tcp = "io.containerd.server.v1.grpc-tcp";
inline constexpr std::string_view v4_ttrpc = "io.containerd.server.v1.ttrpc";
inline constexpr std::string_view v4_debug = "io.containerd.server.v1.debug";
inline constexpr std::string_view v4_metrics = "io.containerd.server.v1.metrics";
inline constexpr std::string_view v4_grpc_prometheus = "io.containerd.metrics.v1.grpc-prometheus";

// containerd's configuration schema: version 2 for containerd 1.x, version 3
// for 2.0 to 2.2, version 4 from 2.3 (each loads the older versions,
// migrating them in memory; none loads a newer one).
enum class ConfigSchema { v2, v3, v4 };
ConfigSchema containerd_schema(const json& cfg);

// nodeadm's config.toml for this node as data, with spec.containerd.config
// deep-merged over it (tables merge key by key, other values replace).
// AL2's containerd template's sandbox image, replaced by derived.sandboxImage
// wherever the user's containerd.config still carries it.
inline constexpr std::string_view sandbox_image_placeholder = "SANDBOX_IMAGE";

json containerd_config(const json& cfg);

// FNV-1a, 64 bits, as 16 hex digits: a change detector, not a checksum
// against tampering.
std::string fnv1a64_hex(std::string_view bytes);

// The FastImagePull feature gate on a node big enough for it (nodeadm: at
// least 4 CPUs and 7 GiB), as eks-node-config decided (derived.sociSnapshotter):
// images are pulled by the SOCI snapshotter, in parallel-pull mode from 0.10.
bool use_soci_snapshotter(const json& cfg);
std::string soci_snapshotter_config(const json& cfg);
// A SOCI snapshotter release before 0.10 (machine.sociSnapshotterVersion):
// its own content store, no parallel pull, no CRI v1 image service.
bool soci_before_0_10(const json& cfg);

// /etc/containerd/base-runtime-spec.json: nodeadm's default OCI spec with
// spec.containerd.baseRuntimeSpec deep-merged over it (containerd_spec.cpp).
json base_runtime_spec(const json& cfg);

// The user's schema 2 TOML in schema 3's places (containerd_migrate.cpp);
// `cni_bin_dirs`: containerd 2.1's list of CNI binary directories. Throws
// ConfigError for a setting containerd 2 removed.
json migrate_v2_snippet(json user, bool cni_bin_dirs);

// The user's schema 2 or 3 TOML (or one that names no version) in schema 4's
// places, for containerd 2.3 (containerd_migrate.cpp). Throws ConfigError as
// migrate_v2_snippet does.
json migrate_to_v4_snippet(json user, bool from_v2);

// The server settings of a TOML document (as JSON) that containerd 2.3
// leaves unread in a version 4 file, each with the plugin table that holds
// it there: dotted key, then where it goes.
struct LegacyServerKey {
    std::string key;
    std::string_view plugin;
};
std::vector<LegacyServerKey> legacy_server_keys(const json& doc);

// The SOCI snapshotter's config.toml as data (containerd_soci.cpp).
json soci_config_document(const json& cfg);

// The drop-ins containerd imports over `ours` (config.toml as data; nullptr
// when it cannot be rendered: the files are then checked on their own), each
// with what will go wrong with it (containerd_dropins.cpp).
std::vector<ContainerdDropin> dropins_over(const json* ours, bool containerd_1x, const Paths& paths);

// settings.registries' hosts.toml for one registry, naming the TLS files
// render_registries() wrote for each mirror (in order) and for the registry;
// on containerd 1.x a registry without mirrors is written as its own [host]
// table (1.7 cannot read a hosts.toml without one). Throws ConfigError for
// _default without mirrors there.
struct TlsFiles {
    std::string ca, cert, key;  // node paths, "" when not set
};
std::string hosts_toml(const config::registries::Registry& reg, const std::vector<TlsFiles>& mirrors,
                       const TlsFiles& upstream, bool containerd_1x);

}  // namespace eksnode::render::detail
