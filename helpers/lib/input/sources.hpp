// SPDX-License-Identifier: Apache-2.0
// Configuration front ends: user data decoding (base64, gzip, MIME multipart),
// NodeConfig (YAML or JSON) and eks-node TOML, each turned into a Fragment,
// which the model (config/validate.hpp, config/merge.hpp) validates and merges
// in order.
//
// Owner area: helpers/lib/input/. See man/eks-node.toml.5.scd for the model.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "format/limits.hpp"

namespace eksnode::input {

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
    std::string source;  // "user data (MIME part 2, application/node.eks.aws)", "/etc/eks-node/node.toml.d/10-x.toml"
    json spec = json::object();
    json settings = json::object();
    std::vector<UnknownField> unknown = {};  // dropped from a NodeConfig document (never from TOML, which refuses them)
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
// fragment of its /etc/eks/bootstrap.sh call, if any (input/bootstrap_sh.hpp);
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
// format/yaml_scalar.hpp), JSON and TOML by their own rules; a null means "not
// set"; spec.containerd.config (TOML text) becomes an object. A field
// nodeadm's types do not have either is dropped into Fragment::unknown, as
// nodeadm drops it; a feature gate it does not know must still be a boolean
// (nodeadm's featureGates is a map of booleans), else ConfigError.
std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source);
// The same, charging `budget`, which the caller shares with the source's other documents.
std::vector<Fragment> fragments_from_nodeconfig(std::string_view text, const std::string& source,
                                                format::ReadBudget& budget);

// One eks-node TOML document: the NodeConfig spec's fields at the top level
// ([cluster], [kubelet], ...) plus [settings]. Its values (with those of a
// TOML spec.containerd.config) are charged to `budget`, or to one of its own.
Fragment fragment_from_toml(std::string_view text, const std::string& source);
Fragment fragment_from_toml(std::string_view text, const std::string& source, format::ReadBudget& budget);

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
    std::string source;   // the fragment's source, as errors name it
    std::string field;    // "spec.cluster.nmae"
    std::string nearest;  // "name"; "" when no known name is near
    std::string problem;  // "unknown field, ignored as nodeadm ignores it (nearest known field: name)"
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

}  // namespace eksnode::input
