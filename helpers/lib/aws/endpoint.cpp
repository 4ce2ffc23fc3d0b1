// SPDX-License-Identifier: Apache-2.0
#include "aws/endpoint.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "core/error.hpp"

namespace eksnode::aws {

namespace {

// From the AWS service endpoint tables (EC2 and EKS "FIPS endpoints"),
// 2026: in GovCloud the standard endpoints are FIPS endpoints already, but the
// -fips names exist there too, so they are listed.
constexpr std::array<std::string_view, 8> ec2_fips_regions = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "us-gov-east-1", "us-gov-west-1"};
constexpr std::array<std::string_view, 6> eks_fips_regions = {"us-east-1",     "us-east-2",    "us-west-1",
                                                             "us-west-2",     "us-gov-east-1", "us-gov-west-1"};

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool dns_label_chars(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.';
    });
}

}  // namespace

bool has_fips_endpoint(std::string_view service, std::string_view region) {
    if (service == "ec2") return std::find(ec2_fips_regions.begin(), ec2_fips_regions.end(), region) != ec2_fips_regions.end();
    if (service == "eks") return std::find(eks_fips_regions.begin(), eks_fips_regions.end(), region) != eks_fips_regions.end();
    return false;
}

Endpoint resolve_endpoint(const EndpointInput& in, Getenv getenv) {
    Endpoint e;
    e.region = std::string(in.region);
    e.service = std::string(in.service);
    std::string specific = "AWS_ENDPOINT_URL_" + upper(in.service);
    for (const std::string& var : {specific, std::string("AWS_ENDPOINT_URL")}) {
        const char* v = getenv ? getenv(var.c_str()) : nullptr;
        if (!v || !*v) continue;
        std::string url = v;
        while (url.ends_with('/')) url.pop_back();
        if (!url.starts_with("http://") && !url.starts_with("https://"))
            throw ConfigError("environment", var, fmt::format("\"{}\" is not an http:// or https:// URL", url));
        e.url = url;
        e.origin = var;
        return e;
    }
    // Both come from IMDS and become a host name: nothing else may pass.
    if (!dns_label_chars(in.region) || !dns_label_chars(in.domain))
        throw Error(fmt::format("instance.json: region \"{}\" or domain \"{}\" cannot form an endpoint name",
                                in.region, in.domain));
    bool fips = in.fips && has_fips_endpoint(in.service, in.region);
    if (in.service == "eks" && fips) e.url = fmt::format("https://fips.eks.{}.{}", in.region, in.domain);
    else e.url = fmt::format("https://{}{}.{}.{}", in.service, fips ? "-fips" : "", in.region, in.domain);
    e.origin = fmt::format("region {}, {}", in.region,
                           fips      ? "FIPS endpoint (the host is in FIPS mode)"
                           : in.fips ? "standard endpoint: the host is in FIPS mode but " + upper(in.service) +
                                           " has no FIPS endpoint in this region"
                                     : "standard endpoint");
    return e;
}

}  // namespace eksnode::aws
