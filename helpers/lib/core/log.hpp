// SPDX-License-Identifier: Apache-2.0
// Logging: structured journal entries under systemd, plain stderr otherwise.
// Library code does not log errors: it throws, and the step's main logs once.
// It may log facts at info (a derived value and where it came from).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace eksnode::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Set once by the step runner: the step name goes into EKS_NODE_STEP=.
void init(std::string_view step, Level level);
void set_level(Level level);
Level level();
// Parses "error|warning|notice|info|debug" (systemd's names); nullopt-like false on junk.
bool parse_level(std::string_view s, Level& out);

// A journal field of an entry's own ("EKS_NODE_CALLS", "{...}").
struct Field {
    std::string_view key;
    std::string value;
};
// `path` becomes EKS_NODE_PATH= when non-empty; `message_id` becomes MESSAGE_ID=;
// `fields` go to the journal only (stderr shows the message alone).
void emit(Level lvl, std::string_view message, std::string_view path = {}, std::string_view message_id = {},
          std::span<const Field> fields = {});

// A warning that shows a wait while it lasts (core/backoff.hpp, WaitNotice): in
// a service whose output is the journal, a line on the unit's output stream
// (priority warning by its "<4>" prefix), not a native entry, so that the
// journal holds it once and journald also forwards it to the console, as the
// steps' StandardOutput=journal+console asks: a boot that hangs says what it
// waits for on the serial console (`aws ec2 get-console-output`), before any
// verdict. Elsewhere the same as warning().
void progress(std::string_view message);

template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
    if (level() >= Level::info) emit(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void debug(fmt::format_string<A...> f, A&&... a) {
    if (level() >= Level::debug) emit(Level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warning(fmt::format_string<A...> f, A&&... a) {
    emit(Level::warning, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
    emit(Level::error, fmt::format(f, std::forward<A>(a)...));
}

// Every message, in the journal and on stderr, is one line of at most 1 KiB:
// its control characters escaped ("\n", "\x1b", one_line() in core/text.hpp) and
// a longer one cut in the middle, " ... " between its start and its end (an
// error line ends with its cause). Messages quote keys, file names and
// values from input we do not control: a newline in a file name would
// otherwise forge a log line, an ESC steer the console, a quoted document
// fill a screen.
inline constexpr std::size_t max_message_bytes = 1024;
std::string message_text(std::string_view message);
// The stderr line of a message: "STEP: error: MESSAGE\n". Exposed for unit tests.
std::string format_line(std::string_view step, Level lvl, std::string_view message);

// Appends one field to a journal entry in the native protocol: "KEY=value\n",
// or for a value holding a newline "KEY\n", its size as 64-bit little endian,
// the value and "\n". Exposed for unit tests.
void append_journal_field(std::string& entry, std::string_view key, std::string_view value);

// MESSAGE_IDs of milestones and failures; explained by the journal catalog
// (man/eks-node.catalog). Generated once with `systemd-id128 new`.
namespace id {
inline constexpr std::string_view step_done = "5b0e7c1f3a7d4e7c9a1f0d2b6c4e8a01";
inline constexpr std::string_view step_failed = "5b0e7c1f3a7d4e7c9a1f0d2b6c4e8a02";
inline constexpr std::string_view config_invalid = "5b0e7c1f3a7d4e7c9a1f0d2b6c4e8a03";
inline constexpr std::string_view imds_unreachable = "5b0e7c1f3a7d4e7c9a1f0d2b6c4e8a04";
inline constexpr std::string_view file_written = "5b0e7c1f3a7d4e7c9a1f0d2b6c4e8a05";
inline constexpr std::string_view config_field_ignored = "ac2312c344e1497895fe9d872012559c";
inline constexpr std::string_view kubelet_field_unknown = "366eb0952c9d4fb2a473793b213180ca";
}  // namespace id

}  // namespace eksnode::log
