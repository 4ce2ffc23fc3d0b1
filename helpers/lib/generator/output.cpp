// SPDX-License-Identifier: Apache-2.0
#include "generator/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/text.hpp"

namespace eksnode::generator {

namespace {

constexpr std::string_view program = "eks-node-generator";

std::string errno_message(const fs::path& p) { return fmt::format("{}: {}", p.string(), std::strerror(errno)); }

// Returns an error message, or "" when written.
std::string write_entry(const fs::path& dir, const std::string& rel, const GeneratedFile& entry) {
    fs::path p = dir / rel;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return fmt::format("{}: {}", p.parent_path().string(), ec.message());
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return errno_message(p);

    if (entry.kind == GeneratedFile::Kind::symlink)
        return ::symlink(entry.data.c_str(), p.c_str()) < 0 ? errno_message(p) : "";

    // No temp file and fsync: systemd reads the directory (a tmpfs) only after
    // the generator has exited, and a boot without it regenerates everything.
    // Created with its mode, so that a 0600 file is never readable by others.
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, entry.mode);
    if (fd < 0) return errno_message(p);
    std::string error;
    if (::fchmod(fd, entry.mode) < 0) error = errno_message(p);  // whatever the umask
    for (size_t done = 0; error.empty() && done < entry.data.size();) {
        ssize_t n = ::write(fd, entry.data.data() + done, entry.data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno_message(p);
        else done += static_cast<size_t>(n);
    }
    if (::close(fd) < 0 && error.empty()) error = errno_message(p);
    return error;
}

}  // namespace

std::vector<std::string> write_plan(const GeneratorPlan& plan, const fs::path& dir) {
    std::vector<std::string> errors;
    for (const auto& [rel, entry] : plan.files) {
        std::string e = write_entry(dir, rel, entry);
        if (!e.empty()) errors.push_back(std::move(e));
    }
    return errors;
}

GeneratorLog::GeneratorLog() {
    const char* target = std::getenv("EKS_NODE_LOG_TARGET");
    if (target && std::string_view(target) == "console") return;
    kmsg_ = ::open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

GeneratorLog::~GeneratorLog() {
    if (kmsg_ >= 0) ::close(kmsg_);
}

void GeneratorLog::emit(log::Level level, std::string_view message) {
    if (level > level_) return;
    if (kmsg_ >= 0) {
        // One write() is one record; the kernel refuses records over about
        // 1 KiB (the prefix and a message cut at 900 bytes fit), and a
        // newline would end it early: message_text() escapes it.
        std::string text = one_line(message, 900);
        std::string record = fmt::format("<{}>{}[{}]: {}\n", LOG_DAEMON | static_cast<int>(level), program,
                                         static_cast<long>(::getpid()), text);
        if (::write(kmsg_, record.data(), record.size()) == static_cast<ssize_t>(record.size())) return;
    }
    // the logging core's line: one line, bounded, control characters escaped
    std::string line = log::format_line(program, level, message);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace eksnode::generator
