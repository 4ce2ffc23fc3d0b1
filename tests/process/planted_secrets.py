#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Planted secrets never leak from a node's chain or from the eks-node CLI.

Usage: planted_secrets.py HELPER_DIR EKS_NODE_CLI EKS_NODE_GENERATOR

A node root is rendered step by step, at log level debug, against the loopback fake IMDS
(which issues a known session token and serves an instance profile's credentials) and the
fake EC2/EKS API (which checks the signatures made with those credentials). The user data
carries proxy URLs with passwords, containerd's registry credentials and headers, kubelet's
static pod URL (with a password) and headers, a kubelet flag carrying a header and a hook whose
command and environment carry secrets; an admin fragment service environment keys whose values
are secrets and a hook of its own; the kubeconfig gets a token line. Then none of them may
appear, raw or base64-, URL- or JSON-encoded (search_forms), in:
  - the steps' log output (stdout and stderr: the journal off systemd);
  - `eks-node config dump` (plain, --origins, and resolving when config.json is absent),
    `config check`, `validate`, `render`;
  - the archive of `eks-node collect-logs` (unpacked, every member and name);
  - any file under the root, for the session token and the credentials (never written);
  - any file under the root of a mode other than 0600, for the configuration's secrets: the
    steps' files and eks-node-generator's output (run into the root's /run/systemd/generator
    at boot, before config.json, and again after it);
  - the generator's unit files and drop-ins, whatever their mode: systemd shows every
    setting of a loaded unit (ExecStart=, Environment=) to every user (`systemctl show`);
  - eks-node-config's error when libcurl refuses the proxy URL (proxy_refused_case);
  - `eks-node get-token`'s stderr at log level debug, with the instance profile's credentials
    and with environment credentials, on success and on failure (get_token_case); its stdout
    carries the session token by design (inside the token, as the AWS tools' does) and nothing
    else secret;
and the files that hold secrets by design (kubeconfig, env files, config.json, user data)
are 0600. The VM scenario 16-secrets checks the same on a real boot (journal, console,
status, coredumps).
"""

import base64
import json
import os
import pathlib
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

from planted import (  # noqa: E402
    CASE, STEPS, ROLE, IMDS_TOKEN, KEY_ID, SECRET_KEY, SESSION_TOKEN, NEVER_WRITTEN, PROXY_URL,
    KUBECONFIG_TOKEN, S, CONFIG_SECRETS, ALL_SECRETS, USER_DATA, REGISTRIES_TOML, SITE_TOML,
    SECRET_FILES, NOT_WRITTEN_HERE, describe, leaks, self_test
)


def run(argv, env, timeout=60):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, timeout=timeout)
    r.text = r.stdout + r.stderr
    return r


def fake_tools(tmp, journal_text):
    """A PATH for collect-logs: `journalctl` prints what the steps logged (the journal of
    this node), the other tools a line each."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (tmp / "journal.txt").write_text(journal_text)
    tools = {"journalctl": 'cat "%s"' % (tmp / "journal.txt"), "sysctl": 'echo "net.ipv4.ip_forward = 1"',
             "lsblk": 'echo "nvme0n1 disk 80G"', "ip": 'echo "1: lo: <LOOPBACK,UP>"', "dmesg": "true",
             "nft": "true", "iptables-save": "true", "ip6tables-save": "true"}
    for name, body in tools.items():
        p = bin_dir / name
        p.write_text("#!/bin/sh\n%s\n" % body)
        p.chmod(0o755)
    return bin_dir


def archive_members(path):
    """collect-logs' archive as {member name: text} ("" for a directory); {} when there is none."""
    if not path.exists():
        return {}
    with tarfile.open(path, "r:gz") as t:
        return {m.name: (t.extractfile(m).read().decode(errors="replace") if m.isfile() else "")
                for m in t.getmembers()}


def proxy_refused_case(helpers, check, profile):
    """The EKS endpoint through the planted HTTPS_PROXY, whose URL libcurl refuses (an
    unencoded quote and @ in the password): the step fails, and its error line must not show
    the password. The proxy's host is loopback here, so that nothing leaves the machine
    whatever libcurl makes of the URL."""
    root = harness.make_root()
    harness.write(root / "etc/eks-node/node.toml.d/10-test.toml", '[settings.aws]\ndeadline = "2s"\n')
    user_data = root / "user-data.yaml"
    user_data.write_text(USER_DATA.replace("@proxy:3128", "@127.0.0.1:3128"))
    try:
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data,
                              extra=["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, json.dumps(profile))]) \
                as imds:
            r = run([helpers / "eks-node-imds", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint], None)
            check("proxy refused: eks-node-imds exits 0", r.returncode == 0, r.text)
            # https (HTTPS_PROXY applies) to an address NO_PROXY does not name; never reached
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}
            env["AWS_ENDPOINT_URL"] = "https://127.0.0.2:9"
            r = run([helpers / "eks-node-config", "--root=%s" % root], env)
        check("proxy refused: eks-node-config fails", r.returncode != 0, r.text)
        found = leaks(r.text)
        check("proxy refused: the error does not show the proxy's password", not found,
              describe(found) + "\n" + r.text[-600:])
    finally:
        harness.shutil.rmtree(root, ignore_errors=True)


def get_token_case(cli, check, root, outputs, env):
    """kubelet's credential plugin, run as kubelet runs it, on the node the chain rendered
    (instance.json names the fake IMDS and the role). What it prints on stderr goes to
    kubelet's journal: no secret there, ever. Its token holds the session token, which STS
    needs to check it, URL- and base64url-encoded: stdout, and only stdout, carries that."""
    args = [cli, "get-token", "--cluster-name", "my-cluster", "--root=%s" % root, "--log-level=debug"]
    r = run(args, dict(env, KUBERNETES_EXEC_INFO='{"apiVersion":"client.authentication.k8s.io/v1"}'))
    outputs["eks-node get-token --log-level=debug (stderr), instance profile"] = r.stderr
    try:
        token = json.loads(r.stdout)["status"]["token"]
        url = base64.urlsafe_b64decode(token[len("k8s-aws-v1."):] + "==").decode()
    except (ValueError, KeyError):
        token = url = ""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    check("get-token with the instance profile: exit 0, a token signed with its credentials",
          r.returncode == 0 and query.get("X-Amz-Security-Token") == SESSION_TOKEN and
          query.get("X-Amz-Credential", "").startswith(KEY_ID + "/"), r.stderr)
    found = leaks(r.stdout.replace(token, "")) if token else []
    check("get-token's stdout: nothing secret beside the token", not found, describe(found))
    check("get-token's stdout: never the secret access key, in any form", not leaks(r.stdout, ["SecretAccessKey"]),
          describe(leaks(r.stdout, ["SecretAccessKey"])))
    plain = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    cases = {
        "environment credentials": dict(plain, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                                        AWS_SESSION_TOKEN=SESSION_TOKEN),
        "half of the environment's credentials (fails)": dict(plain, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                                                               AWS_SESSION_TOKEN=SESSION_TOKEN),
        "environment credentials, KUBERNETES_EXEC_INFO not JSON (a warning)": dict(
            plain, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_SESSION_TOKEN=SESSION_TOKEN,
            KUBERNETES_EXEC_INFO="{not json"),
    }
    for what, e in cases.items():
        r = run(args, e)
        outputs["eks-node get-token --log-level=debug (stderr), %s" % what] = r.stderr
        check("get-token, %s: exit %s" % (what, "non-zero" if "fails" in what else "0"),
              (r.returncode != 0) == ("fails" in what), "%d: %s" % (r.returncode, r.stderr))


def ecs_case(cli, check, tmp):
    """An ECS container instance behind a proxy with a password: ecs.config carries the proxy
    for the agent's container (it needs the password), so it is 0600, and neither the render's
    log nor collect-logs' archive shows the password."""
    root = harness.make_root()
    tmp = tmp / "ecs"
    tmp.mkdir()
    harness.write(root / "usr/lib/eks-node/node.toml.d/10-ecs.toml", '[settings]\nnode = "ecs"\n')
    user_data = tmp / "user-data.toml"
    user_data.write_text('[settings.ecs]\ncluster = "c"\n\n[instance.environment.default]\n'
                         'HTTPS_PROXY = "%s"\nNO_PROXY = "10.0.0.0/8"\n' % PROXY_URL)
    try:
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data) as imds:
            r = run([cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint,
                     "--log-level=debug"], None)
        check("ECS: render exits 0", r.returncode == 0, r.text)
        found = leaks(r.text)
        check("ECS: no secret in the output of render --log-level=debug", not found, describe(found))
        ecs_config = root / "etc/ecs/ecs.config"
        text = ecs_config.read_text() if ecs_config.exists() else ""
        check("ECS: ecs.config carries the proxy, password included, for the agent's container",
              "HTTPS_PROXY=%s\n" % PROXY_URL in text, text)
        check("ECS: ecs.config is 0600", ecs_config.exists() and stat.S_IMODE(ecs_config.stat().st_mode) == 0o600)
        out = tmp / "logs.tar.gz"
        r = run([cli, "collect-logs", "--root=%s" % root, "--output=%s" % out],
                dict(os.environ, PATH=str(fake_tools(tmp, ""))), timeout=120)
        members = archive_members(out)
        check("ECS: collect-logs has ecs.config, its password masked",
              "eks-node-logs/files/etc/ecs/ecs.config" in members and
              not leaks(members["eks-node-logs/files/etc/ecs/ecs.config"], ["proxy password"]),
              sorted(members))
    finally:
        harness.shutil.rmtree(root, ignore_errors=True)


GENERATOR_DIR = "run/systemd/generator"


def run_generator(generator, root, outputs, when):
    """eks-node-generator into the root's /run/systemd/generator, as systemd runs it (the
    directory emptied first, as a daemon-reload does); its log goes to outputs."""
    out = root / GENERATOR_DIR
    harness.shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = dict(os.environ, EKS_NODE_ROOT=str(root), EKS_NODE_LOG_TARGET="console")
    r = run([generator, out], env)
    outputs["eks-node-generator (%s)" % when] = r.text
    return r, out


def check_generated(check, out, when, hooks):
    """The generator's output: hooks wired, no secret in any unit file or drop-in (systemd
    shows their settings to every user), every file holding one 0600."""
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()]
    for name in hooks:
        check("generator (%s): hook %s wired" % (when, name),
              (out / ("eks-node.target.wants/eks-node-hook@%s.service" % name)).is_symlink() and
              (out / ("eks-node-hook@%s.service.d/50-hook.conf" % name)).is_file(), sorted(map(str, files)))
    # what systemd loads: units and *.conf drop-ins
    shown = {str(p.relative_to(out)): describe(leaks(p.read_text())) for p in files
             if (p.suffix == ".conf" or p.parent == out) and leaks(p.read_text())}
    check("generator (%s): no secret in a unit or drop-in systemd loads (systemctl show)" % when, not shown, shown)
    loose = {str(p.relative_to(out)): "%o" % stat.S_IMODE(p.stat().st_mode) for p in files
             if leaks(p.read_bytes().decode(errors="replace")) and stat.S_IMODE(p.stat().st_mode) != 0o600}
    check("generator (%s): every file holding a secret is 0600" % when, not loose, loose)


def main():
    helpers = pathlib.Path(sys.argv[1]).resolve()
    cli = pathlib.Path(sys.argv[2]).resolve()
    generator = pathlib.Path(sys.argv[3]).resolve()
    tally = harness.Tally()
    check = tally.check
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-secrets-"))
    root = harness.make_root()
    harness.write(root / "etc/eks-node/node.toml.d/90-site.toml", SITE_TOML)
    # not in the VM scenario's site fragment: its image has no site-provider program
    harness.write(root / "etc/eks-node/node.toml.d/91-registries.toml", REGISTRIES_TOML)
    harness.write(root / "etc/eks/image-credential-provider/site-provider", "#!/bin/sh\nexit 1\n")
    (root / "etc/eks/image-credential-provider/site-provider").chmod(0o755)
    harness.write(root / "proc/cmdline", "console=ttyS0 eks-node.log-level=debug\n")
    user_data = tmp / "user-data"
    user_data.write_text(USER_DATA)
    ca = [ln.split(":", 1)[1].strip() for ln in (CASE / "nodeconfig.yaml").read_text().splitlines()
          if "certificateAuthority:" in ln][0]
    profile = {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": KEY_ID,
               "SecretAccessKey": SECRET_KEY, "Token": SESSION_TOKEN, "Expiration": "2099-01-01T00:00:00Z"}
    outputs = {}  # what each command printed
    inputs = set(harness.tree(root))  # what the test wrote; the rest is eks-node's
    self_test(check)
    vm = harness.SOURCE_ROOT / "tests/vm/scenarios/16-secrets"
    check("VM scenario 16-secrets plants the same user data and admin hook",
          (vm / "user-data").read_text() == USER_DATA and
          SITE_TOML.split("\n[settings.hooks")[1] in (vm / "files/etc/eks-node/node.toml.d/90-site.toml").read_text())
    try:
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=user_data,
                              extra=["--token", IMDS_TOKEN, "--set",
                                     "meta-data/iam/security-credentials/%s=%s" % (ROLE, json.dumps(profile))]) \
                as imds, \
                harness.FakeAws(["--access-key", KEY_ID, "--secret-key", SECRET_KEY, "--token", SESSION_TOKEN,
                                 "--cluster", "my-cluster,https://example.com,%s,10.100.0.0/16" % ca]) as aws:
            # credentials from the instance profile only, as on a node
            env = aws.env(credentials=False)
            # at boot: the admin's hook, from its fragment (config.json does not exist yet)
            r, gen_out = run_generator(generator, root, outputs, "at boot")
            check("generator at boot exits 0", r.returncode == 0, r.text)
            check_generated(check, gen_out, "at boot", ["site-agent"])
            journal = r.text
            for step in STEPS:
                r = run([helpers / ("eks-node-" + step), "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint,
                         "--log-level=debug"], env)
                check("step %s exits 0" % step, r.returncode == 0, r.text)
                outputs["eks-node-%s --log-level=debug" % step] = r.text
                journal += r.text
            # containerd 1.x logs its CRI configuration when it starts (Go's %+v), the registry
            # headers' values with it: collect-logs must mask them in its journal too
            journal += ('containerd[402]: level=info msg="Start cri plugin with config {PluginConfig:'
                        '{Registry:{ConfigPath:/etc/containerd/certs.d Mirrors:map[] Configs:map['
                        'registry.example.com:{Auth:0xc000a1b2c0 TLS:<nil>}] Auths:map[] Headers:map['
                        'Authorization:[Bearer %s] X-Origin-Verify:[%s]]} MaxConcurrentDownloads:3}}"\n'
                        % (S["containerd registry Authorization header"], S["containerd registry custom header"]))
            # after eks-node-config's daemon-reload: the user data's hook too, from config.json
            r, gen_out = run_generator(generator, root, outputs, "after config.json")
            check("generator after config.json exits 0", r.returncode == 0, r.text)
            check_generated(check, gen_out, "after config.json", ["site-agent", "ud-agent"])
            journal += r.text
            # The hooks, as their units run them (/bin/true, which the VM scenario has too),
            # at log level debug; then one whose program is missing fails as systemd's
            # would (203/EXEC), naming the program and no argument
            runner = helpers / "eks-node-hook"
            check("the hooks' runner is built", runner.exists(), runner)
            for name in ("site-agent", "ud-agent"):
                r = run([runner, "--root=%s" % root, name] if runner.exists() else ["false"],
                        dict(env, EKS_NODE_LOG_LEVEL="debug"))
                outputs["eks-node-hook %s" % name] = r.text
                check("eks-node-hook %s: exit 0" % name, r.returncode == 0, "%d: %s" % (r.returncode, r.text))
                journal += r.text
            hook_json = gen_out / "eks-node-hook@ud-agent.service.d/hook.json"
            if hook_json.exists():
                hook_json.write_text(hook_json.read_text().replace('"/bin/true"', '"/nonexistent/ud-agent"'))
            r = run([runner, "--root=%s" % root, "ud-agent"] if runner.exists() else ["false"], env)
            outputs["eks-node-hook ud-agent (its program missing)"] = r.text
            check("eks-node-hook ud-agent, its program missing: exit 203 naming it",
                  r.returncode == 203 and "/nonexistent/ud-agent" in r.text, "%d: %s" % (r.returncode, r.text))
            journal += r.text
            reqs = aws.requests()
            check("the chain signed DescribeCluster and DescribeInstances with the instance profile",
                  {q[0] for q in reqs} == {"DescribeCluster", "DescribeInstances"} and
                  all(q[2] == "sig-ok" for q in reqs), reqs)
            check("the IMDS token and the credentials were served",
                  any(q[:3] == ["PUT", "/latest/api/token", "200"] for q in imds.requests()) and
                  any(q[1].startswith("/latest/meta-data/iam/security-credentials/%s" % ROLE) and q[2] == "200"
                      for q in imds.requests()), imds.requests())

            cfg = root / "run/eks-node/config.json"
            for args in (["config", "dump"], ["config", "dump", "--origins"], ["config", "check"],
                         ["validate"], ["validate", "--json"]):
                r = run([cli, *args, "--root=%s" % root], env)
                outputs["eks-node " + " ".join(args)] = r.text
            # without config.json, dump resolves the configuration itself (AWS calls included)
            saved = cfg.read_bytes()
            cfg.unlink()
            get_token_case(cli, check, root, outputs, env)
            r = run([cli, "config", "dump", "--origins", "--root=%s" % root], env)
            outputs["eks-node config dump --origins (resolving, no config.json)"] = r.text
            check("config dump resolves without config.json", r.returncode == 0 and '"derived"' in r.stdout, r.text)
            cfg.write_bytes(saved)
            cfg.chmod(0o600)
            root2 = harness.make_root()
            harness.write(root2 / "etc/eks-node/node.toml.d/90-site.toml", SITE_TOML)
            r = run([cli, "render", "--root=%s" % root2, "--imds-endpoint=%s" % imds.endpoint, "--log-level=debug"],
                    env)
            check("render exits 0", r.returncode == 0, r.text)
            outputs["eks-node render --log-level=debug"] = r.text
            harness.shutil.rmtree(root2, ignore_errors=True)

        # The files: modes, and where secrets are
        for pattern in SECRET_FILES:
            # a pattern (one environment file per unit): every file of it, and at least one
            files = [str(p.relative_to(root)) for p in sorted(root.glob(pattern)) if p.name != "default.env"] \
                if "*" in pattern else [pattern]
            check("%s: files present" % pattern, files, "none")
            for rel in files:
                p = root / rel
                mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else None
                if rel in NOT_WRITTEN_HERE:
                    check("%s is not written on this node" % rel, mode is None, "mode %s" % oct(mode or 0))
                    continue
                check("%s is 0600" % rel, mode == 0o600, "mode %s" % (oct(mode) if mode is not None else "missing"))
        holding = {}
        for rel in harness.tree(root):
            p = root / rel
            if p.is_file() and not p.is_symlink() and rel not in inputs:
                found = leaks(p.read_bytes().decode(errors="replace"))
                if found:
                    holding[rel] = (stat.S_IMODE(p.stat().st_mode), found)
        never = {rel: describe(found) for rel, (_, found) in holding.items()
                 if any(name in NEVER_WRITTEN for name, _ in found)}
        check("no file eks-node wrote holds the IMDS token or the credentials", not never, never)
        loose = {rel: "%o: %s" % (mode, describe(found)) for rel, (mode, found) in holding.items() if mode != 0o600}
        check("every file eks-node wrote that holds a configuration secret is 0600", not loose, loose)
        check("the secrets did reach their files (the test plants what it searches for)",
              {name for _, found in holding.values() for name, form in found if form == "raw"} >=
              set(CONFIG_SECRETS) - {"kubeconfig token"}, holding)

        for what, text in outputs.items():
            found = leaks(text)
            check("no secret in the output of %s" % what, not found, describe(found) + "\n" + text[-600:])

        # collect-logs, with a token in the kubeconfig as a bootstrap-token kubeconfig has one
        kc = root / "var/lib/kubelet/kubeconfig"
        kc.write_text(kc.read_text() + "# a bootstrap token\n    token: %s\n" % KUBECONFIG_TOKEN)
        out = tmp / "logs.tar.gz"
        r = run([cli, "collect-logs", "--root=%s" % root, "--output=%s" % out],
                dict(os.environ, PATH=str(fake_tools(tmp, journal))), timeout=120)
        check("collect-logs exits 0", r.returncode == 0 and out.exists(), r.text)
        found = leaks(r.text)
        check("no secret in the output of collect-logs", not found, describe(found))
        members = archive_members(out)
        check("collect-logs archive has the journal, the env files, the kubeconfig and the fragments",
              {"eks-node-logs/journal/eks-node.txt", "eks-node-logs/files/run/eks-node/env/default.env",
               "eks-node-logs/files/var/lib/kubelet/kubeconfig",
               "eks-node-logs/files/etc/eks-node/node.toml.d/90-site.toml"} <= set(members), sorted(members))
        for name in ALL_SECRETS:
            where = ["%s: %s" % (member, form) for member, text in members.items()
                     for _, form in leaks(text + "\n" + member, [name])]
            check("collect-logs archive: no %s" % name, bool(members) and not where, where or "no archive")
        proxy_refused_case(helpers, check, profile)
        ecs_case(cli, check, tmp)
    finally:
        harness.shutil.rmtree(tmp, ignore_errors=True)
        harness.shutil.rmtree(root, ignore_errors=True)
    tally.at_least(tally.passed + tally.failed, 40, "secrets checks")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
