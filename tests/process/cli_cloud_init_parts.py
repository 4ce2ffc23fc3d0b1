#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node config check FILE` names the user data parts cloud-init runs.

Usage: cli_cloud_init_parts.py EKS_NODE_CLI

Those parts are what makes kubelet wait for cloud-init on a node
(eks-node-cloud-init(8)); a bare NodeConfig has none and waits for nothing.
A script part without a #! line is one cloud-init cannot run: said at once."""

import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

NODECONFIG = (harness.SOURCE_ROOT / "tests" / "conformance" / "03-kubeconfig" / "nodeconfig.yaml").read_text()


def mime(*parts):
    out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
    for ctype, body in parts:
        out += "--B\nContent-Type: %s\n\n%s\n" % (ctype, body)
    return out + "--B--\n"


def check(cli, path):
    r = subprocess.run([str(cli), "config", "check", str(path)], capture_output=True, text=True, timeout=30)
    waits = [line for line in r.stdout.splitlines() if line.startswith("cloud-init runs ")]
    return r.returncode, waits, r.stderr


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    with tempfile.TemporaryDirectory(prefix="eksnode-ci-") as d:
        cases = {
            "bare.yaml": (NODECONFIG, []),
            "script.mime": (mime(("application/node.eks.aws", NODECONFIG),
                                 ("text/x-shellscript", "#!/bin/bash\nsleep 1")),
                            ["cloud-init runs %s/script.mime (MIME part 2, text/x-shellscript): "
                             "kubelet would start after it" % d]),
            "config-only.mime": (mime(("application/node.eks.aws", NODECONFIG),
                                      ("text/cloud-config", "#cloud-config\nhostname: x")), []),
            "runcmd.mime": (mime(("application/node.eks.aws", NODECONFIG),
                                 ("text/cloud-config", "#cloud-config\nruncmd:\n  - [ls]")),
                            ["cloud-init runs %s/runcmd.mime (MIME part 2, text/cloud-config): "
                             "kubelet would start after it" % d]),
        }
        for name, (text, want) in cases.items():
            path = pathlib.Path(d) / name
            path.write_text(text)
            status, waits, err = check(cli, path)
            tally.check("%s: valid, cloud-init parts %s" % (name, want or "none"), status == 0 and waits == want,
                        "exit %s, %r, stderr %r" % (status, waits, err[-300:]))

        path = pathlib.Path(d) / "noshebang.mime"
        path.write_text(mime(("application/node.eks.aws", NODECONFIG), ("text/x-shellscript", "echo hi")))
        status, waits, err = check(cli, path)
        warned = [line for line in err.splitlines() if "warning:" in line]
        tally.check("a script part without #!: one warning naming the part", status == 0 and len(warned) == 1 and
                    "(MIME part 2, text/x-shellscript): no #! line" in warned[0], "exit %s, %r" % (status, err))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
