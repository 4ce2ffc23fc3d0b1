#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Host test (meson `vm-eks-auth`, not the vm suite) of the VM tier's authentication plumbing:

- the fake API server and fake STS (tests/fake-aws/fake_eks_auth.py) accept a token minted by
  botocore's presigner (an independent oracle: the request `aws eks get-token` presigns) and
  refuse, each for its own reason, a token for another cluster, an expired one, one with a
  bad signature, and each malformed one aws-iam-authenticator's Verify refuses;
- the stub kubelet's client (tests/vm/guest/kubelet_exec.py) loads a kubeconfig, runs its exec
  plugin and reads the answer as client-go does, and refuses what client-go refuses;
- with EKS_NODE given, tokens of `eks-node get-token` (environment credentials) pass and fail
  the same way: accepted, another cluster's refused, a changed signature refused, one signed
  16 minutes ago (its test clock, EKS_NODE_TEST_NOW) expired, one signed 14 minutes ago not.

Both fakes run in this process on loopback ports; "expired" is a token signed 16 minutes ago
(botocore's clock frozen there, get-token's EKS_NODE_TEST_NOW), never a wait.

Usage: eks_auth.py [EKS_NODE]"""

import base64
import contextlib
import datetime
import json
import pathlib
import subprocess
import sys
import tempfile
import threading
import types
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "fake-aws"))
sys.path.insert(0, str(HERE.parent / "vm" / "guest"))
sys.path.insert(0, str(REPO / "tests" / "lib"))
import fake_eks_auth as fea  # noqa: E402
import harness  # noqa: E402
import kubelet_exec  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check

CLUSTER = "my-cluster"
REGION = "us-west-2"
ROLE = "eks-node-test-node-role"
INSTANCE = "i-1234567890abcdef0"
KEY_ID, SECRET, SESSION = "ASIAEKSNODETEST00001", "test/secret/key/for/eks/auth", "FwoGZXIvYXdzTestSessionToken"
IMDS = {
    "meta-data/instance-id": INSTANCE,
    "meta-data/services/partition": "aws",
    "meta-data/iam/info": {"InstanceProfileArn": "arn:aws:iam::444455556666:instance-profile/test"},
    "meta-data/iam/security-credentials/" + ROLE: {
        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET,
        "Token": SESSION, "Expiration": "2099-01-01T00:00:00Z"},
}
ARN = "arn:aws:sts::444455556666:assumed-role/%s/%s" % (ROLE, INSTANCE)


@contextlib.contextmanager
def botocore_clock(when):
    """botocore's signing clock at `when` (an aware UTC datetime) for the duration: its Python
    signer's and, where awscrt is installed, the CRT signer's it then uses."""
    import importlib
    modules = [importlib.import_module("botocore.auth")]
    with contextlib.suppress(ImportError):
        modules.append(importlib.import_module("botocore.crt.auth"))

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when.replace(tzinfo=None)

        @classmethod
        def now(cls, tz=None):
            return when.astimezone(tz) if tz else when.replace(tzinfo=None)

    frozen = types.SimpleNamespace(datetime=Frozen, timezone=datetime.timezone, timedelta=datetime.timedelta)
    saved = [(m, m.datetime, getattr(m, "get_current_datetime", None)) for m in modules]
    for m, _, current in saved:
        m.datetime = frozen
        if current is not None:  # newer botocore asks botocore.utils for the time
            m.get_current_datetime = lambda remove_tzinfo=True: when.replace(tzinfo=None) if remove_tzinfo else when
    try:
        yield
    finally:
        for m, module, current in saved:
            m.datetime = module
            if current is not None:
                m.get_current_datetime = current


def botocore_url(cluster=CLUSTER, region=REGION, key=KEY_ID, secret=SECRET, session=SESSION, expires=60,
                 when=None, host=None, sign_cluster_header=True):
    """The presigned GetCallerIdentity URL botocore makes, as awscli's `eks get-token` makes it
    (the x-k8s-aws-id header added before signing)."""
    import botocore.session
    s = botocore.session.get_session()
    s.set_credentials(key, secret, session)
    client = s.create_client("sts", region_name=region,
                             endpoint_url="https://%s" % (host or "sts.%s.amazonaws.com" % region))
    if sign_cluster_header:
        client.meta.events.register("before-sign.sts.GetCallerIdentity",
                                    lambda request, **_: request.headers.__setitem__(fea.CLUSTER_ID_HEADER, cluster))
    with botocore_clock(when) if when else contextlib.nullcontext():
        return client.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=expires, HttpMethod="GET")


def token_of(url):
    return fea.V1_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def botocore_token(**kw):
    return token_of(botocore_url(**kw))


def with_param(url, name, value=None, drop=False):
    """url with one query parameter replaced (or dropped, or added when absent)."""
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    out, done = [], False
    for k, v in pairs:
        if k == name:
            done = True
            if not drop:
                out.append((k, value))
        else:
            out.append((k, v))
    if not done and not drop:
        out.append((name, value))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(out)))


class Cluster:
    """The fake STS and API server on loopback, in threads; `cluster` is the id the API server
    knows itself by; `now` shifts both fakes' clocks."""

    def __init__(self, cluster=CLUSTER, imds=None, now=fea.utcnow):
        data = imds or IMDS
        self.sts = fea.make_server(fea.StsHandler, address=("127.0.0.1", 0))
        self.sts.sts = fea.Sts(lambda key: fea.principals_from_imds(data).get(key), now=now)
        self.lines = []
        self.sts.log = self.lines.append
        self.api = fea.make_server(fea.ApiServerHandler, address=("127.0.0.1", 0))
        self.api.authenticator = fea.Authenticator(lambda: cluster, self.sts.server_address[:2], lambda: "aws", now=now)
        self.api.verified_by, self.api.log = "fake STS, " + self.sts.sts.botocore, self.lines.append
        for server in (self.sts, self.api):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.api.server_address[1]

    def close(self):
        for server in (self.sts, self.api):
            server.shutdown()
            server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def present(self, token):
        return kubelet_exec.present(self.url, token, timeout=30)


def refused(cluster, token, stage, words):
    """The API server answered 401 naming `words`, from `stage` (format: the authenticator's own
    check; sts: STS refused it)."""
    code, body = cluster.present(token)
    message = (body or {}).get("message", "")
    ok = code == 401 and ("Unauthorized: %s: " % stage) in message and words in message
    return ok, "HTTP %s: %s" % (code, message)


def accepted(cluster, token, cluster_id=CLUSTER):
    code, body = cluster.present(token)
    user = ((body or {}).get("status") or {}).get("userInfo") or {}
    extra = {k: v[0] for k, v in (user.get("extra") or {}).items()}
    ok = (code == 201 and extra.get("arn") == ARN and extra.get("eksvm.test/clusterId") == cluster_id
          and "botocore" in extra.get("eksvm.test/verifiedBy", "")
          and user.get("username") == "arn:aws:iam::444455556666:role/" + ROLE)
    return ok, "HTTP %s: %s" % (code, json.dumps(body)[:600])


def test_botocore_tokens():
    now = fea.utcnow()
    with Cluster() as c:
        check("botocore's token for this cluster: accepted, the identity is the instance profile's role session",
              *accepted(c, botocore_token()))
        check("... the fake STS logged its botocore check", any("200 sig-ok" in line for line in c.lines), c.lines)
        check("wrong cluster id: a token for another cluster fails STS's signature check",
              *refused(c, botocore_token(cluster="other-cluster"), "sts", "SignatureDoesNotMatch"))
        check("expired: signed 16 minutes ago (X-Amz-Date older than 15 minutes)",
              *refused(c, botocore_token(when=now - datetime.timedelta(minutes=16)), "format", "is expired"))
        check("not expired: signed 14 minutes ago, whatever X-Amz-Expires=60 says (EKS's 15 minutes)",
              *accepted(c, botocore_token(when=now - datetime.timedelta(minutes=14))))
        url = botocore_url()
        sig = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["X-Amz-Signature"]
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        check("bad signature: one hex digit of X-Amz-Signature changed",
              *refused(c, token_of(with_param(url, "X-Amz-Signature", flipped)), "sts", "SignatureDoesNotMatch"))
        check("bad signature: signed with another secret key",
              *refused(c, botocore_token(secret="not/the/instance/profile/secret"), "sts", "SignatureDoesNotMatch"))
        check("another session token than the instance profile's: refused by STS",
              *refused(c, botocore_token(session="AnotherSessionToken"), "sts", "InvalidClientTokenId"))
        check("an access key STS does not know: refused",
              *refused(c, botocore_token(key="ASIAUNKNOWNKEY000001"), "sts", "InvalidClientTokenId"))
        check("signed for us-east-1 but sent to sts.us-west-2: refused by STS (credential scope)",
              *refused(c, token_of(botocore_url(region="us-east-1").replace(
                  "sts.us-east-1.amazonaws.com", "sts.us-west-2.amazonaws.com")), "sts", "valid region"))
        check("another region's STS endpoint, signed for it: accepted (as the authenticator accepts it)",
              *accepted(c, botocore_token(region="eu-west-1")))
        check("Version other than 2011-06-15: refused by STS",
              *refused(c, token_of(with_param(url, "Version", "2010-01-01")), "sts", "InvalidAction"))


def test_format():
    """What aws-iam-authenticator's Verify refuses before asking STS."""
    url = botocore_url()
    with Cluster() as c:
        cases = [
            ("no k8s-aws-v1. prefix", base64.urlsafe_b64encode(url.encode()).decode().rstrip("="), "prefix"),
            ("not base64url (padding)", token_of(url) + "==", "base64"),
            ("not base64url ('/')", fea.V1_PREFIX + "a/b" + token_of(url)[len(fea.V1_PREFIX) + 3:], "base64"),
            ("http, not https", token_of(url.replace("https://", "http://", 1)), "unexpected scheme"),
            ("not an STS host", token_of(url.replace("sts.us-west-2.amazonaws.com", "sts.us-west-2.example.com")),
             "unexpected hostname"),
            ("not an STS host (ec2)", token_of(url.replace("sts.us-west-2.amazonaws.com", "ec2.us-west-2.amazonaws.com")),
             "unexpected hostname"),
            ("a path other than /", token_of(url.replace(".com/?", ".com/x?", 1)), "unexpected path"),
            ("a parameter the authenticator does not allow", token_of(with_param(url, "Foo", "1")),
             "non-whitelisted"),
            ("a parameter twice", token_of(url + "&Action=GetCallerIdentity"), "duplicate"),
            ("another action", token_of(with_param(url, "Action", "AssumeRole")), "unexpected action"),
            ("x-k8s-aws-id not signed", botocore_token(sign_cluster_header=False), "did not sign the x-k8s-aws-id"),
            ("X-Amz-Expires above 900", botocore_token(expires=901), "invalid X-Amz-Expires"),
            ("no X-Amz-Date", token_of(with_param(url, "X-Amz-Date", drop=True)), "X-Amz-Date parameter must be"),
            ("longer than 4096 bytes", token_of(url) + "A" * 4096, "too large"),
        ]
        for name, token, words in cases:
            check("refused before STS: %s" % name, *refused(c, token, "format", words))
        check("the global endpoint sts.amazonaws.com (signed for us-east-1): accepted in the aws partition",
              *accepted(c, token_of(botocore_url(region="us-east-1", host="sts.amazonaws.com"))))
        code, body = kubelet_exec.present(c.url, "")
        check("no bearer token: 401", code == 401, body)
    with Cluster(cluster="") as c:
        check("an API server that does not know its cluster id refuses (fails closed)",
              *refused(c, botocore_token(), "format", "cluster id"))


def write(path, text, mode=0o644):
    path.write_text(text)
    path.chmod(mode)
    return path


KUBECONFIG = """---
apiVersion: v1
kind: Config
clusters:
  - name: kubernetes
    cluster:
      certificate-authority: /etc/kubernetes/pki/ca.crt
      server: https://example.com
current-context: kubelet
contexts:
  - name: kubelet
    context:
      cluster: kubernetes
      user: kubelet
users:
  - name: kubelet
    user:
      exec:
        apiVersion: {api}
        command: {command}
{extra}        args:
{args}
"""


def kubeconfig(d, command, args=(), api="client.authentication.k8s.io/v1beta1", extra="", name="kubeconfig"):
    return write(d / name, KUBECONFIG.format(
        api=api, command=command, extra=extra, args="".join("          - %s\n" % json.dumps(a) for a in args) or
        "          []\n"))


PLUGIN = """#!/usr/bin/python3
import json, os, sys
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
with open(os.path.join(os.path.dirname(sys.argv[0]), "seen.json"), "w") as f:
    json.dump({"info": os.environ["KUBERNETES_EXEC_INFO"], "args": sys.argv[1:], "stdin": os.readlink("/proc/self/fd/0"),
               "env": {k: os.environ.get(k) for k in ("EXTRA", "PATH")}}, f)
%s
"""


def plugin(d, body, name="plugin"):
    return write(d / name, PLUGIN % body, 0o755)


def answer(doc):
    return "print(json.dumps(%r))" % (doc,)


def credential(api="client.authentication.k8s.io/v1beta1", **status):
    return {"kind": "ExecCredential", "apiVersion": api, "status": status}


def exec_error(cfg, environ=None):
    try:
        kubelet_exec.run(cfg, environ=environ)
    except kubelet_exec.CredentialError as e:
        return str(e)
    return "no error"


def load_error(path):
    try:
        kubelet_exec.load(str(path))
    except kubelet_exec.KubeconfigError as e:
        return str(e)
    return "no error"


def test_stub_client():
    """kubelet_exec against fake plugins: what client-go does with each answer."""
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        ok = plugin(d, answer(credential(token="k8s-aws-v1.abc", expirationTimestamp="2026-11-25T10:00:00Z")))
        kc = kubeconfig(d, str(ok), ["get-token", "--cluster-name", CLUSTER],
                        extra="        env:\n          - name: EXTRA\n            value: from-kubeconfig\n")
        cfg = kubelet_exec.load(str(kc))
        cred, record = kubelet_exec.run(cfg, environ={"PATH": "/usr/bin:/bin", "EXTRA": "from-kubelet"})
        seen = json.loads((d / "seen.json").read_text())
        check("a v1beta1 plugin: token and expirationTimestamp read",
              cred["token"] == "k8s-aws-v1.abc" and cred["expirationTimestamp"] == datetime.datetime(
                  2026, 11, 25, 10, tzinfo=datetime.timezone.utc), cred)
        check("KUBERNETES_EXEC_INFO as client-go encodes it (interactive false: stdin is no terminal)",
              seen["info"] == '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
                              '"spec":{"interactive":false}}\n', seen["info"])
        check("args as the kubeconfig lists them, exec.env over kubelet's environment, stdin /dev/null",
              seen["args"] == ["get-token", "--cluster-name", CLUSTER] and seen["env"]["EXTRA"] == "from-kubeconfig"
              and seen["stdin"] == "/dev/null", seen)
        check("the record holds no token", "k8s-aws-v1.abc" not in json.dumps(record) and
              record["credential"]["tokenPrefix"] == "k8s-aws-v1.", record)

        def error_for(body, api="client.authentication.k8s.io/v1beta1"):
            p = plugin(d, body)
            # a v1 exec section must say interactiveMode (clientcmd has no default for it)
            mode = "        interactiveMode: Never\n" if api.endswith("/v1") else ""
            return exec_error(kubelet_exec.load(str(kubeconfig(d, str(p), api=api, extra=mode))))

        v1 = "client.authentication.k8s.io/v1"
        cases = [
            ("exit status 1", "sys.exit(1)", "failed with exit code 1"),
            ("v1 answer to a v1beta1 kubeconfig", answer(credential(api=v1, token="t")),
             "configured to use API version client.authentication.k8s.io/v1beta1, plugin returned version "
             "client.authentication.k8s.io/v1"),
            ("no apiVersion", answer({"kind": "ExecCredential", "status": {"token": "t"}}), "'apiVersion' is missing"),
            ("another kind", answer({"kind": "Secret", "apiVersion": v1, "status": {"token": "t"}}), "no kind"),
            ("no status", answer({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1"}),
             "didn't return a status"),
            ("an empty token", answer(credential(token="")), "didn't return a token"),
            ("a certificate without its key", answer(credential(clientCertificateData="x")), "only certificate"),
            ("expirationTimestamp not RFC 3339", answer(credential(token="t", expirationTimestamp="tomorrow")),
             "parsing time"),
            ("not JSON", "print('{not json')", "decoding stdout"),
        ]
        for name, body, words in cases:
            err = error_for(body)
            check("plugin answer refused: %s" % name, words in err, err)
        err = error_for(answer(credential(api=v1, token="t", expirationTimestamp="2026-11-25T10:00:00.5+01:00")),
                        api=v1)
        check("a v1 kubeconfig takes a v1 answer (fractional seconds, an offset)", err == "no error", err)
        check("a plugin that does not exist: client-go's words",
              exec_error(kubelet_exec.load(str(kubeconfig(d, "no-such-plugin-anywhere"))),
                         environ={"PATH": str(d)}) == "exec: executable no-such-plugin-anywhere not found")
        (d / "sub").mkdir()
        write(d / "sub" / "p", (d / "plugin").read_text(), 0o755)
        rel = kubelet_exec.load(str(kubeconfig(d, "./sub/p")))
        check("a relative command with a slash: resolved against the kubeconfig's directory",
              rel["command"] == str(d / "sub" / "p"), rel)
        check("interactiveMode Always without a terminal: refused",
              "not a terminal" in exec_error(kubelet_exec.load(str(kubeconfig(
                  d, str(ok), extra="        interactiveMode: Always\n")))))

        kc_cases = [
            ("a v1 exec without interactiveMode", kubeconfig(d, str(ok), api=v1, name="k1"),
             "interactiveMode must be specified"),
            ("an apiVersion client-go does not know",
             kubeconfig(d, str(ok), api="client.authentication.k8s.io/v2", name="k2",
                        extra="        interactiveMode: Never\n"), "invalid apiVersion"),
            ("no command", kubeconfig(d, '""', name="k3"), "command must be specified"),
            ("an env entry without a name",
             kubeconfig(d, str(ok), extra="        env:\n          - value: x\n", name="k4"), "env variable name"),
        ]
        for name, path, words in kc_cases:
            err = load_error(path)
            check("kubeconfig refused (kubelet does not start): %s" % name, words in err, err)
        write(d / "token-kubeconfig", KUBECONFIG.split("      exec:")[0] + "      token: abc\n")
        check("a kubeconfig user without exec: nothing to run", kubelet_exec.load(str(d / "token-kubeconfig")) is None)


AWSCLI_LIKE = r"""
sys.path.insert(0, %(here)r)
import eks_auth as t
print(json.dumps({"kind": "ExecCredential", "apiVersion": info["apiVersion"], "spec": {},
                  "status": {"expirationTimestamp": "2099-01-01T00:00:00Z",
                             "token": t.botocore_token(cluster=sys.argv[sys.argv.index("--cluster-name") + 1])}}))
"""


def test_stub_end_to_end():
    """The stub kubelet's path on the host: kubeconfig -> plugin (botocore, as `aws eks
    get-token` signs) -> token -> fake API server -> fake STS."""
    with tempfile.TemporaryDirectory() as tmp, Cluster() as c:
        d = pathlib.Path(tmp)
        p = plugin(d, AWSCLI_LIKE % {"here": str(HERE)})
        cfg = kubelet_exec.load(str(kubeconfig(d, str(p), ["eks", "get-token", "--cluster-name", CLUSTER])))
        cred, _ = kubelet_exec.run(cfg)
        check("stub client: a botocore plugin's token, presented, is accepted", *accepted(c, cred["token"]))


def eks_node_token(eks_node, cluster, env):
    """`eks-node get-token`'s ExecCredential for cluster, as the kubeconfig's exec runs it."""
    r = subprocess.run([eks_node, "get-token", "--cluster-name", cluster, "--region", REGION], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    if r.returncode != 0:
        return None, "exit %d: %s" % (r.returncode, r.stderr)
    return json.loads(r.stdout), r.stderr


def test_eks_node(eks_node):
    """Tokens of eks-node get-token, with the instance profile's credentials in the environment."""
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_SESSION_TOKEN": SESSION, "AWS_EC2_METADATA_DISABLED": "true",
           "KUBERNETES_EXEC_INFO": '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
                                   '"spec":{"interactive":false}}\n'}
    doc, err = eks_node_token(eks_node, CLUSTER, env)
    check("eks-node get-token: an ExecCredential with a token", bool(doc and doc.get("status", {}).get("token")), err)
    if not doc:
        return
    token = doc["status"]["token"]
    with Cluster() as c:
        check("eks-node get-token's token: accepted, the fake STS verified it with botocore", *accepted(c, token))
        other, _ = eks_node_token(eks_node, "other-cluster", env)
        check("eks-node get-token for another cluster: STS's signature check fails",
              *refused(c, other["status"]["token"], "sts", "SignatureDoesNotMatch"))
        url = base64.urlsafe_b64decode(token[len(fea.V1_PREFIX):] + "=" * (-len(token) % 4)).decode()
        sig = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["X-Amz-Signature"]
        flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        check("eks-node get-token's token with one signature digit changed: refused",
              *refused(c, token_of(with_param(url, "X-Amz-Signature", flipped)), "sts", "SignatureDoesNotMatch"))
        check("eks-node get-token's URL is the one botocore presigns (same parameters but the signature's time)",
              sorted(k for k, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)) ==
              sorted(k for k, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(botocore_url()).query)), url)
    def signed_ago(minutes):
        """get-token's token signed `minutes` ago (EKS_NODE_TEST_NOW, its test clock)"""
        when = fea.utcnow() - datetime.timedelta(minutes=minutes)
        doc, err = eks_node_token(eks_node, CLUSTER, dict(env, EKS_NODE_TEST_NOW=when.strftime("%Y-%m-%dT%H:%M:%SZ")))
        return doc["status"]["token"] if doc else err

    with Cluster() as c:
        check("eks-node get-token's token signed 16 minutes ago: expired",
              *refused(c, signed_ago(16), "format", "is expired"))
        check("eks-node get-token's token signed 14 minutes ago: still accepted", *accepted(c, signed_ago(14)))


def main():
    test_botocore_tokens()
    test_format()
    test_stub_client()
    test_stub_end_to_end()
    if len(sys.argv) > 1:
        test_eks_node(sys.argv[1])
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
