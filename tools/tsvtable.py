# SPDX-License-Identifier: Apache-2.0
"""The tab-separated tables the build compiles in (units/steps.tsv,
helpers/lib/cli/options.tsv): '#' comments and blank lines skipped, every row
the table's columns exactly, a malformed one refused naming its file and line.
Read by tools/gen-steps.py and tools/gen-cli-options.py, each of which checks
its own columns' values."""


class TableError(Exception):
    pass


def rows(path, columns):
    """(lineno, fields) of each row of `path`, which must have len(columns) fields."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != len(columns):
                raise TableError(f"{path}:{lineno}: {len(fields)} columns, expected {len(columns)} ({', '.join(columns)})")
            yield lineno, fields
