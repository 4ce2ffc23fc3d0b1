#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Host side of 16-secrets (run by run-scenario.sh after the VM: host-check.py RESULTS_DIR).

Searches what the boot left for the planted secrets of tests/process/planted_secrets.py, raw and
base64-, URL- and JSON-encoded: the serial console log, the whole journal (journal.export:
every field of every entry), the guest's check output, the outputs check.sh saved (eks-node
status, config dump in each mode, config check, validate, `journalctl -o verbose`) and the
collect-logs archive, unpacked. The node's files (COLLECT) may hold the configuration's
secrets only when 0600, and the session token and credentials nowhere. One line is
containerd's and known (CONTAINERD_CONFIG_LINE): its own dump of its configuration may hold
the registry headers, and nothing else.
"""

import pathlib
import stat
import sys
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[4]
# the secrets tests/process/planted_secrets.py plants, and their search (tests/process/planted.py)
sys.path[:0] = [str(REPO / "tests" / "process"), str(REPO / "tests" / "lib")]
import planted  # noqa: E402

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s" % what)
        for line in str(detail)[:1500].splitlines():
            print("    " + line)


def text_of(path):
    return path.read_bytes().decode(errors="replace")


# containerd 1.x logs its CRI configuration when it starts ("Start cri plugin with config
# {...}", Go's %+v): the values of registry.headers with it (registry.configs' auth is a
# pointer there, printed as an address). That line is containerd's, in the journal (root and
# the adm and systemd-journal groups), and documented (eks-node-containerd(8), SECRETS); it
# may hold those two and nothing else. collect-logs masks them (tests/process/planted_secrets.py).
CONTAINERD_CONFIG_LINE = "Start cri plugin with config"
IN_CONTAINERD_CONFIG = {"containerd registry Authorization header", "containerd registry custom header"}


# A command word is public while its process runs: every user reads /proc/PID/cmdline, and
# journald records it as _CMDLINE= of each entry the process logs. So a header given as
# kubelet's --manifest-url-header, and a hook's command words, are (eks-node-kubelet(8) and
# eks-node-hook(8), SECRETS, say to use staticPodURLHeader and a hook's environment, which stay
# in 0600 files). Only _CMDLINE= fields may hold those, and nothing else.
CMDLINE_FIELD = "_CMDLINE="
IN_CMDLINE = {"kubelet --manifest-url-header", "hook command word (admin fragment)",
              "hook command word (user data)"}


def journal_leaks(text):
    """leaks() of a journal text, but what containerd's configuration line and the
    processes' command lines may hold; and whether containerd's line was seen."""
    lines = text.splitlines()
    dump = [ln for ln in lines if CONTAINERD_CONFIG_LINE in ln]
    cmdline = [ln for ln in lines if ln.lstrip().startswith(CMDLINE_FIELD)]
    rest = "\n".join(ln for ln in lines if CONTAINERD_CONFIG_LINE not in ln and ln not in cmdline)
    found = planted.leaks(rest)
    found += [f for f in planted.leaks("\n".join(dump)) if f[0] not in IN_CONTAINERD_CONFIG]
    found += [f for f in planted.leaks("\n".join(cmdline)) if f[0] not in IN_CMDLINE]
    return found, bool(dump)


def main():
    res = pathlib.Path(sys.argv[1])
    secrets_dir = res / "artifacts" / "secrets"
    journal = text_of(res / "journal.export") if (res / "journal.export").exists() else ""
    check("the journal export is there and holds the steps' debug lines",
          "EKS_NODE_STEP=imds" in journal and "\nPRIORITY=7\n" in journal)

    sources = {"the serial console log (console.log)": res / "console.log",
               "the journal, every field of every entry (journal.export)": res / "journal.export",
               "the guest's check output (check.log)": res / "check.log"}
    for f in sorted(secrets_dir.glob("*")):
        if f.name != "collect-logs.tar.gz":
            sources["artifacts/secrets/%s" % f.name] = f
    for what, path in sources.items():
        if not path.exists():
            check("no secret in %s" % what, False, "missing: %s" % path)
            continue
        found, _ = journal_leaks(text_of(path))
        check("no secret in %s" % what, not found, planted.describe(found))

    archive = secrets_dir / "collect-logs.tar.gz"
    members = {}
    if archive.exists():
        with tarfile.open(archive, "r:gz") as t:
            members = {m.name: (t.extractfile(m).read().decode(errors="replace") if m.isfile() else "")
                       for m in t.getmembers()}
    check("the collect-logs archive has the journal, the env files, the kubeconfig and the fragments",
          {"eks-node-logs/journal/eks-node.txt", "eks-node-logs/files/run/eks-node/env/default.env",
           "eks-node-logs/files/var/lib/kubelet/kubeconfig",
           "eks-node-logs/files/etc/eks-node/node.toml.d/90-site.toml"} <= set(members), sorted(members))
    for name in planted.ALL_SECRETS:
        where = ["%s: %s" % (member, form) for member, text in members.items()
                 for _, form in planted.leaks(text + "\n" + member, [name])]
        check("collect-logs archive: no %s" % name, bool(members) and not where, where or "no archive")

    # the node's files, as the runner copied them (cp -a: modes kept)
    holding = {}
    files = res / "files"
    for p in sorted(files.rglob("*")):
        if p.is_file() and not p.is_symlink():
            found = planted.leaks(text_of(p))
            if found:
                holding["/" + str(p.relative_to(files))] = (stat.S_IMODE(p.stat().st_mode), found)
    never = {f: planted.describe(found) for f, (_, found) in holding.items()
             if any(n in planted.NEVER_WRITTEN for n, _ in found)}
    check("no file of the node holds the IMDS token or the credentials", not never, never)
    loose = {f: "%o: %s" % (mode, planted.describe(found)) for f, (mode, found) in holding.items() if mode != 0o600}
    check("every file of the node holding a configuration secret is 0600", not loose, loose)
    raw = {n for _, found in holding.values() for n, form in found if form == "raw"}
    check("the configuration's secrets did reach the node's files (the search looks for what is there)",
          raw >= set(planted.CONFIG_SECRETS) - planted.PROCESS_ONLY, sorted(raw))

    print("checks: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
