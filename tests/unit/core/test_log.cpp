// SPDX-License-Identifier: Apache-2.0
// Journal entries in the native protocol (core/log.cpp).
#include <algorithm>

#include <catch2/catch.hpp>

#include "core/log.hpp"

using namespace eksnode;

TEST_CASE("journal fields: KEY=value lines, binary form for values with newlines", "[core][log]") {
    std::string entry;
    log::append_journal_field(entry, "MESSAGE", "wrote /etc/kubernetes/kubelet/config.json");
    log::append_journal_field(entry, "PRIORITY", "6");
    log::append_journal_field(entry, "EKS_NODE_PATH", "");
    CHECK(entry == "MESSAGE=wrote /etc/kubernetes/kubelet/config.json\nPRIORITY=6\nEKS_NODE_PATH=\n");

    entry.clear();
    log::append_journal_field(entry, "MESSAGE", "line 1\nline 2");
    // KEY, newline, the size as 64-bit little endian, the value, newline.
    CHECK(entry == std::string("MESSAGE\n\x0d\0\0\0\0\0\0\0line 1\nline 2\n", 8 + 8 + 13 + 1));

    entry.clear();
    const std::string big = std::string(0x1234, 'x') + "\n";
    log::append_journal_field(entry, "M", big);
    CHECK(entry.substr(0, 10) == std::string("M\n\x35\x12\0\0\0\0\0\0", 10));
    CHECK(entry.size() == 2 + 8 + big.size() + 1);
}

TEST_CASE("log lines: one line per message, control characters escaped, 1 KiB", "[core][log]") {
    using log::Level;
    CHECK(log::format_line("config", Level::error, "plain") == "config: error: plain\n");
    CHECK(log::format_line("", Level::info, "plain") == "plain\n");
    // issue 34: a file name with a newline forged a second line
    std::string forged = log::format_line("config", Level::error, "/etc/eks-node/node.toml.d/a\nerror: forged.toml");
    CHECK(forged == "config: error: /etc/eks-node/node.toml.d/a\\nerror: forged.toml\n");
    CHECK(std::count(forged.begin(), forged.end(), '\n') == 1);
    // ESC cannot steer the console that shows the line
    CHECK(log::format_line("config", Level::warning, "x\x1b[2Jy") == "config: warning: x\\x1b[2Jy\n");
    // one error line once reached 295 KB: the message is cut at 1 KiB with "..."
    std::string text = log::message_text(std::string(295 * 1000, 'a'));
    CHECK(text.size() == log::max_message_bytes);
    CHECK(text.ends_with("..."));
    CHECK(log::message_text(std::string(log::max_message_bytes, 'a')).size() == log::max_message_bytes);
    CHECK_FALSE(log::message_text(std::string(log::max_message_bytes, 'a')).ends_with("..."));
}
