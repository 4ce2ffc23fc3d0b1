#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""eks-node's one option grammar (helpers/lib/cli/options.tsv, issue 60): every option of
the table is in its command's --help as the table has it (its value and its help, which
the program makes from the table), no option line of --help is not in the table, and
every option is in eks-node(1)'s COMMANDS; "--opt=V" and
"--opt V" are the same; an unknown option or command is one line with a "did you mean",
the usage line and where help is, exit 2, not the whole help; a flag refuses "=V";
`confinement` takes a step's unit name; tools/gen-cli-options.py refuses a malformed
table, naming the line.

Usage: cli_options.py EKS_NODE_CLI
"""

import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402
import cli_table  # noqa: E402

MAN = harness.SOURCE_ROOT / "man" / "eks-node.1.scd"


def man_blocks(name):
    """The text of eks-node(1)'s COMMANDS entries for `name` (its heading and paragraph)."""
    text = MAN.read_text()
    section = text[text.index("# COMMANDS"):text.index("# EXIT STATUS")]
    blocks, current = [], None
    for line in section.splitlines():
        if line.startswith("*"):
            current = None
            if line.startswith("*%s*" % name) or line.startswith("*%s " % name):
                current = []
                blocks.append(current)
        if current is not None:
            current.append(line)
    return "\n".join("\n".join(b) for b in blocks)


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    table = cli_table.visible()

    # the table against --help and the man page
    helps = cli_table.option_help()
    checked = 0
    for name, c in sorted(table.items()):
        r = harness.run_cli(cli, *name.split(" "), "--help")
        man = man_blocks(name)
        tally.check("%s --help: exit 0" % name, r.returncode == 0, r.stderr)
        tally.check("eks-node(1) has a COMMANDS entry for %s" % name, man != "" or c["complete"] == "subcommand")
        # an option line: "  --opt=VALUE   help..." (wrapped), or the option alone on
        # its line when it is long; the help's words follow in order
        words = re.sub(r"\s+", " ", r.stdout)
        listed = set(re.findall(r"^  (--[\w-]+)", r.stdout, re.M))
        # "config" (and "config check --help") lists every subcommand's options
        top = name.split(" ")[0]
        want = {"--help"} | {o for n, sub in table.items() if n == top or n.startswith(top + " ")
                             for o in sub["options"]}
        tally.check("%s --help: its option lines are the table's" % name, listed == want,
                    "listed %s, table %s" % (sorted(listed), sorted(want)))
        for opt, value in c["options"].items():
            head = "%s=%s" % (opt, value) if value else opt
            text = re.sub(r"\s+", " ", helps[(name, opt)])
            tally.check("%s --help: %s with the table's help" % (name, opt),
                        re.search(r"(?:^| )%s(?: \(repeatable\))? %s" % (re.escape(head), re.escape(text)), words),
                        r.stdout)
            tally.check("eks-node(1) COMMANDS: %s names %s" % (name, opt),
                        re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), man), man[:300])
            checked += 1
    tally.at_least(checked, 30, "options of the table")
    r = harness.run_cli(cli, "help")
    for name in sorted(n for n in table if " " not in n):
        tally.check("eks-node help lists %s" % name, re.search(r"^  %s\b" % re.escape(name), r.stdout, re.M), r.stdout)

    # --opt=V and --opt V: the same answer
    with tempfile.TemporaryDirectory() as root:
        for args_eq, args_space in (
                (["max-pods", "--instance-type=m5.large"], ["max-pods", "--instance-type", "m5.large"]),
                (["max-pods", "--instance-type=c5.xlarge", "--cni-max-eni=2", "--json"],
                 ["max-pods", "--instance-type", "c5.xlarge", "--cni-max-eni", "2", "--json"]),
                (["validate", "--root=%s" % root, "--json"], ["validate", "--root", root, "--json"]),
                (["confinement", "--probe=none"], ["confinement", "--probe", "none"]),
                (["config", "dump", "--root=%s" % root], ["config", "dump", "--root", root])):
            a, b = harness.run_cli(cli, *args_eq), harness.run_cli(cli, *args_space)
            tally.check("%s: the same as with a space" % " ".join(args_eq),
                        (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr) and a.returncode != 2,
                        "%d %s %s | %d %s %s" % (a.returncode, a.stdout[:200], a.stderr, b.returncode, b.stdout[:200],
                                                 b.stderr))
        r = harness.run_cli(cli, "max-pods", "--instance-type", "m5.large")
        tally.check("max-pods --instance-type m5.large: 29", r.stdout == "29\n", r.stdout + r.stderr)

    # usage errors: one line in one wording, the usage line, where help is; exit 2
    for args, first in (
            (["render", "--rot=/x"], "eks-node render: unknown option --rot (did you mean --root?)"),
            (["render", "--offline"], "eks-node render: unknown option --offline"),
            (["config", "dump", "--origin"], "eks-node config dump: unknown option --origin (did you mean --origins?)"),
            (["config", "check", "--strcit"],
             "eks-node config check: unknown option --strcit (did you mean --strict?)"),
            (["max-pods", "--instance-type", "m5.large", "--jsno"],
             "eks-node max-pods: unknown option --jsno (did you mean --json?)"),
            (["check-archive", "--ach=amd64", "x"], "eks-node check-archive: unknown option --ach (did you mean --arch?)"),
            (["status", "--prometeus"], "eks-node status: unknown option --prometeus (did you mean --prometheus?)"),
            (["collect-logs", "--outptu=/x"], "eks-node collect-logs: unknown option --outptu (did you mean --output?)"),
            (["status", "--json=yes"], "eks-node status: --json takes no value"),
            (["max-pods", "--instance-type"], "eks-node max-pods: --instance-type needs a value"),
            (["rendr"], 'eks-node: unknown command "rendr" (did you mean "render"?)')):
        r = harness.run_cli(cli, *args)
        lines = r.stderr.splitlines()
        cmd = " ".join(a for a in args[:2] if not a.startswith("-")) if args[0] == "config" else args[0]
        want_usage = ["Try 'eks-node --help'."] if args == ["rendr"] else \
            [l for l in lines[1:2] if l.startswith("Usage: eks-node %s" % cmd)] + ["Try 'eks-node %s --help'." % cmd]
        tally.case("%s: exit 2, one line, usage, not the whole help" % " ".join(args), [p for p in (
            None if r.returncode == 2 else "exit %d" % r.returncode,
            None if lines and lines[0].startswith(first) else "first line %r, want %r" % (lines[:1], first),
            None if lines[1:] == want_usage else "then %r, want %r" % (lines[1:], want_usage),
            None if r.stdout == "" else "stdout %r" % r.stdout) if p])
    # kubelet reads get-token's stderr: the error line alone
    r = harness.run_cli(cli, "get-token", "--cluster-name", "c", "--regoin", "x")
    tally.check("get-token --regoin: exit 2, one line with a did-you-mean",
                r.returncode == 2 and r.stderr.splitlines() ==
                ["eks-node get-token: unknown option --regoin (did you mean --region?)"], r.stderr)

    # confinement takes a step's unit name
    want = harness.run_cli(cli, "confinement", "imds")
    for unit in ("eks-node-imds", "eks-node-imds.service"):
        r = harness.run_cli(cli, "confinement", unit)
        tally.check("confinement %s: the step imds" % unit,
                    r.returncode == 0 and want.returncode == 0 and r.stdout == want.stdout, r.stderr)
    # the generator refuses a malformed table, naming the file and line
    good = cli_table.TABLE.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for what, text, want in (
                ("an option before its command", "nosuch\t--x\t-\t-\tnone\thelp\n", "before the command"),
                ("five columns", "status\t--x\t-\t-\tnone\n", "5 columns"),
                ("an option twice", "status\t--json\t-\t-\tnone\thelp\n", "twice"),
                ("a flag with a value kind", "status\t--x\t-\t-\tdir\thelp\n", "no value to complete"),
                ("--help in the table", "status\t--help\t-\t-\tnone\thelp\n", "every command takes --help"),
                ("an unknown kind", "status\t--x\tV\t-\tcolour\thelp\n", "complete one of")):
            table = pathlib.Path(tmp) / "options.tsv"
            table.write_text(good + text)
            line = len((good + text).splitlines())
            r = subprocess.run([sys.executable, str(harness.SOURCE_ROOT / "tools" / "gen-cli-options.py"), "--table",
                                str(table), "--cpp", str(pathlib.Path(tmp) / "out.cpp")],
                               capture_output=True, text=True, timeout=30)
            tally.check("gen-cli-options.py refuses %s, naming line %d" % (what, line),
                        r.returncode != 0 and "%s:%d:" % (table, line) in r.stderr and want in r.stderr, r.stderr)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
