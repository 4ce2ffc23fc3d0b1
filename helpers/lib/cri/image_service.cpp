// SPDX-License-Identifier: Apache-2.0
#include "cri/image_service.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "core/curl.hpp"
#include "core/text.hpp"
#include "cri/protobuf.hpp"

namespace eksnode::cri {

namespace {

namespace field = detail::field;

bool temporary(int status) {
    // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED
    return status == 14 || status == 4 || status == 8 || status == 10;
}

std::string image_spec(std::string_view image) {
    std::string spec;
    protobuf::put_bytes(spec, field::image_spec_image.number, image);
    return spec;
}

// What containerd says of an image, printable: an image_ref or ID is ASCII
// ("sha256:<hex>"), anything else is refused rather than logged.
std::string printable(std::string_view v, std::string_view what) {
    if (v.empty() || v.size() > 1024) throw Error(fmt::format("CRI: {} of {} bytes", what, v.size()));
    for (char c : v)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            throw Error(fmt::format("CRI: {} holds a byte that is not printable ASCII", what));
    return std::string(v);
}

// One unary call: the framed request out, the one message of the answer back.
std::string call(const std::string& socket, const detail::ProtoMethod& method, const std::string& request,
                 std::chrono::milliseconds timeout) {
    curl::HttpRequest r;
    r.method = "POST";
    // The authority is not looked at over a unix socket; "localhost" as
    // kubelet's own gRPC client sends for a unix target.
    r.url = fmt::format("http://localhost/{}.{}/{}", detail::proto_package, method.service, method.name);
    r.unix_socket = socket;
    r.http2_prior_knowledge = true;
    r.agent = "cri";
    r.headers = {{"content-type", "application/grpc"},
                 // gRPC requires it: proxies that drop trailers are refused
                 {"te", "trailers"},
                 {"grpc-timeout", detail::grpc_timeout(timeout)}};
    r.body = detail::frame(request);
    // a little over grpc-timeout: containerd's DEADLINE_EXCEEDED says more
    // than our own cut
    r.timeout = timeout + std::chrono::milliseconds{2000};
    r.body_cap = detail::max_message + 5;
    curl::HttpResponse a;
    try {
        a = curl::perform(r);
    } catch (const TempError& e) {
        throw TempError(fmt::format("containerd's CRI socket {}: {}", socket, e.what()));
    }
    detail::check_status(a.status, a.headers);
    return std::string(detail::unframe(a.body));
}

}  // namespace

CallError::CallError(int status, std::string message)
    : Error(fmt::format("{} ({}){}{}", detail::status_name(status), status, message.empty() ? "" : ": ", message),
            temporary(status) ? EXIT_TEMPFAIL : EXIT_FAILURE_),
      status_(status),
      reason_(what()) {}

std::string pull_image(const std::string& socket, const std::string& image, const Auth& auth,
                       std::chrono::milliseconds timeout) {
    return detail::pull_response(call(socket, detail::pull_method, detail::pull_request(image, auth), timeout));
}

std::optional<std::string> image_status(const std::string& socket, const std::string& image,
                                        std::chrono::milliseconds timeout) {
    return detail::status_response(call(socket, detail::status_method, detail::status_request(image), timeout));
}

namespace detail {

std::string pull_request(std::string_view image, const Auth& auth) {
    std::string req;
    protobuf::put_bytes(req, field::pull_image.number, image_spec(image));
    if (!auth.empty()) {
        std::string a;
        if (!auth.username.empty()) protobuf::put_bytes(a, field::auth_username.number, auth.username);
        if (!auth.password.empty()) protobuf::put_bytes(a, field::auth_password.number, auth.password);
        protobuf::put_bytes(req, field::pull_auth.number, a);
    }
    return req;
}

std::string status_request(std::string_view image) {
    std::string req;
    protobuf::put_bytes(req, field::status_image.number, image_spec(image));
    return req;
}

std::string frame(std::string_view message) {
    std::string out;
    out.reserve(message.size() + 5);
    out.push_back('\0');
    const auto n = static_cast<uint32_t>(message.size());
    for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>((n >> shift) & 0xff));
    out.append(message);
    return out;
}

std::string_view unframe(std::string_view body, size_t cap) {
    if (body.size() < 5) throw Error(fmt::format("gRPC: an answer of {} bytes has no message", body.size()));
    if (body[0] != '\0')
        throw Error(body[0] == '\1' ? "gRPC: a compressed message, which was not asked for"
                                    : "gRPC: a message whose flag byte is not 0 or 1");
    uint64_t n = 0;
    for (size_t i = 1; i < 5; ++i) n = (n << 8) | static_cast<uint8_t>(body[i]);
    if (n > cap) throw Error(fmt::format("gRPC: a message of {} bytes; at most {} are taken", n, cap));
    if (body.size() - 5 != n)
        throw Error(body.size() - 5 < n ? fmt::format("gRPC: a message of {} bytes cut short at {}", n, body.size() - 5)
                                        : "gRPC: more than one message in a unary answer");
    return body.substr(5);
}

void check_status(long http_status, const std::map<std::string, std::string>& headers) {
    if (http_status != 200) throw Error(fmt::format("CRI: HTTP status {}, not a gRPC answer", http_status));
    auto type = headers.find("content-type");
    if (type == headers.end() || !type->second.starts_with("application/grpc"))
        throw Error("CRI: the answer's content-type is not application/grpc");
    auto status = headers.find("grpc-status");
    // no trailers: the stream ended before the server said how the call went
    if (status == headers.end()) throw TempError("CRI: the answer has no grpc-status (the call was cut short)");
    const std::string& s = status->second;
    if (s.empty() || s.size() > 3 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
        throw Error("CRI: grpc-status is not a number");
    const int code = std::stoi(s);
    if (code == 0) return;
    auto message = headers.find("grpc-message");
    throw CallError(code, message == headers.end() ? std::string() : grpc_message(message->second));
}

std::string pull_response(std::string_view message) {
    std::optional<std::string_view> ref;
    protobuf::Reader r(message);
    while (auto f = r.next())
        if (f->number == field::pull_response_image_ref.number && f->wire == protobuf::Wire::len) ref = f->bytes;
    if (!ref) throw Error("CRI: PullImageResponse without image_ref");
    return printable(*ref, "PullImageResponse.image_ref");
}

std::optional<std::string> status_response(std::string_view message) {
    std::optional<std::string_view> image;
    protobuf::Reader r(message);
    while (auto f = r.next())
        if (f->number == field::status_response_image.number && f->wire == protobuf::Wire::len) image = f->bytes;
    // containerd answers an absent image with an empty response (image nil)
    if (!image) return std::nullopt;
    std::optional<std::string_view> id;
    protobuf::Reader in(*image);
    while (auto f = in.next())
        if (f->number == field::image_id.number && f->wire == protobuf::Wire::len) id = f->bytes;
    if (!id || id->empty()) return std::nullopt;
    return printable(*id, "ImageStatusResponse.image.id");
}

std::string grpc_timeout(std::chrono::milliseconds t) {
    const long long ms = std::max<long long>(1, t.count());
    if (ms < 100'000'000) return fmt::format("{}m", ms);
    if (ms / 1000 < 100'000'000) return fmt::format("{}S", ms / 1000);
    return fmt::format("{}M", std::min<long long>(ms / 60'000, 99'999'999));
}

std::string grpc_message(std::string_view encoded) {
    // the header is capped (core/curl.cpp); 512 bytes are plenty for a message
    std::string out = percent_decode(encoded);
    if (out.size() > 512) out.resize(512);
    // a journal line stays one line; UTF-8 bytes (>= 0x80) pass
    std::replace_if(
        out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    return out;
}

std::string status_name(int status) {
    static constexpr std::array<std::string_view, 17> names{
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    if (status >= 0 && static_cast<size_t>(status) < names.size())
        return std::string(names[static_cast<size_t>(status)]);
    return fmt::format("code {}", status);
}

}  // namespace detail

}  // namespace eksnode::cri
