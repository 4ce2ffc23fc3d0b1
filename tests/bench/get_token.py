#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What kubelet's credential plugin costs per call: `eks-node get-token` against
`aws eks get-token` (Debian's awscli), interleaved in one run on this machine.

    tests/bench/get_token.py [--cli build/helpers/eks-node] [-n 20] [--aws /usr/bin/aws]

Both sign the same token offline with the same environment credentials
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; the AWS CLI with
no config files and IMDS disabled), in a network namespace of their own when
`unshare --net` works (root), so that neither can reach anything. Per call:
CPU (user + system, from wait4()'s rusage of the process and its children),
wall (fork to reaped) and peak RSS (GNU time's %M), for N calls each, one of each in turn;
then `eks-node get-token` with the instance profile's credentials from the
loopback fake IMDS (tests/fake-imds: its answers' latency is in the wall
figure, not in the CPU), which is how kubelet runs it on a node,
and /bin/true, the floor of any fork and exec. Prints medians (min-max) and
the ratios CLI / eks-node from the same run; the goal is eks-node at most
1/50 of the CLI's CPU.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import harness  # noqa: E402

KEY, SECRET, SESSION = "AKIDBENCHGETTOKEN001", "bench/secret+key/0123456789abcdefghij", "bench/session+token=="


def netns_prefix():
    """`unshare --net` when it works here: no route anywhere, loopback down."""
    try:
        ok = subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        ok = False
    return ["unshare", "--net"] if ok else []


RSS_FILE = None  # GNU time's report of the program's peak RSS


def measure(argv, env):
    """One call: (cpu ms, wall ms, peak RSS KiB, exit status, stdout). The peak RSS is GNU
    time's (%M) of the program it starts: wait4()'s of a child forked from this Python
    process would count Python's pages, which exec() carries into ru_maxrss."""
    argv = ["/usr/bin/time", "-f", "%M", "-o", RSS_FILE] + argv
    read, write = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(write, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(read)
        try:
            os.execve(argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0]), argv, env)
        finally:
            os._exit(127)
    os.close(write)
    out = b""
    while chunk := os.read(read, 65536):
        out += chunk
    os.close(read)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1e3
    # wait4's rusage covers the child (time) and its reaped descendants: the program
    with open(RSS_FILE) as f:
        rss = int(f.read().split()[-1])
    return (ru.ru_utime + ru.ru_stime) * 1e3, wall, rss, os.waitstatus_to_exitcode(status), out


def summary(values):
    return "%8.1f (%.1f-%.1f)" % (statistics.median(values), min(values), max(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=str(harness.SOURCE_ROOT / "build/helpers/eks-node"))
    ap.add_argument("--aws", default="/usr/bin/aws")
    ap.add_argument("-n", type=int, default=20, help="calls of each (default 20)")
    args = ap.parse_args()
    cli = str(pathlib.Path(args.cli).resolve())
    if not os.path.exists(args.aws):
        sys.exit("%s: not installed (apt-get install awscli)" % args.aws)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-bench-get-token-"))
    global RSS_FILE
    RSS_FILE = str(tmp / "rss")
    ns = netns_prefix()
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": SESSION,
            "KUBERNETES_EXEC_INFO": '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
                                    '"spec":{"interactive":false}}'}
    aws_env = dict(base, AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp / "none"),
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"), AWS_PAGER="")
    args_token = ["get-token", "--cluster-name", "my-cluster", "--region", "us-west-2"]
    variants = {
        "eks-node get-token": (ns + [cli, *args_token], base),
        "aws eks get-token": (ns + [args.aws, "eks", *args_token], aws_env),
        "/bin/true (floor)": (ns + ["/bin/true"], base),
    }
    results = {name: [] for name in variants}
    try:
        for name, (argv, env) in variants.items():  # one unmeasured call each: page cache, .pyc
            measure(argv, env)
        for _ in range(args.n):
            for name, (argv, env) in variants.items():
                cpu, wall, rss, code, out = measure(argv, env)
                if code != 0 or (name != "/bin/true (floor)" and b'"token": "k8s-aws-v1.' not in out):
                    sys.exit("%s: exit %d, %r" % (name, code, out[:200]))
                results[name].append((cpu, wall, rss))
        # the node's way: the role's credentials from IMDS (instance.json names it)
        profile = {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": KEY, "SecretAccessKey": SECRET,
                   "Token": SESSION, "Expiration": "2099-01-01T00:00:00Z"}
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE,
                              extra=["--set", "meta-data/iam/security-credentials/bench-role=" +
                                     json.dumps(profile)]) as imds:
            root = tmp / "root"
            harness.write(root / "run/eks-node/instance.json",
                          json.dumps({"region": "us-west-2", "domain": "amazonaws.com",
                                      "imdsEndpoint": imds.endpoint, "iamRole": "bench-role"}))
            env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
            name = "eks-node get-token, instance profile (fake IMDS)"
            results[name] = []
            for _ in range(args.n):
                cpu, wall, rss, code, out = measure([cli, "get-token", "--cluster-name", "my-cluster",
                                                     "--root=%s" % root], env)
                if code != 0:
                    sys.exit("%s: exit %d" % (name, code))
                results[name].append((cpu, wall, rss))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("per call, %d calls each, interleaved%s; medians (min-max)" %
          (args.n, ", each in a network namespace of its own (unshare --net)" if ns else ", no network namespace"))
    print("%-50s %22s %22s %16s" % ("", "CPU ms (user+sys)", "wall ms", "peak RSS MiB"))
    for name, rows in results.items():
        cpu, wall, rss = zip(*rows)
        print("%-50s %22s %22s %10.1f" % (name, summary(cpu), summary(wall), statistics.median(rss) / 1024))
    ours = [r[0] for r in results["eks-node get-token"]]
    theirs = [r[0] for r in results["aws eks get-token"]]
    ratio = statistics.median(theirs) / statistics.median(ours)
    wall_ratio = (statistics.median([r[1] for r in results["aws eks get-token"]]) /
                  statistics.median([r[1] for r in results["eks-node get-token"]]))
    floor = statistics.median([r[0] for r in results["/bin/true (floor)"]])
    print("aws eks get-token / eks-node get-token: CPU %.0fx, wall %.0fx (goal: CPU >= 50x) %s" %
          (ratio, wall_ratio, "met" if ratio >= 50 else "MISSED"))
    print("above the floor (fork, exec%s, GNU time): eks-node %.1f ms CPU, aws %.1f ms" %
          (", unshare" if ns else "", statistics.median(ours) - floor, statistics.median(theirs) - floor))
    print("reproduce: tests/bench/get_token.py --cli %s -n %d" % (args.cli, args.n))
    return 0 if ratio >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
