// SPDX-License-Identifier: Apache-2.0
// Shared libraries loaded on first use, with dlopen(), for what most runs of a
// step never need: linked, each is loaded and relocated on every run whether
// it is called or not (libcurl: +7.8 MiB RSS and +5.5 ms; libcrypto: +1.4 MiB
// and +0.9 ms, tests/bench/steps.py). Users: core/curl.cpp (libcurl),
// aws/sigv4.cpp (libcrypto), core/systemd.cpp (libsystemd).
//
// Each user keeps a struct of typed function pointers and fills it with
// dl::load(), once per process, and declares the library next to that call
// with EKSNODE_DLOPEN_NOTE (below) so that packagers see it.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::dl {

// dlopen(soname), or an Error saying what it was needed `for` and `hint`
// (which package to install).
inline void* open(const char* soname, std::string_view for_what, std::string_view hint) {
    void* lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* e = dlerror();
        throw Error(fmt::format("cannot load {} {} ({}); {}", soname, for_what, e ? e : "unknown error", hint));
    }
    return lib;
}

// A loaded library, for binding its symbols.
struct Library {
    void* handle;
    const char* soname;

    // The symbol `name`, typed as `out`.
    template <typename F>
    void bind(const char* name, F& out) const {
        void* sym = dlsym(handle, name);
        if (!sym) throw Error(fmt::format("{} has no {}", soname, name));
        out = reinterpret_cast<F>(sym);
    }
};

// `Api` (a struct of function pointers) filled by `fill(library, api)` on the
// first call; later calls return the same. A failed load throws, and the next
// call tries again.
template <typename Api, typename Fill>
const Api& load(const char* soname, std::string_view for_what, std::string_view hint, Fill fill) {
    static const Api api = [&] {
        const Library lib{open(soname, for_what, hint), soname};
        Api a{};
        fill(lib, a);
        return a;
    }();
    return api;
}

// An ELF note for each library we dlopen(): without one, nothing in the
// binary says it needs libcurl, libcrypto or libsystemd (no DT_NEEDED), and a
// package built from it would install without them. This is the ELF dlopen
// metadata convention (https://systemd.io/ELF_DLOPEN_METADATA/, the UAPI
// group's elf_dlopen_metadata spec): a note of owner "FDO" and type
// 0x407c0c0a in section .note.dlopen whose descriptor is a NUL-terminated
// JSON array of objects. Packaging tools (debhelper's dh_dlopenlibdeps,
// systemd-analyze dlopen-metadata from systemd 256; not Debian 12's 252) read
// it; so does tests/process/dlopen_notes.py.
namespace note {

inline constexpr char owner[] = "FDO";
inline constexpr std::uint32_t type = 0x407c0c0a;

// The layout of an ELF note: header, owner and descriptor, each 4-byte
// aligned and zero-padded, so that notes from several objects can follow one
// another in the linked section. `N` is the JSON text's size with its NUL.
template <std::size_t N>
struct alignas(4) Elf {
    std::uint32_t namesz, descsz, type;
    char name[sizeof(owner)];
    alignas(4) char desc[(N + 3) / 4 * 4];
};
static_assert(sizeof(owner) % 4 == 0, "the descriptor follows the owner unpadded");

// The macro pastes its arguments into JSON strings without escaping them:
// no quote, backslash or control character may get in.
consteval bool plain(std::string_view s) {
    for (char c : s)
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    return !s.empty();
}

}  // namespace note

}  // namespace eksnode::dl

// EKSNODE_DLOPEN_NOTE(feature, priority, description, soname): declares, in
// the object file that dlopen()s it, that the program may load `soname` (the
// exact name given to dlopen()). The note is linked in exactly when the code
// that loads the library is. `priority` is "required" (the program does not
// work without it), "recommended" (an important feature needs it) or
// "suggested". At namespace scope, once per library and file.
#define EKSNODE_DLOPEN_NOTE(feature, priority, description, soname)                                          \
    static_assert(::eksnode::dl::note::plain(feature) && ::eksnode::dl::note::plain(description) &&          \
                      ::eksnode::dl::note::plain(soname),                                                    \
                  "EKSNODE_DLOPEN_NOTE: arguments go into JSON unescaped");                                  \
    static_assert(std::string_view(priority) == "required" || std::string_view(priority) == "recommended" || \
                      std::string_view(priority) == "suggested",                                             \
                  "EKSNODE_DLOPEN_NOTE: priority is required, recommended or suggested");                    \
    EKSNODE_DLOPEN_NOTE_AT_(__COUNTER__, "[{\"soname\":[\"" soname "\"],\"feature\":\"" feature              \
                                         "\",\"description\":\"" description "\",\"priority\":\"" priority "\"}]")

// `used`: nothing refers to the note, and the compiler must emit it anyway.
// alignas on the variable, not only its type: GCC aligns a larger object to
// 32 bytes on x86-64 unless told otherwise, and the padding between two notes
// would break the section into notes no reader can walk.
#define EKSNODE_DLOPEN_NOTE_AT_(n, json)                                                                           \
    [[gnu::used, gnu::section(".note.dlopen")]] alignas(4) static constexpr ::eksnode::dl::note::Elf<sizeof(json)> \
    EKSNODE_DLOPEN_NOTE_CAT_(eksnode_dlopen_note_, n) = {sizeof(::eksnode::dl::note::owner), sizeof(json),         \
                                                         ::eksnode::dl::note::type, "FDO", json}
#define EKSNODE_DLOPEN_NOTE_CAT_(a, b) a##b
