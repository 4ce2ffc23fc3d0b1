#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: every step SIGKILLed at random points while it moves a node from one
configuration to another. A node can lose a step at any instant (OOM killer,
`systemctl kill`, a timeout); its files must then still be whole.

Usage: kill.py HELPER_DIR [--runs N] [--seed S]
  (or EKS_NODE_KILL_RUNS / EKS_NODE_KILL_SEED; default 1000 runs, a fresh seed)

The steps run as tests/process/chain.py runs them: eks-node-<step> --root=TMP
--imds-endpoint=URL, in chain order, against two loopback fake IMDS serving the
same instance and two different NodeConfigs: A (the conformance case) and B
(another cluster, CA, CIDR, kubelet and containerd settings, Outposts).

1. Reference: complete runs, step by step, A, then B and A in turn (seven
   moves), in the one root the campaign uses (config.json names the root). The
   state after each step of the first move to A and to B is the expected tree
   at that point; the later moves must reproduce them. Their times give each
   step's typical run time T (the median).
2. Campaign: the node moves to B, to A, to B... For each move, each step in
   turn is SIGKILLed after a delay uniform in [0, T] (the seed makes the delays
   repeatable; where in the program they land depends on the machine), then
   run to completion. After each kill every file is byte-identical (and of the
   same mode) to its version before or after that step; after each completion
   the tree is the expected one, leftover temporary files aside.
3. A normal run then converges to the expected tree of the last move, and no
   temporary file `.NAME.XXXXXX` of an output is left.
"""

import argparse
import base64
import json
import os
import pathlib
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import chain  # noqa: E402  (its STEPS, CASE and step(); it puts tests/lib on the path)
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
MAX_PROBLEMS = 10


def config_b(path):
    """NodeConfig B: every value A sets, changed, plus Outposts and containerd
    settings, so that most outputs differ between A and B."""
    doc = yaml.safe_load((chain.CASE / "nodeconfig.yaml").read_text())
    cluster = doc["spec"]["cluster"]
    cluster.update(name="other-cluster", apiServerEndpoint="https://10.0.0.10", cidr="172.20.0.0/16",
                   enableOutpost=True, id="6b7d1c2e-0f5a-4c3b-9e8d-1a2b3c4d5e6f",
                   certificateAuthority=base64.b64encode(
                       (harness.SOURCE_ROOT / "tests/data/certificates/bundle.expected.pem").read_bytes()).decode())
    doc["spec"]["kubelet"] = {"config": {"maxPods": 42, "logging": {"verbosity": 2}},
                              "flags": ["--node-labels=team=b"]}
    doc["spec"]["containerd"] = {
        "config": "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\ndiscard_unpacked_layers = false\n",
        "baseRuntimeSpec": {"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 4096}]}}}
    path.write_text(json.dumps(doc, indent=2))
    return path


def snapshot(root):
    """Every file and symlink under root: relative path -> (mode, bytes)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            data = os.readlink(p).encode() if os.path.islink(p) else open(p, "rb").read()
            out[os.path.relpath(p, root)] = (st.st_mode, data)
    return out


def temp_files(state, outputs):
    """The paths in state that are a temporary file of an output's atomic write:
    .NAME.XXXXXX next to NAME (core/fsutil.cpp), or any .NAME.SUFFIX there."""
    prefixes = tuple(os.path.join(os.path.dirname(o), "." + os.path.basename(o) + ".") for o in outputs)
    return sorted(rel for rel in state if rel.startswith(prefixes))


def describe(entry, old, new):
    if entry is None:
        return "missing"
    mode, data = entry
    what = "%d bytes, mode %o" % (len(data), mode & 0o7777)
    for name, ref in (("old", old), ("new", new)):
        if ref is not None and len(data) < len(ref[1]) and ref[1].startswith(data):
            what += ", a prefix of the %s version (%d bytes)" % (name, len(ref[1]))
    return what


def torn_files(state, old, new, temps):
    """Problems: a file that is neither its old nor its new version (or appeared
    from nowhere). Temporary files are counted elsewhere."""
    problems = []
    for rel in sorted((set(state) | set(old) | set(new)) - set(temps)):
        cur = state.get(rel)
        if cur == old.get(rel) or cur == new.get(rel):
            continue
        if rel not in old and rel not in new:
            problems.append("%s: unexpected file (%s)" % (rel, describe(cur, None, None)))
        else:
            problems.append("%s: neither the old nor the new version: %s" %
                            (rel, describe(cur, old.get(rel), new.get(rel))))
    return problems


def diff(state, want):
    return ["%s: %s" % (rel, "missing" if rel not in state else "unexpected" if rel not in want else "differs")
            for rel in sorted(set(state) ^ set(want) | {r for r in state if r in want and state[r] != want[r]})]


def without(state, paths):
    return {k: v for k, v in state.items() if k not in paths}


def command(helpers, s, root, endpoint):
    return [str(pathlib.Path(helpers) / ("eks-node-" + s)), "--root=%s" % root, "--imds-endpoint=%s" % endpoint]


def move(helpers, root, endpoint):
    """A complete run of the chain, step by step: the tree after each step, and
    each step's run time from its start (exec done) to its exit, in seconds:
    the span the kill delays are drawn from."""
    states, times, errors = [snapshot(root)], {}, []
    for s in chain.STEPS:
        p = subprocess.Popen(command(helpers, s, root, endpoint), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        _, err = p.communicate()
        times[s] = time.monotonic() - t0
        if p.returncode != 0:
            errors.append("%s: exit %d: %s" % (s, p.returncode, err.strip()))
        states.append(snapshot(root))
    return states, times, errors


def killed_run(cmd, delay):
    """Start cmd, SIGKILL it after delay seconds; its exit status (-9: killed)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.kill()  # a no-op if it has exited already
    return p.wait()


def options():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("helpers", help="the directory holding eks-node-<step>")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("EKS_NODE_KILL_RUNS", "1000")),
                    help="killed runs in all, at least (default 1000)")
    seed = os.environ.get("EKS_NODE_KILL_SEED")
    ap.add_argument("--seed", type=int, default=int(seed) if seed else secrets.randbits(32),
                    help="seed of the kill delays (default: a fresh one, printed)")
    return ap.parse_args()


def test_classifier(old, new, outputs):
    """The after-kill check itself can fail: a truncated output, a file of the
    wrong mode and a stray file are caught; a temporary file is told apart."""
    rel = next(r for r in sorted(outputs) if r in old and r in new and old[r] != new[r])
    torn = dict(new)
    torn[rel] = (new[rel][0], new[rel][1][:len(new[rel][1]) // 2])
    check("classifier: a half-written %s is neither old nor new" % rel, len(torn_files(torn, old, new, [])) == 1)
    torn[rel] = (new[rel][0] ^ 0o044, new[rel][1])
    check("classifier: a file of the wrong mode is neither old nor new", len(torn_files(torn, old, new, [])) == 1)
    temp = os.path.join(os.path.dirname(rel), "." + os.path.basename(rel) + ".Ab3xY9")
    torn = dict(new, **{temp: new[rel], "etc/stray": new[rel]})
    temps = temp_files(torn, outputs)
    check("classifier: .NAME.XXXXXX is a temporary file, etc/stray is unexpected",
          temps == [temp] and len(torn_files(torn, old, new, temps)) == 1, "%s %s" % (temps, torn_files(torn, old, new, temps)))


def main():
    opts = options()
    helpers = opts.helpers
    print("seed %d (repeat the kill delays with --seed %d or EKS_NODE_KILL_SEED=%d)" % (opts.seed, opts.seed, opts.seed))
    rng = random.Random(opts.seed)
    started = time.monotonic()
    work = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-kill-"))
    root = harness.make_root(kubelet_version="1.29.0")
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=chain.CASE / "nodeconfig.yaml") as imds_a, \
            harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=config_b(work / "b.json")) as imds_b:
        endpoints = {"A": imds_a.endpoint, "B": imds_b.endpoint}

        # 1. Reference trees, and how long each step takes when it writes.
        first, _, errors = move(helpers, root, endpoints["A"])
        samples = {s: [] for s in chain.STEPS}
        expected = {}  # config -> states after each step of a move to it
        for name in ("B", "A", "B", "A", "B", "A", "B"):
            states, times, errs = move(helpers, root, endpoints[name])
            errors += errs
            for s in chain.STEPS:
                samples[s].append(times[s])
            if name not in expected:
                expected[name] = states
            elif states != expected[name]:
                errors.append("a second complete move to %s gave other trees: %s" %
                              (name, diff(states[-1], expected[name][-1]) or "(on the way)"))
        check("reference: complete runs exit 0, and a move to A or B always gives the same trees", not errors,
              "\n".join(errors))
        check("reference: A after B gives the tree of A on a fresh root", expected["A"][-1] == first[-1],
              diff(expected["A"][-1], first[-1]))
        outputs = set(expected["A"][-1]) | set(expected["B"][-1])
        changed = {s: sorted(r for r in outputs if expected["B"][i].get(r) != expected["B"][i + 1].get(r))
                   for i, s in enumerate(chain.STEPS)}
        print("outputs that differ between A and B: %s" %
              "; ".join("%s %s" % (s, ", ".join(changed[s]) or "none") for s in chain.STEPS))
        typical = {s: statistics.median(samples[s]) for s in chain.STEPS}
        print("typical run times (median of 7 moves): %s" %
              ", ".join("%s %.1f ms" % (s, typical[s] * 1000) for s in chain.STEPS))
        test_classifier(expected["A"][-1], expected["B"][-1], outputs)

        # 2. The campaign: moves to A and B in turn, each step killed, then completed.
        moves = -(-opts.runs // len(chain.STEPS))
        stats = {s: {"runs": 0, "killed": 0, "torn": [], "after": [], "mixed": 0, "temps": 0} for s in chain.STEPS}
        target = "A"  # the root is at B now
        current = snapshot(root)
        for n in range(moves):
            states = expected[target]
            for i, s in enumerate(chain.STEPS):
                st = stats[s]
                delay = rng.uniform(0, typical[s])
                before = current
                rc = killed_run(command(helpers, s, root, endpoints[target]), delay)
                st["runs"] += 1
                state = snapshot(root)
                temps = temp_files(state, outputs)
                new_temps = [t for t in temps if t not in before]
                st["temps"] += len(new_temps)
                where = "move %d to %s, run %d, delay %.2f ms, exit %d" % (n + 1, target, st["runs"], delay * 1000, rc)
                st["torn"] += ["%s: %s" % (where, p) for p in torn_files(state, states[i], states[i + 1], temps)]
                if rc == -9:
                    st["killed"] += 1
                    done = [r for r in changed[s] if state.get(r) == states[i + 1].get(r)]
                    if (done and len(done) < len(changed[s])) or new_temps:
                        st["mixed"] += 1  # killed inside the write phase
                elif rc != 0:
                    st["after"].append("%s: the killed run failed by itself" % where)
                err = ""
                if rc != 0:  # the next run completes what the killed one left
                    r = chain.step(helpers, s, root, "--imds-endpoint=%s" % endpoints[target])
                    rc, err = r.returncode, r.stderr.strip()[-300:]
                    state = snapshot(root)
                current = state
                state = without(state, temp_files(state, outputs))
                if rc != 0 or state != states[i + 1]:
                    st["after"].append("%s: once the step completed (exit %d): %s %s" %
                                       (where, rc, diff(state, states[i + 1]), err))
            target = "B" if target == "A" else "A"

        total = sum(st["runs"] for st in stats.values())
        for s in chain.STEPS:
            st = stats[s]
            print("%s: %d runs, %d killed (%d inside the write phase), %d finished first; %d left a temporary file" %
                  (s, st["runs"], st["killed"], st["mixed"], st["runs"] - st["killed"], st["temps"]))
            for what, key in (("every file its old or new version after each kill", "torn"),
                              ("a complete run after each kill gives the expected tree", "after")):
                problems = st[key][:MAX_PROBLEMS] + (["... %d more" % (len(st[key]) - MAX_PROBLEMS)]
                                                     if len(st[key]) > MAX_PROBLEMS else [])
                TALLY.case("%s: %s (%d runs)" % (s, what, st["runs"]), problems)
            # Delays uniform in [0, T] land before the end in most runs; a busy
            # machine stretches T's samples, but almost none killed would mean
            # the kill points miss the program and prove nothing.
            check("%s: killed before it finished in at least 1 run in 20" % s, st["killed"] * 20 >= st["runs"],
                  "%d of %d" % (st["killed"], st["runs"]))
        check("at least %d runs with a SIGKILL on the way" % opts.runs, total >= opts.runs, total)
        check("some kills landed between a step's first and last write",
              sum(stats[s]["mixed"] for s in chain.STEPS) > 0, stats)

        # 3. A normal run converges, and cleans up after the killed writers: a
        # writer killed between creating its .NAME.XXXXXX and the rename
        # leaves it behind; the next run of the step removes those of its own
        # outputs, so no kill leaves litter for good.
        last = "B" if target == "A" else "A"
        states, _, errors = move(helpers, root, endpoints[last])
        final = states[-1]
        left = temp_files(final, outputs)
        check("converging run: every step exits 0", not errors, "\n".join(errors))
        # ...but eks-node-config's marker for eks-node-containerd: the tree of a move to A has it
        # (containerd's files change), and this run moves nowhere (the node is at A already), so
        # it finds nothing due and withdraws it (eks-node-containerd(8), WHEN IT RUNS)
        due = "run/eks-node/containerd-due"
        check("converging run: eks-node-containerd was due in the moves, not in this run",
              due in expected[last][-1] and due not in final)
        check("converging run: byte-identical to the expected tree of %s (temporary files aside)" % last,
              without(final, left) == without(expected[last][-1], [due]),
              diff(without(final, left), without(expected[last][-1], [due])))
        check("converging run: no temporary file of a killed writer is left", not left,
              "%d left, e.g. %s" % (len(left), left[:8]))
    harness.shutil.rmtree(root, ignore_errors=True)
    harness.shutil.rmtree(work, ignore_errors=True)
    print("%d killed runs in %.1f s" % (total, time.monotonic() - started))
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
