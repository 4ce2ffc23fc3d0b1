#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every relative link of the Markdown files leads somewhere, and README.md stays a front door.

Usage: check_links.py SOURCE_ROOT [--readme-max-lines=N]

Reads README.md, docs/*.md (also before git tracks them) and every other *.md file git tracks.
For each link outside code (inline [text](target), ![alt](target), and reference definitions
[label]: target) whose target has no scheme (http:, mailto:, man: ... are not checked):
- the file or directory it names exists, relative to the linking file's directory (a target
  starting with / is relative to SOURCE_ROOT, as GitHub reads it), inside SOURCE_ROOT;
- a #anchor names a heading of that Markdown file (or of the linking file for a bare #anchor),
  as GitHub makes its anchors: the heading's text lower-cased, every character that is not a
  letter, digit, space, hyphen or underscore dropped, each space a hyphen, a repeated anchor
  suffixed -1, -2, ...; an explicit <a name="..."> or id="..." counts too. On a file that is
  not Markdown, only GitHub's line anchors (#L12, #L12-L20) are accepted.
And README.md has at most N lines (default 350): details belong in docs/.

One line per problem; the last line is "N links in M files, K broken". Exits 1 on a problem."""

import argparse
import pathlib
import re
import subprocess
import sys
import unicodedata
import urllib.parse

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); text may hold one level of brackets
INLINE = re.compile(r"!?\[(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\bname=\"([^\"]+)\"|\bid=\"([^\"]+)\"", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(?:C\d+)?(?:-L\d+(?:C\d+)?)?$")


def plain_text(heading):
    """The text GitHub shows for a heading: code spans' contents, links' text, no emphasis."""
    parts = []
    last = 0
    for m in CODE_SPAN.finditer(heading):  # a code span's text is taken as it is
        parts.append(markup_text(heading[last:m.start()]))
        parts.append(m.group(2).strip())
        last = m.end()
    parts.append(markup_text(heading[last:]))
    return "".join(parts).strip()


def markup_text(text):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"(\*\*|__|\*|(?<!\w)_|_(?!\w))", "", text)


def slug(text):
    """github-slugger: lower case, drop what is not a letter, digit, mark, space, - or _."""
    out = []
    for ch in plain_text(text).lower():
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LNM":
            out.append("-" if ch == " " else ch)
    return "".join(out)


def lines_outside_code(text):
    """(line number, line) of the lines not inside a fenced code block."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield n, line


def anchors_of(text):
    seen = {}
    anchors = set()
    previous = None
    for _, line in lines_outside_code(text):
        heading = None
        m = ATX.match(line)
        if m:
            heading = m.group(2)
        elif previous is not None and previous.strip() and SETEXT.match(line) \
                and not previous.lstrip().startswith(("|", "-", "*", "+", ">")):
            heading = previous
        if heading is not None:
            base = slug(heading)
            count = seen.get(base, 0)
            anchors.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
        for a in HTML_ANCHOR.finditer(line):
            anchors.add(a.group(1) or a.group(2))
        previous = line
    return anchors


def links_of(text):
    for n, line in lines_outside_code(text):
        bare = CODE_SPAN.sub("", line)
        for m in INLINE.finditer(bare):
            yield n, m.group(1)
        m = REFDEF.match(bare)
        if m:
            yield n, m.group(1)


def markdown_files(root):
    names = set()
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", "*.md"], check=True,
                             capture_output=True).stdout
        names.update(n for n in out.decode().split("\0") if n)
    except (OSError, subprocess.CalledProcessError):
        # not a git checkout (a release tarball): every Markdown file but build output
        names.update(str(p.relative_to(root)) for p in root.rglob("*.md")
                     if not any(part.startswith((".", "build")) for part in p.relative_to(root).parts))
    names.add("README.md")
    names.update(str(p.relative_to(root)) for p in (root / "docs").glob("*.md"))
    return sorted(n for n in names if (root / n).is_file())


def check(root, readme_max_lines):
    problems = []
    anchor_cache = {}

    def anchors(path):
        if path not in anchor_cache:
            anchor_cache[path] = anchors_of(path.read_text(encoding="utf-8"))
        return anchor_cache[path]

    files = markdown_files(root)
    count = 0
    for name in files:
        source = root / name
        for n, raw in links_of(source.read_text(encoding="utf-8")):
            target = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
            if not target or SCHEME.match(target):
                continue
            count += 1
            path_part, _, anchor = target.partition("#")
            path_part = urllib.parse.unquote(path_part)
            anchor = urllib.parse.unquote(anchor)
            where = f"{name}:{n}: ({target})"
            if not path_part:
                dest = source
            elif path_part.startswith("/"):
                dest = root / path_part.lstrip("/")
            else:
                dest = source.parent / path_part
            try:
                resolved = dest.resolve()
                resolved.relative_to(root.resolve())
            except ValueError:
                problems.append(f"{where}: points outside the repository")
                continue
            if not resolved.exists():
                problems.append(f"{where}: no such file or directory")
                continue
            if not anchor:
                continue
            if resolved.is_dir():
                if (resolved / "README.md").is_file():
                    resolved = resolved / "README.md"
                else:
                    problems.append(f"{where}: an anchor on a directory without a README.md")
                    continue
            if resolved.suffix.lower() != ".md":
                if not LINE_ANCHOR.match(anchor):
                    problems.append(f"{where}: #{anchor} on a file that is not Markdown")
                continue
            if anchor not in anchors(resolved):
                known = ", ".join(sorted(anchors(resolved))[:8])
                problems.append(f"{where}: no heading makes #{anchor} in {resolved.relative_to(root.resolve())}"
                                f" (some it has: {known})")

    readme = root / "README.md"
    if readme.is_file():
        lines = len(readme.read_text(encoding="utf-8").splitlines())
        if lines > readme_max_lines:
            problems.append(f"README.md: {lines} lines, more than {readme_max_lines}: move details to docs/")

    for p in problems:
        print(p)
    print(f"{count} links in {len(files)} files, {len(problems)} broken")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("--readme-max-lines", type=int, default=350)
    args = parser.parse_args()
    return check(args.root, args.readme_max_lines)


if __name__ == "__main__":
    sys.exit(main())
