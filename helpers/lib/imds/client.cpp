// SPDX-License-Identifier: Apache-2.0
// The IMDSv2 client: one poll() loop drives every request of a fetch, each on
// its own non-blocking socket speaking the HTTP/1.1 of core/http.hpp.
//
// Round trips, in order:
//   1. PUT api/token, raced against every endpoint; the first 200 wins and
//      the losers are dropped. The race is staggered as in Happy Eyeballs
//      (RFC 8305): each endpoint starts when the one before it has failed, or
//      ImdsOptions::stagger (50 ms) after it, whichever is first. A healthy
//      instance thus always settles on the first endpoint (IPv4 by default)
//      with one PUT, and a re-run writes a byte-identical instance.json
//      (imdsEndpoint included) instead of whichever endpoint won a coin toss.
//   2. Every path of first_round, concurrently, with that token.
//   3. The per-MAC paths, started the moment meta-data/mac answers (they need
//      the MAC), so they overlap with the rest of round 2.
// On a healthy IMDS that is 1 + 16 + 3 = 20 requests in three round trips.
//
// Failures: a transport error, a timeout, 5xx, 429, a malformed or truncated
// answer retries that one request after a full-jitter backoff; a 401 fetches
// one fresh token (shared by every request that saw the 401) and retries
// once; a 404 is an absent value. Everything stops at the overall deadline.
// There is no proxy support to turn off: IMDS is link-local, and a proxy from
// the environment (http_proxy, set for the node's own traffic) must never see
// it or its token.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/http.hpp"
#include "core/log.hpp"
#include "core/telemetry.hpp"
#include "core/version.hpp"
#include "imds/detail.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"

namespace eksnode::imds {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace d = detail;

// A metadata value is a few bytes; anything near this is not IMDS talking.
constexpr size_t metadata_cap = 64 * 1024;
// EC2 allows 16 KiB of user data today; 1 MiB leaves room for other EC2-like
// metadata services and future limits without letting a bad peer fill /run.
constexpr size_t user_data_cap = 1024 * 1024 + 64 * 1024;
// A token is ~56 printable characters; refuse anything that is not.
constexpr size_t token_cap = 4096;
// IMDS answers a token request in about a millisecond; an endpoint silent for
// this long is likely unreachable (dropped SYNs), so the next one starts.
// The time a last attempt gets before the deadline: IMDS is a link away.
constexpr milliseconds final_attempt{100};

constexpr std::string_view token_header = "X-aws-ec2-metadata-token";
constexpr std::string_view ttl_header = "X-aws-ec2-metadata-token-ttl-seconds";

std::string seconds(Clock::duration d) { return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count()); }

std::string_view reason(int code) {
    switch (code) {
    case 400: return " Bad Request";
    case 401: return " Unauthorized";
    case 403: return " Forbidden";
    case 404: return " Not Found";
    case 405: return " Method Not Allowed";
    case 429: return " Too Many Requests";
    case 500: return " Internal Server Error";
    case 502: return " Bad Gateway";
    case 503: return " Service Unavailable";
    case 504: return " Gateway Timeout";
    default: return "";
    }
}

std::string http_text(int code) { return fmt::format("HTTP {}{}", code, reason(code)); }

// IMDS answers 503 or 429 while it is starting or throttling us, and 5xx is
// never a final answer.
bool retryable_status(int code) { return code == 429 || code >= 500; }

std::string errno_text(std::string_view call, int err) { return fmt::format("{}: {}", call, std::strerror(err)); }

enum class Kind { race_token, refresh_token, get };
enum class State { waiting, running, parked, done };
// Where a running attempt is, for the message when it times out.
enum class Phase { connecting, sending, receiving };

struct Transfer {
    Kind kind;
    std::string path;  // under /latest/
    size_t endpoint;   // index into ImdsOptions::endpoints
    bool required = false;
    size_t cap = metadata_cap;
    std::string body;  // of the last complete answer
    State state = State::waiting;
    Clock::time_point start_at{};
    int attempts = 0;   // started
    int failures = 0;   // retryable failures, drives the backoff
    int token_gen = 0;  // token generation the last attempt carried
    bool retried_after_401 = false;
    std::string last;  // what happened last, for the give-up message

    // The attempt in flight, while state is running.
    int fd = -1;
    Phase phase = Phase::connecting;
    std::string request;
    size_t sent = 0;
    std::optional<http::ResponseParser> response;
    Clock::time_point started{}, timeout_at{};

    Transfer(Kind k, std::string p, size_t ep) : kind(k), path(std::move(p)), endpoint(ep) {}
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() { close_socket(); }

    void close_socket() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

class Fetcher {
public:
    // `paths`: what to GET once there is a token; empty means instance.json's.
    // `then`: more paths to GET, on the same token, from an answer.
    explicit Fetcher(const ImdsOptions& opts, std::vector<std::string> paths = {}, FollowUp then = {});

    ImdsResult run();
    d::Fetched run_paths();

private:
    Transfer& add(Kind kind, std::string path, size_t endpoint);
    void start(Transfer& t, Clock::time_point now);
    void progress(Transfer& t, short revents);
    void send_request(Transfer& t);
    void receive(Transfer& t);
    void fail(Transfer& t, std::string what);
    void stop(Transfer& t);
    void next_in_race(Transfer& failed);
    void finish(Transfer& t, int code);
    void finish_race_token(Transfer& t, int code);
    void finish_refresh_token(Transfer& t, int code);
    void finish_get(Transfer& t, int code);
    void accept_token(Transfer& t);
    void retry(Transfer& t, std::string what);
    [[noreturn]] void give_up_race();
    void drive();
    const std::string& endpoint_of(const Transfer& t) const { return opts_.endpoints[t.endpoint]; }
    bool complete() const { return winner_ && outstanding_ == 0 && !refreshing_; }
    Clock::duration elapsed() const { return Clock::now() - start_; }

    const ImdsOptions& opts_;
    std::vector<std::string> paths_;
    FollowUp then_;
    std::vector<http::HttpEndpoint> endpoints_;  // parsed opts_.endpoints
    std::string user_agent_;
    std::string ttl_;
    std::vector<std::unique_ptr<Transfer>> transfers_;
    Clock::time_point start_{}, deadline_{};
    std::optional<size_t> winner_;
    std::string token_;
    int token_gen_ = 0;
    bool refreshing_ = false;
    int outstanding_ = 0;  // GETs not yet done
    int requests_ = 0;
    int retries_ = 0;
    std::string last_retry_;
    WaitNotice notice_;
    d::Fetched values_;
};

Fetcher::Fetcher(const ImdsOptions& opts, std::vector<std::string> paths, FollowUp then)
    : opts_(opts),
      paths_(std::move(paths)),
      then_(std::move(then)),
      user_agent_(fmt::format("eks-node/{} (imds)", ::eksnode::version)),
      ttl_(std::to_string(opts.token_ttl_seconds)) {
    if (opts_.endpoints.empty()) throw Error("no IMDS endpoint configured");
    for (const std::string& url : opts_.endpoints) {
        std::string problem;
        std::optional<http::HttpEndpoint> ep = http::parse_endpoint(url, problem);
        if (!ep) throw Error(fmt::format("IMDS endpoint {} {}", url, problem));
        endpoints_.push_back(std::move(*ep));
    }
}

Transfer& Fetcher::add(Kind kind, std::string path, size_t endpoint) {
    auto t = std::make_unique<Transfer>(kind, std::move(path), endpoint);
    if (kind == Kind::get) {
        if (t->path == d::p::user_data) t->cap = user_data_cap;
        ++outstanding_;
    } else {
        t->cap = token_cap;
    }
    t->start_at = Clock::now();
    transfers_.push_back(std::move(t));
    return *transfers_.back();
}

void Fetcher::start(Transfer& t, Clock::time_point now) {
    const http::HttpEndpoint& ep = endpoints_[t.endpoint];
    const std::string target = fmt::format("/latest/{}", t.path);
    if (t.kind == Kind::get) {
        t.request = http::format_request("GET", ep, target, user_agent_, {{token_header, token_}});
        t.token_gen = token_gen_;
    } else {
        t.request = http::format_request("PUT", ep, target, user_agent_, {{ttl_header, ttl_}});
    }
    t.sent = 0;
    t.response.emplace(t.cap);
    t.state = State::running;
    t.phase = Phase::connecting;
    t.started = now;
    // Never let one attempt run past the overall deadline.
    t.timeout_at = now + std::clamp(std::chrono::duration_cast<milliseconds>(deadline_ - now), milliseconds{1},
                                    opts_.request_timeout);
    ++t.attempts;
    ++requests_;

    t.fd = ::socket(ep.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t.fd < 0) return fail(t, errno_text("socket", errno));
    if (::connect(t.fd, reinterpret_cast<const sockaddr*>(&ep.address), ep.address_size) == 0) return send_request(t);
    // EINPROGRESS: poll() reports the outcome.
    if (errno != EINPROGRESS) return fail(t, errno_text("connect", errno));
}

void Fetcher::progress(Transfer& t, short revents) {
    if (t.phase == Phase::connecting) {
        int err = 0;
        socklen_t size = sizeof err;
        if (::getsockopt(t.fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = errno;
        if (err != 0) return fail(t, errno_text("connect", err));
        if (!(revents & POLLOUT)) return;
        return send_request(t);
    }
    if (t.phase == Phase::sending) return send_request(t);
    receive(t);
}

void Fetcher::send_request(Transfer& t) {
    t.phase = Phase::sending;
    while (t.sent < t.request.size()) {
        // MSG_NOSIGNAL: a peer that hung up is a failed attempt, not SIGPIPE.
        ssize_t n = ::send(t.fd, t.request.data() + t.sent, t.request.size() - t.sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            return fail(t, errno_text("send", errno));
        }
        t.sent += static_cast<size_t>(n);
    }
    t.phase = Phase::receiving;
}

void Fetcher::receive(Transfer& t) {
    http::ResponseParser& response = *t.response;
    char buf[16 * 1024];
    for (;;) {
        ssize_t n = ::recv(t.fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            return fail(t, errno_text("recv", errno));
        }
        auto result = n == 0 ? response.eof() : response.feed({buf, static_cast<size_t>(n)});
        if (result == http::ResponseParser::Result::more) continue;
        if (result == http::ResponseParser::Result::error) {
            if (response.too_big())
                throw Error(fmt::format("IMDS at {}: {}: {}; refusing it", endpoint_of(t), t.path, response.problem()));
            return fail(t, response.problem());
        }
        const int code = response.status();
        t.body = std::move(response.body());
        t.close_socket();
        t.response.reset();
        t.state = State::waiting;
        return finish(t, code);
    }
}

// A failed attempt: the connection goes, the request is retried.
void Fetcher::fail(Transfer& t, std::string what) {
    // counted when it ends, answered (finish) or not (here): a loser of the
    // token race, dropped when another endpoint answered, is not a request
    // the step made (core/telemetry.hpp)
    telemetry::count_request("imds", t.attempts > 1);
    t.close_socket();
    t.response.reset();
    t.state = State::waiting;
    retry(t, std::move(what));
}

void Fetcher::next_in_race(Transfer& failed) {
    // Endpoint i failing starts endpoint i + 1 at once; the stagger only
    // applies while the one before is silent.
    for (auto& t : transfers_) {
        if (t->kind != Kind::race_token || t->endpoint != failed.endpoint + 1) continue;
        if (t->attempts == 0) t->start_at = std::min(t->start_at, Clock::now());
        return;
    }
}

void Fetcher::stop(Transfer& t) {
    t.close_socket();
    t.response.reset();
    t.state = State::done;
}

ImdsResult Fetcher::run() {
    drive();
    ImdsResult r;
    r.instance = d::assemble_instance(values_, opts_.endpoints[*winner_]);
    if (auto it = values_.find(d::p::user_data); it != values_.end()) r.user_data = std::move(it->second);
    r.requests = requests_;
    return r;
}

d::Fetched Fetcher::run_paths() {
    drive();
    return std::move(values_);
}

void Fetcher::drive() {
    start_ = Clock::now();
    deadline_ = start_ + opts_.deadline;
    notice_ = WaitNotice(start_, deadline_);
    for (size_t i = 0; i < opts_.endpoints.size(); ++i)
        add(Kind::race_token, std::string(d::p::token), i).start_at = start_ + opts_.stagger * static_cast<int>(i);

    // Terminates by the deadline: every attempt times out by then, and a
    // failure past the last start time throws (retry()).
    std::vector<pollfd> fds;
    std::vector<Transfer*> polled;
    while (!complete()) {
        Clock::time_point now = Clock::now();
        for (auto& t : transfers_)  // start() never adds to transfers_
            if (t->state == State::waiting && t->start_at <= now) start(*t, now);

        // Sleep until a socket is ready, an attempt times out or a retry is due.
        fds.clear();
        polled.clear();
        Clock::time_point wake = now + std::chrono::seconds(1);
        for (auto& t : transfers_) {
            if (t->state == State::waiting) wake = std::min(wake, t->start_at);
            if (t->state != State::running) continue;
            wake = std::min(wake, t->timeout_at);
            fds.push_back({t->fd, static_cast<short>(t->phase == Phase::receiving ? POLLIN : POLLOUT), 0});
            polled.push_back(t.get());
        }
        int wait_ms = wake <= now ? 0 : static_cast<int>(std::chrono::ceil<milliseconds>(wake - now).count());
        if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) throw Error(errno_text("poll", errno));
        for (size_t i = 0; i < fds.size(); ++i) {
            // An answer handled earlier in this pass may have stopped this
            // transfer (a loser of the race).
            if (fds[i].revents != 0 && polled[i]->state == State::running) progress(*polled[i], fds[i].revents);
        }

        now = Clock::now();
        for (auto& t : transfers_) {  // fail() never adds to transfers_
            if (t->state != State::running || now < t->timeout_at) continue;
            std::string_view where = t->phase == Phase::connecting ? "connecting"
                                     : t->phase == Phase::sending  ? "sending the request"
                                     : t->response->empty()        ? "waiting for the answer"
                                                                   : "reading the answer";
            fail(*t, fmt::format("timed out after {} ms {}",
                                 std::chrono::duration_cast<milliseconds>(now - t->started).count(), where));
        }
    }

    if (retries_ > 0)
        log::info("IMDS at {} answered after {} retr{} in {} (last: {})", opts_.endpoints[*winner_], retries_,
                  retries_ == 1 ? "y" : "ies", seconds(elapsed()), last_retry_);
}

void Fetcher::finish(Transfer& t, int code) {
    telemetry::count_request("imds", t.attempts > 1);
    switch (t.kind) {
    case Kind::race_token: return finish_race_token(t, code);
    case Kind::refresh_token: return finish_refresh_token(t, code);
    case Kind::get: return finish_get(t, code);
    }
}

void Fetcher::accept_token(Transfer& t) {
    // The token goes into a header line of every request: nothing but
    // visible ASCII may pass.
    bool printable =
        !t.body.empty() && std::all_of(t.body.begin(), t.body.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (!printable)
        throw Error(fmt::format("IMDS at {}: {}: the session token is empty or not printable", endpoint_of(t), t.path));
    token_ = std::move(t.body);
    ++token_gen_;
    t.state = State::done;
}

void Fetcher::finish_race_token(Transfer& t, int code) {
    if (code == 200) {
        accept_token(t);
        winner_ = t.endpoint;
        // The losers may still be connecting; nothing of theirs is needed.
        for (auto& other : transfers_)
            if (other->kind == Kind::race_token && other.get() != &t) stop(*other);
        if (opts_.endpoints.size() > 1) log::debug("IMDS: {} answered first", endpoint_of(t));
        if (!paths_.empty()) {
            for (const std::string& path : paths_) add(Kind::get, path, t.endpoint);
            return;
        }
        for (const d::MetadataPath& mp : d::first_round)
            add(Kind::get, std::string(mp.path), t.endpoint).required = mp.required;
        return;
    }
    if (retryable_status(code)) return retry(t, http_text(code));
    if (code == 403)
        // The documented answer when the instance's metadata options say
        // HttpEndpoint=disabled: waiting does not help, and the other
        // endpoint belongs to the same switched-off service.
        throw Error(
            fmt::format("IMDS at {} refused a session token ({}): the instance metadata service is "
                        "turned off for this instance (aws ec2 modify-instance-metadata-options "
                        "--http-endpoint enabled)",
                        endpoint_of(t), http_text(code)));
    // Not an IMDSv2 endpoint (or a bug of ours, 400); another endpoint may do.
    t.last = http_text(code);
    t.state = State::done;
    next_in_race(t);
    bool others = std::any_of(transfers_.begin(), transfers_.end(),
                              [](const auto& o) { return o->kind == Kind::race_token && o->state != State::done; });
    if (!others) give_up_race();
}

void Fetcher::finish_refresh_token(Transfer& t, int code) {
    if (code == 200) {
        accept_token(t);
        refreshing_ = false;
        for (auto& other : transfers_) {
            if (other->state != State::parked) continue;
            other->state = State::waiting;
            other->start_at = Clock::now();
        }
        return;
    }
    if (retryable_status(code)) return retry(t, http_text(code));
    throw Error(
        fmt::format("IMDS at {}: {}: {} while renewing the session token", endpoint_of(t), t.path, http_text(code)));
}

void Fetcher::finish_get(Transfer& t, int code) {
    if (code == 200 || code == 404) {
        if (code == 404 && t.required)
            throw Error(fmt::format("IMDS at {} has no {} ({}); eks-node cannot identify the instance without it",
                                    endpoint_of(t), t.path, http_text(code)));
        if (code == 200 && t.path == d::p::mac) {
            std::string_view mac = t.body;
            while (!mac.empty() && (mac.back() == '\n' || mac.back() == '\r' || mac.back() == ' '))
                mac.remove_suffix(1);
            // It goes into the next paths: checked now, and bad instance data
            // (exit 6) like any other malformed value, never retried.
            if (std::string problem = value::mac(mac); !problem.empty())
                throw ConfigError(fmt::format("IMDS {}", t.path), "", problem);
            for (std::string_view leaf : d::mac_leaves) add(Kind::get, d::mac_path(mac, leaf), t.endpoint);
        }
        if (then_) {
            const std::optional<std::string> answer = code == 200 ? std::optional<std::string>(t.body) : std::nullopt;
            for (std::string& next : then_(t.path, answer)) add(Kind::get, std::move(next), t.endpoint);
        }
        if (code == 200) values_.insert_or_assign(t.path, std::move(t.body));
        else values_.insert_or_assign(t.path, std::nullopt);
        t.state = State::done;
        --outstanding_;
        return;
    }
    if (code == 401) {
        // Our token expired or IMDS restarted. One fresh token serves every
        // request that saw the 401; a request refused twice is not a token
        // problem, and retrying it would only hide what is wrong.
        if (t.retried_after_401)
            throw Error(fmt::format("IMDS at {}: {}: {} even with a freshly issued session token", endpoint_of(t),
                                    t.path, http_text(code)));
        t.retried_after_401 = true;
        if (t.token_gen < token_gen_) {
            t.start_at = Clock::now();  // already renewed by another request
            return;
        }
        t.state = State::parked;
        if (!refreshing_) {
            refreshing_ = true;
            add(Kind::refresh_token, std::string(d::p::token), t.endpoint);
        }
        return;
    }
    if (retryable_status(code)) return retry(t, http_text(code));
    throw Error(fmt::format("IMDS at {}: {}: unexpected {}", endpoint_of(t), t.path, http_text(code)));
}

void Fetcher::retry(Transfer& t, std::string what) {
    if (t.kind == Kind::race_token) next_in_race(t);
    ++t.failures;
    milliseconds delay = backoff_delay(t.failures - 1, opts_.initial_backoff, opts_.max_backoff, jitter_unit());
    Clock::time_point now = Clock::now();
    t.last = std::move(what);
    // Cut short before the deadline, so one last attempt still fits (core/backoff.hpp).
    const bool attempts_left = opts_.max_attempts <= 0 || t.attempts < opts_.max_attempts;
    const std::optional<Clock::time_point> at =
        attempts_left ? next_attempt_at(now, delay, deadline_, std::min(opts_.request_timeout, final_attempt))
                      : std::nullopt;
    if (!at) {
        if (t.kind == Kind::race_token) {
            t.state = State::done;
            bool others = std::any_of(transfers_.begin(), transfers_.end(), [](const auto& o) {
                return o->kind == Kind::race_token && o->state != State::done;
            });
            if (!others) give_up_race();
            return;
        }
        throw TempError(fmt::format("IMDS at {}: {}: {} attempt{}, last: {}; gave up after {} ({})", endpoint_of(t),
                                    t.path, t.attempts, t.attempts == 1 ? "" : "s", t.last, seconds(now - start_),
                                    attempts_left
                                        ? "deadline " + seconds(opts_.deadline)
                                        : fmt::format("at most {} attempt{}: {}", opts_.max_attempts,
                                                      opts_.max_attempts == 1 ? "" : "s", opts_.max_attempts_origin)));
    }
    ++retries_;
    last_retry_ = fmt::format("{}/latest/{}: {}", endpoint_of(t), t.path, t.last);
    t.state = State::waiting;
    t.start_at = *at;
    log::debug("IMDS at {}: {}: {}; retry {} in {} ms", endpoint_of(t), t.path, t.last, t.failures,
               std::chrono::duration_cast<milliseconds>(t.start_at - now).count());
    notice_.retrying(now, fmt::format("IMDS at {} ({})", endpoint_of(t), t.path), t.last);
}

void Fetcher::give_up_race() {
    // One line that says where we looked, what each endpoint did last, and
    // how long we tried: the whole story of a node that cannot find IMDS.
    std::string detail;
    bool all_refused = true;  // every endpoint gave a final HTTP answer
    for (const auto& t : transfers_) {
        if (t->kind != Kind::race_token) continue;
        if (!detail.empty()) detail += "; ";
        detail += fmt::format("{}: {} attempt{}, last: {}", endpoint_of(*t), t->attempts, t->attempts == 1 ? "" : "s",
                              t->last.empty() ? "no answer" : t->last);
        all_refused &= t->last.starts_with("HTTP 4") && t->last != http_text(429);
    }
    if (all_refused) throw Error(fmt::format("no IMDSv2 session token from any endpoint: {}", detail));
    throw TempError(fmt::format(
        "IMDS unreachable: no session token after {} (deadline {}{}): {}", seconds(elapsed()), seconds(opts_.deadline),
        opts_.max_attempts > 0 ? fmt::format(", at most {} attempt{} each: {}", opts_.max_attempts,
                                             opts_.max_attempts == 1 ? "" : "s", opts_.max_attempts_origin)
                               : std::string(),
        detail));
}

}  // namespace

ImdsResult fetch_instance(const ImdsOptions& opts) {
    Fetcher f(opts);
    return f.run();
}

std::map<std::string, std::optional<std::string>, std::less<>> fetch_paths(const ImdsOptions& opts,
                                                                           std::vector<std::string> paths,
                                                                           FollowUp then) {
    if (paths.empty()) return {};
    Fetcher f(opts, std::move(paths), std::move(then));
    return f.run_paths();
}

}  // namespace eksnode::imds
