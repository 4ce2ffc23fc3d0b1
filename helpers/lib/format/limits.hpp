// SPDX-License-Identifier: Apache-2.0
// What reading untrusted input may cost: the caps every reader holds a source
// to (documented in eks-node.toml(5)), and the budget one source's documents share.
#pragma once

#include <cstddef>
#include <string>

namespace eksnode::format {

// Limits on untrusted input (documented in eks-node.toml(5)).
namespace limits {
inline constexpr size_t user_data_bytes = 1u << 20;     // raw or any decoded layer: 1 MiB
inline constexpr size_t decompressed_bytes = 4u << 20;  // each gunzip output: 4 MiB
inline constexpr int encoding_layers = 4;               // nested base64/gzip layers
inline constexpr int mime_parts = 64;                   // parts across the whole message
inline constexpr int mime_depth = 4;                    // nested multipart levels
inline constexpr int nesting_depth = 64;                // nested mappings/lists in one YAML, JSON or TOML document
inline constexpr size_t document_values = 10000;        // values in a source's YAML, JSON or TOML, aliases expanded
inline constexpr size_t document_bytes = 8u << 20;      // scalar text in one source's YAML, aliases expanded: 8 MiB
inline constexpr size_t script_value_bytes =
    user_data_bytes;                                        // AL2 script: one word, variable or here-document, expanded
inline constexpr size_t script_expansion_bytes = 4u << 20;  // AL2 script: all its expansions and here-document copies
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

}  // namespace eksnode::format
