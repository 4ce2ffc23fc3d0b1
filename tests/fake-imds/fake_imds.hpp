// SPDX-License-Identifier: Apache-2.0
// The fake EC2 instance metadata service of the tests (README.md here): what it serves and how
// it misbehaves (imds.cpp, faults.cpp), and the one-thread epoll server around it (server.cpp).
// Standard library and nlohmann/json only: it is built for the build machine, so that the
// aarch64 build's unit tests, run under qemu-user, start it as a native program.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fakeimds {

// A command line or fault spec the program cannot use: exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

enum class Framing { length, chunked, close };

// The --fault specs in force. The counters count down as requests consume them.
struct Faults {
    std::vector<std::string> specs;  // as given, for FILE.applied
    bool down = false;
    double late = 0;  // seconds
    int status_code = 0;
    long status_left = 0;
    std::string status_method;  // empty: every method
    std::optional<long> token_expire_after;
    long slow_ms = 0;
    long truncate_left = 0;
    long hangup_left = 0;
    long garbage_left = 0;
    Framing framing = Framing::length;
    size_t dribble = 0;  // bytes per write; 0: all at once
    int redirect_code = 0;
    long redirect_left = 0;
    std::string redirect_method;  // empty: every method
    // set:PATH=VALUE and unset:PATH (nullopt: 404), over the data
    std::map<std::string, std::optional<std::string>> overrides;
};

// Throws UsageError naming the spec that is not one.
Faults parse_faults(const std::vector<std::string>& specs);
// The specs of a fault file: words, separated by blanks or lines, `#` to the end of a line a
// comment. A missing file holds none.
std::vector<std::string> read_fault_file(const std::string& path);

// Paths under /latest/, without their outer slashes -> the bytes served there.
using Data = std::map<std::string, std::string>;

std::string strip_slashes(std::string_view s);
// A --data file's values as the server sends them (imds.cpp says how).
Data load_json_data(const std::string& path);

struct Request {
    std::string method, target, version;
    Headers headers;  // names in lower case
    // The first header of that name (any case), or null.
    const std::string* header(std::string_view name) const;
};

// What to do with one request.
struct Reply {
    enum class Kind { answer, hangup, garbage };
    Kind kind = Kind::answer;
    int code = 200;
    std::string body;
    Headers headers;
    bool truncate = false;  // promise more than is sent, then close
};

std::string_view reason(int code);
std::string error_page(int code);

class Imds {
public:
    // log_fd: the request log (-1: none); token: empty for a fresh random token per PUT.
    Imds(Data data, Faults faults, std::string token, int log_fd, bool verbose);
    // Decides the reply to `r` and, for a request IMDS would see, appends its log line first.
    Reply handle(const Request& r);
    // A request the HTTP layer refused before IMDS saw it (bad syntax, unknown method).
    void note_refused(const Request& r, int code) const;
    const Faults& faults() const { return faults_; }
    // SIGHUP's new faults: every counter afresh.
    void replace_faults(Faults f);

private:
    void record(const Request& r, const std::string& status, std::string_view note = {}) const;
    Reply answer(const Request& r, int code, std::string body, bool truncate = false, Headers headers = {}) const;
    std::optional<Reply> injected(const Request& r);
    Reply put(const Request& r);
    bool token_ok(const Request& r);
    Reply get(const Request& r);
    std::optional<std::string> lookup(const std::string& key, bool dir) const;

    Data data_;
    Faults faults_;
    std::string token_;
    int log_fd_;
    bool verbose_;
    std::map<std::string, double> tokens_;  // token -> expiry (monotonic seconds)
    long authorized_gets_ = 0;
};

struct Options {
    int port = 80;
    std::vector<std::string> binds;
    std::string port_file, log, fault_file;
    bool verbose = false;
};

// Binds, writes the port file, listens (at once, after `late`, or never for `down`) and serves
// until SIGTERM. Throws std::runtime_error for what stops it from starting.
[[noreturn]] void serve(const Options& o, Imds& imds);

double monotonic();
std::string lower(std::string_view s);
// Without the blanks (and a CR) around it: a header value as HTTP means it.
std::string_view trim(std::string_view s);
// PATH's contents replaced by `text`, through a temporary file and rename(): a reader never
// sees a half-written file.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace fakeimds
