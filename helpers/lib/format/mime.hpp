// SPDX-License-Identifier: Apache-2.0
// A small MIME reader for user data (RFC 2045, RFC 2046): header blocks,
// Content-Type parameters, multipart bodies and transfer encodings. Read by
// input/'s user data; user data is the only MIME we read.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace eksnode::format::mime {

struct Entity {
    std::string media_type = "text/plain";      // lower case; RFC 2045 5.2 default
    std::map<std::string, std::string> params;  // Content-Type parameters, names in lower case
    std::string transfer_encoding = "7bit";     // lower case; RFC 2045 6.1 default
    std::string_view body;                      // still transfer-encoded; points into the parsed text
};

// True when `text` opens with a MIME header (MIME-Version: or Content-...:),
// which no NodeConfig, TOML document or script can.
bool starts_with_header(std::string_view text);

// Splits headers from body. Throws ConfigError(source) on a malformed header
// block, e.g. one that no empty line ends.
Entity parse_entity(std::string_view text, const std::string& source);

bool is_multipart(const Entity& e);

// The body parts of a multipart body (already transfer-decoded), in order.
// Throws ConfigError on a missing boundary or a missing close delimiter.
std::vector<std::string_view> split_multipart(std::string_view body, const Entity& e, const std::string& source);

// The body with its Content-Transfer-Encoding removed (base64, quoted-printable,
// or the identity encodings 7bit, 8bit, binary).
std::string decode_body(const Entity& e, const std::string& source);

std::string decode_quoted_printable(std::string_view data, const std::string& source);

}  // namespace eksnode::format::mime
