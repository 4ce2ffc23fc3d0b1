// SPDX-License-Identifier: Apache-2.0
// What the fake IMDS answers (README.md's first table) and the faults that change it.
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "fake_imds.hpp"

namespace fakeimds {

namespace {

constexpr long kMaxTtl = 21600;  // seconds; what EC2 accepts for a token
constexpr std::string_view kTokenPath = "/latest/api/token";
// A few of the dated versions the real IMDS lists at /; each serves what /latest/ does
// (cloud-init asks for /2021-03-23/..., falling back to /2009-04-04/...).
constexpr std::string_view kApiVersions[] = {"2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23", "2021-07-15"};
constexpr std::string_view kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr std::string_view kTokenHeader = "X-aws-ec2-metadata-token";
// Where redirect:N points, on this same server, so that a client that follows shows in the log.
constexpr std::string_view kElsewhere = "/elsewhere";

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": " + std::strerror(errno));
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Strings as they are; objects and arrays as JSON, indented by two, ASCII only, keys in file
// order (what the tests' expected files were written from); other scalars as their JSON
// spelling, except the two that Python's str() spelled: the answers stay what they were.
std::string render(const nlohmann::ordered_json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_null()) return "None";
    if (v.is_structured()) return v.dump(2, ' ', true);
    return v.dump();
}

// A directory listing as IMDS serves it: one entry per line, sorted, sub-directories with a
// trailing slash. nullopt: no key below `prefix`.
std::optional<std::string> listing(const Data& data, const std::string& prefix) {
    std::set<std::string> entries;
    std::string want = prefix.empty() ? "" : prefix + "/";
    for (const auto& [key, value] : data) {
        if (!key.starts_with(want) || key == prefix) continue;
        std::string rest = key.substr(want.size());
        auto slash = rest.find('/');
        entries.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
    }
    if (entries.empty()) return std::nullopt;
    std::string out;
    for (const auto& e : entries) out += (out.empty() ? "" : "\n") + e;
    return out;
}

// 56 characters of base64url from 42 random bytes: a token as unguessable as EC2's.
std::string random_token() {
    unsigned char raw[42];
    for (size_t got = 0; got < sizeof raw;) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
        got += n > 0 ? static_cast<size_t>(n) : 0;
    }
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (size_t i = 0; i < sizeof raw; i += 3) {
        unsigned v = raw[i] << 16 | raw[i + 1] << 8 | raw[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
    }
    return out;
}

// The TTL header: blanks around, an optional sign, digits with single `_` between them (the
// spellings the earlier Python fake took, which tests send); 0 when it is no number, which
// the range check then refuses.
long parse_ttl(std::string_view s) {
    s = trim(s);
    bool negative = !s.empty() && s.front() == '-';
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    long v = 0;
    bool digit_before = false;
    for (char c : s) {
        if (c == '_' && digit_before) {
            digit_before = false;
            continue;
        }
        if (c < '0' || c > '9') return 0;
        v = std::min(v * 10 + (c - '0'), kMaxTtl + 1);
        digit_before = true;
    }
    if (!digit_before) return 0;
    return negative ? -v : v;
}

// A counted fault (status:, redirect:) that applies to `r`, of its method if it names one,
// uses up one of its N.
bool counts(long& left, const std::string& method, const Request& r) {
    if (left <= 0 || (!method.empty() && method != r.method)) return false;
    --left;
    return true;
}

}  // namespace

Data load_json_data(const std::string& path) {
    nlohmann::ordered_json raw;
    try {
        raw = nlohmann::ordered_json::parse(read_bytes(path));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    if (!raw.is_object()) throw std::runtime_error(path + ": not a JSON object");
    Data data;
    for (const auto& [key, value] : raw.items()) {
        if (key.starts_with("_")) continue;  // _comment and friends
        data[strip_slashes(key)] = render(value);
    }
    return data;
}

const std::string* Request::header(std::string_view name) const {
    std::string want = lower(name);
    for (const auto& [n, v] : headers)
        if (n == want) return &v;
    return nullptr;
}

Imds::Imds(Data data, Faults faults, std::string token, int log_fd, bool verbose)
    : data_(std::move(data)),
      faults_(std::move(faults)),
      token_(std::move(token)),
      log_fd_(log_fd),
      verbose_(verbose) {}

void Imds::replace_faults(Faults f) {
    faults_ = std::move(f);
    authorized_gets_ = 0;
}

// The log line goes out (a write(2) of its own, so no buffer holds it) before the answer: a
// client holding an answer finds its line in the log already.
void Imds::record(const Request& r, const std::string& status, std::string_view note) const {
    std::string line = r.method + " " + r.target + " " + status;
    if (!note.empty()) line += " " + std::string(note);
    line += "\n";
    if (verbose_) std::cerr << "fake-imds: " << line << std::flush;
    if (log_fd_ >= 0 && ::write(log_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        throw std::runtime_error(std::string("request log: ") + std::strerror(errno));
}

void Imds::note_refused(const Request& r, int code) const {
    if (verbose_) std::cerr << "fake-imds: refused " << r.method << " " << r.target << ": " << code << "\n";
}

Reply Imds::answer(const Request& r, int code, std::string body, bool truncate, Headers headers) const {
    record(r, std::to_string(code), truncate ? "truncated" : "");
    Reply out;
    out.code = code;
    out.body = std::move(body);
    out.headers = std::move(headers);
    out.truncate = truncate;
    return out;
}

Reply Imds::handle(const Request& r) {
    // A client that followed a redirect: logged as such, answered whatever the faults.
    if (r.target.starts_with(std::string(kElsewhere) + "/")) {
        record(r, "200", "followed-redirect");
        Reply out;
        out.body = "you followed a redirect";
        return out;
    }
    if (auto out = injected(r)) return *out;
    if (r.method == "PUT") return put(r);
    if (r.method == "GET" || r.method == "HEAD") return get(r);
    return answer(r, 405, error_page(405));
}

// The faults that hit a request before any IMDS logic.
std::optional<Reply> Imds::injected(const Request& r) {
    Faults& f = faults_;
    Reply out;
    if (f.hangup_left > 0) {
        --f.hangup_left;
        record(r, "-", "hangup");
        out.kind = Reply::Kind::hangup;
        return out;
    }
    if (f.garbage_left > 0) {
        --f.garbage_left;
        record(r, "-", "garbage");
        out.kind = Reply::Kind::garbage;
        out.body = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
        return out;
    }
    if (counts(f.status_left, f.status_method, r)) return answer(r, f.status_code, error_page(f.status_code));
    if (counts(f.redirect_left, f.redirect_method, r)) {
        const std::string* host = r.header("Host");
        std::string where = "http://" + (host ? *host : "169.254.169.254") + std::string(kElsewhere) + r.target;
        return answer(r, f.redirect_code, error_page(f.redirect_code), false, {{"Location", where}});
    }
    return std::nullopt;
}

Reply Imds::put(const Request& r) {
    if (r.target != kTokenPath) return answer(r, 405, error_page(405));
    // EC2 refuses token requests that went through a proxy (its defence against SSRF).
    if (r.header("X-Forwarded-For")) return answer(r, 403, error_page(403));
    const std::string* ttl_header = r.header(kTtlHeader);
    long ttl = ttl_header ? parse_ttl(*ttl_header) : 0;
    if (ttl < 1 || ttl > kMaxTtl) return answer(r, 400, error_page(400));
    std::string token = token_.empty() ? random_token() : token_;
    tokens_[token] = monotonic() + static_cast<double>(ttl);
    return answer(r, 200, token, false, {{std::string(kTtlHeader), std::to_string(ttl)}});
}

bool Imds::token_ok(const Request& r) {
    const std::string* token = r.header(kTokenHeader);
    auto it = token ? tokens_.find(*token) : tokens_.end();
    if (it == tokens_.end() || it->second < monotonic()) return false;
    ++authorized_gets_;
    if (faults_.token_expire_after && authorized_gets_ > *faults_.token_expire_after) {
        // IMDS forgot every token it issued (as after its own restart): this request gets
        // 401, a new token works. Once.
        faults_.token_expire_after.reset();
        tokens_.clear();
        return false;
    }
    return true;
}

std::optional<std::string> Imds::lookup(const std::string& key, bool dir) const {
    const Data* data = &data_;
    Data merged;
    if (!faults_.overrides.empty()) {
        merged = data_;
        for (const auto& [k, v] : faults_.overrides) {
            if (v) merged[k] = *v;
            else merged.erase(k);
        }
        data = &merged;
    }
    if (auto it = data->find(key); it != data->end() && !dir) return it->second;
    return listing(*data, key);
}

Reply Imds::get(const Request& r) {
    if (!token_ok(r)) return answer(r, 401, error_page(401));
    bool truncate = faults_.truncate_left > 0;
    if (truncate) --faults_.truncate_left;
    std::string path = r.target.substr(0, r.target.find('?'));
    for (auto v : kApiVersions)
        if (path.size() >= 11 && path.compare(1, 10, v) == 0 && (path.size() == 11 || path[11] == '/')) {
            path = "/latest" + path.substr(11);
            break;
        }
    if (path == "/") {
        std::string body;
        for (auto v : kApiVersions) body += std::string(v) + "\n";
        return answer(r, 200, body + "latest", truncate);
    }
    if (path == "/latest" || path == "/latest/") return answer(r, 200, "dynamic\nmeta-data\nuser-data", truncate);
    if (!path.starts_with("/latest/")) return answer(r, 404, error_page(404), truncate);
    std::string key = path.substr(8);
    if (auto body = lookup(strip_slashes(key), key.ends_with('/'))) return answer(r, 200, *body, truncate);
    return answer(r, 404, error_page(404), truncate);
}

}  // namespace fakeimds
