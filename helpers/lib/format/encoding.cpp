// SPDX-License-Identifier: Apache-2.0
// base64 (RFC 4648, standard alphabet) and gzip (RFC 1952) decoding of
// untrusted user data, with size caps so that a compression bomb fails fast;
// base64 encoding for the PEM text of the cluster CA (certificate.cpp).
#include "format/encoding.hpp"

#include <array>
#include <cstdint>
#include <memory>

#include <fmt/format.h>
#include <zlib.h>

#include "core/error.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"

namespace eksnode::format {

namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::string describe_byte(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return text::quote(std::string_view(&c, 1));
    return fmt::format("byte 0x{:02x}", u);
}

constexpr size_t mib(size_t bytes) { return bytes >> 20; }

bool is_gzip(std::string_view data) {  // RFC 1952 2.3.1: ID1 ID2
    return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b;
}

}  // namespace

// Text made only of the base64 alphabet (whitespace anywhere, '=' only at the
// end) can be nothing else we accept: YAML, JSON, TOML, MIME and scripts all
// need characters outside it. So such text is treated as base64, and if it
// then fails to decode the user hears about base64, not about TOML. Unpadded
// input is accepted, which Go's StdEncoding (nodeadm) is not.
bool looks_like_base64(std::string_view data) {
    size_t symbols = 0, padding = 0;
    for (char c : data) {
        if (text::is_space(c)) continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0 || base64_value(c) < 0) return false;
        ++symbols;
    }
    return symbols > 0 && padding <= 2;
}

std::string base64_decode(std::string_view data, const std::string& source) {
    std::string out;
    out.reserve(data.size() / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t symbols = 0, padding = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        char c = data[i];
        if (text::is_space(c)) continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        int v = base64_value(c);
        if (v < 0)
            throw ConfigError(source, "",
                              fmt::format("invalid base64: unexpected {} at offset {}", describe_byte(c), i));
        if (padding > 0)
            throw ConfigError(source, "", fmt::format("invalid base64: data after '=' padding at offset {}", i));
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        ++symbols;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    bool complete = symbols % 4 != 1 && padding <= 2 && (padding == 0 || (symbols + padding) % 4 == 0);
    if (!complete)
        throw ConfigError(
            source, "",
            fmt::format("invalid base64: {} characters do not form whole groups (truncated?)", symbols + padding));
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t group = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(group >> shift) & 0x3f]);
    }
    if (size_t left = bytes.size() - i; left > 0) {  // 1 or 2 bytes: 2 or 3 symbols, then '=' padding
        uint32_t group = at(i) << 16 | (left == 2 ? at(i + 1) << 8 : 0);
        out.push_back(alphabet[(group >> 18) & 0x3f]);
        out.push_back(alphabet[(group >> 12) & 0x3f]);
        out.push_back(left == 2 ? alphabet[(group >> 6) & 0x3f] : '=');
        out.push_back('=');
    }
    return out;
}

std::string gunzip(std::string_view data, const std::string& source) {
    z_stream zs{};
    // 16 + MAX_WBITS: a gzip wrapper is required (no raw deflate, no zlib header)
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error("zlib: cannot initialise inflate");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());

    std::string out;
    std::array<char, 64 * 1024> chunk;
    for (;;) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
        zs.avail_out = static_cast<uInt>(chunk.size());
        int rc = inflate(&zs, Z_NO_FLUSH);
        out.append(chunk.data(), chunk.size() - zs.avail_out);
        // Checked per chunk, so a bomb costs at most the cap plus one chunk.
        if (out.size() > limits::decompressed_bytes)
            throw ConfigError(source, "",
                              fmt::format("gzip data expands beyond the {} MiB limit ({} compressed bytes)",
                                          mib(limits::decompressed_bytes), data.size()));
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) return out;
            // RFC 1952 2.2: a gzip file is a series of members; decode the next one.
            if (inflateReset(&zs) != Z_OK) throw Error("zlib: cannot reset inflate");
            continue;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) throw ConfigError(source, "", "truncated gzip data");
        throw ConfigError(source, "", fmt::format("corrupt gzip data: {}", zs.msg ? zs.msg : zError(rc)));
    }
}

std::string unwrap_encodings(std::string_view data, const std::string& source) {
    std::string current(data);
    for (int layer = 0;; ++layer) {
        bool gzip = is_gzip(current);
        if (!gzip && !looks_like_base64(current)) return current;
        if (layer == limits::encoding_layers)
            throw ConfigError(source, "",
                              fmt::format("more than {} nested base64/gzip layers", limits::encoding_layers));
        current = gzip ? gunzip(current, source) : base64_decode(current, source);
        if (!gzip && current.size() > limits::user_data_bytes)
            throw ConfigError(source, "",
                              fmt::format("base64 decodes to {} bytes, beyond the {} MiB limit", current.size(),
                                          mib(limits::user_data_bytes)));
    }
}

}  // namespace eksnode::format
