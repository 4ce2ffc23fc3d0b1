// SPDX-License-Identifier: Apache-2.0
#include "core/table.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"

namespace eksnode::table {

std::vector<Row> rows(std::string_view text, std::string_view name, size_t columns) {
    std::vector<Row> out;
    size_t number = 0;
    for (size_t pos = 0; pos < text.size();) {
        const size_t nl = text.find('\n', pos);
        const std::string_view line =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++number;
        const std::string_view bare = trim_line(line);
        if (bare.empty() || bare.front() == '#') continue;
        Row row{number, line, {}};
        for (size_t at = 0;;) {
            const size_t tab = line.find('\t', at);
            row.cells.emplace_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
            if (tab == std::string_view::npos) break;
            at = tab + 1;
        }
        if (columns != 0 && row.cells.size() != columns)
            throw Error(fmt::format("{}:{}: {} columns, not {}", name, number, row.cells.size(), columns));
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace eksnode::table
