// SPDX-License-Identifier: Apache-2.0
// containerd's answers to the CRI image calls (cri/image_service.cpp): what
// comes back on the socket is read as gRPC framing and protobuf by our own
// decoder, and a confused or hostile peer on that socket must get a refusal,
// never a crash or an allocation it chose. Input: header lines
// ("name: value", lower-case names, as the transport hands them over), a
// blank line, then the body. Refusals: Error (CallError and TempError among
// them). Properties: a message unframe() accepts frames back to the same
// body; a decoded image_ref or ID is printable ASCII.
#include <map>
#include <string>

#include "cri/image_service.hpp"
#include "cri/protobuf.hpp"
#include "fuzz.hpp"

namespace {

void printable(const std::string& s) {
    if (s.empty()) fuzz::broken("an empty image reference accepted");
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            fuzz::broken("a decoded reference holds a byte that is not printable ASCII");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace d = eksnode::cri::detail;
    std::string_view in = fuzz::text(data, size);
    size_t blank = in.find("\n\n");
    std::string_view head = blank == in.npos ? std::string_view() : in.substr(0, blank);
    std::string_view body = blank == in.npos ? in : in.substr(blank + 2);
    std::map<std::string, std::string> headers;
    while (!head.empty()) {
        std::string_view line = head.substr(0, head.find('\n'));
        head.remove_prefix(std::min(head.size(), line.size() + 1));
        size_t colon = line.find(": ");
        if (colon != line.npos) headers[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
    }
    fuzz::refused_only_as<eksnode::Error>([&] { d::check_status(200, headers); });
    // the decoders on the framed message, and straight on the bytes
    fuzz::refused_only_as<eksnode::Error>([&] {
        std::string_view message = d::unframe(body);
        if (d::frame(message) != body) fuzz::broken("an accepted frame does not frame back to itself");
        fuzz::refused_only_as<eksnode::Error>([&] { printable(d::pull_response(message)); });
        fuzz::refused_only_as<eksnode::Error>([&] {
            if (auto id = d::status_response(message)) printable(*id);
        });
    });
    fuzz::refused_only_as<eksnode::Error>([&] { printable(d::pull_response(body)); });
    fuzz::refused_only_as<eksnode::Error>([&] {
        eksnode::cri::protobuf::Reader r(body);
        size_t fields = 0;
        while (auto f = r.next()) {
            if (f->bytes.data() &&
                (f->bytes.data() < body.data() || f->bytes.data() + f->bytes.size() > body.data() + body.size()))
                fuzz::broken("a field's bytes lie outside the message");
            if (++fields > body.size()) fuzz::broken("more fields than bytes");
        }
    });
    if (auto it = headers.find("grpc-message"); it != headers.end())
        if (d::grpc_message(it->second).size() > 512) fuzz::broken("grpc-message longer than its bound");
    return 0;
}
