// SPDX-License-Identifier: Apache-2.0
// HTTPS for the AWS APIs over libcurl, loaded with dlopen() on the first
// request: linked normally, libcurl and its ~30 libraries cost every run of
// eks-node-config about 5 ms of CPU and 7 MiB of RSS (measured, see
// meson.build), and most runs make no API call at all.
//
// Proxies: libcurl reads https_proxy/HTTPS_PROXY, http_proxy and
// no_proxy/NO_PROXY from the environment; `proxy`/`no_proxy` below, when set,
// come from the node's configuration (spec.instance.environment.default) and
// apply when the environment has none. IMDS never comes here (imds/ speaks its
// own HTTP without any proxy).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace eksnode::aws {

struct HttpRequest {
    std::string method;   // "GET", "POST"
    std::string url;      // full URL, query included
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{10'000};
    std::string proxy;     // "" = libcurl's own environment rules
    std::string no_proxy;
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// One exchange. Throws TempError for a transport failure (no route, DNS,
// TLS handshake, timeout): the caller decides about retrying. Throws Error
// when libcurl cannot be loaded. Never logs: headers carry the signature.
HttpResponse perform(const HttpRequest& r);

}  // namespace eksnode::aws
