// SPDX-License-Identifier: Apache-2.0
// Reference data compiled into the library. The definitions are generated at
// build time by tools/gen-tables.py from data/ (see data/README.md), as sorted
// constexpr arrays: nothing is parsed at boot, lookups are binary searches.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace eksnode::derive::tables {

// data/instance-info.jsonl, sorted by instance type.
struct InstanceEni {
    std::string_view instance_type;
    std::uint16_t default_max_enis;        // network interfaces on the default network card
    std::uint16_t ipv4_addresses_per_eni;  // including the ENI's primary address
};
extern const std::span<const InstanceEni> instance_eni;

// data/ecr-pause-accounts.tsv: regions with their own EKS registry, sorted by region.
struct PauseAccount {
    std::string_view region;
    std::string_view account;
};
extern const std::span<const PauseAccount> pause_account;

// data/ecr-pause-accounts.tsv: partition fallbacks (rows starting with '*'),
// longest prefix first, so the first match is the most specific; the last row
// has the empty prefix and matches every region.
struct PauseFallback {
    std::string_view region_prefix;   // "us-gov-"; "" for the catch-all row
    std::string_view account;
    std::string_view registry_region; // the region whose registry serves the image
};
extern const std::span<const PauseFallback> pause_fallback;

// data/xen-instance-families.txt, sorted.
extern const std::span<const std::string_view> xen_instance_families;

// data/kubelet-config-fields.tsv: the KubeletConfiguration fields of each
// kubelet minor from `oldest` to `newest`, sorted by path ("authentication",
// "authentication.x509.clientCAFile", "reservedMemory[].numaNode").
struct KubeletField {
    std::string_view path;
    std::uint8_t first_minor;  // the oldest minor that has it (`oldest`: that one or an older one)
    std::uint8_t last_minor;   // the newest minor that has it; 0: every minor to `newest`, and after
};
extern const std::span<const KubeletField> kubelet_config_fields;
struct KubeletMinors {
    std::uint8_t oldest, newest;
};
extern const KubeletMinors kubelet_config_minors;

}  // namespace eksnode::derive::tables
