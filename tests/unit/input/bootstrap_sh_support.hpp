// SPDX-License-Identifier: Apache-2.0
// Shared by the bootstrap.sh tests (test_bootstrap_sh.cpp, test_bootstrap_sh_env.cpp): a
// cluster endpoint and a script's mapped spec.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"
#include "input/bootstrap_sh.hpp"

namespace eksnode::test {

inline const std::string cluster_endpoint = "https://ABCD.gr7.us-west-2.eks.amazonaws.com";

// The spec a script's call maps to. Its settings hold at most where the
// service CIDR comes from (the flags without one say how bootstrap.sh found
// it); the tests of the pause image and the CIDR strategy check them.
inline json script_spec(std::string_view script) {
    std::optional<input::Fragment> f = input::bootstrap_sh::fragment_from_script(script, "user data");
    REQUIRE(f);
    json rest = f->settings;
    rest.erase("serviceCidrStrategy");
    CHECK(rest == json::object());
    return f->spec;
}

}  // namespace eksnode::test
