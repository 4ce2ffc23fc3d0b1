#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fleet check (a benchmark, not a timed test): N simulated bootstraps of the
node-name lookup started at once, every one a real eks-node-config run with
nodeadm's default strategy (EC2 DescribeInstances), against the fake EC2
endpoint throttling above a fixed request rate, as EC2 throttles an account
whose Auto Scaling group launches a thousand nodes together.

Reports the success rate, p50/p99 completion time and API calls per node.
Signatures are still checked with botocore on every request.

Usage: fleet.py HELPER_DIR [N=1000] [RATE_PER_SECOND=100] [DEADLINE=3m]"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

CASE = harness.SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"


def main():
    helpers = pathlib.Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rate = sys.argv[3] if len(sys.argv) > 3 else "100"
    deadline = sys.argv[4] if len(sys.argv) > 4 else "3m"
    base = harness.make_root(node_name_strategy=None)
    harness.write(base / "etc/eks-node/node.toml.d/10-fleet.toml", '[settings.aws]\ndeadline = "%s"\n' % deadline)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=CASE / "nodeconfig.yaml") as imds:
        r = subprocess.run([str(helpers / "eks-node-imds"), "--root=%s" % base, "--imds-endpoint=%s" % imds.endpoint],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("eks-node-imds: " + r.stderr)
    work = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-fleet-"))
    roots = []
    for i in range(n):
        root = work / str(i)
        shutil.copytree(base, root, symlinks=True)
        roots.append(root)
    with harness.FakeAws(["--fault", "rate:%s" % rate]) as aws:
        env = aws.env()
        procs = []
        t0 = time.monotonic()
        for root in roots:
            procs.append((time.monotonic(), subprocess.Popen(
                [str(helpers / "eks-node-config"), "--root=%s" % root],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)))
        launched = time.monotonic() - t0
        done, codes = [], {}
        pending = list(procs)
        while pending:
            still = []
            for started, p in pending:
                if p.poll() is None:
                    still.append((started, p))
                    continue
                done.append(time.monotonic() - t0)
                codes[p.returncode] = codes.get(p.returncode, 0) + 1
                p.stderr.close()
            pending = still
            time.sleep(0.02)
        total = time.monotonic() - t0
        reqs = aws.requests()
    ok = codes.get(0, 0)
    names = sum(1 for root in roots
                if harness.json.loads((root / "run/eks-node/config.json").read_text() or "{}")
                .get("derived", {}).get("nodeName", "").endswith(".compute.internal")
                ) if ok else 0
    done.sort()
    print("nodes                 %d (all started within %.1f s)" % (n, launched))
    print("fake EC2 limit        %s requests/s, above it RequestLimitExceeded" % rate)
    print("success               %d/%d (%.1f%%), PrivateDnsName as node name: %d; exit codes %s" %
          (ok, n, 100.0 * ok / n, names, dict(sorted(codes.items()))))
    print("completion            p50 %.1f s, p99 %.1f s, max %.1f s (from the first start)" %
          (statistics.median(done), done[min(len(done) - 1, int(0.99 * len(done)))], done[-1]))
    throttled = sum(1 for r in reqs if "throttled" in r)
    print("API calls             %d (%d throttled), %.2f per node; signatures: %d bad" %
          (len(reqs), throttled, len(reqs) / n, sum(1 for r in reqs if r[2] == "sig-bad")))
    print("wall                  %.1f s" % total)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
