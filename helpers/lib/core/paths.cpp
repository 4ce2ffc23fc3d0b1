// SPDX-License-Identifier: Apache-2.0
#include "core/paths.hpp"

namespace eksnode {

fs::path Paths::of(std::string_view absolute) const {
    if (is_host()) return fs::path(absolute);
    std::string_view rel = absolute;
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    return root_ / rel;
}

std::string Paths::on_node(const fs::path& p) const {
    if (is_host()) return p.string();
    return (fs::path("/") / p.lexically_relative(root_)).string();
}

}  // namespace eksnode
