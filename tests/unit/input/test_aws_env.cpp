// SPDX-License-Identifier: Apache-2.0
// The AWS SDK variables eks-node-config's client honours (input/aws_env.hpp):
// one grammar, as the SDKs accept them, and validation of the node's
// environment naming the variable and where it was set.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "config/merge.hpp"
#include "config/support.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "input/aws_env.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;

namespace {

// "accepted", else the error as a user reads it.
std::string verdict(std::string_view name, std::string_view value, aws_env::Values* out = nullptr) {
    aws_env::Values v;
    try {
        aws_env::read(name, value, out ? *out : v, "environment", std::string(name));
        return "accepted";
    } catch (const ConfigError& e) {
        return e.what();
    }
}

// User data with `vars` under instance.environment.default, merged and
// validated: "accepted", else the error.
std::string validated(std::string_view vars) {
    auto fragments = fragments_from_nodeconfig(
        test::nodeconfig_yaml(std::string("  instance:\n    environment:\n      default:\n") + std::string(vars)),
        "user data");
    json spec = json::object(), settings = json::object();
    Origins origins;
    try {
        for (const Fragment& f : fragments) {
            validate_fragment(f);
            merge_fragment(spec, settings, f, origins);
        }
        validate_merged(spec, settings, origins);
        return "accepted";
    } catch (const ConfigError& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("AWS_MAX_ATTEMPTS: a whole number of at least 1", "[config][aws-env]") {
    aws_env::Values v;
    CHECK(verdict("AWS_MAX_ATTEMPTS", "1", &v) == "accepted");
    CHECK(v.max_attempts == 1);
    CHECK(verdict("AWS_MAX_ATTEMPTS", "2147483647") == "accepted");
    CHECK(verdict("AWS_MAX_ATTEMPTS", "") == "accepted");  // empty is unset, as the SDKs read it
    for (const char* bad : {"0", "-1", "three", "3 ", " 3", "+3", "3.0", "0x3", "2147483648", "99999999999999999999"})
        CHECK(verdict("AWS_MAX_ATTEMPTS", bad) ==
              fmt::format("environment: AWS_MAX_ATTEMPTS: {} is not a whole number of attempts of at least 1 (the "
                          "first attempt included)",
                          json(bad).dump()));
}

TEST_CASE("AWS_RETRY_MODE: standard, adaptive or legacy, in any case", "[config][aws-env]") {
    aws_env::Values v;
    CHECK(verdict("AWS_RETRY_MODE", "ADAPTIVE", &v) == "accepted");
    CHECK(v.retry_mode == aws_env::RetryMode::adaptive);
    CHECK(verdict("AWS_RETRY_MODE", "standard") == "accepted");
    CHECK(verdict("AWS_RETRY_MODE", "Legacy") == "accepted");
    CHECK(verdict("AWS_RETRY_MODE", "fast") ==
          "environment: AWS_RETRY_MODE: \"fast\" is not one of standard, adaptive, legacy");
    CHECK_FALSE(verdict("AWS_RETRY_MODE", "standard ").empty());
}

TEST_CASE("AWS_METADATA_SERVICE_*: whole seconds and attempts", "[config][aws-env]") {
    aws_env::Values v;
    CHECK(verdict("AWS_METADATA_SERVICE_TIMEOUT", "5", &v) == "accepted");
    CHECK(v.metadata_timeout == std::chrono::seconds(5));
    CHECK(verdict("AWS_METADATA_SERVICE_TIMEOUT", "86400") == "accepted");
    CHECK(verdict("AWS_METADATA_SERVICE_TIMEOUT", "86401") ==
          "environment: AWS_METADATA_SERVICE_TIMEOUT: \"86401\" is not a whole number of seconds from 1 to 86400");
    CHECK_FALSE(verdict("AWS_METADATA_SERVICE_TIMEOUT", "1.5").empty());
    CHECK_FALSE(verdict("AWS_METADATA_SERVICE_TIMEOUT", "5s").empty());
    CHECK(verdict("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3", &v) == "accepted");
    CHECK(v.metadata_attempts == 3);
    CHECK_FALSE(verdict("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0").empty());
}

TEST_CASE("AWS_EC2_METADATA_DISABLED: true or false; 1 is refused, not taken for false", "[config][aws-env]") {
    aws_env::Values v;
    CHECK(verdict("AWS_EC2_METADATA_DISABLED", "True", &v) == "accepted");
    CHECK(v.metadata_disabled == true);
    CHECK(verdict("AWS_EC2_METADATA_DISABLED", "false", &v) == "accepted");
    CHECK(v.metadata_disabled == false);
    CHECK(verdict("AWS_EC2_METADATA_DISABLED", "1") ==
          "environment: AWS_EC2_METADATA_DISABLED: \"1\" is not true or false");
}

TEST_CASE("other variables are none of this reader's business", "[config][aws-env]") {
    CHECK(verdict("AWS_REGION", "not checked here") == "accepted");
    CHECK(verdict("HTTPS_PROXY", "whatever") == "accepted");
}

TEST_CASE("the node's environment is validated with the client's reader, naming the source", "[config][aws-env]") {
    CHECK(validated("        AWS_MAX_ATTEMPTS: \"5\"\n        AWS_RETRY_MODE: adaptive\n") == "accepted");
    CHECK(validated("        AWS_MAX_ATTEMPTS: \"zero\"\n") ==
          "user data: spec.instance.environment.default.AWS_MAX_ATTEMPTS: \"zero\" is not a whole number of "
          "attempts of at least 1 (the first attempt included)");
    CHECK(validated("        AWS_EC2_METADATA_DISABLED: \"yes\"\n") ==
          "user data: spec.instance.environment.default.AWS_EC2_METADATA_DISABLED: \"yes\" is not true or false");
    // Only default is read by eks-node; a service's own section is that service's business.
    auto fragments = fragments_from_nodeconfig(
        test::nodeconfig_yaml("  instance:\n    environment:\n      kubelet:\n        AWS_RETRY_MODE: fast\n"),
        "user data");
    json spec = json::object(), settings = json::object();
    Origins origins;
    for (const Fragment& f : fragments) merge_fragment(spec, settings, f, origins);
    CHECK_NOTHROW(validate_merged(spec, settings, origins));
}
