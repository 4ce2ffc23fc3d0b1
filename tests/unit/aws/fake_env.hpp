// SPDX-License-Identifier: Apache-2.0
// A process environment for code under test that reads it through a
// getenv-like function (aws/api.hpp, aws/proxy.hpp): a test sets fake_env
// and passes fake_getenv. Each test sets the whole map first.
#pragma once

#include <map>
#include <string>

namespace eksnode::test {

inline std::map<std::string, std::string> fake_env;

inline const char* fake_getenv(const char* name) {
    auto it = fake_env.find(name);
    return it == fake_env.end() ? nullptr : it->second.c_str();
}

}  // namespace eksnode::test
