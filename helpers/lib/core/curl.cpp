// SPDX-License-Identifier: Apache-2.0
#include "core/curl.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/dl.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

namespace eksnode::curl {

namespace {

// The handful of libcurl calls we use, resolved once.
struct Curl {
    CURLcode (*global_init)(long);
    CURL* (*easy_init)();
    CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
    CURLcode (*easy_perform)(CURL*);
    CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
    void (*easy_cleanup)(CURL*);
    const char* (*easy_strerror)(CURLcode);
    curl_slist* (*slist_append)(curl_slist*, const char*);
    void (*slist_free_all)(curl_slist*);
};

EKSNODE_DLOPEN_NOTE("curl", "recommended", "HTTP(S): the EC2 and EKS APIs, gRPC to containerd, reachability checks",
                    "libcurl.so.4");

const Curl& curl() {
    return dl::load<Curl>("libcurl.so.4", "for HTTP(S)", "install libcurl4", [](const dl::Library& l, Curl& c) {
        l.bind("curl_global_init", c.global_init);
        l.bind("curl_easy_init", c.easy_init);
        l.bind("curl_easy_setopt", c.easy_setopt);
        l.bind("curl_easy_perform", c.easy_perform);
        l.bind("curl_easy_getinfo", c.easy_getinfo);
        l.bind("curl_easy_cleanup", c.easy_cleanup);
        l.bind("curl_easy_strerror", c.easy_strerror);
        l.bind("curl_slist_append", c.slist_append);
        l.bind("curl_slist_free_all", c.slist_free_all);
        c.global_init(CURL_GLOBAL_DEFAULT);
    });
}

// An answer's headers: libcurl takes 100 KiB of one header line; this bounds them all.
constexpr size_t header_cap = 64u << 10;
// The body of an answer that is not a success: an AWS error document is well
// under 1 KiB. A proxy's or server's error page beyond this is cut, and the
// answer is judged by its status.
constexpr size_t error_body_cap = 64u << 10;

// A cap (HttpRequest::body_cap) keeps a broken endpoint from filling memory.
struct Sink {
    HttpResponse* response;
    size_t body_cap;
    // A CONNECT is asked first (https through a proxy): its answer's status
    // line is the first one seen.
    bool connect_pending = false;
    bool too_big = false;
    bool error_body_cut = false;
    bool headers_too_big = false;
    long status = 0;           // of the answer whose headers came last
    long connect_refused = 0;  // the CONNECT's status when not 2xx
    size_t header_bytes = 0;
    bool request_sent = false;  // reach(): a request (the CONNECT) went out, so TCP connected
};

// libcurl's debug stream, for one fact: a request's headers went out (for
// reach() through a proxy, the CONNECT), so the TCP connection was made.
// Nothing of it is kept: those headers carry the proxy's credentials.
int on_debug(CURL*, curl_infotype type, char*, size_t, void* user) {
    if (type == CURLINFO_HEADER_OUT) static_cast<Sink*>(user)->request_sent = true;
    return 0;
}

// A time budget in seconds to a tenth, as said ("1", "2.5"): the budget
// reach() gets is what is left of the step's, a millisecond or so short.
std::string seconds_text(long ms) { return fmt::format("{:g}", std::round(static_cast<double>(ms) / 100) / 10); }

// The proxy's host and port as the error line may show them: no scheme, no
// user or password, no path.
std::string proxy_host_port(std::string_view proxy) {
    if (size_t scheme = proxy.find("://"); scheme != proxy.npos) proxy.remove_prefix(scheme + 3);
    proxy = proxy.substr(0, proxy.find_first_of("/?#"));
    if (size_t at = proxy.rfind('@'); at != proxy.npos) proxy.remove_prefix(at + 1);
    return std::string(proxy);
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t bytes = size * n;
    const bool success = sink->status >= 200 && sink->status < 300;
    const size_t cap = success ? sink->body_cap : std::min(sink->body_cap, error_body_cap);
    if (sink->response->body.size() + bytes > cap) {
        if (success) {
            sink->too_big = true;
            return 0;  // aborts the transfer
        }
        // an error's status says enough: keep its start, read no more
        sink->response->body.append(data, cap - sink->response->body.size());
        sink->error_body_cut = true;
        return 0;
    }
    sink->response->body.append(data, bytes);
    return bytes;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    std::string_view line(data, size * n);
    sink->header_bytes += line.size();
    if (sink->header_bytes > header_cap) {
        sink->headers_too_big = true;
        return 0;
    }
    size_t colon = line.find(':');
    if (line.starts_with("HTTP/")) {
        sink->response->headers.clear();  // a new response (after 100 Continue, or the CONNECT's)
        size_t space = line.find(' ');
        sink->status =
            space == line.npos ? 0 : std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
        if (sink->connect_pending && sink->status >= 200) {
            sink->connect_pending = false;
            if (sink->status >= 300) sink->connect_refused = sink->status;
        }
    } else if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.remove_suffix(1);
        sink->response->headers[name] = std::string(value);
    } else if (sink->connect_refused && (line == "\r\n" || line == "\n")) {
        // The end of a refused CONNECT's headers. libcurl 7.88 then reads
        // the refusal's body itself, a byte per call, looking at no timer
        // while bytes keep coming: a proxy streaming a 10 MB 407 body held a
        // step 18 s past its 8 s timeout. The status is all we need.
        return 0;
    }
    return size * n;
}

// What a refused CONNECT left unread, for the error line.
std::string refusal_note(const Sink& sink) {
    auto it = sink.response->headers.find("content-length");
    std::string body = it == sink.response->headers.end() ? "its body" : fmt::format("its {}-byte body", it->second);
    return fmt::format("{} bytes of headers read, {} left unread", sink.header_bytes, body);
}

// What every transfer here sets: the URL, the protocols, the time bounds,
// libcurl's error text into `error`, and the proxy. Always set, "" included:
// an empty CURLOPT_PROXY means no proxy even if the environment names one,
// and an empty CURLOPT_NOPROXY keeps libcurl from reading no_proxy itself.
// The choice was made by aws/proxy.hpp.
void set_common(const Curl& c, CURL* h, const std::string& url, const std::string& proxy, long timeout_ms,
                long connect_timeout_ms, char* error) {
    c.easy_setopt(h, CURLOPT_URL, url.c_str());
    c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    c.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    c.easy_setopt(h, CURLOPT_PROXY, proxy.c_str());
    c.easy_setopt(h, CURLOPT_NOPROXY, "");
}

// What a failed transfer is said to be. The error text names the host and
// what failed, never a header. libcurl's own text may quote a URL it
// refused, a proxy URL's password with it ("Unsupported proxy syntax in
// 'http://user:pw@proxy'"): with any '@' in it, only libcurl's generic text
// for the code is said.
std::string failure_text(const Curl& c, const char* error, CURLcode rc) {
    std::string_view said(error);
    return !said.empty() && said.find('@') == said.npos ? std::string(said) : std::string(c.easy_strerror(rc));
}

}  // namespace

HttpResponse perform(const HttpRequest& r) {
    const Curl& c = curl();
    CURL* h = c.easy_init();
    if (!h) throw Error("libcurl: curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : r.headers) headers = c.slist_append(headers, (name + ": " + value).c_str());
    // libcurl would add "Expect: 100-continue" for a body; AWS needs no such round trip.
    headers = c.slist_append(headers, "Expect:");

    HttpResponse response;
    Sink sink{&response, r.body_cap};
    sink.connect_pending = !r.proxy.empty() && r.url.starts_with("https://");
    char error[CURL_ERROR_SIZE] = {};
    long timeout_ms = static_cast<long>(std::max<long long>(1, r.timeout.count()));
    set_common(c, h, r.url, r.proxy, timeout_ms, std::min(timeout_ms, 5000L), error);
    c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    const std::string agent = std::string("eks-node/") + ::eksnode::version + " (" + r.agent + ")";
    c.easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
    if (!r.unix_socket.empty()) c.easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, r.unix_socket.c_str());
    if (r.http2_prior_knowledge)
        c.easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
    c.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    c.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    c.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    c.easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    c.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (r.method == "POST") {
        c.easy_setopt(h, CURLOPT_POST, 1L);
        c.easy_setopt(h, CURLOPT_POSTFIELDS, r.body.c_str());
        c.easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
    } else if (r.method != "GET") {
        c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }

    CURLcode rc = c.easy_perform(h);
    c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    long connect_status = 0;
    c.easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_status);
    c.easy_cleanup(h);
    c.slist_free_all(headers);
    // Temporary, like a cut connection: a proxy's or a middlebox's page in
    // place of the API's answer may be gone on the next try, and a plain
    // Error (exit 1) kept settings.onFailure from ever acting on it. The
    // caller names the API, the endpoint and the proxy.
    if (sink.too_big) throw TempError(fmt::format("the answer is larger than {} bytes; refusing it", r.body_cap));
    if (sink.headers_too_big)
        throw TempError(fmt::format("the answer's headers are larger than {} bytes; refusing it", header_cap));
    if (sink.connect_refused) {
        response.status = 0;
        response.proxy_connect_status = sink.connect_refused;
        response.proxy_refusal = refusal_note(sink);
        response.body.clear();
        return response;
    }
    if (sink.error_body_cut) {
        response.status = sink.status;
        return response;
    }
    if (rc != CURLE_OK && connect_status >= 300) {
        response.status = 0;
        response.proxy_connect_status = connect_status;
        response.body.clear();
        return response;
    }
    if (rc != CURLE_OK) throw TempError(failure_text(c, error, rc));
    return response;
}

std::string_view stage_name(Stage s) {
    switch (s) {
    case Stage::ok: return "ok";
    case Stage::dns: return "DNS";
    case Stage::proxy: return "proxy";
    case Stage::tcp: return "TCP";
    case Stage::tls: return "TLS";
    case Stage::timeout: return "timeout";
    case Stage::other: return "connection";
    }
    return "connection";
}

Reach reach(const std::string& url, const std::string& proxy, const std::string& ca_pem,
            std::chrono::milliseconds timeout) {
    const Curl& c = curl();
    CURL* h = c.easy_init();
    if (!h) throw Error("libcurl: curl_easy_init failed");
    char error[CURL_ERROR_SIZE] = {};
    long timeout_ms = static_cast<long>(std::max<long long>(1, timeout.count()));
    set_common(c, h, url, proxy, timeout_ms, timeout_ms, error);
    // connect, tunnel and handshake, then stop: no request reaches the server
    c.easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    // an https URL through a proxy always tunnels; said for http too, so that
    // the proxy is asked for the same CONNECT kubelet's client would ask
    if (!proxy.empty()) c.easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
    // from memory: the check needs no file eks-node-ca may not have written yet
    curl_blob ca{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
    if (!ca_pem.empty()) c.easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    // the CONNECT's answer through on_header: a refusal's body is never read
    HttpResponse answer;
    Sink sink{&answer, 0};
    sink.connect_pending = !proxy.empty();
    c.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    c.easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    // whether the proxy took the connection and then said nothing: libcurl's
    // connect time stays 0 until the tunnel is up (on_debug says why verbose)
    if (!proxy.empty()) {
        c.easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
        c.easy_setopt(h, CURLOPT_DEBUGDATA, &sink);
        c.easy_setopt(h, CURLOPT_VERBOSE, 1L);
    }
    CURLcode rc = c.easy_perform(h);
    long connect_status = 0;
    c.easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_status);
    double connected = 0;
    c.easy_getinfo(h, CURLINFO_CONNECT_TIME, &connected);
    c.easy_cleanup(h);
    if (rc == CURLE_OK) return {};
    const std::string text = failure_text(c, error, rc);
    if (sink.connect_refused)
        return {Stage::proxy,
                fmt::format("the proxy refused the tunnel (HTTP {}; {})", sink.connect_refused, refusal_note(sink))};
    if (sink.headers_too_big)
        return {Stage::proxy, fmt::format("the proxy's answer has more than {} bytes of headers", header_cap)};
    if (connect_status >= 300)
        return {Stage::proxy, fmt::format("the proxy refused the tunnel (HTTP {})", connect_status)};
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST: return {Stage::dns, text};
    case CURLE_COULDNT_RESOLVE_PROXY: return {Stage::proxy, "the proxy's name does not resolve: " + text};
    case CURLE_COULDNT_CONNECT:
        return proxy.empty() ? Reach{Stage::tcp, text} : Reach{Stage::proxy, "no connection to the proxy: " + text};
    case CURLE_OPERATION_TIMEDOUT:
        // the proxy accepted TCP and the CONNECT, then answered nothing: not "no TCP connection"
        if (!proxy.empty() && sink.request_sent && sink.connect_pending)
            return {Stage::proxy, fmt::format("connected to the proxy at {}, no answer to the tunnel request "
                                              "(CONNECT) within {} s ({})",
                                              proxy_host_port(proxy), seconds_text(timeout_ms), text)};
        if (!proxy.empty() && !sink.request_sent)
            return {Stage::timeout, fmt::format("no TCP connection to the proxy at {} within {} s ({})",
                                                proxy_host_port(proxy), seconds_text(timeout_ms), text)};
        return {Stage::timeout,
                fmt::format("{} ({})", connected > 0 ? "no TLS handshake in time" : "no TCP connection in time", text)};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: return {Stage::tls, text};
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: return {proxy.empty() ? Stage::other : Stage::proxy, text};
    default: return {Stage::other, text};
    }
}

}  // namespace eksnode::curl
