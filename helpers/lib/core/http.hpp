// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 that IMDS needs, and nothing more: endpoints that are IP
// literals, requests of a few headers, and a response parser that is a pure
// function of the bytes fed to it (unit-tested on its own, split anywhere).
// The I/O lives in imds/client.cpp; input/settings.cpp reads endpoints with
// parse_endpoint, so [settings.imds] endpoint has one grammar. In core/, below
// both.
//
// Why not libcurl: IMDS is plain HTTP to a link-local address, and loading
// libcurl with its ~30 libraries (TLS, Kerberos, LDAP, ...) cost about 4 ms of
// CPU at every boot in the first step of the chain.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace eksnode::http {

// A base URL taken apart: where to connect and what to say.
struct HttpEndpoint {
    sockaddr_storage address{};  // sockaddr_in or sockaddr_in6, port included
    socklen_t address_size = 0;
    std::string host;       // Host header: "169.254.169.254", "[::1]:8080"
    std::string base_path;  // "" or "/prefix", never ending in '/'
};

// Parses "http://IP[:PORT][/PATH]", IP being dotted-quad IPv4 or bracketed
// IPv6 ("http://[fd00:ec2::254]"). Host names are refused: the imds step runs
// before the network is fully up and has no resolver to ask (no DNS, and a
// search domain could send the token elsewhere), while IMDS always has a
// fixed address. Sets `problem` and returns std::nullopt on anything else.
std::optional<HttpEndpoint> parse_endpoint(std::string_view url, std::string& problem);

// One request, ready to send: "METHOD base_path/target HTTP/1.1", Host,
// User-Agent, `headers` ({name, value}), Content-Length: 0 for a PUT (a
// method that defines a body should say it has none) and Connection: close
// (one exchange per connection; the server's close never races a reuse).
std::string format_request(std::string_view method, const HttpEndpoint& ep, std::string_view target,
                           std::string_view user_agent,
                           const std::vector<std::pair<std::string_view, std::string_view>>& headers);

// An incremental HTTP/1.1 response parser (RFC 9112): feed it whatever each
// read returned, then eof() when the peer closes. It handles the status line,
// 1xx interim answers, header fields (obs-fold, bare LF line ends), a body
// framed by Content-Length, by chunked transfer coding (extensions and
// trailers ignored) or by the connection's close, and 204/304 without body.
// A body over `body_cap` or a header section over `header_cap` is an error;
// so is anything malformed, since guessing where a body ends is how
// truncated metadata would be taken for a value.
class ResponseParser {
public:
    enum class Result { more, done, error };

    explicit ResponseParser(size_t body_cap, size_t header_cap = 16 * 1024);

    Result feed(std::string_view bytes);
    // The connection closed: completes a body framed by the close, else
    // reports what was cut short.
    Result eof();

    int status() const { return status_; }
    std::string& body() { return body_; }
    // Why the response was refused (set once the result is error).
    const std::string& problem() const { return problem_; }
    // The refusal is the body cap: the answer is complete nonsense for IMDS
    // rather than a transient fault, and retrying it would not help.
    bool too_big() const { return too_big_; }
    // Nothing at all arrived yet.
    bool empty() const { return total_ == 0; }

private:
    enum class State {
        status_line,
        headers,
        body_length,
        chunk_size,
        chunk_data,
        chunk_end,
        trailers,
        body_to_close,
        done,
        failed
    };

    Result run();
    Result fail(std::string problem);
    Result fail_too_big(std::string problem);
    // The next line of the buffer without its line end, or nullopt when the
    // line is not complete yet (or is too long: then state_ is failed).
    std::optional<std::string_view> next_line();
    void on_status_line(std::string_view line);
    void on_header_line(std::string_view line);
    void on_headers_end();
    void on_chunk_size(std::string_view line);
    void take_body(size_t n);

    size_t body_cap_, header_cap_;
    State state_ = State::status_line;
    std::string in_;  // received and not yet consumed, from pos_
    size_t pos_ = 0;
    size_t total_ = 0;         // bytes fed so far
    size_t header_bytes_ = 0;  // of the current header section or trailer
    int status_ = 0;
    std::vector<std::pair<std::string, std::string>> fields_;  // lower-case name, value
    size_t remaining_ = 0;                                     // of the Content-Length body or of the current chunk
    size_t declared_ = 0;                                      // Content-Length, for the truncation message
    std::string body_;
    std::string problem_;
    bool too_big_ = false;
};

}  // namespace eksnode::http
