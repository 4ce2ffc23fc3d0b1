// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 for IMDS: endpoint parsing, request formatting, response parsing.

#include "core/http.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

namespace eksnode::http {

namespace {

constexpr std::string_view scheme = "http://";
constexpr uint16_t default_port = 80;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 5.6.2: the characters a header field name may hold.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
    return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// What a peer sent, quoted safely into one log line (core/text.hpp).
std::string shown(std::string_view s) { return json_quoted(s, 64, QuoteAs::ascii); }

// Calls fn(element) for each non-empty element of a comma-separated field
// value (RFC 9110 5.6.1), OWS trimmed.
template <typename Fn>
void for_each_element(std::string_view value, Fn fn) {
    while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view element = trim_ows(value.substr(0, comma));
        if (!element.empty()) fn(element);
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
}

}  // namespace

std::optional<HttpEndpoint> parse_endpoint(std::string_view url, std::string& problem) {
    if (!url.starts_with(scheme)) {
        problem = "must start with http:// (e.g. http://169.254.169.254)";
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme.size());
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);

    std::string_view host;
    std::optional<std::string_view> port_text;
    const bool ipv6 = authority.starts_with('[');
    if (ipv6) {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            problem = "has a '[' without ']' around its IPv6 address";
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                problem = "has something other than :PORT after its IPv6 address";
                return std::nullopt;
            }
            port_text = after.substr(1);
        }
    } else {
        size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
        if (port_text && port_text->find(':') != std::string_view::npos) {
            problem = "has an IPv6 address without brackets (write http://[fd00:ec2::254])";
            return std::nullopt;
        }
    }
    if (host.empty()) {
        problem = "names no host";
        return std::nullopt;
    }

    uint16_t port = default_port;
    if (port_text) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port_text->data(), port_text->data() + port_text->size(), value);
        if (port_text->empty() || ec != std::errc() || end != port_text->data() + port_text->size() || value == 0 ||
            value > 65535 || !is_digit(port_text->front())) {
            problem = fmt::format("has a bad port {} (1 to 65535)", shown(*port_text));
            return std::nullopt;
        }
        port = static_cast<uint16_t>(value);
    }

    HttpEndpoint ep;
    const std::string literal(host);
    if (ipv6) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        if (inet_pton(AF_INET6, literal.c_str(), &a.sin6_addr) != 1) {
            problem = fmt::format("has [{}], which is not an IPv6 address", literal);
            return std::nullopt;
        }
        std::memcpy(&ep.address, &a, sizeof a);
        ep.address_size = sizeof a;
        ep.host = "[" + literal + "]";
    } else {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        if (inet_pton(AF_INET, literal.c_str(), &a.sin_addr) != 1) {
            // Why no names: see parse_endpoint in http.hpp.
            problem = fmt::format(
                "names the host {} instead of an IP address; IMDS has a fixed address "
                "(169.254.169.254 or [fd00:ec2::254]) and eks-node-imds resolves no names",
                shown(literal));
            return std::nullopt;
        }
        std::memcpy(&ep.address, &a, sizeof a);
        ep.address_size = sizeof a;
        ep.host = literal;
    }
    // The Host header names the port only when it is not the default, as
    // every HTTP client does.
    if (port != default_port) ep.host += fmt::format(":{}", port);
    ep.base_path = path;
    return ep;
}

std::string format_request(std::string_view method, const HttpEndpoint& ep, std::string_view target,
                           std::string_view user_agent,
                           const std::vector<std::pair<std::string_view, std::string_view>>& headers) {
    std::string r = fmt::format("{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n", method, ep.base_path, target,
                                ep.host, user_agent);
    for (const auto& [name, value] : headers) r += fmt::format("{}: {}\r\n", name, value);
    if (method == "PUT") r += "Content-Length: 0\r\n";
    r += "Connection: close\r\n\r\n";
    return r;
}

ResponseParser::ResponseParser(size_t body_cap, size_t header_cap) : body_cap_(body_cap), header_cap_(header_cap) {}

ResponseParser::Result ResponseParser::feed(std::string_view bytes) {
    if (state_ == State::done) return Result::done;
    if (state_ == State::failed) return Result::error;
    total_ += bytes.size();
    in_.append(bytes);
    return run();
}

ResponseParser::Result ResponseParser::eof() {
    switch (state_) {
    case State::done: return Result::done;
    case State::failed: return Result::error;
    case State::body_to_close: state_ = State::done; return Result::done;
    case State::status_line:
        if (total_ == 0) return fail("the connection closed without an answer");
        return fail("the connection closed in the middle of the response headers");
    case State::headers: return fail("the connection closed in the middle of the response headers");
    case State::body_length:
        return fail(fmt::format("the answer was cut short: {} of {} bytes", declared_ - remaining_, declared_));
    default: return fail("the chunked answer was cut short");
    }
}

ResponseParser::Result ResponseParser::fail(std::string problem) {
    state_ = State::failed;
    problem_ = std::move(problem);
    return Result::error;
}

ResponseParser::Result ResponseParser::fail_too_big(std::string problem) {
    too_big_ = true;
    return fail(std::move(problem));
}

ResponseParser::Result ResponseParser::run() {
    while (state_ != State::done && state_ != State::failed) {
        const size_t available = in_.size() - pos_;
        if (state_ == State::body_to_close) {
            if (available == 0) break;
            if (available > body_cap_ - body_.size()) {
                fail_too_big(fmt::format("the answer is larger than {} bytes", body_cap_));
                break;
            }
            take_body(available);
            continue;
        }
        if (state_ == State::body_length || state_ == State::chunk_data) {
            if (available == 0) break;
            const size_t n = std::min(available, remaining_);
            take_body(n);
            remaining_ -= n;
            if (remaining_ == 0) {
                state_ = state_ == State::body_length ? State::done : State::chunk_end;
                header_bytes_ = 0;
            }
            continue;
        }
        std::optional<std::string_view> line = next_line();
        if (!line) break;
        switch (state_) {
        case State::status_line: on_status_line(*line); break;
        case State::headers: on_header_line(*line); break;
        case State::chunk_size: on_chunk_size(*line); break;
        case State::chunk_end:
            if (!line->empty()) fail("a chunk is longer than its size line says");
            else {
                state_ = State::chunk_size;
                header_bytes_ = 0;
            }
            break;
        case State::trailers:
            // Trailer fields carry nothing IMDS uses; only their end matters.
            if (line->empty()) state_ = State::done;
            break;
        default: break;
        }
    }
    in_.erase(0, pos_);
    pos_ = 0;
    if (state_ == State::done) return Result::done;
    if (state_ == State::failed) return Result::error;
    return Result::more;
}

std::optional<std::string_view> ResponseParser::next_line() {
    const size_t nl = in_.find('\n', pos_);
    const size_t length = (nl == std::string::npos ? in_.size() : nl + 1) - pos_;
    if (header_bytes_ + length > header_cap_) {
        bool in_headers = state_ == State::status_line || state_ == State::headers;
        fail(fmt::format("{} longer than {} bytes", in_headers ? "response headers" : "a chunk-size or trailer line",
                         header_cap_));
        return std::nullopt;
    }
    if (nl == std::string::npos) return std::nullopt;
    std::string_view line(in_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    header_bytes_ += length;
    // CRLF ends a line; a bare LF is accepted as well (RFC 9112 2.2), a bare
    // CR is not.
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
        fail(fmt::format("a bare CR in the line {}", shown(line)));
        return std::nullopt;
    }
    return line;
}

void ResponseParser::on_status_line(std::string_view line) {
    // HTTP-version SP status-code SP [reason-phrase]; a missing reason with
    // its space is tolerated. Any HTTP/1.x is HTTP/1.1 to a recipient.
    const bool ok = line.size() >= 12 && line.starts_with("HTTP/1.") && is_digit(line[7]) && line[8] == ' ' &&
                    is_digit(line[9]) && is_digit(line[10]) && is_digit(line[11]) &&
                    (line.size() == 12 || line[12] == ' ') && line[9] != '0';
    if (!ok) {
        fail(fmt::format("not an HTTP/1.1 status line: {}", shown(line)));
        return;
    }
    status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    fields_.clear();
    state_ = State::headers;
}

void ResponseParser::on_header_line(std::string_view line) {
    if (line.empty()) {
        on_headers_end();
        return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
        // obs-fold: a recipient replaces it with a space (RFC 9112 5.2).
        if (fields_.empty()) {
            fail(fmt::format("a continuation line before any header field: {}", shown(line)));
            return;
        }
        fields_.back().second += ' ';
        fields_.back().second += trim_ows(line);
        return;
    }
    const size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    // No whitespace between name and colon (RFC 9112 5.1): such a field is
    // read differently by different parsers.
    if (colon == std::string_view::npos || name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
        fail(fmt::format("a malformed header field: {}", shown(line)));
        return;
    }
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (value.find('\0') != std::string_view::npos) {
        fail(fmt::format("a NUL in the header field {}", shown(line)));
        return;
    }
    std::string lname(name);
    std::transform(lname.begin(), lname.end(), lname.begin(), lower);
    fields_.emplace_back(std::move(lname), std::string(value));
}

void ResponseParser::on_headers_end() {
    if (status_ < 200) {
        if (status_ == 101) {
            fail("HTTP 101: the server switched protocols, which nobody asked for");
            return;
        }
        // 100 Continue, 103 Early Hints: interim; the real answer follows.
        state_ = State::status_line;
        header_bytes_ = 0;
        return;
    }
    bool chunked = false;
    std::optional<size_t> length;
    // a plain reference, not a structured binding: clang 14 cannot capture
    // those in the lambdas below
    for (const auto& field : fields_) {
        const std::string& name = field.first;
        const std::string& value = field.second;
        if (name == "transfer-encoding") {
            for_each_element(value, [&](std::string_view coding) {
                // Nothing but chunked was asked for (no TE header), and a
                // coding we cannot undo would leave the body's end unknown.
                if (!iequals(coding, "chunked") || chunked)
                    fail(fmt::format("an unsupported Transfer-Encoding {}", shown(value)));
                chunked = true;
            });
        } else if (name == "content-length") {
            // "Content-Length: 42, 42" is the same length twice (RFC 9110 8.6).
            for_each_element(value, [&](std::string_view digits) {
                size_t n = 0;
                auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
                if (ec != std::errc() || end != digits.data() + digits.size() || !is_digit(digits.front()))
                    fail(fmt::format("a bad Content-Length {}", shown(value)));
                else if (length && *length != n) fail("conflicting Content-Length values");
                length = n;
            });
        }
        if (state_ == State::failed) return;
    }
    if (status_ == 204 || status_ == 304) {
        state_ = State::done;
    } else if (chunked) {
        // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
        state_ = State::chunk_size;
        header_bytes_ = 0;
    } else if (length) {
        if (*length > body_cap_) {
            fail_too_big(fmt::format("the answer is larger than {} bytes (Content-Length: {})", body_cap_, *length));
            return;
        }
        declared_ = remaining_ = *length;
        state_ = *length == 0 ? State::done : State::body_length;
    } else {
        // No framing: the body ends when the server closes the connection.
        state_ = State::body_to_close;
    }
}

void ResponseParser::on_chunk_size(std::string_view line) {
    // chunk-size [BWS ";" chunk-ext] (RFC 9112 7.1); extensions mean nothing to us.
    size_t size = 0, i = 0;
    for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
        if (size > (body_cap_ >> 4)) {
            fail_too_big(fmt::format("the answer is larger than {} bytes (a chunk of {})", body_cap_, shown(line)));
            return;
        }
        size = size * 16 + static_cast<size_t>(hex_value(line[i]));
    }
    std::string_view rest = trim_ows(line.substr(i));
    if (i == 0 || (!rest.empty() && rest.front() != ';')) {
        fail(fmt::format("a bad chunk-size line {}", shown(line)));
        return;
    }
    header_bytes_ = 0;
    if (size == 0) {
        state_ = State::trailers;
        return;
    }
    if (size > body_cap_ - body_.size()) {
        fail_too_big(fmt::format("the answer is larger than {} bytes", body_cap_));
        return;
    }
    remaining_ = size;
    state_ = State::chunk_data;
}

void ResponseParser::take_body(size_t n) {
    body_.append(in_, pos_, n);
    pos_ += n;
}

}  // namespace eksnode::http
