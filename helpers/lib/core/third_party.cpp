// SPDX-License-Identifier: Apache-2.0
// The compiled parts of fmt and toml++, once for every program (meson.build: the
// eksnode-third-party library). Both are used from their headers, compiled into our binaries
// (meson.build says why: Amazon Linux 2023 packages neither). In their header-only modes every
// object that included them compiled those parts again: at -O2 about 3 CPU-s for fmt and 4 for
// toml++ per object, in 21 and 8 of build/'s 46 objects, and once more in the sanitizer and the
// aarch64 builds (2026-11-29). Here they are compiled in each library's separate mode.
//
// Its own target, never merged into a unity object: TOML_IMPLEMENTATION must be set before
// toml++ is first read, and a source merged after one that read it would find it read already.

// toml++'s documented switch: this object carries the definitions the headers declare
#define TOML_IMPLEMENTATION 1
#include "core/toml.hpp"  // (its workaround applies to the parser's code, which is here)

// fmt's definitions of its non-template functions (FMT_FUNC, plain outside header-only mode)
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
// format.h declares these `extern template` outside header-only mode: their one definition
template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
