#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bash completion for eks-node (generated into the build's completions/eks-node): sources the script in
bash, calls its function for partial command lines as bash would (COMP_WORDS,
COMP_CWORD), and compares COMPREPLY, as a set, with what each line should offer:
the hand-written cases below, and for every command of helpers/lib/cli/options.tsv
exactly its options (and --help), as the table has them. Beside it, the zsh and
fish scripts the same generator makes: both parse (zsh -n, fish -n); fish offers
each command's options of the table; zsh, driven as a user at a terminal pressing
Tab (zsh_complete.zsh: zpty, compinit, compadd's matches), offers the commands,
each command's options of the table, the subcommands and the values of a kind
(tools/deps.sh --test installs both).

Usage: cli_completion.py [COMPLETION_SCRIPT]
"""

import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402
import cli_table  # noqa: E402

SCRIPT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else harness.SOURCE_ROOT / "completions" / "eks-node"

# command line up to the cursor (a trailing space starts a new, empty word) -> expected words
CASES = [
    ("eks-node ", "render config runtime-class max-pods status validate collect-logs check-archive confinement "
                  "readahead-list readahead-record get-token help version"),
    ("eks-node re", "render readahead-list readahead-record"),
    ("eks-node readahead-list --", "--root= --print --help"),
    ("eks-node readahead-record --", "--root= --print --help"),
    ("eks-node confinement --probe=r", "readahead"),
    ("eks-node g", "get-token"),
    ("eks-node get-token --c", "--cluster-name= --cluster-id="),
    ("eks-node get-token --cluster-name ", ""),  # a value: nothing to offer
    ("eks-node get-token --region ", ""),
    ("eks-node get-token --cluster-name c --r", "--region= --root="),
    ("eks-node get-token --cluster-name=c --r", "--region= --root="),
    ("eks-node runtime-class --n", "--node-selector="),
    ("eks-node co", "config collect-logs confinement"),
    ("eks-node confinement c", "config ca containerd cloud-init"),
    ("eks-node confinement --probe=h", "hosts"),
    ("eks-node confinement --probe=s", "system"),
    ("eks-node -", "--help --version"),
    ("eks-node st", "status"),
    ("eks-node config ", "check dump"),
    ("eks-node config d", "dump"),
    ("eks-node config dump --", "--origins --show-secrets --root= --help"),
    ("eks-node max-pods --inst", "--instance-type= --instance-type-from-imds"),
    ("eks-node max-pods --instance-type ", ""),  # a value: nothing to offer
    ("eks-node max-pods --instance-type m5.large --cni-p", "--cni-prefix-delegation-enabled"),
    ("eks-node status --", "--json --prometheus --help"),
    ("eks-node validate --", "--image --root= --json --help"),
    ("eks-node collect-logs --o", "--output="),
    ("eks-node check-archive --a", "--arch="),
    ("eks-node render --r", "--root= --region="),
    ("eks-node render --i", "--imds-endpoint= --image --instance-type= --instance-id="),
    ("eks-node render --log-level ", "error warning notice info debug"),  # --opt VALUE
    ("eks-node render --log-level=d", "debug"),
    ("eks-node confinement --probe h", "hosts"),
    ("eks-node confinement --probe no", "none"),
    ("eks-node collect-logs --r", "--root="),
    ("eks-node config check --r", "--root="),
    ("eks-node config --root /x ", "check dump"),  # a value is not the subcommand
    ("eks-node nosuch --", ""),
]


def complete(line):
    words = line.split(" ")
    program = ["source %s" % SCRIPT,
               "COMP_WORDS=(%s)" % " ".join("'%s'" % w for w in words),
               "COMP_CWORD=%d" % (len(words) - 1),
               "COMP_LINE='%s'" % line,
               "COMP_POINT=%d" % len(line),
               "_eks_node",
               "printf '%s\\n' \"${COMPREPLY[@]}\"",
               # the function must be the one bound to the command
               "complete -p eks-node >&2"]
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(program)],
                       capture_output=True, text=True, timeout=30)
    return r, set(w for w in r.stdout.split("\n") if w)


def main():
    tally = harness.Tally()
    for line, want in CASES:
        r, got = complete(line)
        problems = []
        if r.returncode != 0:
            problems.append("bash exited %d: %s" % (r.returncode, r.stderr.strip()))
        if "-F _eks_node eks-node" not in r.stderr:
            problems.append("not bound: %r" % r.stderr.strip())
        if got != set(want.split()):
            problems.append("offered %s, want %s" % (sorted(got), sorted(want.split())))
        tally.case("complete %r" % line, problems)
    # every command's options, as the table has them: a value option waits for its "="
    table = cli_table.visible()
    r, got = complete("eks-node ")
    tally.check("complete 'eks-node ': the table's commands", got == set(table) - {n for n in table if " " in n} |
                {"help", "version"}, sorted(got))
    derived = 0
    for name, c in sorted(table.items()):
        if c["complete"] == "subcommand":
            continue
        want = {o + ("=" if v else "") for o, v in c["options"].items()} | {"--help"}
        r, got = complete("eks-node %s --" % name)
        tally.check("complete 'eks-node %s --': the table's options" % name, got == want,
                    "offered %s, want %s" % (sorted(got), sorted(want)))
        derived += 1
    tally.at_least(derived, 12, "commands of the table")

    zsh_script, fish_script = SCRIPT.parent / "_eks-node", SCRIPT.parent / "eks-node.fish"
    # tools/deps.sh --test installs both: a missing one is a failure, not a skip
    for shell, script in (("zsh", zsh_script), ("fish", fish_script)):
        if not shutil.which(shell):
            tally.check("%s is installed (tools/deps.sh --test)" % shell, False)
            continue
        r = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
        tally.check("%s -n %s: it parses" % (shell, script.name), r.returncode == 0, r.stderr)
    if shutil.which("fish"):
        for name, c in sorted(table.items()):
            if c["complete"] == "subcommand":
                continue
            want = {o for o in c["options"]} | {"--help"}
            r = subprocess.run(["fish", "--no-config", "-c", "source %s; complete -C 'eks-node %s --'" %
                                (fish_script, name)], capture_output=True, text=True, timeout=30)
            got = {line.split("\t")[0] for line in r.stdout.splitlines()}
            tally.check("fish: complete 'eks-node %s --': the table's options" % name, got == want,
                        "offered %s, want %s %s" % (sorted(got), sorted(want), r.stderr))
    if shutil.which("zsh"):
        zsh_cases = {"eks-node ": {n for n, c in cli_table.visible().items() if " " not in n} | {"help", "version"},
                     "eks-node config ": {"check", "dump"},
                     "eks-node render --log-level=": {"error", "warning", "notice", "info", "debug"}}
        for name, c in sorted(table.items()):
            if c["complete"] != "subcommand":
                zsh_cases["eks-node %s --" % name] = set(c["options"]) | {"--help"}
        lines = list(zsh_cases)
        r = subprocess.run(["zsh", "-f", str(pathlib.Path(__file__).with_name("zsh_complete.zsh")),
                            str(zsh_script.parent), *lines], capture_output=True, text=True, timeout=120)
        offered, current = {}, None
        for out in r.stdout.splitlines():
            if out.startswith("== "):
                current = out[3:]
                offered[current] = set()
            elif current is not None:
                offered[current].add(out)
        for line in lines:
            got = offered.get(line)
            tally.check("zsh: Tab after '%s' offers %s" % (line, " ".join(sorted(zsh_cases[line])) or "nothing"),
                        got == zsh_cases[line], "offered %s %s" % (sorted(got) if got is not None else None,
                                                                  r.stderr[-300:]))
        # the step names come from the build (units/steps.tsv): at least these, and "none"
        r = subprocess.run(["zsh", "-f", str(pathlib.Path(__file__).with_name("zsh_complete.zsh")),
                            str(zsh_script.parent), "eks-node confinement --probe="],
                           capture_output=True, text=True, timeout=60)
        got = set(r.stdout.splitlines()[1:])
        tally.check("zsh: Tab after --probe= offers the steps and none", {"imds", "config", "kubelet", "none"} <= got,
                    sorted(got))
    tally.at_least(len(CASES), 15, "completion cases")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
