// SPDX-License-Identifier: Apache-2.0
// Journal entries in the native protocol (core/log.cpp).
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
