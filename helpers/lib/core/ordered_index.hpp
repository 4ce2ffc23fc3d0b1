// SPDX-License-Identifier: Apache-2.0
// An insertion-ordered map with hashed lookup: the object type of eksnode::json
// (core/jsonutil.hpp).
//
// Why not nlohmann::ordered_map: it keeps its pairs in a vector and finds a key
// by walking the vector, so parsing an object of n keys cost n^2/2 string
// comparisons, and so did every merge and lookup over it (issue 58: a 242 KB user
// data of 80,000 kubelet.config keys took 162 s of CPU to render). Why not
// std::map or std::unordered_map: our outputs keep the order keys came in
// (config.json reads kind, apiVersion, spec first; users' documents keep their
// own order), and the golden files hold that order byte for byte.
//
// So: the pairs in a vector, in insertion order, as before (iteration, output and
// comparison see exactly what ordered_map gave), plus an open-addressing table of
// positions into the vector, keyed by a hash of the key. Lookup and insertion are
// O(1) on average; erasing is O(n) (the vector closes the gap and the positions
// after it shift), as it was. An object of up to `linear_limit` keys has no
// table: most JSON objects are that small, and scanning a few keys is cheaper
// than hashing one.
//
// The hash is SipHash-1-3 under a key drawn once per process (jsonutil.cpp):
// user data is untrusted, and with a fixed hash a document of keys that all land
// in one slot could be precomputed, giving back the quadratic time.
//
// Duplicate keys keep ordered_map's meaning: inserting a key that is present
// changes nothing (emplace, insert) or reaches the existing value (operator[]),
// which stays at its first position. nlohmann's parser assigns through
// operator[], so in `{"a": 1, "b": 2, "a": 3}` the last value wins at the first
// position: {"a": 3, "b": 2}.
#pragma once

#include <algorithm>
#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace eksnode {

// SipHash-1-3 of `bytes` under this process's random key (jsonutil.cpp).
uint64_t seeded_key_hash(std::string_view bytes) noexcept;

// A key of any type that compares equal to Key (std::string, string_view,
// const char*), iterators excluded so that erase(it) is never a lookup.
template <class K, class Key, class Iterator>
concept lookup_key = !std::is_convertible_v<const K&, Iterator> && requires(const Key& a, const K& b) {
    { a == b } -> std::convertible_to<bool>;
};

// Key, T, the comparator nlohmann passes (unused: keys are hashed and compared
// for equality) and the allocator of the pairs: the shape basic_json's
// ObjectType template parameter has.
template <class Key, class T, class IgnoredLess = std::less<Key>,
          class Allocator = std::allocator<std::pair<const Key, T>>>
class ordered_index {
public:
    using key_type = Key;
    using mapped_type = T;
    using value_type = std::pair<const Key, T>;
    using allocator_type = Allocator;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using reference = value_type&;
    using const_reference = const value_type&;
    // basic_json takes this as its object_comparator_t: transparent, so
    // find("x") and find(std::string_view) need no std::string, as with
    // ordered_map (which names the same comparator).
    using key_compare = std::equal_to<>;

private:
    using Items = std::vector<value_type, Allocator>;

public:
    using iterator = typename Items::iterator;
    using const_iterator = typename Items::const_iterator;

    // Objects of this many keys or fewer are scanned, not hashed.
    static constexpr size_type linear_limit = 8;

    ordered_index() = default;
    explicit ordered_index(const Allocator& alloc) : items_(alloc) {}
    template <class InputIt>
    ordered_index(InputIt first, InputIt last, const Allocator& alloc = Allocator()) : items_(alloc) {
        insert(first, last);
    }
    ordered_index(std::initializer_list<value_type> init, const Allocator& alloc = Allocator()) : items_(alloc) {
        insert(init.begin(), init.end());
    }

    iterator begin() noexcept { return items_.begin(); }
    iterator end() noexcept { return items_.end(); }
    const_iterator begin() const noexcept { return items_.begin(); }
    const_iterator end() const noexcept { return items_.end(); }
    const_iterator cbegin() const noexcept { return items_.cbegin(); }
    const_iterator cend() const noexcept { return items_.cend(); }

    bool empty() const noexcept { return items_.empty(); }
    size_type size() const noexcept { return items_.size(); }
    size_type max_size() const noexcept { return std::min<size_type>(items_.max_size(), max_items); }
    // nlohmann's is_ordered_map trait looks for capacity(): with it, a
    // JSON_DIAGNOSTICS build re-points parents after an insertion (the vector
    // may have moved), as it does for ordered_map.
    size_type capacity() const noexcept { return items_.capacity(); }

    void clear() noexcept {
        items_.clear();
        hashes_.clear();
        slots_.clear();
    }

    template <lookup_key<Key, const_iterator> K>
    iterator find(const K& key) {
        size_type pos = locate(key, hash_of(key));
        return pos == npos ? items_.end() : items_.begin() + static_cast<difference_type>(pos);
    }
    template <lookup_key<Key, const_iterator> K>
    const_iterator find(const K& key) const {
        size_type pos = locate(key, hash_of(key));
        return pos == npos ? items_.end() : items_.begin() + static_cast<difference_type>(pos);
    }
    template <lookup_key<Key, const_iterator> K>
    size_type count(const K& key) const {
        return locate(key, hash_of(key)) == npos ? 0 : 1;
    }
    template <lookup_key<Key, const_iterator> K>
    bool contains(const K& key) const {
        return count(key) != 0;
    }

    template <lookup_key<Key, const_iterator> K>
    T& at(const K& key) {
        auto it = find(key);
        if (it == end()) throw std::out_of_range("key not found");
        return it->second;
    }
    template <lookup_key<Key, const_iterator> K>
    const T& at(const K& key) const {
        auto it = find(key);
        if (it == end()) throw std::out_of_range("key not found");
        return it->second;
    }

    T& operator[](const Key& key) { return emplace(key).first->second; }
    T& operator[](Key&& key) { return emplace(std::move(key)).first->second; }
    template <lookup_key<Key, const_iterator> K>
    T& operator[](K&& key) {
        return emplace(std::forward<K>(key)).first->second;
    }

    // The element at `key`: the one present (untouched, `false`), or a new one
    // at the end made from `args`.
    template <class K, class... Args>
    std::pair<iterator, bool> emplace(K&& key, Args&&... args) {
        const uint32_t h = hash_of(key);
        size_type pos = locate(key, h);
        if (pos != npos) return {items_.begin() + static_cast<difference_type>(pos), false};
        append(h, std::forward<K>(key), std::forward<Args>(args)...);
        return {std::prev(items_.end()), true};
    }

    std::pair<iterator, bool> insert(const value_type& value) { return emplace(value.first, value.second); }
    std::pair<iterator, bool> insert(value_type&& value) { return emplace(value.first, std::move(value.second)); }
    template <class InputIt>
    void insert(InputIt first, InputIt last) {
        for (; first != last; ++first) emplace(first->first, first->second);
    }

    // Erasing keeps the others' order; returns the element after the last erased.
    iterator erase(const_iterator pos) { return erase(pos, std::next(pos)); }
    iterator erase(const_iterator first, const_iterator last) {
        const auto from = static_cast<size_type>(first - items_.cbegin());
        const auto to = static_cast<size_type>(last - items_.cbegin());
        if (from == to) return items_.begin() + static_cast<difference_type>(from);
        relocate(items_.capacity(), from, to);
        if (!hashes_.empty())
            hashes_.erase(hashes_.begin() + static_cast<difference_type>(from),
                          hashes_.begin() + static_cast<difference_type>(to));
        reindex();
        return items_.begin() + static_cast<difference_type>(from);
    }
    template <lookup_key<Key, const_iterator> K>
    size_type erase(const K& key) {
        auto it = find(key);
        if (it == end()) return 0;
        erase(it);
        return 1;
    }

    void swap(ordered_index& other) noexcept {
        items_.swap(other.items_);
        hashes_.swap(other.hashes_);
        slots_.swap(other.slots_);
    }

    // Ordered comparisons, as ordered_map's (a std::vector of the same pairs):
    // {"a":1,"b":2} and {"b":2,"a":1} differ.
    friend bool operator==(const ordered_index& a, const ordered_index& b) { return a.items_ == b.items_; }
    friend auto operator<=>(const ordered_index& a, const ordered_index& b) { return a.items_ <=> b.items_; }

private:
    static constexpr size_type npos = static_cast<size_type>(-1);
    // Slots hold position + 1 in 32 bits (0: empty).
    static constexpr size_type max_items = UINT32_MAX - 1;
    // Keys the table can hash: text (std::string as Key, what basic_json uses).
    static constexpr bool hashed = std::is_convertible_v<const Key&, std::string_view>;

    template <class K>
    static constexpr bool hashable = (hashed && std::is_convertible_v<const K&, std::string_view>);

    template <class K>
    static uint32_t hash_of(const K& key) noexcept {
        if constexpr (hashable<K>) {
            const uint64_t h = seeded_key_hash(std::string_view(key));
            return static_cast<uint32_t>(h ^ (h >> 32));
        } else {
            return 0;
        }
    }

    template <class K>
    static bool same_key(const Key& a, const K& b) {
        if constexpr (hashable<K>) return std::string_view(a) == std::string_view(b);
        else return a == b;
    }

    // The position of `key` (hash `h`), or npos.
    template <class K>
    size_type locate(const K& key, uint32_t h) const {
        if (slots_.empty() || !hashable<K>) {
            for (size_type i = 0; i < items_.size(); ++i)
                if (same_key(items_[i].first, key)) return i;
            return npos;
        }
        const size_type mask = slots_.size() - 1;
        for (size_type s = h & mask;; s = (s + 1) & mask) {
            const uint32_t slot = slots_[s];
            if (slot == 0) return npos;
            const size_type pos = slot - 1;
            if (hashes_[pos] == h && same_key(items_[pos].first, key)) return pos;
        }
    }

    // A new last element. Everything that allocates is done before it is
    // made, so a throw leaves the map as it was. The key and value are made
    // first: they may refer into this map, which growing moves.
    template <class K, class... Args>
    void append(uint32_t h, K&& key, Args&&... args) {
        if (items_.size() >= max_items) throw std::length_error("JSON object too large");
        Key k(std::forward<K>(key));
        T value(std::forward<Args>(args)...);
        const size_type n = items_.size() + 1;
        const bool indexed = hashed && n > linear_limit;
        if (items_.size() == items_.capacity()) relocate(std::max<size_type>(4, 2 * items_.size()), 0, 0);
        if (indexed) {
            if (slots_.empty()) {
                // the object outgrew the scan: hash the keys it has
                std::vector<uint32_t> hashes;
                hashes.reserve(items_.capacity());
                for (const value_type& item : items_) hashes.push_back(hash_of(item.first));
                hashes_.swap(hashes);
            } else {
                hashes_.reserve(items_.capacity());
            }
            if (2 * n > slots_.size()) {
                size_type want = 16;
                while (want < 4 * n) want *= 2;  // at most half full after the next doublings too
                std::vector<uint32_t> slots(want, 0);
                slots_.swap(slots);
                reindex_slots();
            }
        }
        items_.emplace_back(std::piecewise_construct, std::forward_as_tuple(std::move(k)),
                            std::forward_as_tuple(std::move(value)));
        if (indexed) {
            hashes_.push_back(h);  // reserved: does not throw
            place(n - 1);
        }
    }

    // Puts position `pos` (its hash in hashes_) in the first free slot from its own.
    void place(size_type pos) noexcept {
        const size_type mask = slots_.size() - 1;
        size_type s = hashes_[pos] & mask;
        while (slots_[s] != 0) s = (s + 1) & mask;
        slots_[s] = static_cast<uint32_t>(pos + 1);
    }

    void reindex_slots() noexcept {
        std::fill(slots_.begin(), slots_.end(), 0u);
        for (size_type i = 0; i < items_.size(); ++i) place(i);
    }

    // After an erase: the table anew from the hashes kept (no key is hashed
    // again), or no table once the object is small.
    void reindex() noexcept {
        if (items_.size() <= linear_limit) {
            std::vector<uint32_t>().swap(hashes_);
            std::vector<uint32_t>().swap(slots_);
            return;
        }
        if (!slots_.empty()) reindex_slots();
    }

    // The elements into new storage of `capacity`, leaving out [skip_from,
    // skip_to). Each key is copied (it is const) and each value moved: a
    // std::vector of pairs with a const key copies whole values when it
    // grows, since such a pair's move may throw, and copying a value is
    // copying its whole subtree. If copying a key throws, the values moved so
    // far are moved back, and the map is as it was.
    void relocate(size_type capacity, size_type skip_from, size_type skip_to) {
        static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>);
        Items moved(items_.get_allocator());
        moved.reserve(capacity);
        size_type i = 0;
        try {
            for (; i < items_.size(); ++i) {
                if (i >= skip_from && i < skip_to) continue;
                moved.emplace_back(std::piecewise_construct, std::forward_as_tuple(items_[i].first),
                                   std::forward_as_tuple(std::move(items_[i].second)));
            }
        } catch (...) {
            size_type back = 0;
            for (size_type j = 0; j < i; ++j)
                if (j < skip_from || j >= skip_to) items_[j].second = std::move(moved[back++].second);
            throw;
        }
        items_.swap(moved);
    }

    Items items_;
    // With a table only: each element's hash, by position, and the table
    // (a power of two in size, at most half full) of positions + 1.
    std::vector<uint32_t> hashes_;
    std::vector<uint32_t> slots_;
};

}  // namespace eksnode
