// SPDX-License-Identifier: Apache-2.0
// kubeReserved CPU and memory, computed like nodeadm's config.go.
#include <catch2/catch.hpp>

#include "derive/derive.hpp"

using namespace eksnode;
using namespace eksnode::derive;

TEST_CASE("reserved CPU by tiers of online CPUs", "[derive][reserved]") {
    struct Case {
        int cpus, reserved_millicores;
    };
    // 6% of core 1 = 60, 1% of core 2 = 10, 0.5% of cores 3-4 = 5 each, 0.25% above = 2.5 each.
    const Case cases[] = {
        {1, 60},     {2, 70},      // the conformance instance (m4.xlarge under test: 2 CPUs)
        {3, 75},     {4, 80},      {8, 90},     {16, 110},   {32, 150},
        {48, 190},   {64, 230},    {96, 310},   {192, 550},
    };
    for (const Case& c : cases) {
        INFO(c.cpus << " CPUs");
        CHECK(cpu_millicores_to_reserve(c.cpus * 1000) == c.reserved_millicores);
    }
}

TEST_CASE("reserved CPU rounds down to whole millicores", "[derive][reserved]") {
    CHECK(cpu_millicores_to_reserve(0) == 0);
    CHECK(cpu_millicores_to_reserve(500) == 30);
    CHECK(cpu_millicores_to_reserve(1500) == 65);
    CHECK(cpu_millicores_to_reserve(2500) == 72);    // 60 + 10 + 2.5 -> 2
    CHECK(cpu_millicores_to_reserve(4500) == 81);    // 80 + 1.25 -> 1
    CHECK(cpu_millicores_to_reserve(5000) == 82);    // 80 + 2.5 -> 2
    CHECK(cpu_millicores_to_reserve(6000) == 85);    // the 0.25% tier is one tier, not per core
}

TEST_CASE("reserved memory is 11 MiB per pod plus 255 MiB", "[derive][reserved]") {
    CHECK(memory_mib_to_reserve(58) == 893);
    CHECK(memory_mib_to_reserve(110) == 1465);
    CHECK(memory_mib_to_reserve(17) == 442);
    CHECK(memory_mib_to_reserve(4) == 299);
    CHECK(memory_mib_to_reserve(737) == 8362);
}
