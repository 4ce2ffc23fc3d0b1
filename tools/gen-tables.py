# SPDX-License-Identifier: Apache-2.0
"""Generate the C++ tables of eks-node's reference data.

Reads the files under data/ and writes one C++ source file with sorted
constexpr arrays declared in helpers/lib/derive/tables.hpp. The build runs it
(data/meson.build); it needs nothing but the Python 3 standard library, and
its output depends only on its input, so builds are reproducible.

Every input line is checked: a malformed line, a duplicate key or a value out
of range fails the build with the file name and line number, because a silent
skip here would become a wrong max-pods value on some node.
"""

import argparse
import json
import os
import re
import sys

INSTANCE_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.[a-z0-9-]+$")
REGION_RE = re.compile(r"^[a-z]+(-[a-z0-9]+)+-[0-9]+$")
REGION_PREFIX_RE = re.compile(r"^([a-z]+-)*$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
FAMILY_RE = re.compile(r"^[a-z][a-z0-9-]*$")
USE_REGION_RE = re.compile(r"^use region (\S+)$")
# data/kubelet-config-fields.tsv: "a", "a.b", "a[].b"; "1.29"; its "# minors: 1.29 1.36" line
KUBELET_FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:(?:\[\])?\.[A-Za-z][A-Za-z0-9]*)*$")
KUBELET_MINOR_RE = re.compile(r"^1\.([0-9]{1,3})$")
KUBELET_MINORS_RE = re.compile(r"^# minors: 1\.([0-9]{1,3}) 1\.([0-9]{1,3})$")
KUBELET_COLUMNS = "field\tfirst\tlast"
# Values must fit the uint16_t fields of tables::InstanceEni.
MAX_TABLE_VALUE = 0xFFFF


class DataError(Exception):
    pass


def fail(path, lineno, message):
    raise DataError(f"{path}:{lineno}: {message}")


def data_lines(path):
    """Yields (line number, text) for each line that is not blank or a comment."""
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield lineno, line


def positive_int(path, lineno, row, key):
    value = row.get(key)
    # bool is an int in Python; reject it explicitly.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_TABLE_VALUE:
        fail(path, lineno, f"{key} must be an integer in 1..{MAX_TABLE_VALUE}, got {value!r}")
    return value


def read_instance_info(path):
    rows = {}
    for lineno, line in data_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            fail(path, lineno, f"not JSON: {e}")
        if not isinstance(row, dict):
            fail(path, lineno, "not a JSON object")
        name = row.get("instanceType")
        if not isinstance(name, str) or not INSTANCE_TYPE_RE.match(name):
            fail(path, lineno, f"bad instanceType {name!r}")
        if name in rows:
            fail(path, lineno, f"duplicate instanceType {name}")
        rows[name] = (
            positive_int(path, lineno, row, "defaultMaxENIs"),
            positive_int(path, lineno, row, "ipv4AddressesPerInterface"),
        )
    if not rows:
        raise DataError(f"{path}: no instance types")
    return rows


def read_pause_accounts(path):
    """Returns (exact rows by region, fallback rows as (prefix, account, region))."""
    exact, fallback = {}, {}
    for lineno, line in data_lines(path):
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            fail(path, lineno, f"expected 2 or 3 tab-separated fields, got {len(fields)}")
        key, account = fields[0], fields[1]
        note = fields[2] if len(fields) == 3 else ""
        if not ACCOUNT_RE.match(account):
            fail(path, lineno, f"bad account {account!r}")
        if key.startswith("*"):
            # "*us-gov-*" matches regions starting with "us-gov-"; "*" matches all.
            prefix = key[1:-1] if len(key) > 1 and key.endswith("*") else key[1:]
            if not REGION_PREFIX_RE.match(prefix):
                fail(path, lineno, f"bad fallback pattern {key!r}")
            m = USE_REGION_RE.match(note)
            if not m or not REGION_RE.match(m.group(1)):
                fail(path, lineno, f"fallback row needs a note 'use region <region>', got {note!r}")
            if prefix in fallback:
                fail(path, lineno, f"duplicate fallback pattern {key}")
            fallback[prefix] = (account, m.group(1))
        else:
            if not REGION_RE.match(key):
                fail(path, lineno, f"bad region {key!r}")
            if key in exact:
                fail(path, lineno, f"duplicate region {key}")
            exact[key] = account
    if "" not in fallback:
        raise DataError(f"{path}: no catch-all fallback row ('*')")
    return exact, fallback


def read_families(path):
    families = set()
    for lineno, line in data_lines(path):
        family = line.strip()
        if not FAMILY_RE.match(family):
            fail(path, lineno, f"bad instance family {family!r}")
        if family in families:
            fail(path, lineno, f"duplicate instance family {family}")
        families.add(family)
    return families


def read_kubelet_fields(path):
    """Returns ((oldest, newest minor), [(field, first minor, last minor or 0)]) in file order."""
    minors = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = KUBELET_MINORS_RE.match(line.rstrip("\n"))
            if m:
                minors = (int(m.group(1)), int(m.group(2)))
    if minors is None or not minors[0] <= minors[1]:
        raise DataError(f"{path}: no \"# minors: 1.OLDEST 1.NEWEST\" line")
    oldest, newest = minors

    def minor(lineno, text, what):
        m = KUBELET_MINOR_RE.match(text)
        if not m or not oldest <= int(m.group(1)) <= newest:
            fail(path, lineno, f"{what} minor must be 1.{oldest} to 1.{newest}, got {text!r}")
        return int(m.group(1))

    rows, seen = [], set()
    lines = data_lines(path)
    first_line = next(lines, (0, ""))
    if first_line[1] != KUBELET_COLUMNS:
        fail(path, first_line[0], f"expected the column names {KUBELET_COLUMNS!r} first")
    for lineno, line in lines:
        fields = line.split("\t")
        if len(fields) != 3:
            fail(path, lineno, f"expected 3 tab-separated fields, got {len(fields)}")
        name, first, last = fields
        if not KUBELET_FIELD_RE.match(name):
            fail(path, lineno, f"bad field path {name!r}")
        if rows and name <= rows[-1][0]:
            fail(path, lineno, f"{name} is not after {rows[-1][0]}: the rows must be sorted, each once")
        added = minor(lineno, first, "first")
        removed = 0 if last == "-" else minor(lineno, last, "last")
        # the newest minor that has it is "-": the field is presumed in the next ones too
        if removed and not added <= removed < newest:
            fail(path, lineno, f"last minor {last} must be from {first} to 1.{newest - 1} (else \"-\")")
        # a nested field's parent is a row of its own, there whenever the field is
        parent = re.sub(r"(?:\[\])?\.[^.]*$", "", name)
        if parent != name:
            if parent not in seen:
                fail(path, lineno, f"{name}: no row for its parent {parent}")
            _, p_added, p_removed = next(r for r in rows if r[0] == parent)
            if added < p_added or (p_removed and (not removed or removed > p_removed)):
                fail(path, lineno, f"{name} is there when its parent {parent} is not")
        seen.add(name)
        rows.append((name, added, removed))
    if not rows:
        raise DataError(f"{path}: no fields")
    return (oldest, newest), rows


def cxx_string(s):
    # Inputs were matched against restrictive patterns above, so no escaping is needed.
    assert '"' not in s and "\\" not in s
    return f'"{s}"'


def render(args, instance_info, pause_exact, pause_fallback, xen_families, kubelet_fields):
    out = []
    emit = out.append
    emit("// Generated by tools/gen-tables.py; do not edit. Sources:")
    for path in (args.instance_info, args.pause_accounts, args.xen_families, args.kubelet_fields):
        # The base name only: the build passes paths relative to its build directory.
        emit(f"//   data/{os.path.basename(path)}")
    emit("// See data/README.md for where the data comes from and how to refresh it.")
    emit("")
    emit('#include "derive/tables.hpp"')
    emit("")
    emit("#include <algorithm>")
    emit("")
    emit("namespace eksnode::derive::tables {")
    emit("namespace {")
    emit("")
    emit("constexpr InstanceEni instance_eni_rows[] = {")
    for name in sorted(instance_info):
        enis, ips = instance_info[name]
        emit(f"    {{{cxx_string(name)}, {enis}, {ips}}},")
    emit("};")
    emit("static_assert(std::is_sorted(std::begin(instance_eni_rows), std::end(instance_eni_rows),")
    emit("                             [](const InstanceEni& a, const InstanceEni& b) {")
    emit("                                 return a.instance_type < b.instance_type;")
    emit("                             }));")
    emit("")
    emit("constexpr PauseAccount pause_account_rows[] = {")
    for region in sorted(pause_exact):
        emit(f"    {{{cxx_string(region)}, {cxx_string(pause_exact[region])}}},")
    emit("};")
    emit("static_assert(std::is_sorted(std::begin(pause_account_rows), std::end(pause_account_rows),")
    emit("                             [](const PauseAccount& a, const PauseAccount& b) {")
    emit("                                 return a.region < b.region;")
    emit("                             }));")
    emit("")
    emit("constexpr PauseFallback pause_fallback_rows[] = {")
    # Longest prefix first (ties by name, for a stable order), so the first match wins.
    for prefix in sorted(pause_fallback, key=lambda p: (-len(p), p)):
        account, region = pause_fallback[prefix]
        emit(f"    {{{cxx_string(prefix)}, {cxx_string(account)}, {cxx_string(region)}}},")
    emit("};")
    emit('static_assert(std::end(pause_fallback_rows)[-1].region_prefix.empty(), "the catch-all row comes last");')
    emit("")
    emit("constexpr std::string_view xen_family_rows[] = {")
    for family in sorted(xen_families):
        emit(f"    {cxx_string(family)},")
    emit("};")
    emit("static_assert(std::is_sorted(std::begin(xen_family_rows), std::end(xen_family_rows)));")
    emit("")
    (oldest, newest), fields = kubelet_fields
    emit("constexpr KubeletField kubelet_field_rows[] = {")
    for name, added, removed in fields:
        emit(f"    {{{cxx_string(name)}, {added}, {removed}}},")
    emit("};")
    emit("static_assert(std::is_sorted(std::begin(kubelet_field_rows), std::end(kubelet_field_rows),")
    emit("                             [](const KubeletField& a, const KubeletField& b) { return a.path < b.path; }));")
    emit("")
    emit("}  // namespace")
    emit("")
    emit("const std::span<const InstanceEni> instance_eni{instance_eni_rows};")
    emit("const std::span<const PauseAccount> pause_account{pause_account_rows};")
    emit("const std::span<const PauseFallback> pause_fallback{pause_fallback_rows};")
    emit("const std::span<const std::string_view> xen_instance_families{xen_family_rows};")
    emit("const std::span<const KubeletField> kubelet_config_fields{kubelet_field_rows};")
    emit(f"const KubeletMinors kubelet_config_minors{{{oldest}, {newest}}};")
    emit("")
    emit("}  // namespace eksnode::derive::tables")
    return "\n".join(out) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance-info", required=True, help="data/instance-info.jsonl")
    parser.add_argument("--pause-accounts", required=True, help="data/ecr-pause-accounts.tsv")
    parser.add_argument("--xen-families", required=True, help="data/xen-instance-families.txt")
    parser.add_argument("--kubelet-fields", required=True, help="data/kubelet-config-fields.tsv")
    parser.add_argument("--output", required=True, help="C++ file to write")
    args = parser.parse_args(argv)
    try:
        text = render(
            args,
            read_instance_info(args.instance_info),
            *read_pause_accounts(args.pause_accounts),
            read_families(args.xen_families),
            read_kubelet_fields(args.kubelet_fields),
        )
    except (DataError, OSError) as e:
        print(f"gen-tables: {e}", file=sys.stderr)
        return 1
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
