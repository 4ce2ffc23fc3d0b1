#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A wait that goes on is said where people look (issue 60, item 5).

Usage: wait_notice.py EKS_NODE_CLI

`eks-node render` against an IMDS endpoint that refuses every connection
once printed nothing until it gave up (120 s by default), and on a node the
retries were logged only at debug level, so `journalctl -fu` showed nothing
during a hang. Now a retrying wait past 2 s says, at warning level (which
the CLI shows by default and the steps' info level includes), what it waits
for, how long so far, when it gives up and the last failure; at most once
per 10 s. The deadline here is 6 s: IMDS's retries are at most 2 s apart, so
one of them falls between 2 s and the last attempt whatever the jitter
draws. No time is asserted: the lines are."""

import pathlib
import re
import socket
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402


def closed_port():
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    with tempfile.TemporaryDirectory(prefix="eksnode-wait-") as d:
        root = pathlib.Path(d)
        harness.write(root / "etc/eks-node/node.toml.d/10-deadline.toml",
                      '[settings.imds]\ndeadline = "6s"\nrequestTimeout = "1s"\n')
        url = "http://127.0.0.1:%d" % closed_port()
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % url, timeout=60)
        lines = [ln for ln in r.stderr.splitlines() if "still waiting for " in ln]
        problems = [] if r.returncode == 75 else ["exit %d, want 75: %r" % (r.returncode, r.stderr[-600:])]
        if not lines:
            problems.append("no progress line: %r" % r.stderr[-600:])
        for ln in lines:
            m = re.search(r"warning: still waiting for IMDS at (\S+) \(\S+\): ([0-9.]+) s so far, "
                          r"giving up at 6\.0 s \(last: (.+)\)$", ln)
            if not m or m.group(1) != url or not m.group(3):
                problems.append("want what, since when, the deadline and the last failure: %r" % ln)
            elif not 2.0 <= float(m.group(2)) < 6.0:
                problems.append("said at %s s, not between the quiet 2 s and the deadline: %r" % (m.group(2), ln))
        # at most one per 10 s: a 6 s wait says it once, however many retries
        if len(lines) > 1:
            problems.append("said %d times in a 6 s wait: %r" % (len(lines), lines))
        tally.case("render against a refusing IMDS says it still waits, once, naming it", problems)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
