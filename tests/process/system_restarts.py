#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-system, the binary, against a temporary root: what it
writes and which units it would try-restart (off the host it restarts nothing
and says at debug level what it would ask for).

- a first run writes every file and would restart every unit whose
  environment it wrote, and systemd-resolved;
- a re-run with nothing changed rewrites nothing and would restart nothing;
- a changed value restarts exactly the unit whose file changed; a changed
  default, every unit eks-node knows reads it; a DNS change, only resolved;
- a removed section removes its file and restarts its unit;
- a section systemd could not take fails with exit 6 naming it, and leaves
  the files as they were.

Usage: system_restarts.py HELPER_DIR"""

import json
import os
import pathlib
import re
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
CONFIG = harness.SOURCE_ROOT / "tests/golden/system/03-default-kubelet-and-other-units/input/config.json"
WOULD = re.compile(r"would try-restart: (.*)$", re.M)


def would_restart(stderr):
    """{unit: why} of the step's 'would try-restart' line, {} when it has none."""
    m = WOULD.search(stderr)
    if not m:
        return {}
    return dict(re.findall(r"(\S+) \(([^)]*)\)(?:, |$)", m.group(1)))


def snapshot(root):
    out = {}
    for rel in harness.tree(root):
        if rel.startswith("run/eks-node/config.json"):
            continue
        st = os.lstat(root / rel)
        out[rel] = (st.st_mtime_ns, st.st_mode & 0o7777, (root / rel).read_bytes())
    return out


def main():
    step = pathlib.Path(sys.argv[1]) / "eks-node-system"
    root = harness.make_root()
    cfg = json.loads(CONFIG.read_text())
    cfg["spec"]["instance"]["network"] = {"nameservers": ["10.0.0.2"], "domains": ["corp.example.com"]}

    def run(config):
        harness.write(root / "run/eks-node/config.json", json.dumps(config))
        return harness.run_cli(step, "--root=%s" % root, "--log-level=debug")

    r = run(cfg)
    check("first run: exit 0", r.returncode == 0, r.stderr)
    first = would_restart(r.stderr)
    check("first run: every unit whose environment it wrote, and resolved",
          sorted(first) == ["bar@1.service", "containerd.service", "empty.service", "foo.service", "kubelet.service",
                            "systemd-resolved.service"], r.stderr)
    check("first run: each with its reason", first.get("kubelet.service") == "/run/eks-node/env/default.env changed" and
          first.get("systemd-resolved.service") == "/run/systemd/resolved.conf.d/40-eks.conf changed", str(first))
    files = snapshot(root)
    check("first run: the files, 0600 for the environment and 0644 for resolved",
          {rel: mode for rel, (_, mode, _) in files.items() if rel.startswith("run/")} == {
              "run/eks-node/env/default.env": 0o600, "run/eks-node/env/kubelet.env": 0o600,
              "run/eks-node/env/containerd.env": 0o600, "run/eks-node/env/foo.env": 0o600,
              "run/eks-node/env/bar@1.env": 0o600, "run/systemd/resolved.conf.d/40-eks.conf": 0o644}, str(files.keys()))

    r = run(cfg)
    check("re-run, nothing changed: exit 0, 'nothing changed'", r.returncode == 0 and "nothing changed" in r.stderr,
          r.stderr)
    check("re-run, nothing changed: would restart nothing", would_restart(r.stderr) == {} and "would" not in r.stderr,
          r.stderr)
    check("re-run, nothing changed: every file byte-identical, not rewritten", snapshot(root) == files)

    cases = [
        ("one unit's value", lambda c: c["spec"]["instance"]["environment"]["foo.service"].update(SPACES="x"),
         {"foo.service": "/run/eks-node/env/foo.env changed"}),
        ("kubelet's value", lambda c: c["spec"]["instance"]["environment"]["kubelet"].update(NEW="1"),
         {"kubelet.service": "/run/eks-node/env/kubelet.env changed"}),
        ("a default", lambda c: c["spec"]["instance"]["environment"]["default"].update(NO_PROXY="localhost"),
         {u: "/run/eks-node/env/default.env changed" for u in
          ("bar@1.service", "containerd.service", "empty.service", "foo.service", "kubelet.service")}),
        ("a search domain", lambda c: c["spec"]["instance"]["network"]["domains"].append("ec2.internal"),
         {"systemd-resolved.service": "/run/systemd/resolved.conf.d/40-eks.conf changed"}),
        ("a section removed", lambda c: c["spec"]["instance"]["environment"].pop("bar@1"),
         {"bar@1.service": "/run/eks-node/env/bar@1.env changed"}),
    ]
    for what, change, expected in cases:
        change(cfg)
        r = run(cfg)
        got = would_restart(r.stderr)
        check("%s: exit 0" % what, r.returncode == 0, r.stderr)
        check("%s: restarts exactly %s" % (what, ", ".join(sorted(expected))), got == expected, r.stderr)
        r = run(cfg)
        check("%s: then a re-run restarts nothing" % what, would_restart(r.stderr) == {}, r.stderr)
    check("the removed section's file is gone", not (root / "run/eks-node/env/bar@1.env").exists())

    before = snapshot(root)
    for key, field in (("x.timer", "spec.instance.environment.x.timer"), ("foo@", "spec.instance.environment.foo@")):
        bad = json.loads(json.dumps(cfg))
        bad["spec"]["instance"]["environment"]["default"]["NO_PROXY"] = "changed"
        bad["spec"]["instance"]["environment"][key] = {"A": "1"}
        r = run(bad)
        errors = [line for line in r.stderr.splitlines() if "error" in line]
        check("section %s: exit 6, one error line naming it" % key,
              r.returncode == 6 and len(errors) == 1 and field in errors[0], r.stderr)
        check("section %s: nothing written, nothing to restart" % key,
              snapshot(root) == before and would_restart(r.stderr) == {}, r.stderr)

    shutil.rmtree(root, ignore_errors=True)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
