# SPDX-License-Identifier: Apache-2.0
"""helpers/lib/cli/options.tsv, the one table of eks-node(1)'s commands and options, read
for the tests (on its own: not through tools/gen-cli-options.py, whose output they check)."""

import harness

TABLE = harness.SOURCE_ROOT / "helpers" / "lib" / "cli" / "options.tsv"


def commands(path=TABLE):
    """{"render": {"args": "...", "hidden": False, "complete": "none", "options": {"--root": "DIR", "--json": ""}}}"""
    out = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cmd, opt, value, flags, complete, _help = line.split("\t")
        if opt == "-":
            out[cmd] = {"args": "" if value == "-" else value, "hidden": flags == "hidden", "complete": complete,
                        "options": {}}
        else:
            out[cmd]["options"][opt] = "" if value == "-" else value
    return out


def option_help(path=TABLE):
    """{("render", "--root"): "the node's root (...)"}: each option's help as the table has it."""
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            cmd, opt, _value, _flags, _complete, help_text = line.split("\t")
            if opt != "-":
                out[(cmd, opt)] = help_text
    return out


def visible():
    """The commands `eks-node help` and the completions list (not hidden ones; "config check" is one)."""
    return {name: c for name, c in commands().items() if not c["hidden"] and name not in ("help", "version")}
