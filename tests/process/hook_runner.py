#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""eks-node-hook runs a hook as systemd ran its ExecStart=: the same words, no shell.

Usage: hook_runner.py EKS_NODE_GENERATOR EKS_NODE_HOOK

The generator writes a root's /run/systemd/generator (settings.hooks in an admin's
fragment); then eks-node-hook --root=ROOT NAME runs each hook as its unit would, and:
  - the program gets exactly the words declared ($, %, quotes, backslashes, an empty
    word, spaces: nothing expanded, split or unquoted), in the process eks-node-hook
    started as (execv: the PID systemd watches), with the hook's environment added to
    the one it inherited (the node's);
  - its exit status and a signal that kills it are the unit's, as they were;
  - a program that cannot be executed fails with 203, systemd's EXEC status, naming the
    program and none of its arguments;
  - a command file that is missing, not 0600, not the caller's, a symlink, or holding
    what settings.hooks refuses is exit 6 and runs nothing; a bad NAME is usage (2).
"""

import os
import pathlib
import signal
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

WORDS = ["--msg=\"hi\" $HOME ${X} %n 100%", "back\\slash", "", "'single'", "two words", "--token=Pl4nted-Arg"]


def main():
    generator = pathlib.Path(sys.argv[1]).resolve()
    runner = pathlib.Path(sys.argv[2]).resolve()
    tally = harness.Tally()
    check = tally.check
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-hook-"))
    root = tmp / "root"
    out = tmp / "out"
    out.mkdir()
    # the program: prints its PID, each argument and two variables, one per line
    prog = tmp / "bin" / "show"
    prog.parent.mkdir()
    prog.write_text('#!/bin/sh\nexec >"%s/$1"\nshift\necho "pid=$$"\nfor a in "$@"; do printf "arg=%%s\\n" "$a"; done\n'
                    'echo "env=$AGENT_TOKEN"\necho "node=$NODE_VAR"\nexit "${EXIT:-0}"\n' % out)
    prog.chmod(0o755)
    toml = '[settings.hooks.show]\ncommand = ["%s", "show", %s]\n' % (
        prog, ", ".join('"%s"' % w.replace("\\", "\\\\").replace('"', '\\"') for w in WORDS))
    toml += '[settings.hooks.show.environment]\nAGENT_TOKEN = "Pl4nted-Env $X %n"\n'
    toml += '[settings.hooks.fails]\ncommand = ["/bin/sh", "-c", "exit 3"]\n'
    toml += '[settings.hooks.killed]\ncommand = ["/bin/sh", "-c", "kill -TERM $$"]\n'
    toml += '[settings.hooks.missing]\ncommand = ["/nonexistent/agent", "--token", "Pl4nted-Missing"]\n'
    harness.write(root / "etc/eks-node/node.toml.d/90-hooks.toml", toml)
    harness.write(root / "proc/cmdline", "console=ttyS0\n")
    gen_dir = root / "run/systemd/generator"
    gen_dir.mkdir(parents=True)
    try:
        r = subprocess.run([generator, gen_dir], env=dict(os.environ, EKS_NODE_ROOT=str(root),
                                                          EKS_NODE_LOG_TARGET="console"),
                           capture_output=True, text=True, timeout=30)
        check("the generator wires the hooks", r.returncode == 0 and
              (gen_dir / "eks-node-hook@show.service.d/hook.json").is_file(), r.stderr)

        def hook(name, env_extra=None):
            env = dict(os.environ, NODE_VAR="from-the-node", EKS_NODE_LOG_LEVEL="info", **(env_extra or {}))
            p = subprocess.Popen([runner, "--root=%s" % root, name], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            text, _ = p.communicate(timeout=30)
            return p.pid, p.returncode, text

        pid, rc, text = hook("show")
        lines = (out / "show").read_text().splitlines() if (out / "show").exists() else []
        check("show: exit 0", rc == 0, text)
        check("show: the words as declared, nothing expanded or split",
              [ln[4:] for ln in lines if ln.startswith("arg=")] == WORDS, lines)
        check("show: the program runs as eks-node-hook's own process (execv)", "pid=%d" % pid in lines, (pid, lines))
        check("show: the hook's environment, as declared", "env=Pl4nted-Env $X %n" in lines, lines)
        check("show: the node's environment inherited", "node=from-the-node" in lines, lines)
        check("show: the hook's variables are not logged", "Pl4nted" not in text, text)

        _, rc, text = hook("show", {"EXIT": "7"})
        check("show: the program's exit status is the unit's", rc == 7, (rc, text))
        _, rc, text = hook("fails")
        check("fails: exit 3, as the command", rc == 3, (rc, text))
        _, rc, text = hook("killed")
        check("killed: killed by SIGTERM, as the command", rc == -signal.SIGTERM, (rc, text))
        _, rc, text = hook("missing")
        check("missing: exit 203 (systemd's EXEC) naming the program, not its arguments",
              rc == 203 and "/nonexistent/agent" in text and "Pl4nted" not in text, (rc, text))

        _, rc, text = hook("undeclared")
        check("an undeclared hook: exit 6, nothing run", rc == 6 and "hook.json" in text, (rc, text))
        _, rc, text = hook("bad name!")
        check("a NAME that is no hook's: usage, exit 2", rc == 2, (rc, text))
        r = subprocess.run([runner], capture_output=True, text=True, timeout=30)
        check("no NAME: usage, exit 2", r.returncode == 2, r.stdout + r.stderr)

        f = gen_dir / "eks-node-hook@fails.service.d/hook.json"
        check("the command file is 0600", stat.S_IMODE(f.stat().st_mode) == 0o600, oct(f.stat().st_mode))
        f.chmod(0o644)
        _, rc, text = hook("fails")
        check("a command file others can read is refused: exit 6, not run", rc == 6 and "mode 0644" in text,
              (rc, text))
        f.chmod(0o600)
        target = tmp / "elsewhere.json"
        target.write_text('{"command": ["/bin/sh", "-c", "exit 9"]}')
        target.chmod(0o600)
        f.unlink()
        f.symlink_to(target)
        _, rc, text = hook("fails")
        check("a symlinked command file is refused: exit 6, not run", rc == 6, (rc, text))
        f.unlink()
        f.write_text('{"command": ["sh", "-c", "exit 9"]}')
        f.chmod(0o600)
        _, rc, text = hook("fails")
        check("a command settings.hooks refuses (no absolute path): exit 6, not run", rc == 6, (rc, text))
        if os.geteuid() == 0:
            f.write_text('{"command": ["/bin/sh", "-c", "exit 9"]}')
            os.chown(f, 65534, 65534)
            _, rc, text = hook("fails")
            check("a command file another user owns is refused: exit 6, not run", rc == 6 and "uid 65534" in text,
                  (rc, text))
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
