// Shared libraries loaded on first use, with dlopen(), for what most runs of a
// step never need: linked, each is loaded and relocated on every run whether
// it is called or not (libcurl: +7.8 MiB RSS and +5.5 ms; libcrypto: +1.4 MiB
// and +0.9 ms, tests/bench/steps.py). Users: aws/http.cpp (libcurl),
// aws/sigv4.cpp (libcrypto), core/systemd.cpp (libsystemd).
//
// Each user keeps a struct of typed function pointers and fills it with
// dl::load(), once per process.
#pragma once

#include <dlfcn.h>

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

}  // namespace eksnode::dl
