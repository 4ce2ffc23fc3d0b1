// SPDX-License-Identifier: Apache-2.0
#include "core/telemetry.hpp"

#include <algorithm>
#include <limits>

namespace eksnode::telemetry {

namespace {

// A step is one process, and its clients run on one thread (the IMDS fetcher
// multiplexes with poll, libcurl runs synchronously): no lock needed.
std::vector<Calls>& table() {
    static std::vector<Calls> t;
    return t;
}

}  // namespace

void add(std::vector<Calls>& into, const Calls& c) {
    auto it = std::find_if(into.begin(), into.end(), [&](const Calls& o) { return o.api == c.api; });
    if (it == into.end()) it = into.insert(into.end(), Calls{c.api});
    it->requests += c.requests;
    it->retries += c.retries;
}

void count_request(std::string_view api, bool retry) { add(table(), {std::string(api), 1, retry ? 1U : 0U}); }

const std::vector<Calls>& calls() { return table(); }

void reset() { table().clear(); }

json to_json(const std::vector<Calls>& calls) {
    json out = json::object();
    for (const Calls& c : calls) out[c.api] = {{"requests", c.requests}, {"retries", c.retries}};
    return out;
}

std::optional<std::vector<Calls>> from_json(std::string_view text) {
    if (text.size() > max_field_bytes) return std::nullopt;
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || j.size() > max_apis) return std::nullopt;
    std::vector<Calls> out;
    auto count = [](const json& v, const char* key) -> std::optional<unsigned> {
        auto it = v.find(key);
        if (it == v.end() || !it->is_number_unsigned() || it->get<uint64_t>() > std::numeric_limits<unsigned>::max())
            return std::nullopt;
        return it->get<unsigned>();
    };
    for (const auto& [api, v] : j.items()) {
        // an API name is a short lower-case word; anything else is not ours
        if (api.empty() || api.size() > 32 || !std::all_of(api.begin(), api.end(), [](char ch) {
                return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
            }))
            return std::nullopt;
        if (!v.is_object()) return std::nullopt;
        std::optional<unsigned> requests = count(v, "requests"), retries = count(v, "retries");
        if (!requests || !retries || *retries > *requests) return std::nullopt;
        out.push_back({api, *requests, *retries});
    }
    return out;
}

}  // namespace eksnode::telemetry
