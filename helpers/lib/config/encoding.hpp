// SPDX-License-Identifier: Apache-2.0
// Transport encodings of user data (internal to config/): base64 and gzip
// layers, peeled off in any order up to limits::encoding_layers.
#pragma once

#include <string>
#include <string_view>

namespace eksnode::config {

// Removes base64 and gzip layers until plain content remains. Every base64
// layer is held to limits::user_data_bytes, every gunzip output to
// limits::decompressed_bytes. Throws ConfigError naming `source`.
std::string unwrap_encodings(std::string_view data, const std::string& source);

}  // namespace eksnode::config
