// SPDX-License-Identifier: Apache-2.0
// Tab-separated tables: the image's list of cached images at run time, the
// compatibility tables under tests/data/ in the unit tests. One reader, so that
// every table skips comments and blank lines alike and a broken row is named by
// its file and line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace eksnode::table {

// One row: the line it stands on (from 1), the line itself (without its '\n')
// and its cells, split on every tab (a line without a tab is one cell).
struct Row {
    size_t line = 0;
    std::string_view text;
    std::vector<std::string> cells;
};

// The rows of `text`, a table read whole. A line that is blank or a comment
// ('#' first, once spaces, tabs and line ends around it are left out: trim_line())
// is no row. With `columns`, a row of another number of cells is an Error
// "NAME:LINE: N columns, not COLUMNS", naming the table as `name`. The rows'
// text points into `text`.
std::vector<Row> rows(std::string_view text, std::string_view name = {}, size_t columns = 0);

}  // namespace eksnode::table
