// SPDX-License-Identifier: Apache-2.0
// IMDS answers as bytes off the socket: core/http.hpp's ResponseParser. Its
// contract is that the result is a pure function of the bytes, however reads
// split them; the first input byte picks where to split, and the answer fed
// whole must match the answer fed in pieces.
#include <string>

#include "core/http.hpp"
#include "fuzz.hpp"

namespace {

using eksnode::http::ResponseParser;

struct Outcome {
    ResponseParser::Result result;
    int status;
    std::string body;
    bool too_big;
};

Outcome parse(std::string_view bytes, size_t piece, size_t body_cap) {
    ResponseParser p(body_cap, 2048);
    ResponseParser::Result r = ResponseParser::Result::more;
    for (size_t i = 0; i < bytes.size() && r == ResponseParser::Result::more; i += piece)
        r = p.feed(bytes.substr(i, piece));
    if (r == ResponseParser::Result::more) r = p.eof();
    if (r == ResponseParser::Result::more) fuzz::broken("eof() left the answer open");
    return {r, p.status(), p.body(), p.too_big()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    size_t piece = data[0] % 16 + 1;
    size_t body_cap = data[0] & 0x80 ? 64 : 64 * 1024;
    std::string_view bytes = fuzz::text(data + 1, size - 1);
    Outcome whole = parse(bytes, bytes.size() + 1, body_cap);
    Outcome split = parse(bytes, piece, body_cap);
    if (whole.result != split.result) fuzz::broken("the result depends on how the answer was split");
    if (whole.result == ResponseParser::Result::done &&
        (whole.status != split.status || whole.body != split.body))
        fuzz::broken("the status or body depends on how the answer was split");
    if (whole.too_big != split.too_big) fuzz::broken("too_big() depends on how the answer was split");
    return 0;
}
