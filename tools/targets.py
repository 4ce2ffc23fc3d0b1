#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The ninja targets a build of the test command needs, and no more (tools/test.sh).

Each of the three builds compiles the same library; what a build's tests never start is
compiled for nothing, and a bare run pays every object (docs/test-cost.md). So each build
names what to build from meson's own description of it (`meson introspect`):

  tools/targets.py BUILD_DIR --installed --name unit-tests   the package's files and a target
  tools/targets.py BUILD_DIR --default --without unit-tests  the default targets but one
  tools/targets.py BUILD_DIR --tests-of unit --suite-of fuzz what those tests depend on

Prints one path a line, relative to BUILD_DIR, as ninja takes them. A name that matches no
target or test is an error: a renamed target must not quietly drop out of a build.
"""
import argparse
import json
import os
import subprocess
import sys


def introspect(build, what):
    out = subprocess.run(['meson', 'introspect', what, build], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('build')
    p.add_argument('--installed', action='store_true', help='every target the install copies')
    p.add_argument('--default', action='store_true', help="every target ninja builds by default")
    p.add_argument('--name', action='append', default=[], help='this target too')
    p.add_argument('--without', action='append', default=[], help='not this target')
    p.add_argument('--tests-of', action='append', default=[], help="what this test depends on")
    p.add_argument('--suite-of', action='append', default=[], help="what this suite's tests depend on")
    a = p.parse_args()

    targets = introspect(a.build, '--targets')
    by_id = {t['id']: t for t in targets}
    names = {t['name'] for t in targets}
    for n in a.name + a.without:
        if n not in names:
            sys.exit(f'targets.py: no target named {n} in {a.build}')
    chosen = {t['id'] for t in targets
              if (a.installed and t['installed']) or (a.default and t['build_by_default']) or t['name'] in a.name}
    if a.tests_of or a.suite_of:
        tests = introspect(a.build, '--tests')
        found = set()
        for t in tests:
            # a suite is "project:suite" in meson's description
            suites = {s.split(':')[-1] for s in t['suite']}
            if t['name'] in a.tests_of or suites & set(a.suite_of):
                found.add(t['name'])
                found.update(suites & set(a.suite_of))
                chosen.update(d for d in t['depends'] if d in by_id)
        missing = set(a.tests_of + a.suite_of) - found
        if missing:
            sys.exit(f'targets.py: no test or suite named {", ".join(sorted(missing))} in {a.build}')
    paths = set()
    for i in chosen:
        if by_id[i]['name'] not in a.without:
            paths.update(os.path.relpath(f, a.build) for f in by_id[i]['filename'])
    print('\n'.join(sorted(paths)))


if __name__ == '__main__':
    main()
