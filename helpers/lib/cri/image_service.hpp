// SPDX-License-Identifier: Apache-2.0
// A client of the CRI image service (k8s.io/cri-api, runtime.v1.ImageService)
// as containerd serves it on its unix socket: ImageStatus and PullImage, each
// one unary gRPC call (grpc/grpc doc/PROTOCOL-HTTP2.md) over HTTP/2 with prior
// knowledge, through the libcurl client of core/curl.hpp. The
// same calls kubelet makes to pull an image, so that containerd applies its
// own registry configuration (hosts.toml, mirrors) and the image lands in
// the k8s.io namespace where kubelet finds it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace eksnode::cri {

// containerd's CRI socket, re-rooted under --root like every path.
inline constexpr std::string_view containerd_socket = "/run/containerd/containerd.sock";

// runtime.v1.AuthConfig: what a credential provider answered for an image.
// Empty: an anonymous pull.
struct Auth {
    std::string username;
    std::string password;
    bool empty() const { return username.empty() && password.empty(); }
};

// A call that containerd answered with a gRPC status other than OK. Exit 75
// for the codes gRPC calls retryable (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, ABORTED), 1 for the rest (NOT_FOUND, UNAUTHENTICATED...).
class CallError : public Error {
public:
    CallError(int status, std::string message);
    int status() const noexcept { return status_; }
    // "NotFound (5): failed to resolve reference ...": what the journal says.
    const std::string& reason() const noexcept { return reason_; }

private:
    int status_;
    std::string reason_;
};

// PullImage: returns the image_ref containerd answers (the image ID,
// "sha256:..."). `timeout` bounds the whole call, the pull included, and
// is sent as grpc-timeout so that containerd cancels the pull with it.
// Throws CallError for a gRPC status, TempError (75) for the socket or the
// deadline, Error for an answer that is not CRI.
std::string pull_image(const std::string& socket, const std::string& image, const Auth& auth,
                       std::chrono::milliseconds timeout);

// ImageStatus: the image's ID when containerd has it, nullopt when not.
// Throws as pull_image().
std::optional<std::string> image_status(const std::string& socket, const std::string& image,
                                        std::chrono::milliseconds timeout);

namespace detail {

// What of api.proto (k8s.io/cri-api pkg/apis/runtime/v1) this client speaks:
// each field it writes or reads, and its methods. One table, used by the
// code and held to Debian's api.proto by tests/plumbing/cri_fields.py --client.
struct ProtoField {
    std::string_view message, name;
    uint32_t number;
    std::string_view type;
};
struct ProtoMethod {
    std::string_view service, name, request, response;
};
inline constexpr std::string_view proto_package = "runtime.v1";
namespace field {
inline constexpr ProtoField image_spec_image{"ImageSpec", "image", 1, "string"};
inline constexpr ProtoField pull_image{"PullImageRequest", "image", 1, "ImageSpec"};
inline constexpr ProtoField pull_auth{"PullImageRequest", "auth", 2, "AuthConfig"};
inline constexpr ProtoField auth_username{"AuthConfig", "username", 1, "string"};
inline constexpr ProtoField auth_password{"AuthConfig", "password", 2, "string"};
inline constexpr ProtoField pull_response_image_ref{"PullImageResponse", "image_ref", 1, "string"};
inline constexpr ProtoField status_image{"ImageStatusRequest", "image", 1, "ImageSpec"};
inline constexpr ProtoField status_response_image{"ImageStatusResponse", "image", 1, "Image"};
inline constexpr ProtoField image_id{"Image", "id", 1, "string"};
}  // namespace field
inline constexpr std::array proto_fields{field::image_spec_image, field::pull_image,
                                         field::pull_auth,        field::auth_username,
                                         field::auth_password,    field::pull_response_image_ref,
                                         field::status_image,     field::status_response_image,
                                         field::image_id};
inline constexpr ProtoMethod pull_method{"ImageService", "PullImage", "PullImageRequest", "PullImageResponse"};
inline constexpr ProtoMethod status_method{"ImageService", "ImageStatus", "ImageStatusRequest", "ImageStatusResponse"};
inline constexpr std::array proto_methods{pull_method, status_method};

// Bounds on what containerd may answer: PullImageResponse and
// ImageStatusResponse (without verbose info) are a few hundred bytes.
inline constexpr size_t max_message = 64 * 1024;

std::string pull_request(std::string_view image, const Auth& auth);  // PullImageRequest
std::string status_request(std::string_view image);                  // ImageStatusRequest

// A gRPC message with its 5-byte prefix (compressed flag 0, big-endian length).
std::string frame(std::string_view message);

// The one message of a unary answer's body: exactly one uncompressed frame
// of at most `cap` bytes. Throws Error on anything else.
std::string_view unframe(std::string_view body, size_t cap = max_message);

// The verdict of an answer: its HTTP status and its header fields and
// trailers (lower-case names; a trailers-only answer has grpc-status among
// the headers). Returns normally for grpc-status 0; throws CallError for
// another status, Error for an answer that is no gRPC at all.
void check_status(long http_status, const std::map<std::string, std::string>& headers);

// PullImageResponse.image_ref; throws Error when absent or not printable.
std::string pull_response(std::string_view message);
// ImageStatusResponse.image.id, nullopt when the image is absent.
std::optional<std::string> status_response(std::string_view message);

// grpc-timeout's value for `t`: at most 8 digits and a unit (milliseconds,
// else seconds, else minutes).
std::string grpc_timeout(std::chrono::milliseconds t);

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md); the decoded text with
// control characters shown as '?', at most 512 bytes.
std::string grpc_message(std::string_view encoded);

// "NotFound", "Unavailable", ... for a status code; "code N" past the table.
std::string status_name(int status);

}  // namespace detail

}  // namespace eksnode::cri
