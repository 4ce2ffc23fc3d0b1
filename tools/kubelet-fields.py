#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The KubeletConfiguration fields of each kubelet minor, from kubelet's own Go types.

    tools/kubelet-fields.py --repo DIR                      the table, on stdout
    tools/kubelet-fields.py --repo DIR --check FILE         exit 1 if FILE is not that table

DIR is a git clone (bare is fine) of github.com/kubernetes/kubelet, whose tag
v0.N.0 is kubelet 1.N; the types are config/v1beta1/types.go there. The table
is data/kubelet-config-fields.tsv, which tools/gen-tables.py compiles into the
library (eks-node-config warns of a spec.kubelet.config key the node's kubelet
does not know; data/README.md says how deep the table goes and why).

How deep: every field of KubeletConfiguration, and below a field whose type is
a struct declared in the same file (authentication, memorySwap, the elements
of shutdownGracePeriodByPodPriority...), that struct's fields, to any depth.
A list of such structs is "field[].child". Not below: maps (their keys are
the user's: evictionHard's signals, featureGates' names) and types from other
repositories (logging, tracing, registerWithTaints), whose fields this file
does not declare. metav1.TypeMeta inlined gives apiVersion and kind.

Only the Python 3 standard library and git.
"""

import argparse
import re
import subprocess
import sys

SOURCE_REPO = "https://github.com/kubernetes/kubelet"
TYPES_PATH = "config/v1beta1/types.go"
ROOT_TYPE = "KubeletConfiguration"
FIRST_MINOR, LAST_MINOR = 29, 36

STRUCT_START = re.compile(r"^type (\w+) struct \{\s*$")
# `Name Type `json:"name,omitempty"``, or an embedded type without a name
FIELD = re.compile(r'^\s*(?:(\w+)\s+)?([^\s`]+)\s+`[^`]*\bjson:"([^"]*)"[^`]*`')


class TypesError(Exception):
    pass


def git_show(repo, tag, path):
    try:
        return subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"], check=True, capture_output=True,
                              text=True).stdout
    except subprocess.CalledProcessError as e:
        raise TypesError(f"git show {tag}:{path} in {repo}: {e.stderr.strip()}") from e


def structs(text):
    """{struct name: [(json name, Go type)]} of the file's top-level struct types.

    An embedded type's json name is "" when its tag says ",inline"."""
    out, current = {}, None
    for line in text.splitlines():
        if current is None:
            m = STRUCT_START.match(line)
            if m:
                current = out.setdefault(m.group(1), [])
            continue
        if line.startswith("}"):
            current = None
            continue
        code = line.split("//", 1)[0]
        m = FIELD.match(code)
        if not m:
            continue
        name, go_type, tag = m.groups()
        json_name = tag.split(",", 1)[0]
        if json_name == "-":
            continue
        if name is None:  # embedded
            if json_name or ",inline" not in tag:
                raise TypesError(f"embedded {go_type} without json:\",inline\": not understood")
            current.append(("", go_type))
            continue
        if not json_name:
            raise TypesError(f"field {name} has no json name: not understood")
        current.append((json_name, go_type))
    return out


def paths(types, struct, prefix=""):
    """The field paths below `struct`: "name", "a.b", "list[].c"."""
    out = []
    for json_name, go_type in types[struct]:
        if json_name == "":
            if go_type != "metav1.TypeMeta":
                raise TypesError(f"{struct} inlines {go_type}: not understood")
            out += [prefix + "apiVersion", prefix + "kind"]
            continue
        path = prefix + json_name
        out.append(path)
        base = go_type.lstrip("*")
        if base.startswith("map["):
            continue
        if base.startswith("[]"):
            base = base[2:].lstrip("*")
            if base in types:
                out += paths(types, base, path + "[].")
            continue
        if base in types:
            out += paths(types, base, path + ".")
    return out


def minor_fields(repo, minor):
    types = structs(git_show(repo, f"v0.{minor}.0", TYPES_PATH))
    if ROOT_TYPE not in types:
        raise TypesError(f"v0.{minor}.0:{TYPES_PATH} declares no {ROOT_TYPE}")
    fields = paths(types, ROOT_TYPE)
    if len(set(fields)) != len(fields):
        raise TypesError(f"v0.{minor}.0: a field path appears twice")
    return set(fields)


def table(repo, first=FIRST_MINOR, last=LAST_MINOR):
    by_minor = {m: minor_fields(repo, m) for m in range(first, last + 1)}
    rows = []
    for field in sorted(set().union(*by_minor.values())):
        present = [m for m in by_minor if field in by_minor[m]]
        # one row is one span of minors: a field removed and added back again
        # would need two, which no reader here expects
        if present != list(range(present[0], present[-1] + 1)):
            raise TypesError(f"{field} comes and goes: in {present}")
        rows.append((field, present[0], present[-1] if present[-1] < last else None))
    return rows


def render(rows, first=FIRST_MINOR, last=LAST_MINOR):
    out = [
        "# SPDX-License-Identifier: Apache-2.0",
        "# KubeletConfiguration (kubelet.config.k8s.io/v1beta1) fields of each kubelet minor: generated,",
        "# do not edit. Read data/README.md before refreshing it.",
        f"# Source: {SOURCE_REPO}, {TYPES_PATH} at the tags v0.{first}.0 to v0.{last}.0",
        "# (tag v0.N.0 is kubelet 1.N).",
        "# Generator: tools/kubelet-fields.py --repo DIR > data/kubelet-config-fields.tsv",
        "# (DIR a clone of the source; --check data/kubelet-config-fields.tsv says whether this file is current).",
        "# Columns: the field's path (\"a.b\" below a struct field, \"a[].b\" in the elements of a list), the",
        f"# first minor that has it (1.{first}: that one or earlier), the last one that has it (\"-\": every",
        f"# minor to 1.{last}).",
        f"# minors: 1.{first} 1.{last}",
        "field\tfirst\tlast",
    ]
    for field, added, removed in rows:
        out.append(f"{field}\t1.{added}\t{'-' if removed is None else f'1.{removed}'}")
    return "\n".join(out) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="a git clone of github.com/kubernetes/kubelet")
    parser.add_argument("--check", metavar="FILE", help="compare FILE with the table instead of printing it")
    args = parser.parse_args(argv)
    try:
        text = render(table(args.repo))
    except TypesError as e:
        print(f"kubelet-fields: {e}", file=sys.stderr)
        return 1
    if not args.check:
        sys.stdout.write(text)
        return 0
    with open(args.check, encoding="utf-8") as f:
        current = f.read()
    if current == text:
        print(f"{args.check}: current")
        return 0
    print(f"{args.check}: not what tools/kubelet-fields.py --repo {args.repo} generates; regenerate it and "
          "review the diff", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
