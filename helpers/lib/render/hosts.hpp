// SPDX-License-Identifier: Apache-2.0
// /etc/hosts editing for eks-node-hosts. Internal to helpers/lib/render/ and its tests.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eksnode::render::detail {

inline constexpr std::string_view hosts_begin = "# BEGIN eks-node (Outposts API server)";
inline constexpr std::string_view hosts_end = "# END eks-node";

// Our block for `host`: the markers around one "address<TAB>host" line per address.
std::string hosts_block(const std::string& host, const std::vector<std::string>& addresses);

// Where our block sits in `text`, as [begin, end) byte offsets including the
// markers' lines; nullopt when there is none. Throws Error naming `file` when
// a marker is unpaired or repeated: that file was edited by hand and is not
// ours to guess about.
struct BlockSpan {
    size_t begin = 0;
    size_t end = 0;
};
std::optional<BlockSpan> find_hosts_block(std::string_view text, std::string_view file);

// `text` with our block replaced by `block` in place, appended when there is
// none, or removed when `block` is empty. Everything else is kept byte for byte.
std::string with_hosts_block(std::string_view text, std::string_view block, std::string_view file);

// The addresses of the A (4-byte) and AAAA (16-byte) records in the answer
// section of a DNS response (RFC 1035 4.1). Other records, such as the CNAMEs
// leading to them, are skipped; a malformed message yields what precedes the fault.
std::vector<std::string> addresses_in_dns_answer(const unsigned char* message, size_t length);

}  // namespace eksnode::render::detail
