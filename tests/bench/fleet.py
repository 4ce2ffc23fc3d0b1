#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fleet check (a benchmark, not a timed test): N simulated bootstraps started
at once, every one a real eks-node-config run, against the fake EC2/EKS
endpoint throttling above a fixed request rate, as AWS throttles an account
whose Auto Scaling group launches a thousand nodes together. Two modes:

  node-name         nodeadm's default node-name strategy: EC2 DescribeInstances,
                    credentials from the environment.
  describe-cluster  user data naming only the cluster: endpoint, CA and service
                    CIDR from EKS DescribeCluster, credentials from the fake
                    IMDS's instance profile (node name from IMDS, so that
                    DescribeCluster is the only API call).

Reports per mode the nodes that succeeded, p50/p99 completion time, API calls
per node (mean and max) and the throttled answers; signatures are checked with
botocore on every request. Exits 1 if any node failed or any signature was bad.

Usage: fleet.py [--mode node-name|describe-cluster|both] HELPER_DIR [N=1000] [RATE_PER_SECOND=100] [DEADLINE=3m]"""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

CASE = harness.SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"
ENDPOINT = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com"
CIDR = "172.20.0.0/16"
ROLE = "eks-node-fleet-role"
TOKEN = "FwoGZXIvYXdzEFAKEsessionTOKENforEKSnodeFLEET=="
PROFILE_SECRET = "imds/profile/secret/for/the/fleet"
# What eks-node-config logs (info) when a call needed more than one attempt,
# and in the error when it gave up: the fake's log cannot tell nodes apart.
ANSWERED = re.compile(r"answered after (\d+) attempts")
GAVE_UP = re.compile(r": (\d+) attempts? in ")


class Mode:
    """What differs between the two lookups: the node's inputs, the fake's
    options, and how a node's config.json shows it got its answer."""

    def __init__(self, name):
        self.name = name
        self.user_data = None
        if name == "node-name":
            self.strategy, self.imds_extra, self.aws_extra = None, [], []
            self.env_credentials = True
        else:
            self.ud_dir = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-fleet-ud-"))
            self.user_data = self.ud_dir / "user-data"
            self.user_data.write_text('[cluster]\nname = "my-cluster"\n')
            self.ca = harness.conformance_ca_base64()
            doc = json.dumps({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                              "AccessKeyId": harness.FakeAws.ACCESS_KEY, "SecretAccessKey": PROFILE_SECRET,
                              "Token": TOKEN, "Expiration": "2099-01-01T00:00:00Z"})
            self.strategy = "imds"
            self.imds_extra = ["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, doc)]
            self.aws_extra = ["--cluster", "my-cluster,%s,%s,%s" % (ENDPOINT, self.ca, CIDR),
                              "--secret-key", PROFILE_SECRET, "--token", TOKEN]
            self.env_credentials = False

    def answered(self, cfg):
        if self.name == "node-name":
            return cfg.get("derived", {}).get("nodeName", "").endswith(".compute.internal")
        c = cfg.get("spec", {}).get("cluster", {})
        return (c.get("apiServerEndpoint"), c.get("certificateAuthority"), c.get("cidr")) == (ENDPOINT, self.ca, CIDR)


def calls_of(stderr, ok):
    """API calls one node made, from its log: a first-time answer logs nothing."""
    counts = [int(x) for x in ANSWERED.findall(stderr) + GAVE_UP.findall(stderr)]
    return sum(counts) if counts else (1 if ok else 0)


def wait_at_gate(procs, limit=60.0):
    """How many nodes wait in open() of the start FIFO, once all do (or at
    the limit): a node still being forked is not released with the others."""
    until = time.monotonic() + limit
    while True:
        waiting = 0
        for p in procs:
            try:
                waiting += pathlib.Path("/proc/%d/wchan" % p.pid).read_text() == "wait_for_partner"
            except OSError:
                pass
        if waiting == len(procs) or time.monotonic() > until:
            return waiting
        time.sleep(0.05)


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def run_mode(mode, helpers, n, rate, deadline):
    base = harness.make_root(node_name_strategy=mode.strategy)
    harness.write(base / "etc/eks-node/node.toml.d/10-fleet.toml", '[settings.aws]\ndeadline = "%s"\n' % deadline)
    work = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-fleet-"))
    user_data = mode.user_data or CASE / "nodeconfig.yaml"
    # The fake IMDS stays up through the fleet: describe-cluster's nodes take
    # their credentials from its instance profile.
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data, extra=mode.imds_extra) as imds:
        r = subprocess.run([str(helpers / "eks-node-imds"), "--root=%s" % base, "--imds-endpoint=%s" % imds.endpoint],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("eks-node-imds: " + r.stderr)
        imds_before = len(imds.requests())
        roots = []
        for i in range(n):
            root = work / str(i)
            shutil.copytree(base, root, symlinks=True)
            roots.append(root)
        with harness.FakeAws(["--fault", "rate:%s" % rate] + mode.aws_extra) as aws:
            env = aws.env(credentials=mode.env_credentials)
            # Forking 1000 processes from here takes seconds, which would feed
            # the fake a gentle ramp instead of a fleet. Each node first waits
            # in open() of a FIFO; opening its write end releases them all.
            start = work / "start"
            os.mkfifo(start)
            procs = []
            t_fork = time.monotonic()
            for root in roots:
                procs.append(subprocess.Popen(
                    ["/bin/sh", "-c", ': <"$0"; exec "$@"', str(start), str(helpers / "eks-node-config"),
                     "--root=%s" % root],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env))
            forked = time.monotonic() - t_fork
            waiting = wait_at_gate(procs)
            t0 = time.monotonic()
            gate = os.open(start, os.O_WRONLY)  # held open: a node that came late passes at once
            done, codes, calls, failures = [], {}, [], []
            pending = list(procs)
            while pending:
                still = []
                for p in pending:
                    if p.poll() is None:
                        still.append(p)
                        continue
                    done.append(time.monotonic() - t0)
                    codes[p.returncode] = codes.get(p.returncode, 0) + 1
                    err = p.stderr.read()  # the info log is a few lines: no pipe fills
                    p.stderr.close()
                    calls.append(calls_of(err, p.returncode == 0))
                    if p.returncode and len(failures) < 3:
                        failures.append(err.strip().splitlines()[-1:] or ["(no output)"])
                pending = still
                time.sleep(0.02)
            total = time.monotonic() - t0
            os.close(gate)
            reqs = aws.requests()
        imds_reqs = len(imds.requests()) - imds_before
    ok = codes.get(0, 0)
    answered = 0
    for root in roots:
        p = root / "run/eks-node/config.json"
        if p.exists() and mode.answered(json.loads(p.read_text())):
            answered += 1
    throttled = sum(1 for r in reqs if "throttled" in r)
    bad = sum(1 for r in reqs if r[2] == "sig-bad")
    done.sort()
    action = "DescribeInstances" if mode.name == "node-name" else "DescribeCluster"
    print("== %s (%s)" % (mode.name, action))
    print("nodes                 %d (forked in %.1f s, %d of them released together)" % (n, forked, waiting))
    print("fake AWS limit        %s requests/s, above it %s" %
          (rate, "RequestLimitExceeded (503)" if mode.name == "node-name" else "ThrottlingException (429)"))
    print("success               %d/%d (%.1f%%), %s: %d; exit codes %s" %
          (ok, n, 100.0 * ok / n, "PrivateDnsName as node name" if mode.name == "node-name"
           else "endpoint, CA and CIDR from DescribeCluster", answered, dict(sorted(codes.items()))))
    print("completion            p50 %.1f s, p99 %.1f s, max %.1f s (from the release)" %
          (statistics.median(done), pct(done, 0.99), done[-1]))
    # A node counts an attempt the fake never answered (a connect or request
    # timeout while its one process is saturated); the fake's log does not.
    print("API calls             %d answered (%d throttled), %.2f per node; signatures: %d bad" %
          (len(reqs), throttled, len(reqs) / n, bad))
    print("attempts per node     mean %.2f, max %d (nodes' logs; %d unanswered)" %
          (sum(calls) / n, max(calls), sum(calls) - len(reqs)))
    if not mode.env_credentials:
        print("IMDS requests         %d (%.2f per node: token, instance profile credentials)" % (imds_reqs, imds_reqs / n))
    print("wall                  %.1f s" % total)
    for f in failures:
        print("failed node           %s" % f[0])
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    if mode.user_data:
        shutil.rmtree(mode.ud_dir, ignore_errors=True)
    return ok == n and answered == n and bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("node-name", "describe-cluster", "both"), default="both")
    ap.add_argument("helpers", type=pathlib.Path, metavar="HELPER_DIR")
    ap.add_argument("n", type=int, nargs="?", default=1000, metavar="N")
    ap.add_argument("rate", nargs="?", default="100", metavar="RATE_PER_SECOND")
    ap.add_argument("deadline", nargs="?", default="3m", metavar="DEADLINE")
    args = ap.parse_args()
    modes = ("node-name", "describe-cluster") if args.mode == "both" else (args.mode,)
    results = []
    for i, name in enumerate(modes):
        if i:
            print()
        results.append(run_mode(Mode(name), args.helpers, args.n, args.rate, args.deadline))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
