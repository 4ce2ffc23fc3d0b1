// SPDX-License-Identifier: Apache-2.0
// The pause (sandbox) image containerd runs for every pod.
//
// Registry coordinates follow nodeadm's getEKSRegistryCoordinates
// (nodeadm/internal/aws/ecr/ecr.go): a region with its own EKS registry uses
// it, any other region borrows a registry of its partition ("use region X":
// the image comes from region X's registry, with X in the host name).
//
// The tag: nodeadm's code still names eks/pause:3.5, but AL2023 AMIs cache
// the image at build time and EKS's own add-ons run eks/pause:3.10, which is
// also what kubeadm recommends for Kubernetes 1.30+. eks-node names 3.10.
//
// FIPS: nodeadm switches to the ecr-fips host when FIPS is on and that host
// resolves in DNS. A config step must not depend on DNS answers (renders are
// reproducible, and the generator may run before the network), so eks-node
// uses the regions where ECR publishes a FIPS endpoint instead.
#include <algorithm>

#include <fmt/format.h>

#include "derive/internal.hpp"
#include "derive/tables.hpp"

namespace eksnode::derive {

namespace {

// Regions with an ECR FIPS endpoint (ecr-fips.<region>.amazonaws.com), sorted.
constexpr std::string_view ecr_fips_regions[] = {"us-east-1", "us-east-2", "us-gov-east-1",
                                                 "us-gov-west-1", "us-west-1", "us-west-2"};
static_assert(std::is_sorted(std::begin(ecr_fips_regions), std::end(ecr_fips_regions)));

}  // namespace

namespace detail {

SandboxImageChoice choose_sandbox_image(std::string_view region, std::string_view dns_suffix, bool fips) {
    SandboxImageChoice c;
    auto rows = tables::pause_account;
    auto it = std::lower_bound(rows.begin(), rows.end(), region,
                               [](const tables::PauseAccount& row, std::string_view r) { return row.region < r; });
    if (it != rows.end() && it->region == region) {
        c.account = it->account;
        c.registry_region = region;
    } else {
        // Rows are ordered longest prefix first and end with the catch-all.
        for (const tables::PauseFallback& f : tables::pause_fallback) {
            if (!region.starts_with(f.region_prefix)) continue;
            c.account = f.account;
            c.registry_region = f.registry_region;
            c.fallback = true;
            break;
        }
    }
    c.fips = fips && std::binary_search(std::begin(ecr_fips_regions), std::end(ecr_fips_regions), c.registry_region);
    c.image = pause_image(c.account, c.registry_region, dns_suffix, c.fips, pause_image_tag);
    return c;
}

std::string pause_image(std::string_view account, std::string_view registry_region, std::string_view dns_suffix,
                        bool fips, std::string_view tag) {
    return fmt::format("{}.dkr.{}.{}.{}/eks/pause:{}", account, fips ? "ecr-fips" : "ecr", registry_region,
                       dns_suffix, tag);
}

}  // namespace detail

std::string sandbox_image(std::string_view region, std::string_view dns_suffix, bool fips) {
    return detail::choose_sandbox_image(region, dns_suffix, fips).image;
}

}  // namespace eksnode::derive
