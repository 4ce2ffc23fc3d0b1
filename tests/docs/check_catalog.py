#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the journal message catalog against the MESSAGE_IDs the code logs.

Usage: check_catalog.py --log-hpp=FILE --log-cpp=FILE --catalog=FILE
                        [--journalctl=PATH] [--mentioned-in=FILE]... [PAGE...]

- Every ID in log.hpp's `namespace id` has exactly one catalog entry, and
  every catalog entry is such an ID; the "# log::id::NAME" comment above an
  entry names the constant that holds its ID.
- Every entry has a Subject:, "Defined-By: eks-node", Support:, a
  Documentation: of man: links to pages man/meson.build builds (PAGE, e.g.
  eks-node.7) and a body; its @FIELD@ substitutions are fields the logger
  sends (log.cpp) or journald's trusted fields (_NAME).
- journalctl --root=TMP --update-catalog compiles it without a word, and
  --list-catalog lists every ID with "eks-node: SUBJECT".
- Each --mentioned-in file (eks-node(7)'s JOURNAL section) names every ID and
  no ID log.hpp lacks.

One line per check; the last line is "N passed, M failed". Exits 1 on any
failure, 77 (skipped) when journalctl is missing and everything else passed."""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

SKIP = 77
HEX_ID = re.compile(r"[0-9a-f]{32}")


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, problem=""):
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}: {problem}")
        return ok


def ids_in_log_hpp(text):
    """{name: id} from `namespace id { inline constexpr ... name = "hex"; }`."""
    block = re.search(r"namespace\s+id\s*\{(.*?)\}", text, re.S)
    if not block:
        return None
    return dict(re.findall(r'inline\s+constexpr\s+[\w:]+\s+(\w+)\s*=\s*"([^"]*)"\s*;', block.group(1)))


def logged_fields(text):
    """The journal fields log.cpp sends: append_journal_field(entry, "NAME", ...)."""
    return set(re.findall(r'append_journal_field\(\s*\w+\s*,\s*"([A-Z0-9_]+)"', text))


def parse_catalog(text):
    """Entries as dicts: id, lang, line, name (from the comment above), headers, body."""
    entries = []
    comment_name = None
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        m = re.fullmatch(r"-- (\S+)(?: (\S+))?", line)
        if m:
            current = {"id": m.group(1), "lang": m.group(2), "line": number, "name": comment_name,
                       "headers": {}, "body": [], "in_headers": True}
            entries.append(current)
            comment_name = None
            continue
        if line.startswith("#"):
            # systemd skips comment lines anywhere; ours name the next entry's constant
            c = re.fullmatch(r"#\s*log::id::(\w+)\s*", line)
            if c:
                comment_name = c.group(1)
            continue
        if current is None:
            continue
        if current["in_headers"]:
            if not line.strip():
                current["in_headers"] = False
            elif ":" in line:
                key, _, value = line.partition(":")
                current["headers"].setdefault(key.strip(), []).append(value.strip())
        else:
            current["body"].append(line)
    return entries


def check_entry(report, entry, page_names, fields):
    label = f"entry {entry['id']} (line {entry['line']})"
    h = entry["headers"]
    report.check(len(h.get("Subject", [])) == 1 and h["Subject"][0], f"{label}: Subject:", "missing or repeated")
    report.check(h.get("Defined-By") == ["eks-node"], f"{label}: Defined-By: eks-node",
                 f"got {h.get('Defined-By')}")
    report.check(bool(h.get("Support")), f"{label}: Support:", "missing")
    links = " ".join(h.get("Documentation", [])).split()
    bad = []
    for link in links:
        m = re.fullmatch(r"man:([\w.-]+)\((\w+)\)", link)
        if not m:
            bad.append(f"{link} is not a man: link")
        elif page_names is not None and f"{m.group(1)}.{m.group(2)}" not in page_names:
            bad.append(f"{link} is not a page man/meson.build builds")
    report.check(links and not bad, f"{label}: Documentation: {' '.join(links)}",
                 "; ".join(bad) or "missing")
    body = "\n".join(entry["body"]).strip()
    report.check(bool(body), f"{label}: body", "empty")
    text = "\n".join(v for vs in h.values() for v in vs) + "\n" + body
    unknown = sorted({f for f in re.findall(r"@([A-Za-z0-9_]+)@", text)
                      if f not in fields and not f.startswith("_")})
    report.check(not unknown, f"{label}: @FIELD@ substitutions",
                 f"{', '.join(unknown)} not sent by the logger (log.cpp sends {', '.join(sorted(fields))})")


def check_with_journalctl(report, journalctl, catalog_text, subjects):
    with tempfile.TemporaryDirectory(prefix="eks-node-catalog.") as root:
        catalog_dir = pathlib.Path(root, "usr/lib/systemd/catalog")
        catalog_dir.mkdir(parents=True)
        (catalog_dir / "eks-node.catalog").write_text(catalog_text, encoding="utf-8")
        r = subprocess.run([journalctl, f"--root={root}", "--update-catalog"], capture_output=True, text=True)
        ok = report.check(r.returncode == 0 and not r.stderr.strip() and
                          pathlib.Path(root, "var/lib/systemd/catalog/database").is_file(),
                          "journalctl --update-catalog compiles it",
                          f"exit {r.returncode}: {r.stderr.strip()}")
        if not ok:
            return
        r = subprocess.run([journalctl, f"--root={root}", "--list-catalog"], capture_output=True, text=True)
        if not report.check(r.returncode == 0, "journalctl --list-catalog", f"exit {r.returncode}: {r.stderr.strip()}"):
            return
        listed = {}
        for line in r.stdout.splitlines():
            mid, _, rest = line.partition(" ")
            listed[mid] = rest
        for mid, subject in sorted(subjects.items()):
            want = f"eks-node: {subject}"
            report.check(listed.get(mid) == want, f"--list-catalog lists {mid} as \"{want}\"",
                         f"got {listed.get(mid)!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-hpp", type=pathlib.Path, required=True)
    ap.add_argument("--log-cpp", type=pathlib.Path, required=True)
    ap.add_argument("--catalog", type=pathlib.Path, required=True)
    ap.add_argument("--journalctl", default="")
    ap.add_argument("--mentioned-in", type=pathlib.Path, action="append", default=[])
    ap.add_argument("pages", nargs="*", help="pages man/meson.build builds, e.g. eks-node.7")
    args = ap.parse_args()
    report = Report()

    ids = ids_in_log_hpp(args.log_hpp.read_text(encoding="utf-8"))
    if not report.check(bool(ids), f"{args.log_hpp.name}: namespace id holds MESSAGE_IDs", "none found"):
        print(f"{report.passed} passed, {report.failed} failed")
        return 1
    for name, mid in sorted(ids.items()):
        report.check(HEX_ID.fullmatch(mid), f"log::id::{name} = {mid} is 32 lowercase hex digits",
                     "not an ID systemd-id128 new would print")
    dupes = sorted({m for m in ids.values() if list(ids.values()).count(m) > 1})
    report.check(not dupes, "log::id constants are distinct", ", ".join(dupes))

    fields = logged_fields(args.log_cpp.read_text(encoding="utf-8"))
    catalog_text = args.catalog.read_text(encoding="utf-8")
    entries = [e for e in parse_catalog(catalog_text) if e["lang"] is None]
    by_id = {}
    for e in entries:
        by_id.setdefault(e["id"], []).append(e)

    for name, mid in sorted(ids.items()):
        found = by_id.get(mid, [])
        if not report.check(len(found) == 1, f"log::id::{name} ({mid}) has one catalog entry",
                            f"{len(found)} entries"):
            continue
        report.check(found[0]["name"] == name, f"log::id::{name}: the entry's comment names it",
                     f"comment says {found[0]['name']!r}; put \"# log::id::{name}\" above the entry")
    known = set(ids.values())
    for mid in sorted(by_id):
        report.check(mid in known, f"catalog entry {mid} is an ID of log.hpp", "no log::id constant holds it")

    page_names = set(args.pages) if args.pages else None
    for e in entries:
        check_entry(report, e, page_names, fields)

    for f in args.mentioned_in:
        named = set(HEX_ID.findall(f.read_text(encoding="utf-8")))
        report.check(known <= named, f"{f.name} names every MESSAGE_ID",
                     f"missing {', '.join(sorted(known - named))}")
        report.check(named <= known, f"{f.name} names no other MESSAGE_ID",
                     f"{', '.join(sorted(named - known))} not in log.hpp")

    skipped = not args.journalctl
    if skipped:
        print("journalctl not found: catalog not compiled")
    else:
        subjects = {e["id"]: e["headers"].get("Subject", [""])[0] for e in entries if e["id"] in known}
        check_with_journalctl(report, args.journalctl, catalog_text, subjects)

    print(f"{report.passed} passed, {report.failed} failed")
    if report.failed:
        return 1
    return SKIP if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
