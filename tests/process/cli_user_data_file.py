#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""User data files are read up to the 1 MiB limit and no further.

Usage: cli_user_data_file.py EKS_NODE_CLI

`eks-node config check FILE`, `eks-node render --user-data=FILE` and
`eks-node bootstrap-sh --user-data=FILE` once read the whole file before
checking its size: `yes | eks-node config check /dev/stdin` grew until it was
killed. Each is fed a pipe that never ends and must exit 6 within seconds,
naming the file and the limit; a regular file one byte over the limit is
refused the same way, and one of exactly 1 MiB is read. And the user data
`render --user-data=FILE` used is the node's copy afterwards, which
`config check --root=DIR` checks."""

import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

LIMIT = 1 << 20
SECONDS = 20  # the bounded read takes milliseconds; the unbounded one never ends
NODECONFIG = harness.SOURCE_ROOT / "tests" / "conformance" / "03-kubeconfig" / "nodeconfig.yaml"


def run(cli, args, endless_stdin):
    """Exit status and stderr of `eks-node ARGS`; stdin an endless pipe if asked."""
    feeder = subprocess.Popen(["yes"], stdout=subprocess.PIPE) if endless_stdin else None
    try:
        r = subprocess.run([str(cli), *args], stdin=feeder.stdout if feeder else subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=SECONDS)
        return r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        return None, "still reading after %d s" % SECONDS
    finally:
        if feeder:
            feeder.kill()
            feeder.wait()


def refused(status, stderr, name):
    """Problems unless the run exited 6 with one error naming `name` and the limit."""
    problems = []
    if status != 6:
        problems.append("exit %s, want 6: %r" % (status, stderr[-400:]))
    errors = [line for line in stderr.splitlines() if "error:" in line]
    if len(errors) != 1 or name not in errors[0] or "1 MiB" not in errors[0]:
        problems.append("want one error naming %s and 1 MiB: %r" % (name, stderr[-400:]))
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()

    status, err = run(cli, ["config", "check", "/dev/stdin"], endless_stdin=True)
    tally.case("config check /dev/stdin, an endless pipe", refused(status, err, "/dev/stdin"))

    root = harness.make_root()
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE) as imds:
        status, err = run(cli, ["render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint,
                                "--user-data=/dev/stdin"], endless_stdin=True)
    tally.case("render --user-data=/dev/stdin, an endless pipe", refused(status, err, "/dev/stdin"))
    tally.check("render wrote no config.json", not (root / "run/eks-node/config.json").exists())
    harness.shutil.rmtree(root, ignore_errors=True)

    root = harness.make_root()
    status, err = run(cli, ["bootstrap-sh", "--root=%s" % root, "--user-data=/dev/stdin", "--", "my-cluster"],
                      endless_stdin=True)
    tally.case("bootstrap-sh --user-data=/dev/stdin, an endless pipe", refused(status, err, "/dev/stdin"))
    harness.shutil.rmtree(root, ignore_errors=True)

    with tempfile.TemporaryDirectory(prefix="eksnode-ud-") as d:
        # a valid NodeConfig padded with a YAML comment to the byte
        text = NODECONFIG.read_text()
        text += "#" + "x" * (LIMIT - len(text.encode()) - 2) + "\n"
        exact, over = pathlib.Path(d) / "exact.yaml", pathlib.Path(d) / "over.toml"
        exact.write_text(text)
        over.write_text(text + "\n")
        status, err = run(cli, ["config", "check", str(exact)], endless_stdin=False)
        tally.check("config check of exactly 1 MiB", status == 0 and len(exact.read_bytes()) == LIMIT,
                    "exit %s: %r" % (status, err))
        status, err = run(cli, ["config", "check", str(over)], endless_stdin=False)
        tally.case("config check of 1 MiB and a byte (TOML)", refused(status, err, str(over)))

        # issue 58: render --user-data=FILE left IMDS's user data in DIR/run/eks-node/user-data,
        # so `config check --root=DIR` checked other user data than the render used. IMDS here
        # serves user data that does not parse; FILE is good.
        bad = pathlib.Path(d) / "imds-user-data"
        bad.write_text("[settings\n")
        good = pathlib.Path(d) / "good.yaml"
        good.write_text(NODECONFIG.read_text())
        root = harness.make_root()
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=bad) as imds:
            status, err = run(cli, ["render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint,
                                    "--user-data=%s" % good], endless_stdin=False)
        tally.check("render --user-data=FILE over IMDS's bad user data: exit 0", status == 0,
                    "exit %s: %r" % (status, err[-400:]))
        copy = root / "run/eks-node/user-data"
        tally.check("... the node's copy of the user data is FILE's",
                    copy.exists() and copy.read_bytes() == good.read_bytes(),
                    copy.exists() and copy.read_bytes()[:80])
        status, err = run(cli, ["config", "check", "--root=%s" % root], endless_stdin=False)
        tally.check("... and config check --root=DIR checks what render used: exit 0", status == 0,
                    "exit %s: %r" % (status, err[-400:]))
        harness.shutil.rmtree(root, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
