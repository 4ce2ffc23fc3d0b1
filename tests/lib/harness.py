# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the process-level tests: a temporary node root, the fake
IMDS as a subprocess, running eks-node, and comparing files as data."""

import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import yaml

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
# The build's fake IMDS: meson's test setup names the running build's (tests/meson.build),
# a script run by hand finds build/'s
FAKE_IMDS = pathlib.Path(os.environ.get("EKS_NODE_FAKE_IMDS") or SOURCE_ROOT / "build/tests/fake-imds/fake-imds")
FAKE_AWS = SOURCE_ROOT / "tests" / "fake-aws" / "fake_aws.py"
FAKE_PROXY = SOURCE_ROOT / "tests" / "fake-proxy" / "fake_proxy.py"
CONFORMANCE_INSTANCE = SOURCE_ROOT / "tests" / "conformance" / "instance" / "imds.json"


class _FakeServer:
    """A fake endpoint as a subprocess on an ephemeral loopback port: it writes
    the port to a file once it listens and one line per request to a log."""

    def _start(self, what, prefix, cmd, wait_steps, host="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "requests.log")
        open(self.log, "w").close()
        self.proc = subprocess.Popen(cmd + ["--port", "0", "--port-file", port_file, "--log", self.log],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(wait_steps):  # 10 ms each, for the server to start listening
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("fake %s died: %s" % (what, self.proc.stderr.read().decode()))
            subprocess.run(["sleep", "0.01"])
        self.port = int(open(port_file).read().strip())
        self.endpoint = "http://%s:%d" % (host, self.port)

    def requests(self):
        with open(self.log) as f:
            return [line.split() for line in f if line.strip()]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # teardown, not a check: a fake that a loaded machine kept from its SIGTERM
            # handler for 5 s (seen once, aws-lookups under a load of 12) is killed
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeImds(_FakeServer):
    """Runs the build's tests/fake-imds/fake-imds."""

    def __init__(self, data, user_data=None, extra=(), bind=None):
        cmd = [str(FAKE_IMDS), "--data", str(data), *extra]
        if user_data is not None:
            cmd += ["--user-data", str(user_data)]
        if bind:
            cmd += ["--bind", bind]
        self._start("IMDS", "eksnode-imds-", cmd, 500, host=bind or "127.0.0.1")


class FakeAws(_FakeServer):
    """Runs tests/fake-aws/fake_aws.py (EC2 + EKS, signatures checked with
    botocore). env() gives the variables that point eks-node-config at it with
    matching credentials."""

    ACCESS_KEY = "AKIDFAKEEKSNODE"
    SECRET_KEY = "fake/secret/key/for/tests"

    def __init__(self, extra=(), bind=None):
        cmd = [sys.executable, str(FAKE_AWS), "--access-key", self.ACCESS_KEY, "--secret-key", self.SECRET_KEY,
               *extra]
        if bind:
            cmd += ["--bind", bind]
        self._start("AWS", "eksnode-aws-", cmd, 1000, host=bind or "127.0.0.1")  # botocore takes a moment to import

    def env(self, credentials=True, **more):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and "proxy" not in k.lower()}
        env["AWS_ENDPOINT_URL"] = self.endpoint
        if credentials:
            env["AWS_ACCESS_KEY_ID"] = self.ACCESS_KEY
            env["AWS_SECRET_ACCESS_KEY"] = self.SECRET_KEY
        env.update(more)
        return env


class FakeProxy(_FakeServer):
    """Runs tests/fake-proxy/fake_proxy.py: forwards absolute-URL requests and
    tunnels CONNECT, logging each; requests() gives [KIND, METHOD/TARGET, ...].
    refuse_body=N: every request answered 407 with an N-byte body, the log
    line ending in sent=BYTES written before the client hung up."""

    def __init__(self, require_auth=None, refuse_body=0):
        cmd = [sys.executable, str(FAKE_PROXY)]
        if require_auth:
            cmd += ["--require-auth", require_auth]
        if refuse_body:
            cmd += ["--refuse-body", str(refuse_body)]
        self._start("proxy", "eksnode-proxy-", cmd, 500)


class Tally:
    """One "ok   NAME" or "FAIL NAME" line (plus its problems) per case, and the
    closing "N passed, M failed" line that tools/test.sh sums."""

    def __init__(self):
        self.passed = self.failed = 0

    def case(self, name, problems):
        if problems:
            self.failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("  " + p)
        else:
            self.passed += 1
            print("ok   %s" % name)

    def check(self, name, cond, detail=""):
        """One named condition; `detail` is printed (at most 800 characters) when it is false."""
        self.case(name, [] if cond else [str(detail)[:800]])

    def at_least(self, count, minimum, what):
        """A corpus that shrank by accident fails rather than passes quietly."""
        if count < minimum:
            print("%s: %d cases, want at least %d" % (what, count, minimum))
            self.failed += 1

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def make_root(kubelet_version="1.29.0", cpus=2, containerd_version="1.7.27", node_name_strategy=None):
    """A temporary node root holding the machine facts eks-node reads.

    node_name_strategy, if given, goes into
    etc/eks-node/node.toml.d/00-test-node-name.toml (settings.nodeNameStrategy).
    None leaves nodeadm's default (private-dns-name): with no AWS credentials
    (the fake IMDS serves no instance profile) that falls back to IMDS
    local-hostname with a warning and makes no EC2 call, which is what every
    test about anything but the node name runs on."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-root-"))
    if node_name_strategy:
        write(root / "etc/eks-node/node.toml.d/00-test-node-name.toml",
              '[settings]\nnodeNameStrategy = "%s"\n' % node_name_strategy)
    write(root / "etc/eks/kubelet-version.txt", "v%s\n" % kubelet_version)
    write(root / "etc/eks/containerd-version.txt", "%s\n" % containerd_version)
    write(root / "sys/devices/system/cpu/online", "0-%d\n" % (cpus - 1) if cpus > 1 else "0\n")
    write(root / "proc/meminfo", "MemTotal:       16384000 kB\n")
    return root


CONFORMANCE_CASE = SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"


def conformance_ca_base64():
    """The cluster CA of the conformance case's NodeConfig, base64 as NodeConfigs carry it."""
    for line in (CONFORMANCE_CASE / "nodeconfig.yaml").read_text().splitlines():
        if "certificateAuthority:" in line:
            return line.split(":", 1)[1].strip()
    raise RuntimeError("no CA in the conformance case")


def nodeconfig_yaml(name="my-cluster", extra=""):
    """The smallest NodeConfig a node joins with (the conformance CA), then `extra`: lines of
    spec (two-space indented) after its cluster."""
    return ("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
            "    name: %s\n    apiServerEndpoint: https://example.com\n"
            "    certificateAuthority: %s\n    cidr: 10.100.0.0/16\n%s" % (name, conformance_ca_base64(), extra))


class ConfigNode:
    """A temp root with instance.json from the fake IMDS, ready for
    eks-node-config: for the tests of its AWS requests.

    user_data is a path, or text (written to a temp file); imds_bind the
    fake IMDS's address (127.0.0.1 unless given)."""

    def __init__(self, helpers, user_data=CONFORMANCE_CASE / "nodeconfig.yaml", strategy=None, toml="",
                 imds_extra=(), imds_bind=None):
        self.helpers = pathlib.Path(helpers)
        self.root = make_root(node_name_strategy=strategy)
        self.ud_dir = None
        if toml:
            write(self.root / "etc/eks-node/node.toml.d/10-test.toml", toml)
        if isinstance(user_data, str):
            self.ud_dir = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-ud-"))
            (self.ud_dir / "user-data").write_text(user_data)
            user_data = self.ud_dir / "user-data"
        self.imds = FakeImds(CONFORMANCE_INSTANCE, user_data=user_data, extra=list(imds_extra), bind=imds_bind)
        r = subprocess.run([str(self.helpers / "eks-node-imds"), "--root=%s" % self.root,
                            "--imds-endpoint=%s" % self.imds.endpoint], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.close()
            raise RuntimeError("eks-node-imds failed: " + r.stderr)

    def config(self, env, *extra, timeout=60):
        """Runs eks-node-config with `env`; the result carries .took (seconds)."""
        t0 = time.monotonic()
        r = subprocess.run([str(self.helpers / "eks-node-config"), "--root=%s" % self.root, *extra],
                           capture_output=True, text=True, env=env, timeout=timeout)
        r.took = time.monotonic() - t0
        return r

    def config_json(self):
        p = self.root / "run/eks-node/config.json"
        return json.loads(p.read_text()) if p.exists() else None

    def close(self):
        self.imds.close()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.ud_dir:
            shutil.rmtree(self.ud_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def outputs():
    """The output registry, read from helpers/lib/core/outputs.hpp (paths from
    core/paths.hpp): one dict per file a step writes, with "path" (relative to
    a root; a pattern, with "*", stands for one file per name), "mode",
    "format", "step", "secret", "optional", "block_only". Read from the
    source, so the mode tests have no list of their own to drift; raises when
    an entry does not read as expected."""
    core = SOURCE_ROOT / "helpers" / "lib" / "core"
    consts = dict(re.findall(r'constexpr std::string_view (\w+) =\s*"([^"]+)";', (core / "paths.hpp").read_text()))
    table = (core / "outputs.hpp").read_text().split("inline constexpr Output all[] = {", 1)[1].split("\n};", 1)[0]
    out = []
    for body in re.findall(r"\{(\.path = .*?)\},", table, re.S):
        fields = dict(re.findall(r"\.(\w+) = ([^,}]+)", body))
        if not {"path", "mode", "format", "step"} <= fields.keys():
            raise ValueError("outputs.hpp: cannot read entry %r" % body)
        out.append({
            "path": consts[fields["path"].strip().removeprefix("path::")].lstrip("/"),
            "mode": int(fields["mode"], 8),
            "format": fields["format"].strip().removeprefix("Format::"),
            "step": fields["step"].strip().strip('"'),
            **{flag: fields.get(flag, "false").strip() == "true" for flag in ("secret", "optional", "block_only")},
        })
    if len(out) < 10 or len(out) != table.count(".path ="):
        raise ValueError("outputs.hpp: read %d entries of %d" % (len(out), table.count(".path =")))
    return out


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def meson_install(build_dir, root):
    """The build's `meson install` into ROOT, as a package would lay it out (no rebuild:
    meson test built it); exits the test with meson's output when that fails."""
    r = subprocess.run(["meson", "install", "-C", str(build_dir), "--destdir", str(root), "--no-rebuild", "--quiet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("meson install failed:\n%s%s" % (r.stdout, r.stderr))


def tree(root):
    """Every file under root, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def compare_expected(expected, got):
    """Problems between the files `got` ({relative path: text}) and the tree
    `expected` holds, one line per file; EKS_NODE_REGENERATE=1 first rewrites
    `expected` from `got` (review the diff like code)."""
    if os.environ.get("EKS_NODE_REGENERATE") == "1":
        shutil.rmtree(expected, ignore_errors=True)
        for rel, text in got.items():
            write(expected / rel, text)
    want = {rel: (expected / rel).read_text() for rel in tree(expected)} if expected.is_dir() else {}
    problems = []
    for rel in sorted(set(want) | set(got)):
        if rel not in got:
            problems.append("%s: missing" % rel)
        elif rel not in want:
            problems.append("%s: not expected" % rel)
        elif want[rel] != got[rel]:
            problems.append("%s: differs from expected/" % rel)
    return problems


def wrapper():
    """The command a cross build's programs run under (the aarch64 build's qemu-user): meson
    test puts its cross file's exe_wrapper in MESON_EXE_WRAPPER for a test whose arguments name
    a cross-built program. Empty in a native build."""
    return shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))


def run_cli(cli, *args, timeout=60, input=None):
    return subprocess.run(wrapper() + [str(cli), *args], capture_output=True, text=True, timeout=timeout,
                          input=input)


def parse_as_data(path):
    """Parses a file the way the acceptance suite compares it: as data."""
    text = pathlib.Path(path).read_text()
    name = str(path)
    if name.endswith(".toml"):
        return tomllib.loads(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
