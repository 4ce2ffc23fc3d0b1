// SPDX-License-Identifier: Apache-2.0
// config/environment.hpp: the variables a unit sees from spec.instance.environment.
#include <catch2/catch.hpp>

#include "config/environment.hpp"

using namespace eksnode;
namespace env = eksnode::config::environment;

TEST_CASE("environment: default, then the unit's own section over it", "[config][environment]") {
    const json spec = json::parse(R"({"instance": {"environment": {
        "default": {"HTTPS_PROXY": "http://d:3128", "NO_PROXY": "10.0.0.0/8", "A": "1"},
        "kubelet.service": {"HTTPS_PROXY": "http://k:3128", "B": "2", "N": 3},
        "containerd": {"C": "3"}}}})");
    auto kubelet = env::of_unit(spec, "kubelet");
    REQUIRE(kubelet.size() == 4);  // N is not a string: validation names it, not this
    CHECK(kubelet.at("HTTPS_PROXY").value == "http://k:3128");
    CHECK(kubelet.at("HTTPS_PROXY").origin == "spec.instance.environment.kubelet.service");
    CHECK(kubelet.at("NO_PROXY").origin == "spec.instance.environment.default");
    CHECK(kubelet.count("C") == 0);
    // a unit without a section, and "": default's alone
    CHECK(env::of_unit(spec, "ecs").size() == 3);
    CHECK(env::of_unit(spec, "").at("HTTPS_PROXY").value == "http://d:3128");
    CHECK(env::of_unit(json::object(), "kubelet").empty());
}
