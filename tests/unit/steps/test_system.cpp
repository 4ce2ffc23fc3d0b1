// SPDX-License-Identifier: Apache-2.0
// eks-node-system's step glue: when DNS settings fail the boot.
#include <catch2/catch.hpp>

#include "steps/system.hpp"

using eksnode::steps::detail::resolver_problem;

TEST_CASE("DNS settings need a running systemd-resolved", "[steps][system]") {
    // running, or on its way: it reads the drop-in when it (re)starts
    for (const char* running : {"active", "activating", "reloading"}) {
        INFO(running);
        CHECK(resolver_problem(std::string(running)).empty());
    }
    CHECK(resolver_problem(std::nullopt) ==
          "spec.instance.network sets DNS servers or search domains, but systemd-resolved.service is not installed, "
          "so nothing on this node applies them (they are written to /run/systemd/resolved.conf.d/40-eks.conf): "
          "enable systemd-resolved, or leave spec.instance.network out");
    for (const char* stopped : {"inactive", "failed", "deactivating"}) {
        INFO(stopped);
        CHECK_THAT(resolver_problem(std::string(stopped)),
                   Catch::Contains(std::string("but systemd-resolved.service is ") + stopped + ", so nothing"));
    }
}
