// SPDX-License-Identifier: Apache-2.0
// imds/autoscaling.cpp: which target lifecycle states hold kubelet back, the
// poll schedule of eks-node-warm-pool, and the check of the value itself.
// tests/process/warm_pool.py walks tests/data/warm-pool-compat.tsv through the binaries.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "imds/imds.hpp"
#include "imds/values.hpp"

using namespace eksnode;
using namespace std::chrono_literals;

TEST_CASE("every Warmed: state holds kubelet back, nothing else does", "[warm-pool]") {
    for (const char* s :
         {"Warmed:Running", "Warmed:Stopped", "Warmed:Hibernated", "Warmed:Terminated", "Warmed:Pending:Wait"}) {
        INFO(s);
        CHECK(imds::holds_kubelet(std::string(s)));
    }
    for (const char* s : {"InService", "Standby", "Detached", "Terminated", "Pending", "Warmed", "warmed:Running"}) {
        INFO(s);
        CHECK_FALSE(imds::holds_kubelet(std::string(s)));
    }
    // 404: not in an Auto Scaling group
    CHECK_FALSE(imds::holds_kubelet(std::nullopt));
}

TEST_CASE("the waiter polls every 5 s, backing off to 60 s while IMDS does not answer", "[warm-pool]") {
    CHECK(imds::warm_pool_next_poll(0) == 5s);
    CHECK(imds::warm_pool_next_poll(1) == 10s);
    CHECK(imds::warm_pool_next_poll(2) == 20s);
    CHECK(imds::warm_pool_next_poll(3) == 40s);
    CHECK(imds::warm_pool_next_poll(4) == 60s);
    CHECK(imds::warm_pool_next_poll(1000) == 60s);
}

TEST_CASE("a target lifecycle state is words of letters joined by colons", "[warm-pool]") {
    for (const char* s : {"InService", "Warmed:Running", "Warmed:Pending:Wait"}) {
        INFO(s);
        CHECK(imds::value::lifecycle_state(s).empty());
    }
    for (const char* s : {"", "inService", "In Service", "Warmed::Running", "Warmed:", ":Warmed", "Warmed:Running\n",
                          "Warmed:Running --register-node", "Warmed:Run1ing"}) {
        INFO(s);
        CHECK_FALSE(imds::value::lifecycle_state(s).empty());
    }
    CHECK_FALSE(imds::value::lifecycle_state(std::string(65, 'A')).empty());
}
