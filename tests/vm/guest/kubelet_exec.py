# SPDX-License-Identifier: Apache-2.0
"""The stub kubelet's client side of authentication (tests/vm/guest/kubelet): a kubeconfig's
`users[].user.exec` credential plugin run the way kubelet's client (client-go's
plugin/pkg/client/auth/exec/exec.go, and tools/clientcmd's loading and validation) runs it, and
the token presented to an API server.

- The kubeconfig: current-context -> its context's user and cluster. An exec section must
  name a command and an apiVersion (client.authentication.k8s.io/v1beta1 or v1); env entries
  need names; interactiveMode defaults to IfAvailable for v1beta1 and must be given for v1.
  Any of that wrong and kubelet does not start (KubeconfigError).
- The plugin: a command with a slash is resolved against the kubeconfig's directory (clientcmd
  resolves relative paths so), one without through PATH. Environment: kubelet's own, then the
  exec.env entries, then KUBERNETES_EXEC_INFO, an ExecCredential of the configured apiVersion
  with spec.interactive (false: kubelet's stdin is not a terminal; interactiveMode Always is
  then refused) and spec.cluster when provideClusterInfo. stdin is /dev/null, stderr is
  kubelet's (the journal), stdout is the answer.
- The answer: an ExecCredential of exactly the configured apiVersion, with a status holding a
  token (or a certificate and key pair); expirationTimestamp, when there, an RFC 3339 time.
  Every failure is the error client-go returns ("exec: executable X failed with exit code
  N", "decoding stdout: ...", ...), which kubelet reports as "getting credentials: ..." on
  each request it cannot send (CredentialError).

Python standard library and python3-yaml (kubeconfigs are YAML), so that it runs in the guest
and in the host test tests/plumbing/eks_auth.py.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import yaml

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


class KubeconfigError(Exception):
    """The kubeconfig is one kubelet refuses: it does not start."""


class CredentialError(Exception):
    """The plugin gave no credential: each request fails with "getting credentials: " + this."""


def _named(items, name, what, path):
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(what) or {}
    raise KubeconfigError("%s: no %s named %r" % (path, what, name))


def load(path):
    """The exec section kubelet would use from the kubeconfig at path, checked as clientcmd
    checks it: a dict with command (resolved), args, env, apiVersion, interactiveMode,
    provideClusterInfo, and the cluster's server (what client-go would send it as
    spec.cluster); None when the user has no exec section."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise KubeconfigError("%s: %s" % (path, e))
    if not isinstance(doc, dict):
        raise KubeconfigError("%s: not a kubeconfig" % path)
    current = doc.get("current-context")
    if not current:
        raise KubeconfigError("%s: no current-context" % path)
    context = _named(doc.get("contexts"), current, "context", path)
    user = _named(doc.get("users"), context.get("user"), "user", path)
    cluster = _named(doc.get("clusters"), context.get("cluster"), "cluster", path)
    ex = user.get("exec")
    if not isinstance(ex, dict):
        return None  # a token or a client certificate: nothing to run
    problems = []
    if not ex.get("command"):
        problems.append("command must be specified to use exec authentication plugin")
    api_version = ex.get("apiVersion") or ""
    if not api_version:
        problems.append("apiVersion must be specified to use exec authentication plugin")
    env = ex.get("env") or []
    if any(not isinstance(e, dict) or not e.get("name") for e in env):
        problems.append("env variable name must be specified to use exec authentication plugin")
    mode = ex.get("interactiveMode") or ""
    if not mode and api_version == "client.authentication.k8s.io/v1beta1":
        mode = "IfAvailable"  # clientcmd's default for v1beta1 only (api/v1/defaults.go)
    if not mode:
        problems.append("interactiveMode must be specified to use exec authentication plugin")
    elif mode not in INTERACTIVE_MODES:
        problems.append("invalid interactiveMode: %r" % mode)
    if problems:
        raise KubeconfigError("%s: invalid configuration: %s" % (path, "; ".join(problems)))
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigError("exec plugin: invalid apiVersion %r" % api_version)
    command = str(ex["command"])
    if "/" in command and not os.path.isabs(command):
        command = os.path.join(os.path.dirname(os.path.abspath(path)), command)
    return {"command": os.path.normpath(command) if "/" in command else command,
            "args": [str(a) for a in ex.get("args") or []],
            "env": [(str(e["name"]), str(e.get("value", ""))) for e in env],
            "apiVersion": api_version, "interactiveMode": mode,
            "provideClusterInfo": bool(ex.get("provideClusterInfo")),
            "server": str(cluster.get("server", ""))}


def exec_info(cfg, interactive):
    """KUBERNETES_EXEC_INFO as client-go encodes it (kind, apiVersion, spec; a trailing newline
    from its JSON encoder)."""
    spec = {"interactive": interactive}
    if cfg["provideClusterInfo"]:
        spec = {"cluster": {"server": cfg["server"]}, "interactive": interactive}
    return json.dumps({"kind": "ExecCredential", "apiVersion": cfg["apiVersion"], "spec": spec},
                      separators=(",", ":")) + "\n"


def parse_time(value):
    if value is None:
        return None
    if not isinstance(value, str) or not RFC3339.match(value):
        raise CredentialError("decoding stdout: parsing time %s as RFC 3339" % json.dumps(value))
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def decode(stdout, api_version):
    """The credential in the plugin's answer: {"token", "expirationTimestamp"} (a datetime or
    None), or CredentialError with client-go's words."""
    try:
        doc = json.loads(stdout)
    except ValueError:
        try:
            doc = yaml.safe_load(stdout)  # client-go's decoder takes YAML too
        except yaml.YAMLError as e:
            raise CredentialError("decoding stdout: %s" % e)
    if not isinstance(doc, dict):
        raise CredentialError("decoding stdout: couldn't get version/kind; json parse error")
    got_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not got_version:
        raise CredentialError("decoding stdout: Object 'apiVersion' is missing")
    if not kind:
        raise CredentialError("decoding stdout: Object 'Kind' is missing")
    if got_version not in EXEC_API_VERSIONS or kind != "ExecCredential":
        raise CredentialError('decoding stdout: no kind "%s" is registered for version "%s"' % (kind, got_version))
    if got_version != api_version:
        raise CredentialError("exec plugin is configured to use API version %s, plugin returned version %s" % (
            api_version, got_version))
    status = doc.get("status")
    if not isinstance(status, dict):
        raise CredentialError("exec plugin didn't return a status field")
    token, cert, key = status.get("token") or "", status.get("clientCertificateData") or "", \
        status.get("clientKeyData") or ""
    if not token and not cert and not key:
        raise CredentialError("exec plugin didn't return a token or cert/key pair")
    if bool(cert) != bool(key):
        raise CredentialError("exec plugin returned only certificate or key, not both")
    return {"token": token, "expirationTimestamp": parse_time(status.get("expirationTimestamp")),
            "apiVersion": got_version, "kind": kind}


def run(cfg, environ=None, stdin_is_terminal=False, timeout=120):
    """Run the plugin once: (credential, record). Raises CredentialError with the record in
    e.record. The record never holds the token."""
    environ = dict(os.environ if environ is None else environ)
    record = {"command": cfg["command"], "args": cfg["args"], "env": [n for n, _ in cfg["env"]],
              "apiVersion": cfg["apiVersion"], "interactiveMode": cfg["interactiveMode"]}

    def fail(message):
        e = CredentialError(message)
        e.record = record
        return e

    mode = cfg["interactiveMode"]
    if mode == "Always" and not stdin_is_terminal:
        raise fail("exec plugin cannot support interactive mode: standard input is not a terminal")
    interactive = mode != "Never" and stdin_is_terminal
    info = exec_info(cfg, interactive)
    record.update(interactive=interactive, execInfo=info)
    env = dict(environ)
    env.update(cfg["env"])
    env["KUBERNETES_EXEC_INFO"] = info
    path = cfg["command"] if "/" in cfg["command"] else shutil.which(cfg["command"], path=environ.get("PATH", ""))
    record["path"] = path
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise fail("exec: executable %s not found" % cfg["command"])
    t0 = time.monotonic()
    try:
        # stdin: kubelet's only when interactive; stderr: kubelet's own (the journal)
        proc = subprocess.run([path] + cfg["args"], env=env, stdout=subprocess.PIPE,
                              stdin=None if interactive else subprocess.DEVNULL, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        # client-go waits forever; a test cannot
        raise fail("exec: executable %s did not exit within %d s (the stub's bound)" % (cfg["command"], timeout))
    except OSError as e:
        raise fail("exec: %s" % e)
    record.update(exitCode=proc.returncode, seconds=round(time.monotonic() - t0, 3))
    if proc.returncode != 0:
        raise fail("exec: executable %s failed with exit code %d" % (cfg["command"], proc.returncode))
    try:
        credential = decode(proc.stdout.decode("utf-8", "replace"), cfg["apiVersion"])
    except CredentialError as e:
        raise fail(str(e))
    exp = credential["expirationTimestamp"]
    record["credential"] = {
        "apiVersion": credential["apiVersion"], "kind": credential["kind"],
        "expirationTimestamp": exp.isoformat() if exp else None,
        "tokenPrefix": credential["token"].split(".", 1)[0] + "." if "." in credential["token"] else "",
        "tokenBytes": len(credential["token"])}
    return credential, record


def present(apiserver, token, timeout=120):
    """POST a SelfSubjectReview with the bearer token, as `kubectl auth whoami` does: (HTTP
    status, answer as JSON or None)."""
    req = urllib.request.Request(
        apiserver.rstrip("/") + REVIEW_PATH, method="POST",
        data=json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json",
                 "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None
