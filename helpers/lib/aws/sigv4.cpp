// SPDX-License-Identifier: Apache-2.0
#include "aws/sigv4.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include "core/crypto.hpp"
#include "core/error.hpp"

namespace eksnode::aws {

namespace {

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

// RFC 3986 remove_dot_segments, plus empty segments dropped ("//" -> "/"), as
// SigV4 normalises paths for every service but S3.
std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> out;
    size_t at = 0;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        std::string_view seg = path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
        if (seg == "..") {
            if (!out.empty()) out.pop_back();
        } else if (!seg.empty() && seg != ".") {
            out.push_back(seg);
        }
        if (slash == std::string_view::npos) break;
        at = slash + 1;
    }
    std::string result;
    for (std::string_view seg : out) {
        result += '/';
        result += seg;
    }
    bool dir = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if (result.empty() || (dir && !out.empty())) result += "/";
    return result;
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> params;
    size_t at = 0;
    while (at < query.size()) {
        size_t amp = query.find('&', at);
        std::string_view pair = query.substr(at, amp == std::string_view::npos ? std::string_view::npos : amp - at);
        if (!pair.empty()) {
            size_t eq = pair.find('=');
            std::string_view k = pair.substr(0, eq);
            std::string_view v = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            // Decode first: a query already encoded on the wire is encoded
            // exactly once here, and a raw one (the suite's UTF-8 case) too.
            params.emplace_back(uri_encode(percent_decode(k), false), uri_encode(percent_decode(v), false));
        }
        if (amp == std::string_view::npos) break;
        at = amp + 1;
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += '&';
        out.append(k).append(1, '=').append(v);
    }
    return out;
}

// Lower-case name; value trimmed, inner runs of spaces collapsed.
std::string canonical_value(std::string_view v) {
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

std::string scope_text(const SigningScope& s) {
    return fmt::format("{}/{}/{}/aws4_request", s.amz_date.substr(0, 8), s.region, s.service);
}

}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    std::string out;
    for (unsigned char c : s) {
        if (unreserved(c) || (keep_slash && c == '/')) out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string canonical_request(const SignableRequest& r, std::string* signed_headers) {
    // Names sorted; repeated headers joined by ',' in the order sent.
    std::map<std::string, std::string> headers;
    for (const auto& [name, value] : r.headers) {
        std::string key = name;
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string v = canonical_value(value);
        auto [it, fresh] = headers.emplace(key, v);
        if (!fresh) it->second.append(1, ',').append(v);
    }
    std::string names, lines;
    for (const auto& [k, v] : headers) {
        lines.append(k).append(1, ':').append(v).append(1, '\n');
        if (!names.empty()) names += ';';
        names += k;
    }
    if (signed_headers) *signed_headers = names;
    return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", r.method, uri_encode(normalize_path(r.path), true),
                       canonical_query(r.query), lines, names, crypto::sha256_hex(r.body));
}

std::string string_to_sign(const SigningScope& scope, std::string_view canonical) {
    return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", scope.amz_date, scope_text(scope),
                       crypto::sha256_hex(canonical));
}

std::string signature(std::string_view secret, const SigningScope& scope, std::string_view sts) {
    std::string key = crypto::hmac_sha256("AWS4" + std::string(secret), scope.amz_date.substr(0, 8));
    key = crypto::hmac_sha256(key, scope.region);
    key = crypto::hmac_sha256(key, scope.service);
    key = crypto::hmac_sha256(key, "aws4_request");
    std::string sig = crypto::hmac_sha256(key, sts);
    return hex_encode(sig);
}

std::string authorization(const Credentials& c, const SigningScope& scope, const SignableRequest& r) {
    std::string names;
    std::string creq = canonical_request(r, &names);
    return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}", c.access_key_id,
                       scope_text(scope), names, signature(c.secret_access_key, scope, string_to_sign(scope, creq)));
}

void sign(SignableRequest& r, const Credentials& c, const SigningScope& scope) {
    r.headers.emplace_back("X-Amz-Date", scope.amz_date);
    if (!c.session_token.empty()) r.headers.emplace_back("X-Amz-Security-Token", c.session_token);
    std::string value = authorization(c, scope, r);
    r.headers.emplace_back("Authorization", std::move(value));
}

std::string presign_url(const PresignRequest& r, const Credentials& c, const SigningScope& scope) {
    SignableRequest sr;
    sr.method = "GET";
    sr.path = r.path;
    sr.headers.emplace_back("Host", r.host);
    for (const auto& h : r.headers) sr.headers.push_back(h);
    std::string signed_headers;
    canonical_request(sr, &signed_headers);  // only for the header list; the query is not built yet

    auto add = [&](std::string_view k, std::string_view v) {
        if (!sr.query.empty()) sr.query += '&';
        sr.query.append(uri_encode(k, false)).append(1, '=').append(uri_encode(v, false));
    };
    for (const auto& [k, v] : r.params) add(k, v);
    add("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    add("X-Amz-Credential", c.access_key_id + "/" + scope_text(scope));
    add("X-Amz-Date", scope.amz_date);
    add("X-Amz-Expires", std::to_string(r.expires_seconds));
    add("X-Amz-SignedHeaders", signed_headers);
    // Part of the signed query, not a header: whoever sends the URL cannot add one.
    if (!c.session_token.empty()) add("X-Amz-Security-Token", c.session_token);

    const std::string creq = canonical_request(sr);
    const std::string sig = signature(c.secret_access_key, scope, string_to_sign(scope, creq));
    return fmt::format("https://{}{}?{}&X-Amz-Signature={}", r.host, r.path, sr.query, sig);
}

}  // namespace eksnode::aws
