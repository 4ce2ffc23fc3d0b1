// SPDX-License-Identifier: Apache-2.0
// eksnode::json's object type (core/ordered_index.hpp): what nlohmann's
// ordered_json did, key order, duplicates, erase, copies and comparisons, checked
// against ordered_json itself, at sizes below and above the point where lookups
// go through the hash table. (That an object of n keys costs time linear in n:
// tests/process/json_scale.py, which counts instructions.)
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

using eksnode::json;

namespace {

// Keys in no particular order, some long enough for the hash's 8-byte blocks.
std::vector<std::string> scrambled_keys(size_t n) {
    std::vector<std::string> keys;
    keys.reserve(n);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        keys.push_back((i % 3 == 0 ? "a-rather-long-key-" : "k") + std::to_string(x % 1000003) + "-" +
                       std::to_string(i));
    }
    return keys;
}

// The same document as ordered_json writes it.
template <class J>
std::string built(const std::vector<std::string>& keys) {
    J j = J::object();
    for (size_t i = 0; i < keys.size(); ++i) j[keys[i]] = i;
    return j.dump();
}

}  // namespace

TEST_CASE("json objects keep insertion order as ordered_json did", "[core][json]") {
    for (size_t n : {0, 1, 7, 8, 9, 17, 100, 5000}) {
        CAPTURE(n);
        auto keys = scrambled_keys(n);
        CHECK(built<json>(keys) == built<nlohmann::ordered_json>(keys));
        json j = json::object();
        for (size_t i = 0; i < n; ++i) j.emplace(keys[i], i);
        size_t i = 0;
        for (auto it = j.begin(); it != j.end(); ++it, ++i) {
            REQUIRE(it.key() == keys[i]);
            REQUIRE(*it == i);
        }
        CHECK(i == n);
    }
}

TEST_CASE("json lookups find every key of a large object, and no other", "[core][json]") {
    const auto keys = scrambled_keys(50000);
    json j = json::object();
    for (size_t i = 0; i < keys.size(); ++i) j[keys[i]] = i;
    REQUIRE(j.size() == keys.size());
    size_t found = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
        auto it = j.find(keys[i]);
        if (it != j.end() && *it == i && j.contains(std::string_view(keys[i])) && j.count(keys[i].c_str()) == 1 &&
            j.at(keys[i]) == i)
            ++found;
    }
    CHECK(found == keys.size());
    size_t missing = 0;
    for (size_t i = 0; i < 1000; ++i) missing += j.contains("absent-" + std::to_string(i)) ? 0 : 1;
    CHECK(missing == 1000);
    CHECK(j.value("absent", 7) == 7);
}

TEST_CASE("json keeps ordered_json's meaning of a duplicate key", "[core][json]") {
    // the parser assigns through operator[]: the last value, at the first key's place
    CHECK(json::parse(R"({"a": 1, "b": 2, "a": 3})").dump() == R"({"a":3,"b":2})");
    std::string big = "{";
    for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
    big += R"("k5": "again", "k39": {"x": 1}, "k0": null})";
    CHECK(json::parse(big).dump() == nlohmann::ordered_json::parse(big).dump());
    CHECK(json::parse(big).size() == 40);
    CHECK(json::parse(big)["k5"] == "again");
    // the parser with a callback (as format/convert.cpp's json_document reads user data)
    auto keep = [](int, json::parse_event_t, json&) { return true; };
    auto keep_ordered = [](int, nlohmann::ordered_json::parse_event_t, nlohmann::ordered_json&) { return true; };
    CHECK(json::parse(big, keep).dump() == nlohmann::ordered_json::parse(big, keep_ordered).dump());

    // emplace and insert leave a present key alone; operator[] reaches it
    json j = json::object();
    for (int i = 0; i < 20; ++i) j[std::to_string(i)] = i;
    auto [it, inserted] = j.emplace("3", "new");
    CHECK_FALSE(inserted);
    CHECK(*it == 3);
    const json more = {{"4", "new"}, {"20", 20}};
    j.insert(more.begin(), more.end());
    CHECK(j["4"] == 4);
    CHECK(j["20"] == 20);
    CHECK(j.size() == 21);
    j["5"] = "five";
    CHECK(std::next(j.begin(), 5).key() == "5");
    CHECK(std::next(j.begin(), 5).value() == "five");
}

TEST_CASE("json erase keeps the others' order and their lookups", "[core][json]") {
    auto keys = scrambled_keys(300);
    json j = json::object();
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (size_t i = 0; i < keys.size(); ++i) j[keys[i]] = o[keys[i]] = i;
    // by key: the middle, the first, the last; then down past the hash table's threshold
    for (size_t i : {150, 0, 299}) {
        CHECK(j.erase(keys[i]) == 1);
        CHECK(o.erase(keys[i]) == 1);
    }
    CHECK(j.erase("absent") == 0);
    CHECK(j.dump() == o.dump());
    // by iterator: erase returns the next element
    auto it = j.erase(std::next(j.begin(), 10));
    o.erase(std::next(o.begin(), 10));
    CHECK(it.key() == std::next(o.begin(), 10).key());
    // a range
    j.erase(std::next(j.begin(), 20), std::next(j.begin(), 200));
    o.erase(std::next(o.begin(), 20), std::next(o.begin(), 200));
    CHECK(j.dump() == o.dump());
    for (auto e = o.begin(); e != o.end(); ++e) REQUIRE(j.at(e.key()).dump() == e.value().dump());
    while (j.size() > 3) {
        std::string first = j.begin().key();
        j.erase(first);
        o.erase(first);
        CHECK_FALSE(j.contains(first));
        for (auto e = o.begin(); e != o.end(); ++e) REQUIRE(j.at(e.key()).dump() == e.value().dump());
    }
    CHECK(j.dump() == o.dump());
    // and grows again
    for (size_t i = 0; i < 50; ++i) j[keys[i]] = o[keys[i]] = -static_cast<int>(i);
    CHECK(j.dump() == o.dump());
    for (auto e = o.begin(); e != o.end(); ++e) REQUIRE(j.at(e.key()).dump() == e.value().dump());
}

TEST_CASE("json copies are deep and independent; comparison sees order", "[core][json]") {
    auto keys = scrambled_keys(1000);
    json j = json::object();
    for (size_t i = 0; i < keys.size(); ++i) j[keys[i]] = {{"n", i}, {"list", {i, i + 1}}};
    json copy = j;
    CHECK(copy == j);
    copy[keys[7]]["n"] = "changed";
    copy.erase(keys[8]);
    copy["new"] = true;
    CHECK(j[keys[7]]["n"] == 7);
    CHECK(j.contains(keys[8]));
    CHECK_FALSE(j.contains("new"));
    CHECK(copy.at(keys[9])["n"] == 9);
    CHECK(copy.at("new") == true);
    json assigned;
    assigned = copy;
    CHECK(assigned == copy);
    json moved = std::move(assigned);
    CHECK(moved == copy);
    CHECK(moved.at(keys[999])["list"][1] == 1000);
    // as ordered_json: equal keys and values in another order are another object
    CHECK(json{{"a", 1}, {"b", 2}} != json{{"b", 2}, {"a", 1}});
    CHECK((json{{"a", 1}, {"b", 2}} < json{{"b", 2}, {"a", 1}}) ==
          (nlohmann::ordered_json{{"a", 1}, {"b", 2}} < nlohmann::ordered_json{{"b", 2}, {"a", 1}}));
    // and the conversion from ordered_json keeps the order
    nlohmann::ordered_json o = nlohmann::ordered_json::parse(R"({"z": 1, "a": {"y": 2, "b": 3}})");
    CHECK(json(o).dump() == o.dump());
}

TEST_CASE("json deep_merge over large objects keeps order and wins key by key", "[core][json]") {
    auto keys = scrambled_keys(3000);
    json dst = json::object(), src = json::object();
    nlohmann::ordered_json want = nlohmann::ordered_json::object();
    for (size_t i = 0; i < keys.size(); i += 2) dst[keys[i]] = want[keys[i]] = i;
    for (size_t i = 0; i < keys.size(); i += 3) src[keys[i]] = want[keys[i]] = -static_cast<int>(i);
    eksnode::deep_merge(dst, src);
    CHECK(dst.dump() == want.dump());
}
