// SPDX-License-Identifier: Apache-2.0
// Version comparison for the kubelet and containerd version toggles.
#include "derive/derive.hpp"

namespace eksnode::derive {

namespace {

// Reads the next dot-separated number; a missing or non-numeric component is 0,
// and anything from a '-' or '+' on (pre-release, build) is ignored, so
// "1.29" == "1.29.0" and "1.29.0-eks-5e0fdde" == "1.29.0".
long next_component(std::string_view& s) {
    long v = 0;
    std::size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 1'000'000'000) v = v * 10 + (s[i++] - '0');
    while (i < s.size() && s[i] != '.' && s[i] != '-' && s[i] != '+') ++i;
    if (i < s.size() && s[i] == '.') s.remove_prefix(i + 1);
    else s = {};
    return v;
}

std::string_view strip(std::string_view s) {
    if (s.starts_with('v') || s.starts_with('V')) s.remove_prefix(1);
    return s.substr(0, s.find_first_of("-+"));
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
    a = strip(a);
    b = strip(b);
    while (!a.empty() || !b.empty()) {
        long x = next_component(a), y = next_component(b);
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

}  // namespace eksnode::derive
