// SPDX-License-Identifier: Apache-2.0
// The one HTTP client over libcurl: HTTPS to the AWS APIs (aws/), gRPC to
// containerd (cri/), pre-flight's reachability checks and kubelet's health
// check (steps/). In core/ so that none of them reaches into another's module
// for it. libcurl is loaded with dlopen() on the first request: linked
// normally, it and its ~30 libraries cost every run of eks-node-config about
// 5 ms of CPU and 7 MiB of RSS (measured, see aws/meson.build), and most runs
// make no request at all.
//
// Proxies: the caller decides (aws/proxy.hpp) and `proxy` says it; libcurl
// reads no proxy variable of its own. IMDS never comes here: imds/ speaks its
// own HTTP (core/http.hpp), without any proxy, because it runs first in every
// boot and libcurl's loading would cost it the most.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eksnode::curl {

struct HttpRequest {
    std::string method;  // "GET", "POST"
    std::string url;     // full URL, query included
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{10'000};
    std::string proxy;  // the proxy URL, "" for a direct connection
    // cri/ speaks gRPC to containerd: a unix socket to connect to instead of the URL's host ("" for TCP);
    // HTTP/2 without upgrade (gRPC's "prior knowledge" on a cleartext
    // socket); the largest body taken; the User-Agent's comment.
    std::string unix_socket;
    bool http2_prior_knowledge = false;
    size_t body_cap = 4u << 20;  // an API answer is a few KiB
    std::string agent = "aws";
};

struct HttpResponse {
    long status = 0;
    // The proxy's refusal of a CONNECT tunnel (https through a proxy): its
    // HTTP status, with `status` 0 and no body. A plain-http request through
    // a proxy gets the proxy's refusal in `status` itself.
    long proxy_connect_status = 0;
    // What of that refusal was read: its headers only, never its body
    // ("117 bytes of headers read, its 52428800-byte body left unread").
    std::string proxy_refusal;
    // Lower-case names. HTTP/2 trailers land here too (libcurl hands them
    // to the header callback after the body): gRPC's grpc-status.
    std::map<std::string, std::string> headers;
    std::string body;
};

// One exchange, within r.timeout whatever the peer sends: a refused CONNECT
// is judged by its status line and headers (its body is never read), the
// body of any other answer that is not a 2xx is cut at 64 KiB, headers at
// 64 KiB. Throws TempError for a transport failure (no route, DNS,
// TLS handshake, timeout) and for an answer over r.body_cap: the caller
// decides about retrying, and names what it asked whom. Throws Error
// when libcurl cannot be loaded. Never logs: headers carry the signature.
HttpResponse perform(const HttpRequest& r);

// How far a connection got: the stage that failed, or ok.
enum class Stage { ok, dns, proxy, tcp, tls, timeout, other };

struct Reach {
    Stage failed = Stage::ok;
    std::string detail;  // what failed, in words; never a proxy URL or password
};

// Opens a connection to `url` as kubelet would, and sends nothing: the name
// resolved (by the proxy when there is one), TCP connected (a CONNECT tunnel
// through `proxy`), and for https a TLS handshake verifying the server's
// certificate against `ca_pem` and the URL's
// host name. `ca_pem`: the certificates to trust, PEM (the system's store
// when ""). Within `timeout`. Throws Error only when libcurl cannot be loaded.
Reach reach(const std::string& url, const std::string& proxy, const std::string& ca_pem,
            std::chrono::milliseconds timeout);
std::string_view stage_name(Stage s);  // "DNS", "proxy", "TCP", "TLS", "timeout", "connection"

}  // namespace eksnode::curl
