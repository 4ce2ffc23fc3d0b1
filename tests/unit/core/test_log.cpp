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
    // issue 58: U+2028/U+2029 break the line in a viewer that follows Unicode, and the bidi
    // controls reorder it; both are escaped like C0, on stderr and in the journal's MESSAGE
    CHECK(log::format_line("config", Level::error, "a\u2028error: forged") ==
          "config: error: a\\xe2\\x80\\xa8error: forged\n");
    CHECK(log::message_text("a\u2029b\u202ec\u2066d") == "a\\xe2\\x80\\xa9b\\xe2\\x80\\xaec\\xe2\\x81\\xa6d");
    // one error line once reached 295 KB: the message is cut to 1 KiB, "..." in the middle
    std::string text = log::message_text(std::string(295 * 1000, 'a'));
    CHECK(text.size() == log::max_message_bytes);
    CHECK(text.find(" ... ") != std::string::npos);
    CHECK(log::message_text(std::string(log::max_message_bytes, 'a')).size() == log::max_message_bytes);
    CHECK(log::message_text(std::string(log::max_message_bytes, 'a')).find("...") == std::string::npos);
    // the cause an error line ends with survives a long list of sources before it (a cut at
    // the end lost "ResourceNotFoundException" when TMPDIR was longer)
    std::string sources;
    for (int i = 0; i < 40; ++i) sources += "/a/long/temporary/root/etc/eks-node/node.toml.d/x.toml, ";
    std::string kept = log::message_text(sources + "user data: spec.cluster.name: ResourceNotFoundException");
    CHECK(kept.size() <= log::max_message_bytes);
    CHECK(kept.ends_with("ResourceNotFoundException"));
    CHECK(kept.starts_with("/a/long/temporary/root/"));
    // a cut never splits a UTF-8 character
    std::string e_acute;
    for (int i = 0; i < 500; ++i) e_acute += "\xc3\xa9";
    std::string wide = log::message_text(std::string(2001, 'a') + e_acute);
    CHECK(wide.substr(wide.find(" ... ") + 5, 2) == "\xc3\xa9");
    CHECK(wide.size() <= log::max_message_bytes);
}
