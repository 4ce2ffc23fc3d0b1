#include "core/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

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

void emit(Level lvl, std::string_view message, std::string_view path, std::string_view message_id) {
    if (lvl > g_level) return;
    if (g_journal < 0) g_journal = stderr_is_journal() ? 1 : 0;
    if (g_journal == 1) {
        std::string m = fmt::format("MESSAGE={}", message);
        std::string p = fmt::format("PRIORITY={}", static_cast<int>(lvl));
        std::string s = fmt::format("EKS_NODE_STEP={}", g_step);
        std::string f = fmt::format("EKS_NODE_PATH={}", path);
        std::string id = fmt::format("MESSAGE_ID={}", message_id);
        struct iovec iov[5];
        int n = 0;
        for (const std::string* x : {&m, &p, &s}) iov[n++] = {const_cast<char*>(x->data()), x->size()};
        if (!path.empty()) iov[n++] = {const_cast<char*>(f.data()), f.size()};
        if (!message_id.empty()) iov[n++] = {const_cast<char*>(id.data()), id.size()};
        if (sd_journal_sendv(iov, n) >= 0) return;
    }
    std::string line = fmt::format("{}{}{}\n", g_step.empty() ? "" : g_step + ": ", prefix(lvl), message);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace eksnode::log
