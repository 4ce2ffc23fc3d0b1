// SPDX-License-Identifier: Apache-2.0
// The join benchmark's fake IMDS (issue 19): the answers and request log of
// tests/fake-imds/fake_imds.py without its cost. The Python fake takes ~3 ms a
// round trip, which the benchmark would charge to eks-node-imds; EC2's IMDS
// answers in well under a millisecond, and so does this one. No fault
// injection: the process tests keep fake_imds.py for that, and
// tests/process/fast_imds.py holds the two to the same answers.
//
//   fast-imds [--port N] [--bind ADDR]... [--data FILE] [--user-data FILE]
//             [--log FILE] [--port-file FILE] [--token TOKEN]
//
// One thread, one epoll loop, non-blocking sockets: a request is answered as
// soon as its last byte is read, on a connection kept alive like IMDS keeps it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace {

// The constants of fake_imds.py, which says why each is what it is.
constexpr long kMaxTtl = 21600;
constexpr std::string_view kTokenPath = "/latest/api/token";
constexpr std::string_view kApiVersions[] = {"2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23", "2021-07-15"};
constexpr std::string_view kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr std::string_view kTokenHeader = "X-aws-ec2-metadata-token";
// Bigger requests are not IMDS clients; fake_imds.py drains at most 1 MiB too.
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 1 << 20;

[[noreturn]] void usage_error(const std::string& msg) {
    fmt::print(stderr, "fast-imds: {}\n", msg);
    std::exit(2);
}

[[noreturn]] void fail(const std::string& msg) {
    fmt::print(stderr, "fast-imds: {}\n", msg);
    std::exit(1);
}

struct Options {
    int port = 80;
    std::vector<std::string> binds;
    std::string data, user_data, log, port_file, token;
};

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            fmt::print(
                "usage: fast-imds [--port N] [--bind ADDR]... [--data FILE] [--user-data FILE] [--log FILE]\n"
                "                 [--port-file FILE] [--token TOKEN]\n"
                "fake_imds.py's answers and request log, without its fault injection (tests/bench/README.md)\n");
            std::exit(0);
        }
        // argparse's two spellings: --name VALUE and --name=VALUE
        std::string name = arg, value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            usage_error(fmt::format("{}: missing value or unknown option", arg));
        }
        if (name == "--port") {
            size_t end = 0;
            try {
                o.port = std::stoi(value, &end);
            } catch (const std::exception&) {
                end = 0;
            }
            if (end == 0 || end != value.size() || o.port < 0 || o.port > 65535)
                usage_error("--port: not a port: " + value);
        } else if (name == "--bind") {
            o.binds.push_back(value);
        } else if (name == "--data") {
            o.data = value;
        } else if (name == "--user-data") {
            o.user_data = value;
        } else if (name == "--log") {
            o.log = value;
        } else if (name == "--port-file") {
            o.port_file = value;
        } else if (name == "--token") {
            if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
                usage_error("--token must be visible ASCII");
            o.token = value;
        } else {
            usage_error(fmt::format("unknown option {} (fault injection is fake_imds.py's)", name));
        }
    }
    if (o.binds.empty()) o.binds.emplace_back("127.0.0.1");
    return o;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(fmt::format("{}: {}", path, std::strerror(errno)));
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string strip_slashes(std::string_view s) {
    while (!s.empty() && s.front() == '/') s.remove_prefix(1);
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return std::string(s);
}

// A value as fake_imds.py's render() serves it: strings as they are, objects
// and arrays as Python's json.dumps(indent=2) writes them (ASCII only, keys in
// file order), other scalars as Python's str() does.
std::string render(const nlohmann::ordered_json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_null()) return "None";
    if (v.is_structured()) return v.dump(2, ' ', true);
    return v.dump();
}

// Paths under /latest/ -> the bytes served there, as fake_imds.py's load_data().
std::map<std::string, std::string> load_data(const Options& o) {
    std::map<std::string, std::string> data;
    if (!o.data.empty()) {
        nlohmann::ordered_json raw;
        try {
            raw = nlohmann::ordered_json::parse(read_file(o.data));
        } catch (const nlohmann::json::exception& e) {
            fail(fmt::format("{}: {}", o.data, e.what()));
        }
        if (!raw.is_object()) fail(o.data + ": not a JSON object");
        for (const auto& [key, value] : raw.items()) {
            if (key.starts_with("_")) continue;  // _comment and friends
            data[strip_slashes(key)] = render(value);
        }
    }
    if (!o.user_data.empty()) data["user-data"] = read_file(o.user_data);
    return data;
}

// A directory listing as IMDS serves it: one entry per line, sorted,
// sub-directories with a trailing slash. nullopt: no such directory.
std::optional<std::string> listing(const std::map<std::string, std::string>& data, const std::string& prefix) {
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

std::string_view reason(int code) {
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

std::string error_page(int code) {
    std::string text = fmt::format("{} - {}", code, reason(code));
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<html><head><title>{0}</title></head>"
        "<body><h1>{0}</h1></body></html>\n",
        text);
}

// secrets.token_urlsafe(42), as fake_imds.py issues: 56 characters of base64url.
std::string random_token() {
    unsigned char raw[42];
    for (size_t got = 0; got < sizeof raw;) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR) fail(fmt::format("getrandom: {}", std::strerror(errno)));
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

double monotonic() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// The TTL header as Python's int() reads it (spaces, a sign, `_` between
// digits); 0 when it is no number, which the range check then refuses.
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

struct Request {
    std::string method, target, version;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

    // The first one of that name, as Python's headers.get().
    const std::string* header(std::string_view name) const {
        std::string want = lower(name);
        for (const auto& [n, v] : headers)
            if (n == want) return &v;
        return nullptr;
    }
};

struct Answer {
    using Headers = std::vector<std::pair<std::string, std::string>>;
    Answer(int code_, std::string body_, Headers headers_ = {}, bool log_ = true)
        : code(code_), body(std::move(body_)), headers(std::move(headers_)), log(log_) {}
    int code;
    std::string body;
    Headers headers;
    bool log;  // protocol errors are not IMDS answers: fake_imds.py does not log them
};

class Imds {
public:
    Imds(std::map<std::string, std::string> data, int log_fd, std::string token)
        : data_(std::move(data)), log_fd_(log_fd), token_(std::move(token)) {}

    Answer answer(const Request& r) {
        if (r.method == "PUT") return put(r);
        if (r.method == "GET" || r.method == "HEAD") return get(r);
        if (r.method == "POST" || r.method == "DELETE" || r.method == "PATCH" || r.method == "OPTIONS")
            return {405, error_page(405)};
        return {501, error_page(501), {}, false};
    }

    // fake_imds.py's line: METHOD PATH STATUS, written before the answer so
    // that a client holding the answer finds its line in the log.
    void record(const Request& r, int code) const {
        if (log_fd_ < 0) return;
        std::string line = fmt::format("{} {} {}\n", r.method, r.target, code);
        if (write(log_fd_, line.data(), line.size()) < 0) fail(fmt::format("log: {}", std::strerror(errno)));
    }

private:
    Answer put(const Request& r) {
        if (r.target != kTokenPath) return {405, error_page(405)};
        // EC2 refuses token requests that went through a proxy (SSRF defence).
        if (r.header("X-Forwarded-For")) return {403, error_page(403)};
        const std::string* ttl_header = r.header(kTtlHeader);
        long ttl = ttl_header ? parse_ttl(*ttl_header) : 0;
        if (ttl < 1 || ttl > kMaxTtl) return {400, error_page(400)};
        std::string token = token_.empty() ? random_token() : token_;
        tokens_[token] = monotonic() + static_cast<double>(ttl);
        return {200, token, {{std::string(kTtlHeader), std::to_string(ttl)}}};
    }

    bool token_ok(const Request& r) const {
        const std::string* token = r.header(kTokenHeader);
        if (!token) return false;
        auto it = tokens_.find(*token);
        return it != tokens_.end() && it->second >= monotonic();
    }

    Answer get(const Request& r) const {
        if (!token_ok(r)) return {401, error_page(401)};
        std::string path = r.target.substr(0, r.target.find('?'));
        // Dated API versions serve what /latest/ does.
        for (auto v : kApiVersions)
            if (path.size() >= 11 && path.compare(1, 10, v) == 0 && (path.size() == 11 || path[11] == '/')) {
                path = "/latest" + path.substr(11);
                break;
            }
        if (path == "/") {
            std::string body;
            for (auto v : kApiVersions) body += std::string(v) + "\n";
            return {200, body + "latest"};
        }
        if (path == "/latest" || path == "/latest/") return {200, "dynamic\nmeta-data\nuser-data"};
        if (!path.starts_with("/latest/")) return {404, error_page(404)};
        std::string key = path.substr(8), stripped = strip_slashes(key);
        if (auto it = data_.find(stripped); it != data_.end() && !key.ends_with('/')) return {200, it->second};
        if (auto body = listing(data_, stripped)) return {200, *body};
        return {404, error_page(404)};
    }

    std::map<std::string, std::string> data_;
    int log_fd_;
    std::string token_;                               // empty: a fresh random token per PUT
    std::unordered_map<std::string, double> tokens_;  // token -> expiry (monotonic())
};

// "Mon, 23 Nov 2026 05:51:41 GMT", as http.server's Date header.
std::string http_date() {
    time_t now = time(nullptr);
    tm t{};
    gmtime_r(&now, &t);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
    return buf;
}

std::string response(const Request& r, const Answer& a, bool close) {
    std::string out =
        fmt::format("HTTP/1.1 {} {}\r\nServer: EC2ws\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
                    a.code, reason(a.code), http_date(), a.body.size());
    for (const auto& [name, value] : a.headers) out += fmt::format("{}: {}\r\n", name, value);
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (r.method != "HEAD") out += a.body;
    return out;
}

struct Connection {
    std::string in, out;
    bool closing = false;      // close once `out` is sent
    bool polling_out = false;  // EPOLLOUT is on: `out` waits for room in the socket
};

// Parses one request off the front of `in` and appends its response to `out`.
// False when `in` holds no complete request yet.
bool serve_one(Imds& imds, Connection& c) {
    auto head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        if (c.in.size() > kMaxHead) {
            c.out += response({}, {431, error_page(431)}, true);
            c.closing = true;
        }
        return false;
    }
    Request r;
    std::string_view head(c.in.data(), head_end);
    auto line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    bool bad = sp1 == std::string_view::npos || sp1 == sp2;
    if (!bad) {
        r.method = line.substr(0, sp1);
        r.target = trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
        r.version = line.substr(sp2 + 1);
        bad = r.target.empty() || r.target.find(' ') != std::string::npos ||
              (r.version != "HTTP/1.0" && r.version != "HTTP/1.1");
    }
    while (!bad && line_end != std::string_view::npos) {
        auto start = line_end + 2;
        line_end = head.find("\r\n", start);
        std::string_view h = head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
        auto colon = h.find(':');
        if (colon == std::string_view::npos) {
            bad = true;
            break;
        }
        r.headers.emplace_back(lower(h.substr(0, colon)), std::string(trim(h.substr(colon + 1))));
    }
    if (bad) {
        c.out += response({}, {400, error_page(400)}, true);
        c.closing = true;
        return false;
    }
    size_t length = 0;
    if (const std::string* cl = r.header("Content-Length")) length = std::strtoul(cl->c_str(), nullptr, 10);
    if (length > kMaxBody) {
        c.out += response(r, {413, error_page(413)}, true);
        c.closing = true;
        return false;
    }
    if (c.in.size() < head_end + 4 + length) return false;
    c.in.erase(0, head_end + 4 + length);
    // http.server reduces a leading // to /, and logs it so reduced.
    if (r.target.starts_with("//")) r.target = "/" + r.target.substr(r.target.find_first_not_of('/'));
    // Keep-alive as http.server decides it: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive".
    const std::string* conn = r.header("Connection");
    std::string conn_type = conn ? lower(*conn) : "";
    bool close = conn_type == "close" || (r.version == "HTTP/1.0" && conn_type != "keep-alive");
    Answer a = imds.answer(r);
    if (a.log) imds.record(r, a.code);
    // http.server's own error pages (unsupported method) say Connection: close, and close
    c.out += response(r, a, !a.log);
    c.closing = c.closing || close || !a.log;
    return !c.closing;
}

int listen_on(const std::string& addr, int& port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (int rc = getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
        fail(fmt::format("--bind {}: {}", addr, gai_strerror(rc)));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0)
        fail(fmt::format("--bind {} port {}: {}", addr, port, std::strerror(errno)));
    freeaddrinfo(res);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    // every address shares the first one's port (--port 0 picks it)
    port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return fd;
}

void write_port_file(const std::string& path, int port) {
    std::string tmp = fmt::format("{}.{}.tmp", path, getpid());
    {
        std::ofstream f(tmp);
        f << port << "\n";
        if (!f.flush()) fail(fmt::format("{}: {}", tmp, std::strerror(errno)));
    }
    // readers never see a half-written port
    if (rename(tmp.c_str(), path.c_str()) < 0) fail(fmt::format("{}: {}", path, std::strerror(errno)));
}

void watch(int ep, int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep, op, fd, &ev) < 0) fail(fmt::format("epoll_ctl: {}", std::strerror(errno)));
}

// Sends what it can of `c.out`; false once the connection is done with.
bool flush(int ep, int fd, Connection& c) {
    while (!c.out.empty()) {
        ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.polling_out) watch(ep, fd, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
            c.polling_out = true;
            return true;
        }
        if (n < 0) return false;
        c.out.erase(0, static_cast<size_t>(n));
    }
    if (c.polling_out) watch(ep, fd, EPOLLIN, EPOLL_CTL_MOD);
    c.polling_out = false;
    return !c.closing;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    auto data = load_data(o);
    int log_fd = -1;
    if (!o.log.empty()) {
        log_fd = open(o.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (log_fd < 0) fail(fmt::format("{}: {}", o.log, std::strerror(errno)));
    }
    Imds imds(std::move(data), log_fd, o.token);
    // SIGTERM (systemd, tests) ends the process at once with 0, as fake_imds.py's.
    std::signal(SIGTERM, [](int) { _exit(0); });

    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::set<int> listeners;
    int port = o.port;
    for (const auto& addr : o.binds) {
        int fd = listen_on(addr, port);
        listeners.insert(fd);
        watch(ep, fd, EPOLLIN, EPOLL_CTL_ADD);
    }
    // only once listening: a test counting requests never sees a refused first one
    if (!o.port_file.empty()) write_port_file(o.port_file, port);

    std::unordered_map<int, Connection> conns;
    epoll_event events[64];
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, events, 64, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(fmt::format("epoll_wait: {}", std::strerror(errno)));
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (listeners.contains(fd)) {
                for (int c; (c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    // headers and body go in one send anyway; no waiting for a delayed ACK
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = {};
                    watch(ep, c, EPOLLIN, EPOLL_CTL_ADD);
                }
                continue;
            }
            Connection& c = conns[fd];
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t got = recv(fd, buf, sizeof buf, 0);
                    if (got > 0) {
                        c.in.append(buf, static_cast<size_t>(got));
                        continue;
                    }
                    if (got < 0 && errno == EINTR) continue;
                    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.closing = true;
                    break;
                }
                while (serve_one(imds, c)) {
                }
            }
            if (!flush(ep, fd, c)) {
                close(fd);
                conns.erase(fd);
            }
        }
    }
}
