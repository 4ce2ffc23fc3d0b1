// SPDX-License-Identifier: Apache-2.0
// The little of the protobuf wire format (protobuf.dev, "Encoding") that the
// CRI image calls need: length-delimited fields out, and a bounded reader of
// any field in. No generated code and no libprotobuf: two requests and two
// answers of a handful of string fields do not justify a code generator in
// the build, and a reader of our own refuses what we do not expect (groups,
// truncation, nesting beyond what CRI has) instead of allocating for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eksnode::cri::protobuf {

// Appends field `number` of wire type 2 (LEN): a string or an embedded
// message. Proto3 leaves empty strings out, and so do the callers.
void put_bytes(std::string& out, uint32_t number, std::string_view value);

// Wire types (the low three bits of a tag).
enum class Wire : uint8_t { varint = 0, i64 = 1, len = 2, sgroup = 3, egroup = 4, i32 = 5 };

struct FieldValue {
    uint32_t number = 0;
    Wire wire = Wire::varint;
    uint64_t integer = 0;    // varint, i64, i32
    std::string_view bytes;  // len: a view into the message read
};

// Reads a message field by field. Throws Error (exit 1) on anything that is
// not well-formed: a varint of more than 10 bytes, field number 0, a group
// (proto2, never in CRI), a length past the end. Unknown fields are the
// caller's to skip, as protobuf's own readers do.
class Reader {
public:
    explicit Reader(std::string_view message) : in_(message) {}
    // The next field, or nullopt at the end of the message.
    std::optional<FieldValue> next();

private:
    uint64_t varint();
    std::string_view in_;
};

}  // namespace eksnode::cri::protobuf
