#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A JSON object of n keys costs eks-node time linear in n, not quadratic
(issue 58: eksnode::json was nlohmann::ordered_json, whose lookups walk the
keys, so reading 80,000 kubelet.config keys, merging them and reading
config.json back in each step cost 162 s of CPU for one render).

Counted, not timed (no test here has a time budget): valgrind's callgrind
counts the instructions of a run, which do not depend on the machine's load.
Each command runs with no extra keys, with n and with 4n; what n keys cost is
the count less that of none. Linear work gives a ratio of about 4 (a little
more from the n log n of toml++'s and std::map's trees), quadratic about 16:
the ratio must stay below 8. The commands:

- `eks-node config check FILE.toml`: a TOML source's [kubelet.config] read
  (toml++ to JSON), validated and merged, as eks-node-config reads user data;
  n is 2,000 so that 4n stays under the 10,000 values a source may hold;
- `eks-node config dump --root=R`: config.json parsed, masked and written, as
  every step reads it.

Usage: json_scale.py EKS_NODE_CLI"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

MAX_RATIO = 8
SKIP = 77  # meson's exit status for a skipped test


def instructions(args, workdir):
    """The instructions callgrind counts for `args` (which must exit 0)."""
    out = workdir / "callgrind.out"
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % out, *map(str, args)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(map(str, args)), r.returncode, r.stderr[-2000:]))
    m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
    out.unlink()
    return int(m.group(1))


def toml_source(workdir, n):
    path = workdir / ("kubelet-%d.toml" % n)
    path.write_text('[cluster]\nname = "my-cluster"\napiServerEndpoint = "https://example.com"\n'
                    'certificateAuthority = "%s"\ncidr = "10.100.0.0/16"\n\n[kubelet.config]\n'
                    % harness.conformance_ca_base64() + "".join("key%d = %d\n" % (i, i) for i in range(n)))
    return ["config", "check", path]


def config_json_root(workdir, n):
    root = workdir / ("root-%d" % n)
    cfg = {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
           "spec": {"cluster": {"name": "my-cluster"},
                    "kubelet": {"config": {"key%d" % i: {"value": i, "list": [i]} for i in range(n)}}}}
    harness.write(root / "run/eks-node/config.json", json.dumps(cfg, indent=4) + "\n")
    return ["config", "dump", "--root=%s" % root]


def ratio(cli, command, n, workdir):
    counts = {k: instructions([cli, *command(workdir, k)], workdir) for k in (0, n, 4 * n)}
    small, large = counts[n] - counts[0], counts[4 * n] - counts[0]
    return large / small, counts


def main():
    cli = sys.argv[1]
    if not shutil.which("valgrind"):
        print("valgrind is not installed: skipped")
        return SKIP
    tally = harness.Tally()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-scale-"))
    try:
        for name, command, n in (("config check, TOML [kubelet.config]", toml_source, 2000),
                                 ("config dump, config.json's kubelet.config", config_json_root, 2500)):
            r, counts = ratio(cli, command, n, workdir)
            detail = "%d keys cost %.1f times what %d cost, want under %d (instructions: %s)" % (
                4 * n, r, n, MAX_RATIO, counts)
            print("%s: %s" % (name, detail))
            tally.check(name, r < MAX_RATIO, detail)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
