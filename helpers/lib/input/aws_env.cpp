// SPDX-License-Identifier: Apache-2.0
#include "input/aws_env.hpp"

#include <charconv>
#include <climits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/field_text.hpp"

namespace eksnode::input::aws_env {

namespace {

// A decimal count from 1 to `max`, digits only: the SDKs parse these as
// integers, so "3 ", "+3", "3.0" and "0x3" are no counts to them either.
std::optional<long> count(std::string_view s, long max) {
    long n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || s.front() == '-' || n < 1 || n > max) return std::nullopt;
    return n;
}

// The SDKs compare these words without regard to case.
bool is_word(std::string_view value, std::string_view word) { return format::text::lower(value) == word; }

}  // namespace

std::string_view mode_name(RetryMode m) {
    switch (m) {
    case RetryMode::standard: return "standard";
    case RetryMode::adaptive: return "adaptive";
    case RetryMode::legacy: return "legacy";
    }
    return "standard";
}

void read(std::string_view name, std::string_view value, Values& out, const std::string& source,
          const std::string& field) {
    if (value.empty()) return;
    auto bad = [&](std::string_view expected) {
        throw ConfigError(source, field, fmt::format("{} is not {}", format::text::quote(value), expected));
    };
    if (name == "AWS_MAX_ATTEMPTS") {
        auto n = count(value, INT_MAX);
        if (!n) bad("a whole number of attempts of at least 1 (the first attempt included)");
        out.max_attempts = static_cast<int>(*n);
    } else if (name == "AWS_RETRY_MODE") {
        for (RetryMode m : {RetryMode::standard, RetryMode::adaptive, RetryMode::legacy})
            if (is_word(value, mode_name(m))) out.retry_mode = m;
        if (!out.retry_mode) bad("one of standard, adaptive, legacy");
    } else if (name == "AWS_METADATA_SERVICE_TIMEOUT") {
        // Whole seconds, as the SDKs take it; at most the 24 h any duration of ours may be.
        auto n = count(value, 24L * 3600);
        if (!n) bad("a whole number of seconds from 1 to 86400");
        out.metadata_timeout = std::chrono::seconds(*n);
    } else if (name == "AWS_METADATA_SERVICE_NUM_ATTEMPTS") {
        auto n = count(value, INT_MAX);
        if (!n) bad("a whole number of attempts of at least 1 (the first attempt included)");
        out.metadata_attempts = static_cast<int>(*n);
    } else if (name == "AWS_EC2_METADATA_DISABLED") {
        if (is_word(value, "true")) out.metadata_disabled = true;
        else if (is_word(value, "false")) out.metadata_disabled = false;
        else bad("true or false");
    }
}

}  // namespace eksnode::input::aws_env
