// SPDX-License-Identifier: Apache-2.0
// Configuration front ends: user data decoding (base64, gzip, MIME multipart),
// NodeConfig (YAML or JSON) and eks-node TOML, each turned into a Fragment,
// validated at the edge, and merged in order.
//
// Owner area: helpers/lib/config/. See man/eks-node.toml.5.scd for the model.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/jsonutil.hpp"

namespace eksnode::config {

// A field of a NodeConfig document that eks-node does not know, at any
// level (a feature gate included). nodeadm decodes NodeConfig with
// apimachinery's UniversalDecoder, which is not strict
// (nodeadm/internal/api/bridge/decode.go): such a field is dropped and the
// node joins. The NodeConfig front end drops it likewise and records it here;
// unknown_field_warnings() turns it into a warning, or with settings.strict
// into the error it was before.
struct UnknownField {
    std::string field;               // as errors name fields: "spec.cluster.nmae", "specs"
    std::string nearest;             // the known name at its level nearest to it (text::nearest)
    std::vector<std::string> known;  // the names a value may be given to at its level
    bool feature_gate = false;       // under spec.featureGates
};

// What one source says, in the shape of config.json: `spec` is the NodeConfig
// spec (cluster, kubelet, containerd, instance, featureGates; NodeConfig field
// names), `settings` holds eks-node's own knobs (TOML `[settings]` only).
// Only keys the source actually set are present.
struct Fragment {
    std::string source;             // "user data (MIME part 2, application/node.eks.aws)", "/etc/eks-node/node.toml.d/10-x.toml"
    json spec = json::object();
    json settings = json::object();
    std::vector<UnknownField> unknown = {};  // dropped from a NodeConfig document (never from TOML, which refuses them)
};

// Limits on untrusted input (documented in eks-node.toml(5)).
namespace limits {
inline constexpr size_t user_data_bytes = 1u << 20;        // raw or any decoded layer: 1 MiB
inline constexpr size_t decompressed_bytes = 4u << 20;     // each gunzip output: 4 MiB
inline constexpr int encoding_layers = 4;                  // nested base64/gzip layers
inline constexpr int mime_parts = 64;                      // parts across the whole message
inline constexpr int mime_depth = 4;                       // nested multipart levels
inline constexpr int nesting_depth = 64;                   // nested mappings/lists in one YAML, JSON or TOML document
inline constexpr size_t document_values = 10000;           // values in a source's YAML, JSON or TOML, aliases expanded
inline constexpr size_t document_bytes = 8u << 20;         // scalar text in one source's YAML, aliases expanded: 8 MiB
inline constexpr size_t script_value_bytes = user_data_bytes;  // AL2 script: one word, variable or here-document, expanded
inline constexpr size_t script_expansion_bytes = 4u << 20;     // AL2 script: all its expansions and here-document copies
}  // namespace limits

// What reading one source may cost: values and YAML text (aliases expanded)
// across all its documents. One per source, not per document: a stream of
// 270 small documents, each just under the caps, stood for 2 GB. A whole
// user data, all its MIME parts, is one source; so is each file.
struct ReadBudget {
    std::string source;    // named in the error: "user data", a file's path
    size_t values = 0;     // limits::document_values
    size_t bytes = 0;      // limits::document_bytes
    size_t documents = 0;  // YAML or JSON documents begun
};

// The media type of our TOML inside MIME user data.
inline constexpr std::string_view toml_media_type = "application/vnd.eks-node+toml";
inline constexpr std::string_view nodeconfig_media_type = "application/node.eks.aws";

// Decodes raw user data into fragments, in document order. Base64 and gzip
// layers come off first (also inside configuration parts, as nodeadm allows).
// Then: a MIME message (first line MIME-Version: or Content-...:) yields its
// application/node.eks.aws and application/vnd.eks-node+toml parts, numbered
// like IMAP ("MIME part 2", "MIME part 2.1"); a document starting with "{" or
// "---" or holding an apiVersion:/kind: key is a NodeConfig; anything else is
// TOML. A shell script (alone or a text/x-shellscript part) yields the
// fragment of its /etc/eks/bootstrap.sh call, if any (config/bootstrap_sh.hpp);
// other cloud-init formats carry no configuration and yield none. Sources read
// "user data (MIME part 2, application/node.eks.aws)".
// Throws ConfigError naming `label` (and the MIME part) on anything malformed.
std::vector<Fragment> fragments_from_user_data(std::string_view raw, std::string_view label = "user data");

// The parts of the user data that cloud-init runs, or that can make it run
// something (scripts, boothooks, includes, part handlers, cloud-config with
// runcmd/bootcmd/write_files/packages), named like fragment sources ("user
// data (MIME part 2, text/x-shellscript)"); empty for a bare NodeConfig or
// TOML. Configuration parts are not parsed. Throws ConfigError like
// fragments_from_user_data on a malformed message.
std::vector<std::string> cloud_init_parts(std::string_view raw, std::string_view label = "user data");

// A user data file (--user-data=FILE, `eks-node config check FILE`): at most
// limits::user_data_bytes are read, so a pipe that never ends (/dev/stdin)
// cannot make it wait or grow. Throws ConfigError naming `path` beyond the
// limit, when it does not exist or is a directory; Error when it cannot be read.
std::string read_user_data_file(const std::string& path);

// One NodeConfig stream, YAML or JSON (apiVersion node.eks.aws/v1alpha1, kind
// NodeConfig), one fragment per document, merged in order by the caller; with
// several documents the sources say "(document 2)". YAML scalars are typed as
// nodeadm types them (go-yaml v2, YAML 1.1: `yes`, `on` are true; see
// config/yaml_scalar.hpp), JSON and TOML by their own rules; a null means "not
// set"; spec.containerd.config (TOML text) becomes an object. A field
// nodeadm's types do not have either is dropped into Fragment::unknown, as
// nodeadm drops it; a feature gate it does not know must still be a boolean
// (nodeadm's featureGates is a map of booleans), else ConfigError.
std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source);
// The same, charging `budget`, which the caller shares with the source's other documents.
std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source, ReadBudget& budget);

// One eks-node TOML document: the NodeConfig spec's fields at the top level
// ([cluster], [kubelet], ...) plus [settings]. Its values (with those of a
// TOML spec.containerd.config) are charged to `budget`, or to one of its own.
Fragment fragment_from_toml(std::string_view text, const std::string& source);
Fragment fragment_from_toml(std::string_view text, const std::string& source, ReadBudget& budget);

// Types, enums and syntax of every field a fragment sets; an unknown field
// is an error (eks-node's TOML refuses keys it does not know; a NodeConfig's
// unknown fields never get here: its front end drops them, see
// UnknownField). Throws ConfigError; with `all`, adds each field's error
// there instead and goes on (`eks-node config check` reports every one).
using ConfigErrors = std::vector<ConfigError>;
// f(); with `all`, a ConfigError it throws is added there instead of thrown
// (false then), so that one check's error does not hide the next one's.
template <class F>
bool keep_error(ConfigErrors* all, F&& f) {
    if (!all) {
        f();
        return true;
    }
    try {
        f();
        return true;
    } catch (const ConfigError& e) {
        all->push_back(e);
        return false;
    }
}
void validate_fragment(const Fragment& f, ConfigErrors* all = nullptr);

// One unknown NodeConfig field that was ignored, or one key of
// spec.kubelet.config the node's kubelet does not know (passed through all
// the same), as the journal, config.json ("warnings"), `eks-node config
// check` and `config dump --origins` show it. It names the field, never its
// value (a value may be a secret).
struct Warning {
    enum class Kind {
        ignored,       // a NodeConfig field dropped as nodeadm drops it (unknown_field_warnings())
        kubelet_field  // kept in spec.kubelet.config, unknown to the kubelet (resolve's check)
    };
    std::string source;        // the fragment's source, as errors name it
    std::string field;         // "spec.cluster.nmae"
    std::string nearest;       // "name"; "" when no known name is near
    std::string problem;       // "unknown field, ignored as nodeadm ignores it (nearest known field: name)"
    Kind kind = Kind::ignored;
    std::string text() const;  // "SOURCE: FIELD: PROBLEM", one line like an error's
};

// settings.strict of merged [settings] that passed validate_fragment(): false
// unless set to true.
bool strict(const json& settings);

// The fragments' unknown fields (Fragment::unknown) in merge order, given the
// merged settings: with settings.strict, the first is a ConfigError (exit 6)
// naming the field, its source and the names known there; otherwise each is
// a Warning for the caller to log and record.
std::vector<Warning> unknown_field_warnings(const std::vector<Fragment>& fragments, const json& settings);

// config.json's "warnings": one object per warning (source, field, nearest,
// message; "kind": "kubeletField" for a kubelet field's, none for an ignored
// field's, as before there were two kinds).
json warnings_json(const std::vector<Warning>& warnings);
// The kind a warnings_json() object says.
Warning::Kind warning_kind(const json& warning);
// How many objects of a warnings_json() array are of `kind`.
size_t warning_count(const json& warnings, Warning::Kind kind);

// Later wins; spec.kubelet.flags appends; objects (kubelet.config,
// containerd.config, containerd.baseRuntimeSpec, featureGates, environment)
// deep-merge; other lists replace. Records the source of every leaf in `origins`
// under its JSON pointer ("/spec/cluster/name").
void merge_fragment(json& spec, json& settings, const Fragment& f, Origins& origins);

// What validate_merged insists on. cluster.name is always required; the
// coordinates (apiServerEndpoint, certificateAuthority, cidr) can be relaxed by a
// caller that fills them itself, e.g. from EKS DescribeCluster.
struct Requirements {
    bool cluster_coordinates = true;
};

// settings.serviceCidrStrategy: where spec.cluster.cidr comes from when no
// source sets it (eks-node.toml(5)). describe_cluster (the default): EKS
// DescribeCluster. vpc: AL2 bootstrap.sh's rule, EKS's default service CIDR
// for the instance's VPC (derive::service_cidr_from_vpc), EKS never asked for
// it. describe_cluster_or_vpc: DescribeCluster's, else AL2's rule when the
// call cannot be made (refused, no credentials, EKS unreachable until the
// deadline) or the answer has none. The bootstrap.sh front end sets one of the
// last two when its flags give no service CIDR or DNS address.
enum class ServiceCidrStrategy { describe_cluster, vpc, describe_cluster_or_vpc };
// Of a merged [settings] table that passed validate_fragment().
ServiceCidrStrategy service_cidr_strategy(const json& settings);
std::string_view to_string(ServiceCidrStrategy s);

// The merged [settings] that must agree (imds.requestTimeout <= deadline),
// as eks-node-imds reads them. Throws ConfigError naming the field and its source.
void validate_settings(const json& settings, const Origins& origins);

// Checks what only the merged whole can tell: required fields
// (cluster.name, apiServerEndpoint, certificateAuthority, cidr; cluster.id with
// enableOutpost) and validate_settings(). cidr is not required when
// settings.serviceCidrStrategy derives it from the VPC on the node.
// Throws ConfigError naming the field and the sources that set (or were
// consulted for) it; with `all`, adds each check's error there instead.
void validate_merged(const json& spec, const json& settings, const Origins& origins, const Requirements& required = {},
                     ConfigErrors* all = nullptr);

// settings.node: which target the node runs (eks-node.target or
// ecs-node.target). Of a merged [settings] table that passed validate_fragment().
enum class NodeKind { eks, ecs };
NodeKind node_kind(const json& settings);

// validate_merged() for an ECS container instance (settings.node = "ecs"):
// the settings and the environment, and none of the EKS cluster's fields.
void validate_ecs_merged(const json& spec, const json& settings, const Origins& origins);

// Primitives, exposed for tests and other front ends.
std::string base64_decode(std::string_view text, const std::string& source);  // throws ConfigError
bool looks_like_base64(std::string_view text);
std::string base64_encode(std::string_view bytes);  // one line, '=' padded
std::string gunzip(std::string_view data, const std::string& source);          // throws ConfigError, capped

// The cluster CA as PEM text: accepts base64 of PEM, base64 of DER, or PEM
// text; every certificate's DER structure is checked (certificate.cpp says
// how far, and why not with OpenSSL). Throws ConfigError naming `field`.
std::string certificate_authority_pem(std::string_view value, const std::string& source,
                                      const std::string& field = "spec.cluster.certificateAuthority");

}  // namespace eksnode::config
