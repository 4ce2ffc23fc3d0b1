// SPDX-License-Identifier: Apache-2.0
// Where the EC2 and EKS APIs of this instance's region answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eksnode::aws {

struct Endpoint {
    std::string url;      // "https://ec2.us-west-2.amazonaws.com" (no trailing slash)
    std::string region;   // the signing region
    std::string service;  // the signing name: "ec2", "eks"
    std::string origin;   // how it was chosen, for logs: "AWS_ENDPOINT_URL_EC2", "region us-west-2, FIPS"
};

struct EndpointInput {
    std::string_view service;  // "ec2" or "eks"
    std::string_view region;   // instance.json region
    std::string_view domain;   // instance.json domain: the partition's DNS suffix (IMDS services/domain)
    bool fips = false;         // the host runs in FIPS mode
};

// Standard environment overrides, as the AWS SDKs read them:
// AWS_ENDPOINT_URL_<SERVICE> (EC2, EKS), else AWS_ENDPOINT_URL; an empty
// value is unset. `getenv` is a seam for tests.
using Getenv = const char* (*)(const char*);

// The endpoint: an override from the environment, else
// https://<service>[-fips].<region>.<domain> (EKS: fips.eks.<region>.<domain>);
// FIPS only in regions where the service has a FIPS endpoint (the US and
// GovCloud regions, Canada for EC2); elsewhere the standard one, said in
// `origin`. Throws ConfigError for a malformed override.
Endpoint resolve_endpoint(const EndpointInput& in, Getenv getenv);

// Whether `service` has a FIPS endpoint in `region`.
bool has_fips_endpoint(std::string_view service, std::string_view region);

}  // namespace eksnode::aws
