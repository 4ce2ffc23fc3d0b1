// SPDX-License-Identifier: Apache-2.0
// One thread, one epoll loop, non-blocking sockets. A fault that waits (slow:MS, dribble:N,
// late:S) sets a time on its connection or listener and the loop sleeps no longer than the
// nearest one: another connection is served meanwhile, as by a server with a thread each.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <set>
#include <unordered_map>

#include "fake_imds.hpp"

namespace fakeimds {

namespace {

// Bigger requests are not IMDS clients.
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kMaxBody = 1 << 20;
constexpr double kDribblePause = 0.001;  // seconds between two writes of dribble:N
constexpr int kNoFd = -1;                // no signalfd: no --fault-file

// "Mon, 23 Nov 2026 05:51:41 GMT", as every HTTP server dates its answers.
std::string http_date() {
    time_t now = time(nullptr);
    tm t{};
    gmtime_r(&now, &t);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
    return buf;
}

std::string hex(size_t n) {
    char buf[32];
    snprintf(buf, sizeof buf, "%zx", n);
    return buf;
}

// `body` in chunked transfer coding, as a server may legally send it: 7-byte chunks, each
// with a chunk extension, and a trailer.
std::string chunked(std::string_view body) {
    std::string out;
    for (size_t i = 0; i < body.size(); i += 7) {
        auto piece = body.substr(i, 7);
        out += hex(piece.size()) + ";n=" + std::to_string(i) + "\r\n" + std::string(piece) + "\r\n";
    }
    return out + "0\r\nX-Fake-Trailer: 1\r\n\r\n";
}

// The bytes of `reply` on the wire, framed as the faults say.
std::string response(const Request& r, const Reply& reply, Framing framing, bool close) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.code) + " " + std::string(reason(reply.code)) +
                      "\r\nServer: EC2ws\r\nDate: " + http_date() + "\r\nContent-Type: text/plain\r\n";
    std::string body = reply.body;
    if (framing == Framing::chunked) {
        out += "Transfer-Encoding: chunked\r\n";
        body = chunked(body);
        // cut short: the connection ends inside the chunks
        if (reply.truncate) body.resize(body.size() > 64 ? body.size() - 64 : 0);
    } else if (framing == Framing::length) {
        // A truncated answer promises more than it sends, then hangs up: what a connection
        // reset in the middle of a body looks like.
        out += "Content-Length: " + std::to_string(body.size() + (reply.truncate ? 64 : 0)) + "\r\n";
    }
    for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (r.method != "HEAD") out += body;
    return out;
}

struct Connection {
    std::string in, out;
    double wait_until = 0;     // monotonic seconds: nothing is sent before then (slow, dribble)
    bool close_after = false;  // close once `out` is sent
    bool hangup = false;       // close without a word (shutdown first, as a reset looks)
    bool peer_done = false;    // the client closed its side or the socket failed
    bool polling_out = false;  // EPOLLOUT is on: `out` waits for room in the socket
};

// Parses one request off the front of `c.in`; nullopt when none is complete. A request that
// is no HTTP gets its 4xx in `c.out` and the connection closes.
std::optional<Request> parse_one(Imds& imds, Connection& c) {
    auto head_end = c.in.find("\r\n\r\n");
    auto refuse = [&](int code) {
        Request none;
        imds.note_refused(none, code);
        Reply reply;
        reply.code = code;
        reply.body = error_page(code);
        c.out = response(none, reply, Framing::length, true);
        c.close_after = true;
        c.in.clear();
        return std::nullopt;
    };
    if (head_end == std::string::npos) {
        if (c.in.size() > kMaxHead) return refuse(431);
        return std::nullopt;
    }
    Request r;
    std::string_view head(c.in.data(), head_end);
    auto line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) return refuse(400);
    r.method = line.substr(0, sp1);
    r.target = trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
    r.version = line.substr(sp2 + 1);
    if (r.target.empty() || r.target.find(' ') != std::string::npos) return refuse(400);
    if (r.version != "HTTP/1.0" && r.version != "HTTP/1.1") return refuse(505);
    while (line_end != std::string_view::npos) {
        auto start = line_end + 2;
        line_end = head.find("\r\n", start);
        std::string_view h = head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
        auto colon = h.find(':');
        if (colon == std::string_view::npos) return refuse(400);
        r.headers.emplace_back(lower(h.substr(0, colon)), std::string(trim(h.substr(colon + 1))));
    }
    size_t length = 0;
    if (const std::string* cl = r.header("Content-Length")) length = std::strtoul(cl->c_str(), nullptr, 10);
    if (length > kMaxBody) return refuse(413);
    if (c.in.size() < head_end + 4 + length) return std::nullopt;  // the body is still coming
    c.in.erase(0, head_end + 4 + length);
    // A leading // is one /, for the answer and the log alike.
    if (r.target.starts_with("//")) r.target = "/" + r.target.substr(r.target.find_first_not_of('/'));
    return r;
}

// Takes the next request off `c.in` and puts its answer in `c.out`; false when there is none.
bool serve_one(Imds& imds, Connection& c) {
    auto r = parse_one(imds, c);
    if (!r) return false;
    static const std::set<std::string> kMethods = {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"};
    if (!kMethods.contains(r->method)) {
        // not a method IMDS knows: refused by the HTTP layer, never logged as a request
        imds.note_refused(*r, 501);
        Reply reply;
        reply.code = 501;
        reply.body = error_page(501);
        c.out = response(*r, reply, Framing::length, true);
        c.close_after = true;
        return true;
    }
    Reply reply = imds.handle(*r);  // logs first
    const Faults& f = imds.faults();
    switch (reply.kind) {
    case Reply::Kind::hangup: c.hangup = c.close_after = true; return true;
    case Reply::Kind::garbage:
        c.out = reply.body;
        c.close_after = true;
        return true;
    case Reply::Kind::answer: break;
    }
    // Keep-alive as IMDS keeps it: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive".
    const std::string* conn = r->header("Connection");
    std::string conn_type = conn ? lower(*conn) : "";
    bool close = conn_type == "close" || (r->version == "HTTP/1.0" && conn_type != "keep-alive") || reply.truncate ||
                 f.framing == Framing::close;
    c.out = response(*r, reply, f.framing, close);
    c.close_after = close;
    if (f.slow_ms > 0) c.wait_until = monotonic() + static_cast<double>(f.slow_ms) / 1000.0;
    return true;
}

void watch(int ep, int fd, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep, op, fd, &ev) < 0) throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
}

int bind_to(const std::string& addr, int& port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (int rc = getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
        throw UsageError("--bind " + addr + ": " + gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = fd >= 0 && bind(fd, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    if (!ok) throw std::runtime_error("--bind " + addr + " port " + std::to_string(port) + ": " + std::strerror(errno));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    // every address shares the first one's port (--port 0 picks it)
    port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return fd;
}

class Loop {
public:
    Loop(const Options& o, Imds& imds, std::vector<int> bound, int port)
        : o_(o), imds_(imds), ep_(epoll_create1(EPOLL_CLOEXEC)), bound_(std::move(bound)), port_(port) {
        if (ep_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    }

    [[noreturn]] void run() {
        if (!o_.fault_file.empty()) {
            // SIGHUP re-reads the fault file, between two requests: a signalfd, not a handler
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGHUP);
            sigprocmask(SIG_BLOCK, &set, nullptr);
            sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
            watch(ep_, sigfd_, EPOLLIN, EPOLL_CTL_ADD);
        }
        // down: bound, never listening; late:S: listening S seconds from now. Then the port is
        // announced while bound: connections are refused, as by a metadata service not up yet.
        if (!imds_.faults().down) listen_at_ = monotonic() + imds_.faults().late;
        if (!o_.port_file.empty() && (imds_.faults().down || imds_.faults().late)) write_port_file();
        epoll_event events[64];
        for (;;) {
            if (listen_at_ && *listen_at_ <= monotonic()) start_listening();
            int n = epoll_wait(ep_, events, 64, timeout_ms());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
            dropped_.clear();
            for (int i = 0; i < n; ++i) event(events[i].data.fd, events[i].events);
            double now = monotonic();
            for (auto it = waiting_.begin(); it != waiting_.end();) {
                int fd = *it++;
                if (conns_.at(fd).wait_until <= now) pump(fd);
            }
        }
    }

private:
    void start_listening() {
        listen_at_.reset();
        for (int fd : bound_) {
            if (listen(fd, 128) < 0) throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
            listeners_.insert(fd);
            watch(ep_, fd, EPOLLIN, EPOLL_CTL_ADD);
        }
        // only once listening: a test counting requests never sees a refused first one
        if (!o_.port_file.empty() && !imds_.faults().late) write_port_file();
    }

    // Milliseconds to the nearest time a connection or the listeners wait for; -1: none.
    int timeout_ms() const {
        std::optional<double> next = listen_at_;
        for (int fd : waiting_) {
            double t = conns_.at(fd).wait_until;
            if (!next || t < *next) next = t;
        }
        if (!next) return -1;
        // at most a week (an int of milliseconds): late:S and slow:MS take any number
        return static_cast<int>(std::clamp(std::ceil((*next - monotonic()) * 1000.0), 0.0, 604800000.0));
    }

    void event(int fd, uint32_t events) {
        if (fd == sigfd_) return reload();
        if (listeners_.contains(fd)) {
            for (int c; (c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                // Headers and body may leave in two writes (dribble, slow): without this the
                // second waits for the client's delayed ACK of the first, 40 ms on Linux,
                // which no real IMDS costs.
                int one = 1;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns_[c] = {};
                watch(ep_, c, EPOLLIN, EPOLL_CTL_ADD);
            }
            return;
        }
        // A connection closed by an earlier event of this round: its events are stale, and
        // its number may be a new connection's already, whose own events come next round.
        if (dropped_.contains(fd)) return;
        auto it = conns_.find(fd);
        if (it == conns_.end()) return;
        Connection& c = it->second;
        // A reset or failed socket gets nothing more (and would be reported again and again)
        if (events & (EPOLLHUP | EPOLLERR)) return drop(fd);
        if (events & EPOLLIN) {
            char buf[16384];
            for (;;) {
                ssize_t got = recv(fd, buf, sizeof buf, 0);
                if (got > 0) {
                    c.in.append(buf, static_cast<size_t>(got));
                    continue;
                }
                if (got < 0 && errno == EINTR) continue;
                if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return drop(fd);
                if (got == 0) {
                    // The client is done sending: what it asked is still answered, then the
                    // connection closes. Its end of file stays readable, so no more EPOLLIN,
                    // which would wake the loop for nothing until then.
                    c.peer_done = true;
                    interest(fd, c);
                }
                break;
            }
        }
        if (!waiting_.contains(fd)) pump(fd);
    }

    // Sends what is due of the connection's answer, then serves its next request: one at a
    // time, in order, as HTTP/1.1 wants.
    void pump(int fd) {
        Connection& c = conns_.at(fd);
        for (;;) {
            double now = monotonic();
            if (c.wait_until > now) return (void)waiting_.insert(fd);
            waiting_.erase(fd);
            if (!c.out.empty()) {
                size_t step = imds_.faults().dribble ? imds_.faults().dribble : c.out.size();
                ssize_t n = send(fd, c.out.data(), std::min(step, c.out.size()), MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return poll_out(fd, c, true);
                if (n < 0) return drop(fd);
                c.out.erase(0, static_cast<size_t>(n));
                if (imds_.faults().dribble && !c.out.empty()) c.wait_until = now + kDribblePause;
                continue;
            }
            poll_out(fd, c, false);
            if (c.close_after) {
                if (c.hangup) shutdown(fd, SHUT_RDWR);
                return drop(fd);
            }
            if (!serve_one(imds_, c)) {
                if (c.peer_done) drop(fd);
                return;
            }
        }
    }

    void poll_out(int fd, Connection& c, bool on) {
        if (c.polling_out == on) return;
        c.polling_out = on;
        interest(fd, c);
    }

    void interest(int fd, const Connection& c) {
        uint32_t events = (c.peer_done ? 0u : uint32_t{EPOLLIN}) | (c.polling_out ? uint32_t{EPOLLOUT} : 0u);
        watch(ep_, fd, events, EPOLL_CTL_MOD);
    }

    void drop(int fd) {
        close(fd);  // also takes it out of the epoll set
        dropped_.insert(fd);
        conns_.erase(fd);
        waiting_.erase(fd);
    }

    // SIGHUP: the fault file's faults replace the current ones, or FILE.applied says why not.
    void reload() {
        signalfd_siginfo si;
        while (read(sigfd_, &si, sizeof si) == sizeof si) {
        }
        std::string result;
        try {
            auto specs = read_fault_file(o_.fault_file);
            for (const auto& s : specs)
                if (s == "down" || s.starts_with("late:"))
                    throw UsageError("fake-imds: down and late apply at start only");
            imds_.replace_faults(parse_faults(specs));
            result = "applied:";
            for (const auto& s : specs) result += " " + s;
        } catch (const UsageError& e) {
            result = std::string("error: ") + e.what();
        }
        write_atomically(o_.fault_file + ".applied", result + "\n");
    }

    void write_port_file() { write_atomically(o_.port_file, std::to_string(port_) + "\n"); }

    const Options& o_;
    Imds& imds_;
    int ep_;
    std::vector<int> bound_;
    int port_;
    int sigfd_ = kNoFd;
    std::set<int> listeners_;
    std::optional<double> listen_at_;
    std::unordered_map<int, Connection> conns_;
    std::set<int> waiting_;  // connections with a wait_until still to come
    std::set<int> dropped_;  // connections closed since the last epoll_wait
};

}  // namespace

void serve(const Options& o, Imds& imds) {
    std::vector<int> bound;
    int port = o.port;
    for (const auto& addr : o.binds) bound.push_back(bind_to(addr, port));
    Loop(o, imds, std::move(bound), port).run();
}

}  // namespace fakeimds
