#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: Auto Scaling warm pools, walking tests/data/warm-pool-compat.tsv row by row.

A row whose key is a target lifecycle state (or 404) runs eks-node-imds against the fake IMDS
serving it: the marker /run/eks-node/warm-pool (what holds kubelet back) is there exactly when
the row's eks-node column says hold, with the state in it, and instance.json says the state.
Every other key names a check below (eks-node-warm-pool polling the fake IMDS while its
answer switches with --fault-file and SIGHUP, the units' wiring); a key without one fails.

Usage: warm_pool.py HELPER_DIR"""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
SOURCE = pathlib.Path(__file__).resolve().parents[2]
TABLE = SOURCE / "tests" / "data" / "warm-pool-compat.tsv"
STATE_PATH = "meta-data/autoscaling/target-lifecycle-state"
ENV = {"PATH": "/usr/bin:/bin", "EKS_NODE_LOG_TARGET": "console"}


def rows():
    for line in TABLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, bottlerocket, eks_node, verdict, why = line.split("\t")
            yield key, eks_node, verdict


def is_state(key):
    return key == "404" or key[:1].isupper()


def run_imds(helpers, root, state):
    """eks-node-imds against a fake IMDS serving `state` (None: 404)."""
    extra = ["--unset", STATE_PATH] if state is None else ["--set", f"{STATE_PATH}={state}"]
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, extra=extra) as imds:
        r = subprocess.run([str(helpers / "eks-node-imds"), f"--root={root}", f"--imds-endpoint={imds.endpoint}"],
                           capture_output=True, text=True, timeout=120, env=ENV)
        return r, imds.requests()


def marker(root):
    p = pathlib.Path(root) / "run/eks-node/warm-pool"
    return p.read_text() if p.exists() else None


def instance_state(root):
    import json
    return json.loads((pathlib.Path(root) / "run/eks-node/instance.json").read_text())["targetLifecycleState"]


class Waiter:
    """eks-node-warm-pool on `root` against a fake IMDS whose answer switch() changes."""

    def __init__(self, helpers, root, specs):
        self.dir = tempfile.mkdtemp(prefix="eks-node-warm-pool-faults.")
        self.faults = os.path.join(self.dir, "faults")
        pathlib.Path(self.faults).write_text("\n".join(specs) + "\n")
        self.imds = harness.FakeImds(harness.CONFORMANCE_INSTANCE, extra=["--fault-file", self.faults])
        self.out = os.path.join(self.dir, "log")
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen([str(helpers / "eks-node-warm-pool"), f"--root={root}",
                                          f"--imds-endpoint={self.imds.endpoint}"],
                                         stdout=out, stderr=subprocess.STDOUT, env=ENV)

    def log(self):
        return pathlib.Path(self.out).read_text()

    def wait_log(self, text, limit=120):
        """Until the waiter has logged `text` (a guard against a hang, not a time asserted)."""
        end = time.monotonic() + limit
        while text not in self.log() and self.proc.poll() is None and time.monotonic() < end:
            time.sleep(0.2)
        return text in self.log()

    def polls(self):
        return sum(1 for r in self.imds.requests() if r[0] == "GET" and r[1] == "/latest/" + STATE_PATH)

    def wait_polls(self, n, limit=120):
        """Until the fake has answered n polls (a guard against a hang, not a time asserted)."""
        end = time.monotonic() + limit
        while self.polls() < n and self.proc.poll() is None and time.monotonic() < end:
            time.sleep(0.1)
        return self.polls() >= n

    def switch(self, *specs):
        applied = self.faults + ".applied"
        if os.path.exists(applied):
            os.unlink(applied)
        pathlib.Path(self.faults).write_text("\n".join(specs) + "\n")
        self.imds.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 30
        while not os.path.exists(applied) and time.monotonic() < end:
            time.sleep(0.05)

    def finish(self, limit=120):
        try:
            self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode, self.log()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.imds.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def with_marker(root, state):
    d = pathlib.Path(root) / "run/eks-node"
    d.mkdir(parents=True, exist_ok=True)
    (d / "warm-pool").write_text(state + "\n")


def unit(name):
    return (SOURCE / "units" / name).read_text()


def check_row(helpers, key, eks_node, tmp):
    root = tempfile.mkdtemp(dir=tmp)
    if is_state(key):
        state = None if key == "404" else key
        r, _ = run_imds(helpers, root, state)
        hold = eks_node == "hold"
        got = marker(root)
        check(f"{key}: eks-node-imds exit 0", r.returncode == 0, r.stderr)
        check(f"{key}: kubelet {'held back (marker)' if hold else 'not held back (no marker)'}",
              (got == state + "\n") if hold else got is None, repr(got))
        check(f"{key}: instance.json's targetLifecycleState", instance_state(root) == state, instance_state(root))
        if hold:
            check(f"{key}: one line says kubelet is held back", "kubelet held back until InService" in r.stderr,
                  r.stderr)
        return
    if key == "opt-in":
        # no settings at all under the root: a warm instance is held back all the same
        r, _ = run_imds(helpers, root, "Warmed:Running")
        check("opt-in: no setting, Warmed:Running held back", r.returncode == 0 and marker(root), r.stderr)
    elif key == "first-round":
        r, requests = run_imds(helpers, root, "InService")
        gets = [q[1] for q in requests if q[0] == "GET"]
        check("first-round: the state asked once, beside the other first-round paths",
              gets.count("/latest/" + STATE_PATH) == 1 and len(requests) == 20, requests)
    elif key == "poll-interval":
        with_marker(root, "Warmed:Running")
        w = Waiter(helpers, root, [f"set:{STATE_PATH}=Warmed:Running"])
        try:
            polled = w.wait_polls(2)
            w.switch(f"set:{STATE_PATH}=InService")
            code, log = w.finish()
        finally:
            w.close()
        check("poll-interval: it asks again while Warmed:Running", polled, log)
        check("poll-interval: one line names the interval", "asking IMDS every 5s" in log, log)
    elif key == "imds-errors":
        with_marker(root, "Warmed:Running")
        w = Waiter(helpers, root, ["status:503:1000000"])
        try:
            # the first poll gives up after its 10 s of the client's retries and says when the next is
            ok = w.wait_log("next poll in 10s")
            w.switch(f"set:{STATE_PATH}=InService")
            code, log = w.finish(limit=180)
        finally:
            w.close()
        check("imds-errors: unanswered polls do not end the wait", ok and code == 0, log)
        check("imds-errors: one warning names the back-off", "next poll in 10s" in log, log)
        check("imds-errors: and one line says IMDS answers again", "IMDS answers again after" in log, log)
    elif key == "bad-value":
        r, _ = run_imds(helpers, root, "In Service!")
        check("bad-value: eks-node-imds exit 6 naming the path",
              r.returncode == 6 and STATE_PATH in r.stderr and marker(root) is None, r.stderr)
        root2 = tempfile.mkdtemp(dir=tmp)
        with_marker(root2, "Warmed:Running")
        w = Waiter(helpers, root2, [f"set:{STATE_PATH}=Warmed:Running!"])
        try:
            code, log = w.finish()
        finally:
            w.close()
        check("bad-value: eks-node-warm-pool exit 6 naming the path, marker kept",
              code == 6 and STATE_PATH in log and marker(root2) is not None, log)
    elif key == "once-per-instance":
        seen = []
        for state in ("Warmed:Stopped", "InService", "Warmed:Running"):
            run_imds(helpers, root, state)
            seen.append(marker(root))
        check("once-per-instance: each run decides again", seen == ["Warmed:Stopped\n", None, "Warmed:Running\n"],
              seen)
    elif key == "wait-unit":
        u = unit("eks-node-warm-pool.service")
        kubelet = (SOURCE / "dropins/kubelet.service.d/10-eks-node.conf").read_text()
        check("wait-unit: Type=simple, after eks-node.target, only with the marker",
              "\nType=simple\n" in u and "After=eks-node.target" in u and
              "\nConditionPathExists=/run/eks-node/warm-pool\n" in u, u)
        check("wait-unit: kubelet skipped while the marker is there",
              "\nConditionPathExists=!/run/eks-node/warm-pool\n" in kubelet, kubelet)
        # the build links the target's wants from units/steps.tsv (tests/systemd/check_units.py
        # reads the installed links): an EKS node's target, not an ECS one's
        row = next(line.split("\t") for line in unit("steps.tsv").splitlines()
                   if line.startswith("eks-node-warm-pool.service\t"))
        check("wait-unit: eks-node.target wants it, ecs-node.target not (steps.tsv: kinds eks, start target)",
              row[4] == "eks" and row[6] == "target", row)
    elif key == "in-service-start":
        with_marker(root, "Warmed:Running")
        w = Waiter(helpers, root, [f"set:{STATE_PATH}=Warmed:Running"])
        try:
            w.wait_polls(1)
            w.switch(f"set:{STATE_PATH}=InService")
            code, log = w.finish()
            polls = w.polls()
            time.sleep(0.5)
            after = w.polls()
        finally:
            w.close()
        check("in-service-start: exit 0, marker removed", code == 0 and marker(root) is None, log)
        check("in-service-start: it says so", "out of the warm pool (InService)" in log, log)
        check("in-service-start: no poll after the exit", polls == after, (polls, after))
        check("in-service-start: eks-node-joined skipped while held back",
              "\nConditionPathExists=!/run/eks-node/warm-pool\n" in unit("eks-node-joined.service"))
        # removed by hand (or by a re-run of eks-node-imds that found InService): the wait ends too
        root2 = tempfile.mkdtemp(dir=tmp)
        with_marker(root2, "Warmed:Running")
        w = Waiter(helpers, root2, [f"set:{STATE_PATH}=Warmed:Running"])
        try:
            w.wait_polls(1)
            os.unlink(pathlib.Path(root2) / "run/eks-node/warm-pool")
            code, log = w.finish()
        finally:
            w.close()
        check("in-service-start: the marker removed by hand ends the wait", code == 0 and "was removed" in log, log)
    elif key == "failed-chain":
        check("failed-chain: eks-node-failed.target stops the wait",
              "Conflicts=eks-node-warm-pool.service" in unit("eks-node-failed.target"))
    elif key == "running-pool-reuse":
        kubelet = (SOURCE / "dropins/kubelet.service.d/10-eks-node.conf").read_text()
        check("running-pool-reuse: nothing binds kubelet to the marker (a running kubelet is not stopped)",
              "BindsTo=" not in kubelet and "ConditionPathExists=!/run/eks-node/warm-pool" in kubelet, kubelet)
    elif key == "ecs":
        check("ecs: ecs-node.target does not want the waiter", "warm-pool" not in unit("ecs-node.target"))
    else:
        check(f"{key}: a check for this row", False, "no check in tests/process/warm_pool.py")


def main():
    helpers = pathlib.Path(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="eks-node-warm-pool.") as tmp:
        table = list(rows())
        TALLY.at_least(len(table), 21, "warm-pool-compat.tsv")
        for key, eks_node, _ in table:
            check_row(helpers, key, eks_node, tmp)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
