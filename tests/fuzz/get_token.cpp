// SPDX-License-Identifier: Apache-2.0
// What `eks-node get-token` reads that it does not control (cli/get_token.cpp,
// aws/eks_token.cpp): its arguments (a region, a cluster name or id),
// KUBERNETES_EXEC_INFO (kubelet's, or anyone's who runs the plugin), and the
// instance profile's credentials document from IMDS; then the token is signed
// and the ExecCredential written from whatever passed.
//
// Input: line 1 the region, line 2 the cluster, line 3 KUBERNETES_EXEC_INFO
// (kubelet writes it on one line), the rest the credentials document.
// Refusals: Error (the document, sts_host). Properties: KUBERNETES_EXEC_INFO
// never throws and gives a known apiVersion and a one-line warning; a region
// the argument check accepts forms the STS host; the URL signed from accepted
// credentials is printable ASCII, and the token its unpadded base64url; the
// ExecCredential reads back as JSON with that apiVersion and token.
#include <algorithm>
#include <string>

#include "aws/credentials.hpp"
#include "aws/eks_token.hpp"
#include "core/jsonutil.hpp"
#include "format/checks.hpp"
#include "fuzz.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"

namespace {

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace aws = eksnode::aws;
    using eksnode::json;
    std::string_view in = fuzz::text(data, size);
    auto line = [&] {
        std::string_view l = in.substr(0, in.find('\n'));
        in.remove_prefix(std::min(in.size(), l.size() + 1));
        return std::string(l);
    };
    const std::string region = line(), cluster = line(), exec_info_text = line();
    const std::string document(in);

    // KUBERNETES_EXEC_INFO: a C string, as getenv() gives it
    const aws::ExecInfo info = aws::parse_exec_info(exec_info_text.c_str());
    if (info.api_version != aws::exec_v1 && info.api_version != aws::exec_v1beta1 &&
        info.api_version != aws::exec_v1alpha1)
        fuzz::broken("KUBERNETES_EXEC_INFO gave an apiVersion eks-node does not answer in");
    if (info.warning.find('\n') != std::string::npos || info.warning.size() > 512)
        fuzz::broken("a KUBERNETES_EXEC_INFO warning is not one short line");

    // the arguments, checked as get-token checks them
    const bool region_ok = eksnode::imds::value::region(region).empty();
    const bool cluster_ok = eksnode::format::check::single_token(cluster).empty() && printable_ascii(cluster);
    std::string host = "sts.us-west-2.amazonaws.com";
    if (region_ok) {
        const std::string_view domain = eksnode::imds::default_domain(region);
        host = aws::sts_host(region, domain);  // must not throw
        if (host != "sts." + region + "." + std::string(domain))
            fuzz::broken("an STS host that is not sts.REGION.DOMAIN");
    }

    fuzz::refused_only_as<eksnode::Error>([&] {
        const aws::Credentials c = aws::parse_instance_profile(document, "fuzz-role");
        if (!cluster_ok) return;
        const auto now = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01
        const std::string url =
            aws::presigned_get_caller_identity(c, region_ok ? region : "us-west-2", host, cluster, now);
        if (!printable_ascii(url) || !url.starts_with("https://" + host + "/?Action=GetCallerIdentity&"))
            fuzz::broken("a presigned URL that is not printable ASCII or not STS's");
        const std::string token = aws::token_from_url(url);
        const std::string_view body = std::string_view(token).substr(aws::token_prefix.size());
        if (body.size() != (url.size() * 4 + 2) / 3 ||
            body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                std::string_view::npos)
            fuzz::broken("a token that is not the unpadded base64url of its URL");
        const json out =
            json::parse(aws::exec_credential_json(info.api_version, token, aws::token_expiration(now, c.expiration)));
        if (out["apiVersion"] != info.api_version || out["status"]["token"] != token || out["kind"] != "ExecCredential")
            fuzz::broken("an ExecCredential that does not read back");
    });
    return 0;
}
