// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/table.hpp"

using namespace eksnode;

TEST_CASE("table rows: cells split on every tab, comments and blank lines left out", "[core][table]") {
    const std::string text = "# a comment\nname\tvalue\n\n  \t\r\n  # an indented comment\na\t\tc\nlast";
    const std::vector<table::Row> rows = table::rows(text);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].line == 2);
    CHECK(rows[0].text == "name\tvalue");
    CHECK(rows[0].cells == std::vector<std::string>{"name", "value"});
    CHECK(rows[1].line == 6);
    CHECK(rows[1].cells == std::vector<std::string>{"a", "", "c"});  // an empty cell between two tabs
    CHECK(rows[2].line == 7);                                        // the last line needs no '\n'
    CHECK(rows[2].cells == std::vector<std::string>{"last"});
}

TEST_CASE("table rows: a trailing tab is an empty last cell, a '\\r' stays in the cell", "[core][table]") {
    const std::vector<table::Row> rows = table::rows("a\tb\t\nc\td\r\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].cells == std::vector<std::string>{"a", "b", ""});
    CHECK(rows[1].cells == std::vector<std::string>{"c", "d\r"});
}

TEST_CASE("table rows: a row of another number of columns names the table and the line", "[core][table]") {
    CHECK(table::rows("a\tb\nc\td\n", "t.tsv", 2).size() == 2);
    CHECK_THROWS_WITH(table::rows("# header\na\tb\nc\n", "tests/data/t.tsv", 2),
                      "tests/data/t.tsv:3: 1 columns, not 2");
    CHECK_THROWS_AS(table::rows("a\tb\tc\n", "t.tsv", 2), Error);
    CHECK(table::rows("").empty());
}
