// SPDX-License-Identifier: Apache-2.0
#include "cri/protobuf.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::cri::protobuf {

namespace {

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

}  // namespace

void put_bytes(std::string& out, uint32_t number, std::string_view value) {
    put_varint(out, (static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(Wire::len));
    put_varint(out, value.size());
    out.append(value);
}

uint64_t Reader::varint() {
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
        if (in_.empty()) throw Error("protobuf: message ends inside a varint");
        auto b = static_cast<uint8_t>(in_.front());
        in_.remove_prefix(1);
        // the 10th byte holds bit 63 only; more would not fit in 64 bits
        if (i == 9 && b > 1) throw Error("protobuf: varint longer than 64 bits");
        v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    throw Error("protobuf: varint longer than 10 bytes");
}

std::optional<FieldValue> Reader::next() {
    if (in_.empty()) return std::nullopt;
    const uint64_t tag = varint();
    FieldValue f;
    // field numbers are 29 bits: 1 to 2^29-1
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff) throw Error(fmt::format("protobuf: field number {}", tag >> 3));
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire = static_cast<Wire>(tag & 7);
    auto fixed = [&](size_t n) {
        if (in_.size() < n) throw Error(fmt::format("protobuf: field {} cut short", f.number));
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
        in_.remove_prefix(n);
        return v;
    };
    switch (f.wire) {
    case Wire::varint: f.integer = varint(); break;
    case Wire::i64: f.integer = fixed(8); break;
    case Wire::i32: f.integer = fixed(4); break;
    case Wire::len: {
        const uint64_t n = varint();
        if (n > in_.size())
            throw Error(fmt::format("protobuf: field {} says {} bytes, {} are left", f.number, n, in_.size()));
        f.bytes = in_.substr(0, static_cast<size_t>(n));
        in_.remove_prefix(static_cast<size_t>(n));
        break;
    }
    default: throw Error(fmt::format("protobuf: field {} has wire type {}", f.number, static_cast<int>(tag & 7)));
    }
    return f;
}

}  // namespace eksnode::cri::protobuf
