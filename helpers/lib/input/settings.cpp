// SPDX-License-Identifier: Apache-2.0
#include "input/settings.hpp"

#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/http.hpp"
#include "format/field_text.hpp"

namespace eksnode::input::settings {

namespace {

using std::chrono::milliseconds;

// Longer than any boot should wait; catches "120000" meant as milliseconds,
// and keeps deadline arithmetic on steady_clock (nanoseconds) far from overflow.
constexpr int64_t max_ms = 24LL * 3600 * 1000;

}  // namespace

// The messages of the schema walk (config/validate.cpp), so that a bad
// [settings.imds] reads the same from every step.
std::string expected(std::string_view what, const json& value) {
    return fmt::format("expected {}, got {}", what, format::text::describe(value));
}

[[noreturn]] void unknown_field(const std::string& source, const std::string& field, std::string_view known) {
    throw ConfigError(source, field, fmt::format("unknown field (known fields: {})", known));
}

milliseconds duration_at(const json& value, const std::string& source, const std::string& field) {
    std::string problem;
    std::optional<milliseconds> d = parse_duration(value, problem);
    if (!d) throw ConfigError(source, field, problem);
    return *d;
}

void Place::fail(const std::string& key, const std::string& problem) const {
    throw ConfigError(origin(key.empty() ? pointer : pointer + "/" + key), key.empty() ? field : field + "." + key,
                      problem);
}

std::vector<Entry> entries(const json& table, std::string_view name, size_t max, std::string_view counted,
                           const Origin& origin, std::string_view note) {
    std::vector<Entry> out;
    if (table.is_null()) return out;
    const std::string top = "settings." + std::string(name);
    const std::string pointer = "/settings/" + std::string(name);
    if (!table.is_object()) throw ConfigError(origin(pointer), top, expected("an object", table));
    if (table.size() > max)
        throw ConfigError(origin(pointer), top, fmt::format("{} {}, more than {}{}", table.size(), counted, max, note));
    for (const auto& [key, body] : table.items())
        out.push_back(Entry{{format::text::child_path(top, key), pointer + "/" + key, origin}, key, body});
    return out;
}

std::optional<milliseconds> parse_duration(const json& value, std::string& problem) {
    int64_t ms = 0;
    if (value.is_number_unsigned()) {
        // As seconds; compared before scaling so that no value can overflow.
        uint64_t s = value.get<uint64_t>();
        if (s >= 1 && s <= static_cast<uint64_t>(max_ms / 1000)) ms = static_cast<int64_t>(s) * 1000;
    } else if (value.is_number_integer()) {
        int64_t s = value.get<int64_t>();
        if (s >= 1 && s <= max_ms / 1000) ms = s * 1000;
    } else if (value.is_string()) {
        std::string_view s = value.get_ref<const std::string&>();
        // Unsigned: from_chars then refuses a sign, and out-of-range numbers.
        uint64_t count = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), count);
        std::string_view unit(end, static_cast<size_t>(s.data() + s.size() - end));
        int64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : 0;
        if (ec == std::errc() && scale != 0 && count >= 1 && count <= static_cast<uint64_t>(max_ms / scale))
            ms = static_cast<int64_t>(count) * scale;
    }
    // Floats too: a fraction of a second is written in ms, and 1e400 is no duration.
    if (ms == 0) {
        problem = expected(duration_expected, value);
        return std::nullopt;
    }
    return milliseconds(ms);
}

std::optional<std::string> imds_endpoint(std::string_view url, std::string& problem) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) {
        problem = url.starts_with("https://") ? "IMDS speaks plain http, not https"
                                              : "must start with http:// (e.g. http://169.254.169.254)";
        return std::nullopt;
    }
    for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#' || c == '@') {
            problem = "must be a base URL such as http://169.254.169.254 (no spaces, user, query or fragment)";
            return std::nullopt;
        }
    }
    while (url.size() > scheme.size() && url.back() == '/') url.remove_suffix(1);
    // Only what the client can reach: an IP literal and a port.
    if (!http::parse_endpoint(url, problem)) return std::nullopt;
    return std::string(url);
}

ImdsSettings read_imds(const json& table, const std::string& source, Table which) {
    ImdsSettings out;
    if (table.is_null()) return out;
    if (!table.is_object()) throw ConfigError(source, "settings.imds", expected("an object", table));
    for (const auto& [key, value] : table.items()) {
        const std::string field = "settings.imds." + key;
        if (key == "endpoint") {
            if (!value.is_string()) throw ConfigError(source, field, expected("a string", value));
            std::string problem;
            out.endpoint = imds_endpoint(value.get_ref<const std::string&>(), problem);
            if (!out.endpoint)
                throw ConfigError(source, field, fmt::format("{}: {}", format::text::describe(value), problem));
        } else if (key == "endpointMode") {
            if (!value.is_string()) throw ConfigError(source, field, expected("one of auto, ipv4, ipv6", value));
            if (value == "auto") out.endpoint_mode = EndpointMode::automatic;
            else if (value == "ipv4") out.endpoint_mode = EndpointMode::ipv4;
            else if (value == "ipv6") out.endpoint_mode = EndpointMode::ipv6;
            else
                throw ConfigError(source, field,
                                  fmt::format("{} is not one of auto, ipv4, ipv6", format::text::describe(value)));
        } else if (key == "deadline") {
            out.deadline = duration_at(value, source, field);
        } else if (key == "requestTimeout") {
            out.request_timeout = duration_at(value, source, field);
        } else {
            unknown_field(source, field, "endpoint, endpointMode, deadline, requestTimeout");
        }
    }
    // A single request may not outlast the deadline for all of them.
    if (which == Table::merged && out.deadline && out.request_timeout && *out.request_timeout > *out.deadline)
        throw ConfigError(source, "settings.imds.requestTimeout",
                          fmt::format("{} is longer than settings.imds.deadline ({})",
                                      format::text::describe(table.at("requestTimeout")),
                                      format::text::describe(table.at("deadline"))));
    return out;
}

AwsSettings read_aws(const json& table, const std::string& source) {
    AwsSettings out;
    if (table.is_null()) return out;
    if (!table.is_object()) throw ConfigError(source, "settings.aws", expected("an object", table));
    for (const auto& [key, value] : table.items()) {
        const std::string field = "settings.aws." + key;
        if (key == "deadline") {
            out.deadline = duration_at(value, source, field);
        } else if (key == "requestTimeout") {
            out.request_timeout = duration_at(value, source, field);
        } else if (key == "maxAttempts") {
            // The schema walk's messages (config/validate.cpp), as for any integer.
            if (!value.is_number_integer()) throw ConfigError(source, field, expected("an integer", value));
            if (value.is_number_unsigned() ? value.get<uint64_t>() > static_cast<uint64_t>(max_aws_attempts)
                                           : value.get<int64_t>() > max_aws_attempts)
                throw ConfigError(source, field, fmt::format("{} is more than {}", value.dump(), max_aws_attempts));
            if (value.get<int64_t>() < 1)
                throw ConfigError(source, field, fmt::format("{} is less than 1", value.dump()));
            out.max_attempts = static_cast<int>(value.get<int64_t>());
        } else {
            unknown_field(source, field, "deadline, requestTimeout, maxAttempts");
        }
    }
    return out;
}

}  // namespace eksnode::input::settings
