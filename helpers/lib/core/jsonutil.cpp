// SPDX-License-Identifier: Apache-2.0
#include "core/jsonutil.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace eksnode {

namespace {

// The key of every JSON object's hash in this process (core/ordered_index.hpp
// says why it is random). getrandom() with GRND_INSECURE never blocks, which
// matters: the generator and the first steps run early in boot, before the
// kernel's pool may be ready, and a seed needs no more than unpredictability
// from outside the machine. Kernels before 5.6 refuse GRND_INSECURE: then
// GRND_NONBLOCK, and failing that the clock, the pid and this code's address
// (ASLR), which a remote sender of user data cannot know either.
std::array<uint64_t, 2> draw_hash_key() noexcept {
    std::array<uint64_t, 2> key{};
    for (unsigned flags : {static_cast<unsigned>(GRND_INSECURE), static_cast<unsigned>(GRND_NONBLOCK)}) {
        ssize_t got;
        do got = getrandom(key.data(), sizeof key, flags);
        while (got < 0 && errno == EINTR);
        if (got == static_cast<ssize_t>(sizeof key)) return key;
    }
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    key[0] = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 32) ^
             reinterpret_cast<uintptr_t>(&draw_hash_key);
    key[1] =
        (static_cast<uint64_t>(::getpid()) << 32) ^ reinterpret_cast<uintptr_t>(&key) ^ static_cast<uint64_t>(clock());
    return key;
}

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
    uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(uint64_t m) {
        v3 ^= m;
        round();  // SipHash-1-3: one round per word
        v0 ^= m;
    }
};

}  // namespace

// SipHash-1-3 (Aumasson and Bernstein's keyed hash, as Rust's HashMap uses it):
// fast for short keys, and without its key, colliding inputs cannot be
// computed. Words are read in the machine's byte order: the value only has to
// be the same within this process.
uint64_t seeded_key_hash(std::string_view bytes) noexcept {
    static const std::array<uint64_t, 2> key = draw_hash_key();
    SipState s{key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL, key[0] ^ 0x6c7967656e657261ULL,
               key[1] ^ 0x7465646279746573ULL};
    const char* p = bytes.data();
    size_t left = bytes.size();
    for (; left >= 8; p += 8, left -= 8) {
        uint64_t m;
        std::memcpy(&m, p, 8);
        s.absorb(m);
    }
    uint64_t last = static_cast<uint64_t>(bytes.size()) << 56;
    for (size_t i = 0; i < left; ++i) last |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    s.absorb(last);
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

void deep_merge(json& dst, const json& src) {
    if (dst.is_object() && src.is_object()) {
        for (auto it = src.begin(); it != src.end(); ++it) {
            auto found = dst.find(it.key());
            if (found != dst.end() && found->is_object() && it->is_object()) deep_merge(*found, *it);
            else dst[it.key()] = *it;
        }
        return;
    }
    dst = src;
}

std::string dump_pretty(const json& j, int indent) {
    return j.dump(indent, ' ', false, json::error_handler_t::strict) + "\n";
}

const json* path_in(const json& j, std::initializer_list<const char*> keys) {
    const json* node = &j;
    for (const char* k : keys) {
        if (!node->is_object()) return nullptr;
        auto it = node->find(k);
        if (it == node->end()) return nullptr;
        node = &*it;
    }
    return node;
}

std::string dotted(std::string_view pointer) {
    std::string out;
    out.reserve(pointer.size());
    for (size_t i = 0; i < pointer.size(); ++i) {
        char c = pointer[i];
        if (c == '/') {
            if (i != 0) out += '.';
        } else if (c == '~' && i + 1 < pointer.size()) {
            out += pointer[i + 1] == '1' ? '/' : '~';
            ++i;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace eksnode
