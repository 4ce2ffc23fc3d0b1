// SPDX-License-Identifier: Apache-2.0
// spec.kubelet.config against the fields the node's kubelet has. eks-node
// passes every key of it through to kubelet, as nodeadm does; a key that
// kubelet's KubeletConfiguration does not have at the node's minor (a typo,
// a field of a newer kubelet) does not do what its writer meant, and nothing
// at config time said so. The fields of each minor are
// data/kubelet-config-fields.tsv, generated from kubelet's Go types
// (tools/kubelet-fields.py).
//
// Owner area: helpers/lib/derive/.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"
#include "derive/tables.hpp"

namespace eksnode::derive {

// The minor of a kubelet version ("1.33.4", "v1.33.0-eks-1"); nullopt for
// one that is not 1.N.
std::optional<int> kubelet_minor(std::string_view version);

// One key of spec.kubelet.config the kubelet does not know, or, when the
// kubelet is not known, one only some of the table's minors know (a note).
struct KubeletFieldProblem {
    std::string field;    // "spec.kubelet.config.evictionHardd", "...reservedMemory[0].numaNod"
    std::string pointer;  // "/spec/kubelet/config/evictionHardd", for its origin
    std::string nearest;  // the nearest name that kubelet has at that level, when one is near; else ""
    std::string problem;  // "not a field of kubelet 1.33: did you mean evictionHard?"
    bool note = false;    // the kubelet is not known: what a node of some minors would not know
};

// The keys of `kubelet_config` (spec.kubelet.config, merged from every
// source), at every level the table goes, checked against the kubelet of
// `version` ("1.33.4"; nullopt: not known, checked against every minor of
// the table, each key unknown to all of them a warning and each known to
// some only a note). A kubelet older or newer than the table's minors is
// checked against the nearest of them, and a key unknown there says so (the
// table cannot know what a newer kubelet added, nor what an older one had
// and lost before). In document order. `table` and `minors` are the
// compiled table unless a test gives its own.
std::vector<KubeletFieldProblem> kubelet_field_problems(
    const json& kubelet_config, const std::optional<std::string>& version,
    std::span<const tables::KubeletField> table = tables::kubelet_config_fields,
    tables::KubeletMinors minors = tables::kubelet_config_minors);

}  // namespace eksnode::derive
