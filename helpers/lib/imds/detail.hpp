// Pieces of the IMDS client that are pure functions, exposed for unit tests.
// Not an API for other areas: use imds.hpp.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::imds_detail {

// Exponential backoff with "full jitter": a delay drawn uniformly from
// [0, min(max_backoff, initial * 2^attempt)]. `attempt` counts failures so far
// (0 for the first retry); `unit` is a random number in [0, 1). Full jitter
// spreads a fleet of nodes booting together (an Auto Scaling group scaling
// out) instead of having them hammer IMDS in lockstep.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max_backoff, double unit);

// "us-west-2f" -> "us-west-2"; Local Zones and Wavelength zones keep their
// parent region: "us-west-2-lax-1a" -> "us-west-2". Empty if `az` does not
// look like a zone name.
std::string region_from_az(std::string_view az);

// The partition a region belongs to ("cn-north-1" -> "aws-cn").
std::string_view partition_for_region(std::string_view region);

// The DNS suffix of a partition's service endpoints; empty for an unknown one.
std::string_view domain_for_partition(std::string_view partition);

// A duration setting: an integer number of seconds, or a string of one or
// more <number><unit> terms with unit ms, s, m/min or h ("500ms", "90s",
// "2m", "1m30s"). Throws ConfigError naming `field` ("settings: imds.deadline: ...").
std::chrono::milliseconds parse_duration(const json& value, std::string_view field);

// The values one fetch gathered, keyed by path under /latest/; a 404 is stored
// as std::nullopt. Paths that were never requested are simply missing.
using Fetched = std::map<std::string, std::optional<std::string>, std::less<>>;

// Builds instance.json (schema at the end of imds.hpp) from fetched values.
// Throws Error naming the path when a required value is missing or malformed.
json assemble_instance(const Fetched& values, std::string_view endpoint);

}  // namespace eksnode::imds_detail
