// SPDX-License-Identifier: Apache-2.0
// eks-node's own [settings.imds] and [settings.aws]: one reader and one
// grammar per key, called by every step that reads them, so that a fragment
// one step accepts is never refused by the next (issue 15: deadline = "1m30s"
// passed eks-node-imds, then stopped eks-node-config with exit 6). The
// grammars are documented once, in eks-node.toml(5).
//
// Light on purpose: eks-node-imds links this, so it pulls in neither YAML nor
// the schema nor the NodeConfig model (only JSON, fmt and the IMDS client's
// URL parser).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::input::settings {

// A duration (eks-node.toml(5), FIELDS): an integer number of seconds, or a
// string of a positive integer and one unit, ms, s, m or h ("500ms", "90s",
// "2m"); from 1 ms to 24 h. No compound values ("1m30s"), fractions or spaces.
// Returns nullopt and sets `problem` (as errors show it after the field)
// when `value` is not one.
std::optional<std::chrono::milliseconds> parse_duration(const json& value, std::string& problem);

// What a duration must be, as errors say it ("expected <this>, got ...").
inline constexpr std::string_view duration_expected =
    "a duration (an integer number of seconds, or a string of a positive integer and one unit, ms, s, m or h, "
    "such as \"500ms\", \"90s\", \"2m\"; at most 24h)";

// settings.imds.endpoint: an http:// base URL whose host is an IP literal,
// the only kind the IMDS client connects to (core/http.hpp says why). Returns
// it without trailing slashes, or nullopt and sets `problem`.
std::optional<std::string> imds_endpoint(std::string_view url, std::string& problem);

enum class EndpointMode { automatic, ipv4, ipv6 };

struct ImdsSettings {
    std::optional<std::string> endpoint;  // normalized (imds_endpoint())
    EndpointMode endpoint_mode = EndpointMode::automatic;
    std::optional<std::chrono::milliseconds> deadline;
    std::optional<std::chrono::milliseconds> request_timeout;
};

struct AwsSettings {
    std::optional<std::chrono::milliseconds> deadline;
    std::optional<std::chrono::milliseconds> request_timeout;
    std::optional<int> max_attempts;  // of one API request, the first included (AWS_MAX_ATTEMPTS in TOML)
};

// settings.aws.maxAttempts: from 1 to this.
inline constexpr int max_aws_attempts = 1000;

// Whether the rules between keys apply: only to the merged table, since a
// later fragment may set what makes an earlier one's value fit.
enum class Table { fragment, merged };

// The JSON of [settings.imds] (null: absent). Throws ConfigError(source,
// "settings.imds[.<key>]", problem), exit 6, for the first bad key; for a
// merged table also when requestTimeout is longer than deadline (both set).
ImdsSettings read_imds(const json& table, const std::string& source, Table which);

// The JSON of [settings.aws] (null: absent). Throws as read_imds() does.
AwsSettings read_aws(const json& table, const std::string& source);

// The readers' common words (settings.cpp), for the tables read in files of
// their own (pre_pull.cpp, hooks.cpp, and config/'s trust, runtimes, registries
// and credential providers): "expected WHAT, got VALUE", an unknown key, a
// duration at `field` (ConfigError(source, field, problem) when not one).
std::string expected(std::string_view what, const json& value);
[[noreturn]] void unknown_field(const std::string& source, const std::string& field, std::string_view known);
std::chrono::milliseconds duration_at(const json& value, const std::string& source, const std::string& field);

// The source that set a key of the merged settings, found by its JSON pointer.
using Origin = std::function<std::string(const std::string&)>;

// A table of the merged settings, as errors about it name it.
struct Place {
    std::string field;    // settings.TABLE.NAME[...], as an error names it
    std::string pointer;  // /settings/TABLE/NAME[/...], as Origin finds its source
    const Origin& origin;
    // A ConfigError about `key` of the table (empty: the table itself), from
    // the source that set it.
    [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
};

// One entry of a table of named entries, settings.TABLE.NAME (hooks, trust
// bundles, runtime handlers, registries, credential providers): the five are
// opened by entries(), so that they refuse the same faults with the same words.
struct Entry : Place {
    std::string name;
    const json& body;
};

// The entries of settings.TABLE (`table`, null when absent: none) in name
// order: nlohmann's objects iterate sorted, so every run reads them alike.
// Throws ConfigError about settings.TABLE when it is not an object, or holds
// more than `max` entries ("N COUNTED, more than MAX", then `note`).
std::vector<Entry> entries(const json& table, std::string_view name, size_t max, std::string_view counted,
                           const Origin& origin, std::string_view note = "");

// [settings.prePull]: images pulled after kubelet started (eks-node-prepull(8)).
struct PrePullSettings {
    std::vector<std::string> images;             // each an image reference (check::image_reference)
    std::chrono::milliseconds timeout{300'000};  // per image: the credential plugin and the pull
};
// Bounds: a list an operator writes by hand, and a per-image timeout that
// fits the unit's TimeoutStartSec= (1 h) a few times over.
inline constexpr size_t max_pre_pull_images = 64;
inline constexpr std::chrono::milliseconds max_pre_pull_timeout{30 * 60'000};
// settings.preflight.timeout: under eks-node-preflight.service's 330 s, so
// that the verdict is the step's. eks-node-config refuses more, as the step does.
inline constexpr std::chrono::milliseconds max_preflight_timeout{5 * 60'000};

// The JSON of [settings.prePull] (null: absent). Throws ConfigError(source,
// "settings.prePull[.<key>]", problem): a bad reference, a duplicate, more
// than max_pre_pull_images, a timeout over max_pre_pull_timeout.
PrePullSettings read_pre_pull(const json& table, const std::string& source);

}  // namespace eksnode::input::settings
