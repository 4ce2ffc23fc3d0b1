// SPDX-License-Identifier: Apache-2.0
// Logging: journal entries in the journal's native protocol when stderr is
// the journal, plain stderr lines otherwise.
//
// Why not sd_journal_sendv(): it is the only thing the steps used from
// libsystemd, and loading libsystemd (with libgcrypt, liblzma, libzstd,
// liblz4, libcap behind it) cost every step process about 0.6 ms of CPU at
// boot, more than most steps' own work. The protocol is a stable interface
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/): one datagram of fields.
// A later step needs sd-bus (restarting containerd or kubelet when their
// inputs changed): it should dlopen("libsystemd.so.0") at the moment it has
// something to restart, so that the steps and runs that restart nothing do
// not pay for the library.
#include "core/log.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/text.hpp"

namespace eksnode::log {

namespace {

Level g_level = Level::info;
std::string g_step;
int g_journal = -1;  // -1 unknown, 0 stderr, 1 journal

// stderr is connected to the journal when JOURNAL_STREAM names its device:inode
// (systemd.exec(5)); only then do structured fields reach anyone.
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

// One datagram to journald. False when it cannot take it now: no journald,
// a full queue (MSG_DONTWAIT: a journald that is behind must not stall a
// boot step), or an entry over the datagram size limit (sd_journal_sendv
// would pass a memfd; our entries are a few hundred bytes). The caller then
// writes to stderr, which journald reads as well.
bool send_to_journal(const std::string& entry) {
    static const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    static constexpr char path[] = "/run/systemd/journal/socket";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path, sizeof path);
    ssize_t n = ::sendto(fd, entry.data(), entry.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&addr), offsetof(sockaddr_un, sun_path) + sizeof path);
    return n == static_cast<ssize_t>(entry.size());
}

// The unit this process runs in, from its cgroup ("0::/system.slice/eks-node-imds.service").
// journald finds a datagram's unit from its sender's cgroup when it reads it;
// a step that has exited by then (most do, within milliseconds) leaves an
// entry without _SYSTEMD_UNIT, which `journalctl -u` would not show, however
// important its last line. journalctl -u also matches OBJECT_SYSTEMD_UNIT= in
// entries from uid 0, so the steps, which run as root, name their unit there.
std::string own_unit() {
    FILE* f = std::fopen("/proc/self/cgroup", "re");
    if (!f) return {};
    char buf[512];
    std::string unit;
    while (std::fgets(buf, sizeof buf, f)) {
        std::string_view line(buf);
        if (line.substr(0, 3) != "0::") continue;  // the unified hierarchy's line
        while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        std::string_view last = line.substr(line.rfind('/') + 1);
        if (last.size() > 8 && last.substr(last.size() - 8) == ".service") unit = last;
    }
    std::fclose(f);
    return unit;
}

const char* prefix(Level l) {
    switch (l) {
    case Level::error: return "error: ";
    case Level::warning: return "warning: ";
    default: return "";
    }
}

}  // namespace

void init(std::string_view step, Level lvl) {
    g_step = step;
    g_level = lvl;
    g_journal = -1;
}

void set_level(Level lvl) { g_level = lvl; }
Level level() { return g_level; }

bool parse_level(std::string_view s, Level& out) {
    if (s == "err" || s == "error") out = Level::error;
    else if (s == "warning" || s == "warn") out = Level::warning;
    else if (s == "notice") out = Level::notice;
    else if (s == "info") out = Level::info;
    else if (s == "debug") out = Level::debug;
    else return false;
    return true;
}

void append_journal_field(std::string& entry, std::string_view key, std::string_view value) {
    entry += key;
    if (value.find('\n') == std::string_view::npos) {
        entry += '=';
    } else {
        // A value with a newline: KEY, newline, the value's size as a 64-bit
        // little-endian integer, the value.
        entry += '\n';
        uint64_t size = value.size();
        for (int i = 0; i < 8; ++i) entry += static_cast<char>((size >> (8 * i)) & 0xff);
    }
    entry += value;
    entry += '\n';
}

// An error line ends with its cause ("SOURCE: FIELD: ... AccessDeniedException"), after the
// sources it names, whose paths grow with the root: a cut at the end dropped the cause once
// (a longer TMPDIR in aws-lookups). So a long line keeps its start and its end, "..." between.
std::string message_text(std::string_view message) {
    constexpr std::string_view ellipsis = " ... ";
    // escaped whole first (a control character becomes 2-4 bytes), the input itself bounded
    constexpr std::size_t input_cap = 64 * max_message_bytes;
    std::string line = one_line(message, input_cap);
    if (line.size() <= max_message_bytes) return line;
    const std::size_t head_bytes = max_message_bytes / 4;
    const std::size_t tail_bytes = max_message_bytes - head_bytes - ellipsis.size();
    auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(line[i]) & 0xc0) == 0x80; };
    std::size_t head = head_bytes, tail = line.size() - tail_bytes;
    while (head > 0 && continuation(head)) --head;  // never inside a UTF-8 character
    while (tail < line.size() && continuation(tail)) ++tail;
    return line.substr(0, head) + std::string(ellipsis) + line.substr(tail);
}

std::string format_line(std::string_view step, Level lvl, std::string_view message) {
    return fmt::format("{}{}{}{}\n", step, step.empty() ? "" : ": ", prefix(lvl), message_text(message));
}

void progress(std::string_view message) {
    if (Level::warning > g_level) return;
    if (g_journal < 0) g_journal = stderr_is_journal() ? 1 : 0;
    if (g_journal != 1) {
        emit(Level::warning, message);
        return;
    }
    // one write, one line: journald takes "<N>" as the line's priority (SyslogLevelPrefix=)
    const std::string line =
        fmt::format("<{}>{}\n", static_cast<int>(Level::warning), one_line(message, max_message_bytes));
    std::fwrite(line.data(), 1, line.size(), stderr);
}

void emit(Level lvl, std::string_view message, std::string_view path, std::string_view message_id,
          std::span<const Field> fields) {
    if (lvl > g_level) return;
    if (g_journal < 0) g_journal = stderr_is_journal() ? 1 : 0;
    if (g_journal == 1) {
        std::string entry;
        append_journal_field(entry, "MESSAGE", message_text(message));
        append_journal_field(entry, "PRIORITY", std::to_string(static_cast<int>(lvl)));
        append_journal_field(entry, "EKS_NODE_STEP", g_step);
        static const std::string unit = own_unit();
        if (!unit.empty()) {
            append_journal_field(entry, "OBJECT_SYSTEMD_UNIT", unit);
            // likewise the invocation (systemd sets $INVOCATION_ID for a
            // service): `eks-node status` finds a failed run's last error
            // line by it (sd::last_error_line)
            static const char* invocation = std::getenv("INVOCATION_ID");
            if (invocation && *invocation) append_journal_field(entry, "OBJECT_SYSTEMD_INVOCATION_ID", invocation);
            // the name the journal shows and `journalctl -t` finds; without it
            // journald shows the kernel's 15-byte comm ("eks-node-contai")
            append_journal_field(entry, "SYSLOG_IDENTIFIER", unit.substr(0, unit.size() - 8));
        }
        if (!path.empty()) append_journal_field(entry, "EKS_NODE_PATH", path);
        if (!message_id.empty()) append_journal_field(entry, "MESSAGE_ID", message_id);
        for (const Field& f : fields) append_journal_field(entry, f.key, f.value);
        if (send_to_journal(entry)) return;
    }
    std::string line = format_line(g_step, lvl, message);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace eksnode::log
