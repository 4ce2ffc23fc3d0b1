// SPDX-License-Identifier: Apache-2.0
// Catch2 main. The library logs derived values at info; tests keep stderr for
// failures unless EKS_NODE_TEST_LOG=debug|info asks for more.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/log.hpp"

int main(int argc, char* argv[]) {
    eksnode::log::Level level = eksnode::log::Level::error;
    if (const char* env = std::getenv("EKS_NODE_TEST_LOG")) eksnode::log::parse_level(env, level);
    eksnode::log::init("test", level);
    return Catch::Session().run(argc, argv);
}
