#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The library's layering, checked from the #include lines (no build needed).

    tools/layers.py           the module graph, then any violation; exit 1 if one
    tools/layers.py --dot     the graph for Graphviz (tools/layers.py --dot | dot -Tsvg)

Layers, lowest first. A file may include its own module and any module of a
lower layer, never one of its own layer or above:

    core                          files, logging, steps' common shape, systemd, HTTP/1.1
                                  (IMDS's own) and libcurl's client (everyone else's)
    format                        the formats configuration comes in: YAML scalars,
                                  TOML and JSON, MIME, base64 and gzip, shell words
                                  and expansion, PEM certificates, syntax checks of
                                  values; what reading untrusted text may cost
    input                         what each source says, as fragments: user data
                                  (MIME parts, bootstrap.sh calls), NodeConfig, TOML
                                  files; the settings' readers and the field table
                                  (schema) they and NodeConfig are read by
    config  storage  readahead    the model (validation, merge, runtimes, registries,
                                  credential providers, trust); the readers of the
                                  machine
    imds  derive                  instance facts (read with config's settings), the
                                  numbers and names a node needs
    aws  render  generator        the clients and writers built on them
    cri  resolve                  containerd's image service, kubelet's credential
                                  plugins; the resolver (config.json from every source)
    steps                         one file per step binary (helpers/lib/steps/)
    cli                           the operator CLI
    main                          helpers/cli/main.cpp, helpers/step-main.cpp.in (each step
                                  program's main, made from units/steps.tsv), generators/main.cpp

Namespaces: a module's files declare their names in `eksnode::<module>`
(`eksnode::render::ca`), with its inside in `eksnode::<module>::detail`, which
only files of that module (and the tests) may name. core is the exception by
design: it is the vocabulary every module speaks (Error, Paths, json, atomic
writes), declared in `eksnode` itself, with a few components in
`eksnode::<component>` (log, sd, http, curl, confine, outputs, dl).
"""

import collections
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "helpers/lib"

LAYERS = [["core"], ["format"], ["input"], ["config", "storage", "readahead"], ["imds", "derive"], ["aws", "render", "generator"], ["cri", "resolve"], ["steps"], ["cli"],
          ["main"]]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
# namespace `X::detail` belongs to module X
DETAIL = re.compile(r"\b([a-z]+)::detail::")
# a namespace opened at file level: `namespace eksnode::render {`
OPENS = re.compile(r"^namespace (eksnode[\w:]*) \{", re.M)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)
# toml++ only through core/toml.hpp, which works around its Unicode table's unreachable
# default before toml++ itself is read (that header says why)
TOMLPP = re.compile(r'^\s*#\s*include\s+<toml\+\+/', re.M)
TOMLPP_OWNER = "helpers/lib/core/toml.hpp"


def sources():
    """(module, path) of every C++ file the layering covers."""
    for d in sorted(p for p in LIB.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            if f.suffix in (".cpp", ".hpp"):
                yield d.name, f
    mains = list((ROOT / "helpers").glob("*/main.cpp")) + list((ROOT / "helpers").glob("*-main.cpp.in"))
    for f in sorted(mains + list((ROOT / "generators").glob("*.cpp"))):
        yield "main", f


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def main():
    edges = collections.defaultdict(collections.Counter)
    problems = []
    for module, path in sources():
        rel = path.relative_to(ROOT)
        if module not in RANK:
            problems.append(f"{rel}: module {module}/ is in no layer (add it to LAYERS in tools/layers.py)")
            continue
        text = path.read_text()
        for target in INCLUDE.findall(text):
            if target == module or target not in RANK and not (LIB / target).is_dir():
                continue  # own module, or not a library module (generated headers, data/)
            edges[module][target] += 1
            if target not in RANK:
                problems.append(f"{rel}: includes {target}/, a module in no layer")
            elif RANK[target] >= RANK[module]:
                problems.append(f"{rel}: {module} includes {target}/ (layer {RANK[target]} >= {RANK[module]}): "
                                "an arrow back up")
        if TOMLPP.search(text) and str(rel) != TOMLPP_OWNER:
            problems.append(f"{rel}: includes toml++ itself; include \"core/toml.hpp\" instead")
        code = strip_comments(text)
        for owner in sorted(set(DETAIL.findall(code))):
            if owner in RANK and owner != module:
                problems.append(f"{rel}: names {owner}::detail::, the inside of {owner}/")
        for ns in OPENS.findall(code):
            if module == "core":
                ok = ns.count("::") <= 1
            elif module == "main":
                ok = False  # a main only calls the library
            else:
                ok = ns == f"eksnode::{module}" or ns.startswith(f"eksnode::{module}::")
            if not ok:
                problems.append(f"{rel}: opens namespace {ns}, outside eksnode::{module}")

    if sys.argv[1:] == ["--dot"]:
        print("digraph layers {\n  rankdir=BT;")
        for a in sorted(edges):
            for b, n in sorted(edges[a].items()):
                print(f'  "{a}" -> "{b}" [label={n}];')
        print("}")
        return 0
    for i, layer in enumerate(LAYERS):
        for m in layer:
            deps = ", ".join(f"{b} ({n})" for b, n in sorted(edges[m].items(), key=lambda e: (RANK.get(e[0], 99), e[0])))
            print(f"{i} {m:<10} -> {deps or '-'}")
    for p in problems:
        print(f"not ok: {p}")
    print(f"{len(problems)} violation{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
