// SPDX-License-Identifier: Apache-2.0
// Answers of the AWS APIs eks-node-config calls (aws/api.cpp): EC2's XML
// (DescribeInstances, DescribeInstanceTypes, error documents), EKS's JSON
// (DescribeCluster, errors), and the instance profile's credentials document
// from IMDS (aws/credentials.cpp). Every parser reads every input: each
// refuses the others' formats early, and a seed of one format mutates into
// the others.
#include <string>

#include "aws/api.hpp"
#include "aws/credentials.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body = fuzz::text(data, size);
    using eksnode::Error;
    namespace aws = eksnode::aws;
    fuzz::refused_only_as<Error>([&] { aws::parse_private_dns_name(body); });
    fuzz::refused_only_as<Error>([&] { aws::parse_eni_limits(body); });
    fuzz::refused_only_as<Error>([&] { aws::parse_eni_tags(body); });
    fuzz::refused_only_as<Error>([&] { aws::parse_cluster(body); });
    fuzz::refused_only_as<Error>([&] { aws::parse_instance_profile(body, "fuzz-role"); });

    // An error answer, as EC2 sends it and as EKS does (the error type in a
    // header, here the body's first line).
    eksnode::curl::HttpResponse r{.status = 400, .body = std::string(body)};
    aws::classify(aws::parse_error(r));
    r.status = 403;
    r.headers["x-amzn-errortype"] = std::string(body.substr(0, body.find('\n')));
    aws::classify(aws::parse_error(r));
    return 0;
}
