// SPDX-License-Identifier: Apache-2.0
// What every fuzz target shares (README.md here). A target feeds one entry
// point of input we do not control; the entry point may refuse the input only
// with the error its contract names. Any other exception is left to escape:
// libFuzzer reports it (std::terminate, "deadly signal") like a crash, a leak,
// undefined behaviour or a timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string_view>

#include "core/error.hpp"

namespace fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Runs `f`; an `Expected` exception is the entry point saying no, as it should.
template <class Expected, class F>
void refused_only_as(F&& f) {
    try {
        f();
    } catch (const Expected&) {
    }
}

// A property the code promises broke: a finding, as a crash would be.
[[noreturn]] inline void broken(const char* what) {
    std::fprintf(stderr, "fuzz: property broken: %s\n", what);
    std::abort();
}

}  // namespace fuzz
