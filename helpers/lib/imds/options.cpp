// ImdsOptions from [settings.imds] and --imds-endpoint.

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"
#include "imds/detail.hpp"
#include "imds/http.hpp"
#include "imds/imds.hpp"

namespace eksnode {

namespace imds_detail {

namespace {

constexpr std::string_view settings_source = "static configuration (node.toml.d)";
// Longer than any boot should wait; catches "120000" meant as milliseconds.
constexpr double max_duration_ms = 24.0 * 3600 * 1000;

[[noreturn]] void bad_duration(std::string_view field, const std::string& shown) {
    throw ConfigError(std::string(settings_source), std::string(field),
                      fmt::format("{} is not a positive duration of at most 24h "
                                  "(e.g. 90s, 500ms, 2m, or 90 for seconds)",
                                  shown));
}

// A setting as the error shows it. replace: a string that is not UTF-8
// (from a source that did not check) still prints, rather than making the
// error itself throw.
std::string shown(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::chrono::milliseconds parse_duration(const json& value, std::string_view field) {
    double ms = 0;
    if (value.is_number()) {
        ms = value.get<double>() * 1000;
    } else if (value.is_string()) {
        const std::string& s = value.get_ref<const std::string&>();
        size_t i = 0, terms = 0;
        auto skip_spaces = [&] {
            while (i < s.size() && s[i] == ' ') ++i;
        };
        skip_spaces();
        while (i < s.size()) {
            size_t num_start = i;
            while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
            double n = 0;
            // from_chars: locale-independent, unlike stod.
            auto [end, ec] = std::from_chars(s.data() + num_start, s.data() + i, n);
            if (i == num_start || ec != std::errc() || end != s.data() + i) bad_duration(field, shown(value));
            size_t unit_start = i;
            while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
            std::string_view unit(s.data() + unit_start, i - unit_start);
            double scale = 0;
            if (unit == "ms") scale = 1;
            else if (unit.empty() || unit == "s" || unit == "sec") scale = 1000;
            else if (unit == "m" || unit == "min") scale = 60'000;
            else if (unit == "h") scale = 3'600'000;
            else bad_duration(field, shown(value));
            // A unitless number is only allowed alone ("90"), as in systemd.
            if (unit.empty() && terms > 0) bad_duration(field, shown(value));
            ms += n * scale;
            ++terms;
            skip_spaces();
            if (unit.empty() && i < s.size()) bad_duration(field, shown(value));
        }
        if (terms == 0) bad_duration(field, shown(value));
    } else {
        bad_duration(field, shown(value));
    }
    if (!std::isfinite(ms) || ms < 1 || ms > max_duration_ms) bad_duration(field, shown(value));
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::optional<std::string> normalize_endpoint(std::string_view url, std::string& problem) {
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
    if (!parse_endpoint(url, problem)) return std::nullopt;
    return std::string(url);
}

}  // namespace imds_detail

ImdsOptions imds_options(const json& settings, const std::string& endpoint_override) {
    using namespace imds_detail;
    ImdsOptions o;
    const json* imds = nullptr;
    if (settings.is_object())
        if (auto it = settings.find("imds"); it != settings.end()) imds = &*it;

    if (imds) {
        const std::string source(settings_source);
        if (!imds->is_object()) throw ConfigError(source, "settings.imds", "must be a table");
        std::optional<std::string> endpoint;
        std::string mode = "auto";
        for (auto it = imds->begin(); it != imds->end(); ++it) {
            const std::string field = "settings.imds." + it.key();
            if (it.key() == "endpoint") {
                if (!it->is_string()) throw ConfigError(source, field, "must be a string");
                std::string problem;
                endpoint = normalize_endpoint(it->get_ref<const std::string&>(), problem);
                if (!endpoint) throw ConfigError(source, field, fmt::format("{} {}", shown(*it), problem));
            } else if (it.key() == "endpointMode") {
                if (!it->is_string()) throw ConfigError(source, field, "must be a string");
                mode = it->get<std::string>();
                if (mode != "auto" && mode != "ipv4" && mode != "ipv6")
                    throw ConfigError(source, field, fmt::format("{} is not one of auto, ipv4, ipv6", shown(*it)));
            } else if (it.key() == "deadline") {
                o.deadline = parse_duration(*it, field);
            } else if (it.key() == "requestTimeout") {
                o.request_timeout = parse_duration(*it, field);
            } else {
                throw ConfigError(source, field,
                                  "unknown setting (known: endpoint, endpointMode, deadline, requestTimeout)");
            }
        }
        // An explicit endpoint is the only one; the mode picks among the
        // link-local pair otherwise.
        if (endpoint) o.endpoints = {*endpoint};
        else if (mode == "ipv4") o.endpoints = {std::string(imds_ipv4_endpoint)};
        else if (mode == "ipv6") o.endpoints = {std::string(imds_ipv6_endpoint)};
    }

    if (!endpoint_override.empty()) {
        std::string problem;
        std::optional<std::string> e = normalize_endpoint(endpoint_override, problem);
        if (!e) throw UsageError(fmt::format("--imds-endpoint={}: {}", endpoint_override, problem));
        o.endpoints = {*e};
    }
    return o;
}

}  // namespace eksnode
