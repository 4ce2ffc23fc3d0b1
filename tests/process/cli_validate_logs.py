#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node validate` and `eks-node collect-logs` on a rendered node root.

Usage: cli_validate_logs.py EKS_NODE_CLI

The root is rendered by `eks-node render` from the conformance instance (a
loopback fake IMDS) and the VM scenario's NodeConfig, plus a site fragment with
a proxy URL holding a password. Then:
  - validate passes on it, with one line per file and the host checks skipped,
    and fails, naming the file, on a wrong mode, a file that does not parse
    and a missing file; a containerd drop-in that is not TOML or too new is a
    warning, not a failure;
  - collect-logs, with PATH holding only a few stand-in tools (one of which
    fails), writes a tar.gz with every section, notes for the tools that are
    missing, and none of the secrets planted in the user data, the kubeconfig,
    the environment files, config.json and a tool's output.
  - collect-logs with the F6 secrets: environment variables no suffix list
    knows (DD_API_KEY, REGISTRY_PASS, GITHUB_PAT, DB_PWD, VAULT_AUTH), proxy
    passwords holding ', @, :, %40, a long one, planted through a node.toml.d
    fragment and the user data into config.json, the environment files, the
    kubeconfig, and a journal that repeats them (raw, base64, URL-encoded).
    The unpacked archive is searched byte for byte for each secret and its
    JSON-escaped, URL-encoded and base64 forms (every byte alignment): none
    may appear, while the harmless values (NO_PROXY, AWS_REGION, the proxy
    hosts) must.
Also: `status` off systemd fails with a message, and the new commands' --help.
"""

import base64
import io
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

USER_DATA = harness.SOURCE_ROOT / "tests" / "vm" / "scenarios" / "01-nodeconfig" / "user-data"
SECRETS = ["PLANTED-PROXY-PASSWORD", "PLANTED-KUBECONFIG-TOKEN", "PLANTED-USER-DATA", "PLANTED-IP-PASSWORD",
           "AKIAPLANTEDEXAMPLE01"]
SECTIONS = ["journal/eks-node.txt", "journal/containerd.txt", "journal/kubelet.txt",
            "files/run/eks-node/config.json", "files/etc/kubernetes/kubelet/config.json",
            "files/var/lib/kubelet/kubeconfig", "files/etc/containerd/config.toml",
            "files/run/eks-node/env/default.env", "system/sysctl.txt", "system/mounts.txt", "system/lsblk.txt",
            "network/addresses.txt", "network/routes.txt", "network/nftables.txt", "network/iptables.txt",
            "system/dmesg.txt", "status.json", "notes.txt", "journal/previous-boot.txt", "logs/cloud-init.log",
            "logs/cloud-init-output.log", "logs/aws-routed-eni/ipamd.log", "logs/aws-routed-eni/plugin.log"]


# F6: what a suffix list missed, and passwords that broke the URL pattern.
F6_ENV = {"DD_API_KEY": "F6dd0123456789abcdefapikey", "REGISTRY_PASS": "F6-registry-pass-value",
          "GITHUB_PAT": "ghp_F6githubpat0123456789", "DB_PWD": "F6-database-pwd-value",
          "VAULT_AUTH": "s.F6vaultauthtokenvalue"}
F6_QUOTE_PW = "F6pa'ss@wo:rd"                     # ', @ and : in one password
F6_ENCODED_PW = "F6enc%40oded%3Apw"                # written percent-encoded
F6_LONG_PW = "F6long-" + "Zq9" * 80                # newline-free but long
F6_USER_DATA_SECRET = "F6-from-user-data-secret"   # through the user data's NodeConfig
F6_HARMLESS = {"NO_PROXY": "localhost,127.0.0.1,169.254.169.254,.f6-internal", "AWS_REGION": "us-west-2"}


def f6_secrets():
    """Every secret planted for F6, and the decoded forms of the encoded one."""
    return list(F6_ENV.values()) + [F6_QUOTE_PW, F6_ENCODED_PW, "F6enc@oded:pw", F6_LONG_PW, F6_USER_DATA_SECRET]


def toml_string(v):
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


def render_root(cli, tmp):
    root = harness.make_root()
    site = ('[instance.environment.default]\n'
            'HTTPS_PROXY = "http://alice:PLANTED-PROXY-PASSWORD@proxy.internal:3128"\n'
            'HTTP_PROXY = %s\n' % toml_string("http://bob:%s@proxy.f6-internal:3128" % F6_QUOTE_PW))
    for k, v in F6_HARMLESS.items():
        site += "%s = %s\n" % (k, toml_string(v))
    site += "[instance.environment.kubelet]\n"
    for k, v in F6_ENV.items():
        site += "%s = %s\n" % (k, toml_string(v))
    site += "[instance.environment.containerd]\n"
    site += "ALL_PROXY = %s\n" % toml_string("socks5://carol:%s@socks.f6-internal:1080" % F6_ENCODED_PW)
    site += "FTP_PROXY = %s\n" % toml_string("http://dave:%s@ftp.f6-internal:21" % F6_LONG_PW)
    harness.write(root / "etc/eks-node/node.toml.d/90-site.toml", site)
    user_data = tmp / "user-data"
    # a second NodeConfig document, merged after the scenario's
    user_data.write_text(USER_DATA.read_text() + "# PLANTED-USER-DATA\n"
                         "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n"
                         "  instance:\n    environment:\n      containerd:\n"
                         "        SOME_APP_SETTING: \"%s\"\n" % F6_USER_DATA_SECRET)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    if r.returncode != 0:
        raise RuntimeError("render failed: %s" % r.stderr)
    return root


def validate_cases(cli, root, tally):
    r = harness.run_cli(cli, "validate", "--root=%s" % root)
    lines = r.stdout.splitlines()
    problems = []
    if r.returncode != 0:
        problems.append("exit %d, want 0:\n%s" % (r.returncode, r.stdout))
    for f in ["/run/eks-node/config.json", "/etc/containerd/config.toml", "/var/lib/kubelet/kubeconfig",
              "/etc/kubernetes/pki/ca.crt", "/etc/eks/kubelet/environment", "/run/eks-node/env/default.env"]:
        if "ok    %s" % f not in lines:
            problems.append("no ok line for %s" % f)
    if not any(ln.startswith("skip") and "skipped (not the host)" in ln for ln in lines):
        problems.append("host checks not reported as skipped")
    tally.case("validate passes on a rendered root", problems)

    r = harness.run_cli(cli, "validate", "--root=%s" % root, "--json")
    problems = []
    try:
        checks = json.loads(r.stdout)
        if not any(c["check"] == "/run/eks-node/config.json" and c["result"] == "ok" for c in checks):
            problems.append("config.json not ok in %s" % r.stdout)
    except json.JSONDecodeError as e:
        problems.append("not JSON: %s" % e)
    tally.case("validate --json", problems)

    def broken(name, path, damage, want):
        p = root / path.lstrip("/")
        saved = p.read_bytes() if p.exists() else None
        saved_mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else None
        damage(p)
        r = harness.run_cli(cli, "validate", "--root=%s" % root)
        problems = []
        if r.returncode != 1:
            problems.append("exit %d, want 1" % r.returncode)
        line = "FAIL  %s: %s" % (path, want)
        if not any(ln.startswith(line) for ln in r.stdout.splitlines()):
            problems.append("no line %r in:\n%s" % (line, r.stdout))
        if not r.stdout.rstrip().endswith("1 check failed"):
            problems.append("summary: %r" % r.stdout.splitlines()[-1:])
        if saved is not None:
            p.write_bytes(saved)
            p.chmod(saved_mode)
        tally.case("validate fails on %s" % name, problems)

    # containerd's drop-ins are not eks-node's: what is wrong with one is a
    # warning, and validate still passes
    dropins = root / "etc/containerd/config.d"
    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "10-metrics.toml").write_text('version = 2\n[metrics]\naddress = "127.0.0.1:1338"\n')
    (dropins / "20-broken.toml").write_text("[debug\nlevel = 'debug'\n")
    (dropins / "30-newer.toml").write_text("version = 3\n")
    r = harness.run_cli(cli, "validate", "--root=%s" % root)
    lines = r.stdout.splitlines()
    problems = []
    if r.returncode != 0:
        problems.append("exit %d, want 0:\n%s" % (r.returncode, r.stdout))
    if "ok    containerd drop-in /etc/containerd/config.d/10-metrics.toml" not in lines:
        problems.append("no ok line for the good drop-in:\n%s" % r.stdout)
    if not any(ln.startswith("warn  containerd drop-in /etc/containerd/config.d/20-broken.toml: invalid TOML at line 1")
               and "containerd will not start" in ln for ln in lines):
        problems.append("no warning for the broken drop-in:\n%s" % r.stdout)
    if not any(ln.startswith("warn  containerd drop-in /etc/containerd/config.d/30-newer.toml: version 3 is newer")
               for ln in lines):
        problems.append("no warning for the version 3 drop-in on containerd 1.7:\n%s" % r.stdout)
    if not r.stdout.rstrip().endswith("0 checks failed, 2 warnings"):
        problems.append("summary: %r" % r.stdout.splitlines()[-1:])
    j = harness.run_cli(cli, "validate", "--root=%s" % root, "--json")
    try:
        results = {c["check"]: c["result"] for c in json.loads(j.stdout)}
        if results.get("containerd drop-in /etc/containerd/config.d/20-broken.toml") != "warning":
            problems.append("--json: %s" % results)
    except json.JSONDecodeError as e:
        problems.append("--json not JSON: %s" % e)
    shutil.rmtree(dropins)
    tally.case("validate warns, without failing, about containerd drop-ins", problems)

    broken("config.json mode 0644", "/run/eks-node/config.json", lambda p: p.chmod(0o644), "mode 0644, want 0600")
    broken("a containerd config that is not TOML", "/etc/containerd/config.toml",
           lambda p: p.write_text("version = = 2\n"), "cannot parse")
    broken("a kubelet config that is not JSON", "/etc/kubernetes/kubelet/config.json",
           lambda p: p.write_text("{\"kind\": "), "cannot parse")
    broken("a missing CA", "/etc/kubernetes/pki/ca.crt", lambda p: p.unlink(), "missing")


def fake_tools(tmp, name="bin"):
    """A PATH with ip, sysctl, lsblk and a failing dmesg; no journalctl, nft, iptables-save."""
    bin_dir = tmp / name
    bin_dir.mkdir()
    tools = {
        "ip": 'echo "ip $*: 2: eth0 proxy http://bob:PLANTED-IP-PASSWORD@10.0.0.1:3128 AKIAPLANTEDEXAMPLE01"',
        "sysctl": 'echo "net.ipv4.ip_forward = 1"',
        "lsblk": 'echo "nvme0n1 disk 80G"',
        "dmesg": 'echo "dmesg: read kernel buffer failed: Operation not permitted" >&2; exit 1',
    }
    for name, body in tools.items():
        p = bin_dir / name
        p.write_text("#!/bin/sh\n%s\n" % body)
        p.chmod(0o755)
    return bin_dir


def collect_cases(cli, root, tmp, tally):
    # a kubeconfig token, as a bootstrap-token kubeconfig would have one
    kc = root / "var/lib/kubelet/kubeconfig"
    kc.write_text(kc.read_text() + "# token: PLANTED-KUBECONFIG-TOKEN\n  token: PLANTED-KUBECONFIG-TOKEN\n")
    # cloud-init's logs and the VPC CNI's, each with secrets a script or a plugin may print
    logs = {"var/log/cloud-init.log": "2026-11-28 cloud-init[1]: running modules for final\n",
            "var/log/cloud-init-output.log": "+ curl http://bob:PLANTED-IP-PASSWORD@10.0.0.1:3128/x\n"
                                             "+ export AWS_ACCESS_KEY_ID=AKIAPLANTEDEXAMPLE01\n",
            "var/log/aws-routed-eni/ipamd.log": '{"msg":"Successfully assigned IP 10.0.1.7"}\n',
            "var/log/aws-routed-eni/plugin.log": "proxy http://bob:PLANTED-IP-PASSWORD@10.0.0.1:3128\n"}
    # first without the VPC CNI's directory: its section says so in a file, and the
    # archive stays one GNU tar reads whole (a member named "dir/" would not be)
    out0 = tmp / "logs-no-cni.tar.gz"
    r0 = subprocess.run([str(cli), "collect-logs", "--root=%s" % root, "--output=%s" % out0], capture_output=True,
                        text=True, timeout=120, env=dict(os.environ, PATH=str(fake_tools(tmp, "bin0"))))
    listing = subprocess.run(["tar", "-tzf", str(out0)], capture_output=True, text=True)
    tally.case("collect-logs without /var/log/aws-routed-eni: a whole archive, the section a file saying so",
               [] if r0.returncode == 0 and listing.returncode == 0 and
               "eks-node-logs/logs/aws-routed-eni/not-collected.txt" in listing.stdout.splitlines()
               else ["exit %d, tar %d: %s %s" % (r0.returncode, listing.returncode, listing.stderr, r0.stderr[-300:])])
    for name, text in logs.items():
        harness.write(root / name, text)
    out = tmp / "logs.tar.gz"
    env = dict(os.environ, PATH=str(fake_tools(tmp)))
    r = subprocess.run([str(cli), "collect-logs", "--root=%s" % root, "--output=%s" % out],
                       capture_output=True, text=True, timeout=120, env=env)
    problems = []
    if r.returncode != 0:
        problems.append("exit %d: %s" % (r.returncode, r.stderr))
    tally.case("collect-logs succeeds with tools missing", problems)
    if not out.exists():
        tally.case("collect-logs wrote the archive", ["no %s" % out])
        return
    problems = []
    if stat.S_IMODE(out.stat().st_mode) != 0o600:
        problems.append("mode %o, want 600" % stat.S_IMODE(out.stat().st_mode))
    if r.stdout.strip() != str(out):
        problems.append("printed %r, want the archive's name" % r.stdout)
    tally.case("collect-logs archive is 0600 and named on stdout", problems)

    with tarfile.open(out, "r:gz") as t:
        members = {m.name: t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()}
    names = {n.removeprefix("eks-node-logs/") for n in members}
    missing = [s for s in SECTIONS if s not in names]
    tally.case("collect-logs archive holds every section", ["missing %s (have %s)" % (missing, sorted(names))]
               if missing else [])

    progress = r.stderr.splitlines()
    problems = ["no progress line for %s" % s for s in SECTIONS
                if not any(ln.startswith("collect-logs: %s " % s) for ln in progress)]
    tally.case("collect-logs prints a progress line per section", problems)

    notes = members.get("eks-node-logs/notes.txt", "")
    problems = []
    for want in ["journal/eks-node.txt: journalctl: not installed", "network/nftables.txt: nft: not installed",
                 "network/iptables.txt: iptables-save: not installed",
                 "system/dmesg.txt: dmesg exited with status 1", "files/run/eks-node/user-data: left out",
                 "status.json: eks-node status:"]:
        if want not in notes:
            problems.append("notes.txt lacks %r:\n%s" % (want, notes))
    if "Operation not permitted" not in members.get("eks-node-logs/system/dmesg.txt", ""):
        problems.append("dmesg's error output not kept")
    if "nvme0n1 disk 80G" not in members.get("eks-node-logs/system/lsblk.txt", ""):
        problems.append("lsblk's output not kept")
    if "running modules for final" not in members.get("eks-node-logs/logs/cloud-init.log", ""):
        problems.append("cloud-init.log not kept")
    if "Successfully assigned IP 10.0.1.7" not in members.get("eks-node-logs/logs/aws-routed-eni/ipamd.log", ""):
        problems.append("the VPC CNI's ipamd.log not kept")
    if "+ curl http://" not in members.get("eks-node-logs/logs/cloud-init-output.log", ""):
        problems.append("cloud-init-output.log not kept, redacted")
    if "journal/previous-boot.txt: journalctl: not installed" not in notes:
        problems.append("the previous boot's journal not attempted: %r" % notes)
    tally.case("collect-logs notes what is missing or failed", problems)

    problems = []
    whole = "\n".join(members.values()) + "\n".join(members)
    for s in SECRETS:
        if s in whole:
            where = [n for n, text in members.items() if s in text]
            problems.append("%s appears in %s" % (s, where))
    if "user-data" in " ".join(members):
        problems.append("the user data is in the archive")
    env_file = members.get("eks-node-logs/files/run/eks-node/env/default.env", "")
    if "HTTPS_PROXY=http://REDACTED@proxy.internal:3128" not in env_file:
        problems.append("default.env not redacted as expected: %r" % env_file)
    if "apiVersion" not in members.get("eks-node-logs/files/var/lib/kubelet/kubeconfig", ""):
        problems.append("kubeconfig lost its non-secret content")
    tally.case("collect-logs leaves no planted secret in the archive", problems)


REPO = pathlib.Path(__file__).resolve().parents[2]
SHIM = REPO / "packer/provisioners/files/eks-log-collector.sh"
COMPAT = REPO / "tests/data/log-collector-compat.tsv"


def shim_cases(cli, root, tmp, tally):
    """The log collector's path (/etc/eks/log-collector-script/eks-log-collector.sh) over
    collect-logs: each row of tests/data/log-collector-compat.tsv, run with its arguments."""
    rows = [ln.split("\t") for ln in COMPAT.read_text().splitlines() if ln and not ln.startswith("#")]
    tally.at_least(len(rows), 10, "log collector compatibility rows")
    # the shim's own tools, then eks-node (the build under test) and collect-logs' stand-ins
    bin_dir = tmp / "shim-bin"
    bin_dir.mkdir()
    for tool in ["basename", "sed", "head", "date", "id", "cat"]:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "eks-node").symlink_to(cli)
    instance = json.loads((root / "run/eks-node/instance.json").read_text())["instanceId"]
    for n, (args, aws, want_exit, outcome) in enumerate(rows):
        log_dir = tmp / ("shim-logs-%d" % n)
        log_dir.mkdir()
        (tmp / ("shim-tools-%d" % n)).mkdir()
        argv = [] if args == "-" else args.split(" ")
        env = dict(os.environ, PATH="%s:%s" % (bin_dir, fake_tools(tmp / ("shim-tools-%d" % n))),
                   EKS_LOG_COLLECTOR_DIR=str(log_dir), EKS_LOG_COLLECTOR_ROOT=str(root))
        r = subprocess.run([shutil.which("bash"), str(SHIM), *argv], capture_output=True, text=True, timeout=120, env=env)
        problems = []
        if r.returncode != int(want_exit):
            problems.append("exit %d, want %s: %s" % (r.returncode, want_exit, r.stderr[-400:]))
        written = sorted(p.name for p in log_dir.iterdir())
        if outcome in ("archive", "archive-hybrid"):
            prefix = "eks_%s_" % ("" if outcome == "archive-hybrid" else instance)
            if len(written) != 1 or not written[0].startswith(prefix) or not written[0].endswith("_eks-node.tar.gz"):
                problems.append("wrote %s, want one %s...TIME..._eks-node.tar.gz" % (written, prefix))
            else:
                archive = log_dir / written[0]
                if "Done... your bundled logs are located in %s" % archive not in r.stdout:
                    problems.append("stdout does not name the archive: %r" % r.stdout)
                with tarfile.open(archive, "r:gz") as t:
                    text = "\n".join(t.extractfile(m).read().decode(errors="replace")
                                     for m in t.getmembers() if m.isfile())
                leaked = [x for x in SECRETS if x in text]
                if leaked:
                    problems.append("secrets in the archive: %s" % leaked)
                if "apiVersion" not in text:
                    problems.append("the archive lacks the node's files (no kubeconfig)")
        elif outcome == "help":
            if written or "USAGE:" not in r.stdout:
                problems.append("wrote %s, stdout %r" % (written, r.stdout[:200]))
        elif outcome == "refused":
            word = argv[0].split("=")[0] if argv else ""
            if written or word not in r.stderr:
                problems.append("wrote %s; stderr %r does not name %s" % (written, r.stderr, word))
        else:
            problems.append("%s: unknown outcome in %s" % (outcome, COMPAT.name))
        tally.case("log collector shim %s (AWS: %s)" % (args, aws[:60]), problems)


def encoded_forms(secret):
    """The forms a secret may take in a text: raw, JSON-escaped, URL-encoded,
    and base64 at each of the three byte alignments (only the characters
    that depend on the secret alone)."""
    raw = secret.encode()
    forms = {"raw": raw, "json": json.dumps(secret)[1:-1].encode(),
             "url": urllib.parse.quote(secret, safe="").encode()}
    for k in range(3):
        for name, enc in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            b = enc(b"\0" * k + raw).rstrip(b"=")
            skip = 0 if k == 0 else k + 1
            forms["%s@%d" % (name, k)] = b[skip:(k + len(raw)) * 8 // 6]
    return forms


def f6_cases(cli, root, tmp, tally):
    """F6: the planted secrets reach no byte of the archive, the harmless values do."""
    bin_dir = tmp / "bin-f6"
    bin_dir.mkdir()
    # a journal that repeats the secrets as a step's error, a proxy URL, base64 and URL-encoded
    lines = []
    for s in f6_secrets():
        lines.append("eks-node-config[7]: spec.instance.environment.kubelet.X: \"%s\" is not allowed" % s)
        lines.append("containerd[9]: blob %s" % base64.b64encode(b"x" + s.encode() + b"tail").decode())
        lines.append("kubelet[11]: param=%s" % urllib.parse.quote(s, safe=""))
    lines.append("containerd[9]: using proxy http://bob:%s@proxy.f6-internal:3128" % F6_QUOTE_PW)
    journal = bin_dir / "journal.txt"
    journal.write_text("\n".join(lines) + "\n")
    (bin_dir / "journalctl").write_text("#!/bin/sh\nexec /bin/cat %s\n" % journal)
    (bin_dir / "journalctl").chmod(0o755)
    out = tmp / "f6.tar.gz"
    r = subprocess.run([str(cli), "collect-logs", "--root=%s" % root, "--output=%s" % out],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, PATH=str(bin_dir)))
    if r.returncode != 0 or not out.exists():
        tally.case("collect-logs with the F6 secrets", ["exit %d: %s" % (r.returncode, r.stderr)])
        return
    # the planted values really reached the rendered files (else the test proves nothing)
    rendered = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    problems = ["%r not in the rendered root" % s for s in f6_secrets() if s != "F6enc@oded:pw"
                and s.encode() not in rendered]
    tally.case("the F6 secrets are planted in the rendered root", problems)

    unpacked = tmp / "f6-unpacked"
    with tarfile.open(out, "r:gz") as t:
        t.extractall(unpacked)
    files = {str(p.relative_to(unpacked)): p.read_bytes() for p in unpacked.rglob("*") if p.is_file()}
    problems = []
    for s in f6_secrets():
        for form, needle in encoded_forms(s).items():
            where = [n for n, data in files.items() if needle in data]
            if where:
                problems.append("%s (%s: %r) appears in %s" % (s[:24], form, needle[:24], where))
    tally.case("collect-logs leaves no F6 secret in the archive, in any encoding", problems)

    problems = []
    env_file = files.get("eks-node-logs/files/run/eks-node/env/kubelet.env", b"").decode()
    for k in F6_ENV:
        if "%s=REDACTED" % k not in env_file:
            problems.append("kubelet.env lacks %s=REDACTED: %r" % (k, env_file))
    everything = b"\n".join(files.values()).decode(errors="replace")
    for k, v in F6_HARMLESS.items():
        if v not in files.get("eks-node-logs/files/run/eks-node/config.json", b"").decode():
            problems.append("config.json lost the harmless %s=%s" % (k, v))
    for host in ("http://REDACTED@proxy.f6-internal:3128", "socks5://REDACTED@socks.f6-internal:1080"):
        if host not in everything:
            problems.append("%s missing: a harmless proxy host was lost" % host)
    # a proxy variable no client of eks-node reads is not in its table: masked whole
    if "ftp.f6-internal" in everything or "FTP_PROXY=REDACTED" not in everything:
        problems.append("FTP_PROXY was not masked whole")
    cfg = json.loads(files.get("eks-node-logs/files/run/eks-node/config.json", b"{}"))
    label = cfg.get("origins", {}).get("/spec/instance/environment/kubelet/DB_PWD", "")
    if not label.endswith("90-site.toml"):
        problems.append("config.json's origin of DB_PWD lost its label: %r" % label)
    journal_out = files.get("eks-node-logs/journal/eks-node.txt", b"").decode()
    if "is not allowed" not in journal_out or "REDACTED" not in journal_out:
        problems.append("the journal was not kept, redacted: %r" % journal_out[:200])
    tally.case("collect-logs keeps the harmless values and the journal", problems)


def rotation_cases(cli, root, tmp, tally):
    """journalctl saying it skipped a file as truncated (journald rotated it during the open,
    systemd issue #40053): collect-logs reads that section again, three reads at most."""
    for name, skipped_reads in (("once", 1), ("always", 99)):
        bin_dir = tmp / ("bin-rotation-" + name)
        bin_dir.mkdir()
        count = bin_dir / "reads"
        (bin_dir / "journalctl").write_text(
            "#!/bin/sh\n"
            "case \"$*\" in *' -1 '*) echo \"previous boot\"; exit 0 ;; *eks-node\\**) ;; "
            "*) echo \"other section\"; exit 0 ;; esac\n"
            "n=$(($(/bin/cat %s 2>/dev/null || echo 0) + 1)); echo $n >%s\n"
            "if [ $n -le %d ]; then echo 'Journal file /run/log/journal/m/system.journal is truncated, "
            "ignoring file.' >&2; echo 'old entries only'; exit 0; fi\n"
            "echo 'eks-node-config[7]: the newest entry'\n" % (count, count, skipped_reads))
        (bin_dir / "journalctl").chmod(0o755)
        out = tmp / ("rotation-%s.tar.gz" % name)
        r = subprocess.run([str(cli), "collect-logs", "--root=%s" % root, "--output=%s" % out],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, PATH=str(bin_dir)))
        if r.returncode != 0 or not out.exists():
            tally.case("collect-logs with journald rotating (%s)" % name, ["exit %d: %s" % (r.returncode, r.stderr)])
            continue
        with tarfile.open(out, "r:gz") as t:
            members = {m.name.removeprefix("eks-node-logs/"): t.extractfile(m).read().decode()
                       for m in t.getmembers() if m.isfile()}
        journal, notes, reads = members.get("journal/eks-node.txt", ""), members.get("notes.txt", ""), count.read_text()
        problems = []
        if skipped_reads == 1:
            if reads.strip() != "2" or "the newest entry" not in journal or "truncated" in journal:
                problems.append("reads %s, journal %r" % (reads.strip(), journal))
            if "skipped a journal file" in notes:
                problems.append("a note for a read that came whole: %r" % notes)
        else:
            if reads.strip() != "3" or "truncated" not in journal:
                problems.append("reads %s (want 3), journal %r (want the message kept)" % (reads.strip(), journal))
            if "journal/eks-node.txt: journalctl skipped a journal file in 3 reads" not in notes:
                problems.append("notes.txt does not say so: %r" % notes)
        tally.case("collect-logs reads a journal again that journald rotated away (%s)" % name, problems)


def main():
    cli = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-cli-"))
    root = None
    try:
        root = render_root(cli, tmp)
        validate_cases(cli, root, tally)
        collect_cases(cli, root, tmp, tally)
        shim_cases(cli, root, tmp, tally)
        f6_cases(cli, root, tmp, tally)
        rotation_cases(cli, root, tmp, tally)

        for cmd in ["status", "validate", "collect-logs"]:
            r = harness.run_cli(cli, cmd, "--help")
            tally.case("%s --help" % cmd, [] if r.returncode == 0 and r.stdout.startswith(
                "Usage: eks-node %s" % cmd) else ["exit %d: %r" % (r.returncode, r.stdout[:80])])
            r = harness.run_cli(cli, cmd, "--no-such-option")
            tally.case("%s rejects an unknown option" % cmd, [] if r.returncode == 2 and "--no-such-option" in r.stderr
                       else ["exit %d: %r" % (r.returncode, r.stderr)])
        if not os.path.exists("/run/systemd/system"):
            r = harness.run_cli(cli, "status")
            tally.case("status off systemd fails and says why",
                       [] if r.returncode == 1 and "systemd" in r.stderr else
                       ["exit %d: %r" % (r.returncode, r.stderr)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if root:
            shutil.rmtree(root, ignore_errors=True)
    tally.at_least(tally.passed + tally.failed, 20, "cli cases")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
