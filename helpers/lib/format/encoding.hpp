// SPDX-License-Identifier: Apache-2.0
// Transport encodings of user data: base64 and gzip layers, peeled off in
// any order up to limits::encoding_layers.
#pragma once

#include <string>
#include <string_view>

namespace eksnode::format {

// Removes base64 and gzip layers until plain content remains. Every base64
// layer is held to limits::user_data_bytes, every gunzip output to
// limits::decompressed_bytes. Throws ConfigError naming `source`.
std::string unwrap_encodings(std::string_view data, const std::string& source);

// Primitives, exposed for tests and other front ends.
std::string base64_decode(std::string_view text, const std::string& source);  // throws ConfigError
bool looks_like_base64(std::string_view text);
std::string base64_encode(std::string_view bytes);                     // one line, '=' padded
std::string gunzip(std::string_view data, const std::string& source);  // throws ConfigError, capped

}  // namespace eksnode::format
