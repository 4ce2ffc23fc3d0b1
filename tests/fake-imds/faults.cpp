// SPDX-License-Identifier: Apache-2.0
// The --fault specs (README.md lists them) and the small helpers every part shares.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "fake_imds.hpp"

namespace fakeimds {

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    for (;;) {
        auto at = s.find(sep);
        out.emplace_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

// A count or a number of milliseconds: decimal digits only, no sign.
long whole(std::string_view s) {
    long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) throw std::invalid_argument("number");
    return v;
}

double seconds(std::string_view s) {
    size_t used = 0;
    double v = std::stod(std::string(s), &used);  // throws std::invalid_argument itself
    if (used != s.size() || v < 0) throw std::invalid_argument("seconds");
    return v;
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return s;
}

void parse_one(Faults& f, const std::string& spec) {
    auto colon = spec.find(':');
    std::string name = spec.substr(0, colon);
    std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
    bool has_arg = colon != std::string::npos;
    if (name == "down" && !has_arg) {
        f.down = true;
    } else if (name == "late") {
        f.late = seconds(arg);
    } else if (name == "status") {
        auto parts = split(arg, ':');
        if (parts.size() < 2 || parts.size() > 3) throw std::invalid_argument("status");
        f.status_code = static_cast<int>(whole(parts[0]));
        f.status_left = whole(parts[1]);
        f.status_method = parts.size() == 3 ? upper(parts[2]) : "";
        if (f.status_code < 100 || f.status_code > 599) throw std::invalid_argument("status");
    } else if (name == "token-expire") {
        f.token_expire_after = whole(arg);
    } else if (name == "slow") {
        f.slow_ms = whole(arg);
    } else if (name == "truncate") {
        f.truncate_left = whole(arg);
    } else if (name == "hangup") {
        f.hangup_left = whole(arg);
    } else if (name == "garbage") {
        f.garbage_left = whole(arg);
    } else if ((name == "chunked" || name == "no-length") && !has_arg) {
        f.framing = name == "chunked" ? Framing::chunked : Framing::close;
    } else if (name == "dribble") {
        f.dribble = static_cast<size_t>(whole(arg));
        if (f.dribble < 1) throw std::invalid_argument("dribble");
    } else if (name == "set" && arg.find('=') != std::string::npos) {
        auto eq = arg.find('=');
        f.overrides[strip_slashes(arg.substr(0, eq))] = arg.substr(eq + 1);
    } else if (name == "unset" && !arg.empty()) {
        f.overrides[strip_slashes(arg)] = std::nullopt;
    } else if (name == "redirect") {
        auto parts = split(arg, ':');
        if (parts.size() > 3) throw std::invalid_argument("redirect");
        f.redirect_left = whole(parts[0]);
        f.redirect_code = parts.size() > 1 ? static_cast<int>(whole(parts[1])) : 307;
        f.redirect_method = parts.size() > 2 ? upper(parts[2]) : "";
        if (f.redirect_code != 301 && f.redirect_code != 302 && f.redirect_code != 303 && f.redirect_code != 307 &&
            f.redirect_code != 308)
            throw std::invalid_argument("redirect");
    } else {
        throw std::invalid_argument("name");
    }
}

}  // namespace

Faults parse_faults(const std::vector<std::string>& specs) {
    Faults f;
    f.specs = specs;
    for (const auto& spec : specs) {
        try {
            parse_one(f, spec);
        } catch (const std::logic_error&) {  // std::invalid_argument and std::out_of_range
            throw UsageError("bad --fault '" + spec + "' (see --help)");
        }
    }
    return f;
}

std::vector<std::string> read_fault_file(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> specs;
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line.substr(0, line.find('#')));
        for (std::string w; words >> w;) specs.push_back(w);
    }
    return specs;
}

std::string strip_slashes(std::string_view s) {
    while (!s.empty() && s.front() == '/') s.remove_prefix(1);
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return std::string(s);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

double monotonic() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void write_atomically(const std::string& path, const std::string& text) {
    std::string tmp = path + "." + std::to_string(getpid()) + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int saved = errno;
    if (fd >= 0) ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) < 0)
        throw std::runtime_error(path + ": " + std::strerror(ok ? errno : saved));
}

std::string_view reason(int code) {
    switch (code) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

// The page EC2's IMDS sends with an error status.
std::string error_page(int code) {
    std::string text = std::to_string(code) + " - " + std::string(reason(code));
    return "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<html><head><title>" + text + "</title></head><body><h1>" +
           text + "</h1></body></html>\n";
}

}  // namespace fakeimds
