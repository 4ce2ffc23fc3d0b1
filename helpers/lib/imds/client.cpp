// The IMDSv2 client: one libcurl multi handle drives every request of a fetch.
//
// Round trips, in order:
//   1. PUT api/token, raced against every endpoint; the first 200 wins and
//      the losers are dropped. The race is staggered as in Happy Eyeballs
//      (RFC 8305): each endpoint starts when the one before it has failed, or
//      after race_stagger, whichever is first. A healthy instance thus always
//      settles on the first endpoint (IPv4 by default) with one PUT, and a
//      re-run writes a byte-identical instance.json (imdsEndpoint included)
//      instead of whichever endpoint won a coin toss.
//   2. Every path of first_round, concurrently, with that token.
//   3. The per-MAC paths, started the moment meta-data/mac answers (they need
//      the MAC), so they overlap with the rest of round 2.
// On a healthy IMDS that is 1 + 13 + 2 = 16 requests in three round trips.
//
// Failures: a transport error, a timeout, 5xx, 429 or a truncated body retries
// that one request after a full-jitter backoff; a 401 fetches one fresh token
// (shared by every request that saw the 401) and retries once; a 404 is an
// absent value. Everything stops at the overall deadline.

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <unistd.h>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "imds/detail.hpp"
#include "imds/imds.hpp"

namespace eksnode {

namespace imds_detail {

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max_backoff, double unit) {
    if (initial.count() <= 0 || max_backoff.count() <= 0) return std::chrono::milliseconds{0};
    // initial * 2^attempt, doubling only up to the cap so no attempt count overflows.
    long long ceiling = initial.count();
    for (int i = 0; i < attempt && ceiling < max_backoff.count(); ++i) ceiling *= 2;
    ceiling = std::min<long long>(ceiling, max_backoff.count());
    unit = std::clamp(unit, 0.0, 1.0);
    // floor(unit * (ceiling + 1)) is uniform over 0..ceiling for unit in [0, 1).
    long long d = static_cast<long long>(unit * static_cast<double>(ceiling + 1));
    return std::chrono::milliseconds{std::min(d, ceiling)};
}

}  // namespace imds_detail

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace d = imds_detail;

// A metadata value is a few bytes; anything near this is not IMDS talking.
constexpr size_t metadata_cap = 64 * 1024;
// EC2 allows 16 KiB of user data today; 1 MiB leaves room for other EC2-like
// metadata services and future limits without letting a bad peer fill /run.
constexpr size_t user_data_cap = 1024 * 1024 + 64 * 1024;
// A token is ~56 printable characters; refuse anything that is not.
constexpr size_t token_cap = 4096;
// IMDS answers a token request in about a millisecond; an endpoint silent for
// this long is likely unreachable (dropped SYNs), so the next one starts.
constexpr milliseconds race_stagger{50};
// The time a last attempt gets before the deadline: IMDS is a link away.
constexpr milliseconds final_attempt{100};

void init_curl_once() {
    // Once per process: it initialises OpenSSL and is not thread-safe in the
    // libcurl versions we support.
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw Error(fmt::format("cannot initialise libcurl: {}", curl_easy_strerror(rc)));
}

std::string seconds(Clock::duration d) {
    return fmt::format("{:.1f}s", std::chrono::duration<double>(d).count());
}

std::string_view reason(long code) {
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

std::string http_text(long code) { return fmt::format("HTTP {}{}", code, reason(code)); }

// IMDS answers 503 or 429 while it is starting or throttling us, and 5xx is
// never a final answer.
bool retryable_status(long code) { return code == 429 || code >= 500; }

// Transport errors are worth another try (IMDS may not be reachable yet this
// early in boot) unless they are about us rather than the network.
bool retryable_curl(CURLcode rc) {
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_NOT_BUILT_IN:
        return false;
    default:
        return true;
    }
}

enum class Kind { race_token, refresh_token, get };
enum class State { waiting, running, parked, done };

struct Transfer {
    Kind kind;
    std::string path;         // under /latest/
    size_t endpoint;          // index into ImdsOptions::endpoints
    bool required = false;
    size_t cap = metadata_cap;
    CURL* easy = nullptr;
    std::string body;
    bool too_big = false;
    State state = State::waiting;
    Clock::time_point start_at{};
    int attempts = 0;         // started
    int failures = 0;         // retryable failures, drives the backoff
    int token_gen = 0;        // token generation the last attempt carried
    bool retried_after_401 = false;
    std::string last;         // what happened last, for the give-up message
    char errbuf[CURL_ERROR_SIZE] = {};

    Transfer(Kind k, std::string p, size_t ep) : kind(k), path(std::move(p)), endpoint(ep) {}
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() {
        if (easy) curl_easy_cleanup(easy);
    }
};

size_t on_body(char* data, size_t, size_t n, void* userdata) {
    auto* t = static_cast<Transfer*>(userdata);
    if (t->body.size() + n > t->cap) {
        t->too_big = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->body.append(data, n);
    return n;
}

struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

class Fetcher {
public:
    explicit Fetcher(const ImdsOptions& opts);
    ~Fetcher();
    Fetcher(const Fetcher&) = delete;
    Fetcher& operator=(const Fetcher&) = delete;

    ImdsResult run();

private:
    Transfer& add(Kind kind, std::string path, size_t endpoint);
    void start(Transfer& t, Clock::time_point now);
    void stop(Transfer& t);
    void next_in_race(Transfer& failed);
    void drain();
    void finish(Transfer& t, CURLcode rc);
    void finish_race_token(Transfer& t, long code);
    void finish_refresh_token(Transfer& t, long code);
    void finish_get(Transfer& t, long code);
    void accept_token(Transfer& t);
    void retry(Transfer& t, std::string what);
    [[noreturn]] void give_up_race();
    const std::string& endpoint_of(const Transfer& t) const { return opts_.endpoints[t.endpoint]; }
    bool complete() const { return winner_ && outstanding_ == 0 && !refreshing_; }
    Clock::duration elapsed() const { return Clock::now() - start_; }

    const ImdsOptions& opts_;
    CURLM* multi_ = nullptr;
    CURL* template_ = nullptr;
    std::string user_agent_;
    Slist ttl_header_;
    // One header list per token generation, all kept to the end: a transfer
    // that is still connecting when the token is renewed reads its list later.
    std::vector<Slist> token_headers_;
    std::vector<std::unique_ptr<Transfer>> transfers_;
    Clock::time_point start_{}, deadline_{};
    std::optional<size_t> winner_;
    std::string token_;
    int token_gen_ = 0;
    bool refreshing_ = false;
    int outstanding_ = 0;     // GETs not yet done
    int requests_ = 0;
    int retries_ = 0;
    std::string last_retry_;
    d::Fetched values_;
    std::minstd_rand rng_;
};

Fetcher::Fetcher(const ImdsOptions& opts) : opts_(opts) {
    init_curl_once();
    if (opts_.endpoints.empty()) throw Error("no IMDS endpoint configured");
    // Jitter needs no cryptographic randomness, and getrandom() may block this
    // early in boot; the clock and pid differ between nodes booting together.
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    rng_.seed(static_cast<std::minstd_rand::result_type>(ts.tv_nsec ^ (ts.tv_sec << 20) ^ ::getpid()));

    multi_ = curl_multi_init();
    template_ = curl_easy_init();
    if (!multi_ || !template_) throw Error("cannot initialise libcurl: out of memory");

    user_agent_ = fmt::format("eks-node/{} (imds)", EKS_NODE_VERSION);
    ttl_header_.reset(curl_slist_append(nullptr, fmt::format("X-aws-ec2-metadata-token-ttl-seconds: {}",
                                                             opts_.token_ttl_seconds).c_str()));
    if (!ttl_header_) throw Error("cannot initialise libcurl: out of memory");

    // Options every request shares; each transfer is a duplicate of this.
    CURL* e = template_;
    // IMDS is link-local: a proxy from the environment (http_proxy, also set
    // for the node's own traffic) must never see it, and must not see the token.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
}

Fetcher::~Fetcher() {
    for (auto& t : transfers_)
        if (t->state == State::running) curl_multi_remove_handle(multi_, t->easy);
    transfers_.clear();
    if (template_) curl_easy_cleanup(template_);
    if (multi_) curl_multi_cleanup(multi_);
}

Transfer& Fetcher::add(Kind kind, std::string path, size_t endpoint) {
    auto t = std::make_unique<Transfer>(kind, std::move(path), endpoint);
    t->easy = curl_easy_duphandle(template_);
    if (!t->easy) throw Error("cannot initialise libcurl: out of memory");
    std::string url = fmt::format("{}/latest/{}", opts_.endpoints[endpoint], t->path);
    curl_easy_setopt(t->easy, CURLOPT_URL, url.c_str());  // libcurl copies strings
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
    if (kind == Kind::get) {
        if (t->path == d::p::user_data) t->cap = user_data_cap;
        ++outstanding_;
    } else {
        t->cap = token_cap;
        // A PUT without a body, exactly what `curl -X PUT` sends.
        curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, ttl_header_.get());
    }
    // Fails early on a declared Content-Length; on_body catches the rest.
    curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t->cap));
    t->start_at = Clock::now();
    transfers_.push_back(std::move(t));
    return *transfers_.back();
}

void Fetcher::start(Transfer& t, Clock::time_point now) {
    t.body.clear();
    t.too_big = false;
    t.errbuf[0] = '\0';
    // Never let one attempt run past the overall deadline.
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - now);
    long timeout = static_cast<long>(std::clamp(left, milliseconds{1}, opts_.request_timeout).count());
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    if (t.kind == Kind::get && t.token_gen != token_gen_) {
        curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, token_headers_.back().get());
        t.token_gen = token_gen_;
    }
    if (CURLMcode mc = curl_multi_add_handle(multi_, t.easy); mc != CURLM_OK)
        throw Error(fmt::format("libcurl: {}", curl_multi_strerror(mc)));
    t.state = State::running;
    ++t.attempts;
    ++requests_;
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
    if (t.state == State::running) curl_multi_remove_handle(multi_, t.easy);
    t.state = State::done;
}

ImdsResult Fetcher::run() {
    start_ = Clock::now();
    deadline_ = start_ + opts_.deadline;
    for (size_t i = 0; i < opts_.endpoints.size(); ++i)
        add(Kind::race_token, std::string(d::p::token), i).start_at = start_ + race_stagger * static_cast<int>(i);

    while (!complete()) {
        Clock::time_point now = Clock::now();
        for (auto& t : transfers_)  // start() never adds to transfers_
            if (t->state == State::waiting && t->start_at <= now) start(*t, now);
        int running = 0;
        if (CURLMcode mc = curl_multi_perform(multi_, &running); mc != CURLM_OK)
            throw Error(fmt::format("libcurl: {}", curl_multi_strerror(mc)));
        drain();
        if (complete()) break;

        now = Clock::now();
        // Every attempt is clamped to the deadline, so this only fires if
        // libcurl itself failed to time a transfer out.
        if (now > deadline_ + milliseconds{500})
            throw TempError(fmt::format("IMDS did not answer within {} (deadline {})", seconds(now - start_),
                                        seconds(opts_.deadline)));
        // Sleep until a socket is ready, a libcurl timer fires (curl_multi_poll
        // shortens the wait to those itself), or the next retry is due.
        std::optional<Clock::time_point> next;
        for (auto& t : transfers_)
            if (t->state == State::waiting) next = std::min(next.value_or(t->start_at), t->start_at);
        int wait_ms = 1000;
        if (next) {
            if (*next <= now) continue;
            wait_ms = static_cast<int>(std::min<long long>(std::chrono::ceil<milliseconds>(*next - now).count(), 1000));
        }
        if (CURLMcode mc = curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr); mc != CURLM_OK)
            throw Error(fmt::format("libcurl: {}", curl_multi_strerror(mc)));
    }

    if (retries_ > 0)
        log::info("IMDS at {} answered after {} retr{} in {} (last: {})", opts_.endpoints[*winner_], retries_,
                  retries_ == 1 ? "y" : "ies", seconds(elapsed()), last_retry_);
    ImdsResult r;
    r.instance = d::assemble_instance(values_, opts_.endpoints[*winner_]);
    if (auto it = values_.find(d::p::user_data); it != values_.end()) r.user_data = std::move(it->second);
    r.requests = requests_;
    return r;
}

void Fetcher::drain() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        char* priv = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        auto* t = reinterpret_cast<Transfer*>(priv);
        CURLcode rc = m->data.result;
        if (t->state != State::running) continue;  // dropped loser of the race
        // `m` is invalid once the handle is removed.
        curl_multi_remove_handle(multi_, t->easy);
        t->state = State::waiting;
        finish(*t, rc);
    }
}

void Fetcher::finish(Transfer& t, CURLcode rc) {
    if (rc != CURLE_OK) {
        if (t.too_big || rc == CURLE_FILESIZE_EXCEEDED)
            throw Error(fmt::format("IMDS at {}: {}: the answer is larger than {} bytes; refusing it", endpoint_of(t),
                                    t.path, t.cap));
        std::string what = t.errbuf[0] ? std::string(t.errbuf) : std::string(curl_easy_strerror(rc));
        // "Couldn't connect to server" hides whether IMDS refused us or the
        // network is not up yet; the system error says which.
        long os_errno = 0;
        if (curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0)
            what += fmt::format(" ({})", std::strerror(static_cast<int>(os_errno)));
        if (!retryable_curl(rc)) throw Error(fmt::format("IMDS at {}: {}: {}", endpoint_of(t), t.path, what));
        return retry(t, std::move(what));
    }
    long code = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
    switch (t.kind) {
    case Kind::race_token: return finish_race_token(t, code);
    case Kind::refresh_token: return finish_refresh_token(t, code);
    case Kind::get: return finish_get(t, code);
    }
}

void Fetcher::accept_token(Transfer& t) {
    bool printable = !t.body.empty() &&
                     std::all_of(t.body.begin(), t.body.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (!printable)
        throw Error(fmt::format("IMDS at {}: {}: the session token is empty or not printable", endpoint_of(t), t.path));
    token_ = std::move(t.body);
    ++token_gen_;
    std::string header = fmt::format("X-aws-ec2-metadata-token: {}", token_);
    token_headers_.emplace_back(curl_slist_append(nullptr, header.c_str()));
    if (!token_headers_.back()) throw Error("out of memory");
    t.state = State::done;
}

void Fetcher::finish_race_token(Transfer& t, long code) {
    if (code == 200) {
        accept_token(t);
        winner_ = t.endpoint;
        // The losers may still be connecting; nothing of theirs is needed.
        for (auto& other : transfers_)
            if (other->kind == Kind::race_token && other.get() != &t) stop(*other);
        if (opts_.endpoints.size() > 1) log::debug("IMDS: {} answered first", endpoint_of(t));
        for (const d::MetadataPath& mp : d::first_round)
            add(Kind::get, std::string(mp.path), t.endpoint).required = mp.required;
        return;
    }
    if (retryable_status(code)) return retry(t, http_text(code));
    if (code == 403)
        // The documented answer when the instance's metadata options say
        // HttpEndpoint=disabled: waiting does not help, and the other
        // endpoint belongs to the same switched-off service.
        throw Error(fmt::format("IMDS at {} refused a session token ({}): the instance metadata service is "
                                "turned off for this instance (aws ec2 modify-instance-metadata-options "
                                "--http-endpoint enabled)",
                                endpoint_of(t), http_text(code)));
    // Not an IMDSv2 endpoint (or a bug of ours, 400); another endpoint may do.
    t.last = http_text(code);
    t.state = State::done;
    next_in_race(t);
    bool others = std::any_of(transfers_.begin(), transfers_.end(), [](const auto& o) {
        return o->kind == Kind::race_token && o->state != State::done;
    });
    if (!others) give_up_race();
}

void Fetcher::finish_refresh_token(Transfer& t, long code) {
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
    throw Error(fmt::format("IMDS at {}: {}: {} while renewing the session token", endpoint_of(t), t.path,
                            http_text(code)));
}

void Fetcher::finish_get(Transfer& t, long code) {
    if (code == 200 || code == 404) {
        if (code == 404 && t.required)
            throw Error(fmt::format("IMDS at {} has no {} ({}); eks-node cannot identify the instance without it",
                                    endpoint_of(t), t.path, http_text(code)));
        if (code == 200 && t.path == d::p::mac) {
            std::string_view mac = t.body;
            while (!mac.empty() && (mac.back() == '\n' || mac.back() == '\r' || mac.back() == ' '))
                mac.remove_suffix(1);
            if (!d::is_mac(mac))
                throw Error(fmt::format("IMDS at {}: {}: \"{}\" is not a MAC address", endpoint_of(t), t.path,
                                        mac.substr(0, 64)));
            for (std::string_view leaf : d::mac_leaves) add(Kind::get, d::mac_path(mac, leaf), t.endpoint);
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
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    milliseconds delay = d::backoff_delay(t.failures - 1, opts_.initial_backoff, opts_.max_backoff, unit(rng_));
    Clock::time_point now = Clock::now();
    t.last = std::move(what);
    // A backoff that would end past the deadline is cut short so that one
    // last attempt still fits; giving up a whole backoff early would leave
    // a deadline of 120s at 118s, or a test's 1.5s at 0.4s.
    const Clock::time_point last_start = deadline_ - std::min(opts_.request_timeout, final_attempt);
    if (now >= last_start) {
        if (t.kind == Kind::race_token) {
            t.state = State::done;
            bool others = std::any_of(transfers_.begin(), transfers_.end(), [](const auto& o) {
                return o->kind == Kind::race_token && o->state != State::done;
            });
            if (!others) give_up_race();
            return;
        }
        throw TempError(fmt::format("IMDS at {}: {}: {} attempts, last: {}; gave up after {} (deadline {})",
                                    endpoint_of(t), t.path, t.attempts, t.last, seconds(now - start_),
                                    seconds(opts_.deadline)));
    }
    ++retries_;
    last_retry_ = fmt::format("{}/latest/{}: {}", endpoint_of(t), t.path, t.last);
    t.state = State::waiting;
    t.start_at = std::min(now + delay, last_start);
    log::debug("IMDS at {}: {}: {}; retry {} in {} ms", endpoint_of(t), t.path, t.last, t.failures,
               std::chrono::duration_cast<milliseconds>(t.start_at - now).count());
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
    if (all_refused)
        throw Error(fmt::format("no IMDSv2 session token from any endpoint: {}", detail));
    throw TempError(fmt::format("IMDS unreachable: no session token after {} (deadline {}): {}", seconds(elapsed()),
                                seconds(opts_.deadline), detail));
}

}  // namespace

ImdsResult fetch_instance(const ImdsOptions& opts) {
    Fetcher f(opts);
    return f.run();
}

}  // namespace eksnode
