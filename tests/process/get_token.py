#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""eks-node get-token (kubelet's exec credential plugin) against oracles that are not ours.

Usage: get_token.py EKS_NODE_CLI

- botocore: for the same credentials and a fixed time (EKS_NODE_TEST_NOW, the command's
  test-only clock), botocore's presigner (python3-botocore's SigV4QueryAuth, as the AWS CLI
  presigns: Params x-k8s-aws-id injected as a signed header, ExpiresIn 60, GET) gives the
  URL inside our token byte for byte, in every partition botocore knows, with and without
  a session token, by cluster name and by Outposts cluster id; and the AWS Common Runtime's
  signer (botocore's CrtSigV4QueryAuth, when python3-awscrt is installed) the same
  signature over the same parameters, which it writes in another order.
- the AWS CLI (Debian's awscli, `aws eks get-token`, offline, same environment
  credentials): its token decodes to the same request shape (scheme, host, path, query
  keys in order, action, version, signed headers, expiry parameter, credential scope) and
  its ExecCredential has our keys, kind and apiVersion, and an expirationTimestamp 14
  minutes ahead, as ours is.
- a fake STS on loopback (tests/fake-aws/fake_aws.py, botocore checks the signature),
  reached as the EKS authenticator reaches it (tests/fake-aws/eks_authenticator.py: the
  checks of aws-iam-authenticator's Verify, then the GET with x-k8s-aws-id: its cluster):
  the identity for a fresh token, with environment credentials and with the instance
  profile's from the fake IMDS; refused for another cluster id, a token signed 16 minutes
  ago, one with a changed parameter or signature, one signed with another key.
- IMDS: the instance profile's credentials with one session token: the role from
  instance.json (2 requests), or without it the listing and the document (3 requests).
- bad input: no region, no credentials (no instance profile, IMDS metadata disabled),
  IMDS down, bad arguments: a non-zero exit, nothing on stdout, one line on stderr
  naming what is missing; KUBERNETES_EXEC_INFO's apiVersion honoured.
"""

import base64
import datetime
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from unittest import mock

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fake-aws"))
import eks_authenticator  # noqa: E402
import harness  # noqa: E402

NOW = "2026-01-01T00:00:00Z"
KEY = "AKIDGETTOKENTEST0001"
SECRET = "Get/Token+Secret/Key/1234567890abcdefghij"
SESSION = "IQoJb3JpZ2luX2Vj/Session+Token/With=Padding=="
ROLE = "eks-node-get-token-role"
AWS_CLI = "/usr/bin/aws"


def clean_env(**more):
    """The environment of a call: no AWS_ variable, no proxy, nothing of kubelet's, plus `more`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "EKS_NODE_")) and "proxy" not in k.lower() and k != "KUBERNETES_EXEC_INFO"}
    env.update(more)
    return env


def creds_env(token=True, **more):
    env = clean_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, **more)
    if token:
        env["AWS_SESSION_TOKEN"] = SESSION
    return env


def get_token(cli, args, env, timeout=30):
    r = subprocess.run([str(cli), "get-token", *args], capture_output=True, text=True, env=env, timeout=timeout)
    r.credential = None
    r.url = None
    if r.returncode == 0:
        try:
            r.credential = json.loads(r.stdout)
            r.url = eks_authenticator.decode(r.credential["status"]["token"])
        except (ValueError, KeyError, TypeError):
            pass
    return r


def botocore_url(region, cluster, when, token, crt):
    """The AWS CLI's presign (awscli/customizations/eks/get_token.py) with botocore, at `when`."""
    import botocore.auth
    import botocore.session
    s = botocore.session.get_session()
    s.set_credentials(KEY, SECRET, SESSION if token else None)
    client = s.create_client("sts", region_name=region)

    def inject(request, **kwargs):
        request.headers["x-k8s-aws-id"] = cluster
    client.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    fixed = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ")

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    signer = botocore.auth.SigV4QueryAuth
    if crt:
        from botocore.crt.auth import CrtSigV4QueryAuth as signer
    with mock.patch.dict(botocore.auth.AUTH_TYPE_MAPS, {"v4-query": signer}), \
            mock.patch("datetime.datetime", Fixed):
        return client.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")


def has_crt():
    try:
        import botocore.crt.auth  # noqa: F401
        import awscrt  # noqa: F401
        return True
    except ImportError:
        return False


def query_pairs(url):
    return [tuple(p.partition("=")[::2]) for p in urllib.parse.urlsplit(url).query.split("&")]


def botocore_cases(cli, check):
    # (region, --cluster-name or --cluster-id, value, session token): botocore 1.29's
    # partitions: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b
    cases = [("us-west-2", "--cluster-name", "my-cluster", True),
             ("us-west-2", "--cluster-name", "my-cluster", False),
             ("eu-central-1", "--cluster-id", "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f", True),
             ("cn-north-1", "--cluster-name", "Prod_Cluster-01", True),
             ("us-gov-west-1", "--cluster-name", "gov", True),
             ("us-iso-east-1", "--cluster-name", "iso", True),
             ("us-isob-east-1", "--cluster-name", "isob", False)]
    os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"  # the AWS CLI v2's default, for botocore 1.29
    for region, option, cluster, token in cases:
        name = "%s %s %s%s" % (region, option, cluster, "" if token else ", long-term key")
        r = get_token(cli, [option, cluster, "--region", region], creds_env(token, EKS_NODE_TEST_NOW=NOW))
        check("botocore: %s: exit 0, an ExecCredential" % name, r.url is not None, r.stderr)
        if r.url is None:
            continue
        want = botocore_url(region, cluster, NOW, token, crt=False)
        check("botocore: %s: the same URL, byte for byte" % name, r.url == want,
              "ours   %s\nbotocore %s" % (r.url, want),
              compat=("token-prefix", "action", "signed-header", "regional-endpoint"))
        if has_crt():
            crt = botocore_url(region, cluster, NOW, token, crt=True)
            check("AWS CRT signer: %s: the same signature over the same parameters" % name,
                  sorted(query_pairs(r.url)) == sorted(query_pairs(crt)) and
                  urllib.parse.urlsplit(r.url)[:3] == urllib.parse.urlsplit(crt)[:3], "ours %s\ncrt  %s" % (r.url, crt))
    del os.environ["AWS_STS_REGIONAL_ENDPOINTS"]
    check("the AWS CRT signer was compared (python3-awscrt, which awscli depends on)", has_crt())


def shape(url):
    parts = urllib.parse.urlsplit(url)
    q = query_pairs(url)
    d = dict(q)
    return {"scheme": parts.scheme, "host": parts.netloc, "path": parts.path, "keys": [k for k, _ in q],
            "Action": d.get("Action"), "Version": d.get("Version"), "X-Amz-Expires": d.get("X-Amz-Expires"),
            "X-Amz-SignedHeaders": d.get("X-Amz-SignedHeaders"), "X-Amz-Algorithm": d.get("X-Amz-Algorithm"),
            # the credential scope without its day
            "scope": urllib.parse.unquote(d.get("X-Amz-Credential", "")).split("/")[::2]}


def expires_14_min_after(credential, started, ended):
    """Whether expirationTimestamp is 14 minutes after a time the call ran at (whole seconds)."""
    at = datetime.datetime.strptime(credential["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    at = at.replace(tzinfo=datetime.timezone.utc).timestamp() - 14 * 60
    return int(started) - 1 <= at <= ended


def aws_cli_cases(cli, check, tmp):
    check("Debian's awscli is installed (%s; tools/deps.sh --test installs it)" % AWS_CLI, os.path.exists(AWS_CLI))
    if not os.path.exists(AWS_CLI):
        return
    # offline: no config files, no IMDS, the credentials from the environment
    env = creds_env(HOME=str(tmp), AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp / "none"),
                    AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"))
    for option, cluster, region in (("--cluster-name", "my-cluster", "us-west-2"),
                                    ("--cluster-id", "8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f", "eu-west-1"),
                                    ("--cluster-name", "cn", "cn-northwest-1")):
        for info in (None, "client.authentication.k8s.io/v1"):
            e = dict(env)
            if info:
                e["KUBERNETES_EXEC_INFO"] = json.dumps({"kind": "ExecCredential", "apiVersion": info,
                                                        "spec": {"interactive": False}})
            name = "%s %s %s%s" % (option, cluster, region, ", KUBERNETES_EXEC_INFO " + info if info else "")
            t0 = time.time()
            theirs = subprocess.run([AWS_CLI, "eks", "get-token", option, cluster, "--region", region],
                                    capture_output=True, text=True, env=e, timeout=120)
            t1 = time.time()
            ours = get_token(cli, [option, cluster, "--region", region], e)
            t2 = time.time()
            try:
                cred = json.loads(theirs.stdout)
                url = eks_authenticator.decode(cred["status"]["token"])
            except (ValueError, KeyError, TypeError):
                check("aws eks get-token %s: an ExecCredential" % name, False, theirs.stderr)
                continue
            check("AWS CLI: %s: the same request shape" % name, ours.url and shape(ours.url) == shape(url),
                  "ours %s\naws  %s" % (ours.url and shape(ours.url), shape(url)),
                  compat=("presign-expires", "action", "signed-header", "regional-endpoint", "cluster-id"))
            check("AWS CLI: %s: the same ExecCredential keys, kind and apiVersion" % name,
                  ours.credential and
                  [list(ours.credential), sorted(ours.credential["status"]), ours.credential["kind"],
                   ours.credential["apiVersion"]] ==
                  [list(cred), sorted(cred["status"]), cred["kind"], cred["apiVersion"]],
                  "ours %s\naws  %s" % (ours.stdout, theirs.stdout),
                  compat=("output-shape", "exec-info-version"))
            check("AWS CLI: %s: both expire 14 minutes after they ran" % name,
                  ours.credential and expires_14_min_after(ours.credential, t1, t2) and
                  expires_14_min_after(cred, t0, t1),
                  "ours %s (ran %s-%s), aws %s (ran %s-%s)" % (
                      ours.stdout, t1, t2, theirs.stdout, t0, t1),
                  compat=("expiration",))


def sts_cases(cli, check):
    """Tokens through the authenticator's checks to the fake STS."""
    with harness.FakeAws(["--access-key", KEY, "--secret-key", SECRET, "--token", SESSION]) as sts:
        def verify(token, cluster="my-cluster", now=None):
            return eks_authenticator.verify(token, cluster, sts.endpoint, region="us-west-2", now=now)

        args = ["--cluster-name", "my-cluster", "--region", "us-west-2"]
        r = get_token(cli, args, creds_env())
        check("fake STS: a fresh token: exit 0", r.credential is not None, r.stderr)
        token = r.credential["status"]["token"] if r.credential else ""
        identity, why = verify(token)
        check("fake STS: a fresh token is accepted, the identity is the credentials'",
              identity and identity["Account"] == "111122223333" and "assumed-role/eks-node-role" in identity["Arn"],
              why,
              compat=("verifier-window", "token-prefix"))
        check("fake STS: the signature was checked by botocore and the cluster id came with it",
              any(q[:4] == ["GetCallerIdentity", "200", "sig-ok", "my-cluster"] for q in sts.requests()),
              sts.requests())
        _, why = verify(token, cluster="other-cluster")
        check("fake STS: refused for another cluster's id (x-k8s-aws-id is signed)",
              "SignatureDoesNotMatch" in why, why, compat=("signed-header",))
        # signed 16 minutes ago: the authenticator refuses it, and so does STS
        old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        r = get_token(cli, args, creds_env(EKS_NODE_TEST_NOW=old))
        stale = r.credential["status"]["token"] if r.credential else ""
        _, why = verify(stale)
        check("fake STS: a token signed 16 minutes ago is refused by the authenticator's check",
              "more than 15 minutes ago" in why, why, compat=("verifier-window",))
        status, body = eks_authenticator.forward(eks_authenticator.decode(stale), "my-cluster", sts.endpoint) \
            if stale else (0, "")
        check("fake STS: ... and by STS (RequestExpired), though its signature is right",
              status == 403 and "RequestExpired" in body, "%s %s" % (status, body))
        url = eks_authenticator.decode(token) if token else ""
        tampered = {
            "the date": re.sub(r"(X-Amz-Date=\d{8}T\d{5})(\d)", lambda m: m.group(1) + str((int(m.group(2)) + 1) % 10),
                               url, count=1),
            "the action": url.replace("Action=GetCallerIdentity", "Action=GetSessionToken", 1),
            "X-Amz-Expires": url.replace("X-Amz-Expires=60", "X-Amz-Expires=900", 1),
            "the signature": url[:-1] + ("0" if url.endswith("1") else "1") if url else "",
            "the security token": url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x", 1),
        }
        for what, bad in tampered.items():
            status, body = eks_authenticator.forward(bad, "my-cluster", sts.endpoint) if bad else (0, "")
            check("fake STS: a token with %s changed is refused (403)" % what, status == 403, "%s %s" % (status, body))
        r = get_token(cli, args, clean_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY="another/secret/key",
                                           AWS_SESSION_TOKEN=SESSION))
        _, why = verify(r.credential["status"]["token"] if r.credential else "")
        check("fake STS: a token signed with another secret key is refused", "SignatureDoesNotMatch" in why, why)
        # what the authenticator checks before STS
        _, why = verify(token[:-4] + "====")
        check("authenticator: a padded or altered token is refused before STS", why and "STS" not in why, why)


def imds_root(instance):
    root = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-get-token-"))
    if instance is not None:
        harness.write(root / "run/eks-node/instance.json", json.dumps(instance))
    return root


def imds_cases(cli, check):
    """Credentials from the instance profile, through the fake IMDS."""
    profile = {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": KEY,
               "SecretAccessKey": SECRET, "Token": SESSION, "Expiration": "2099-01-01T00:00:00Z"}
    extra = ["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, json.dumps(profile))]
    expired = dict(profile, Expiration="2020-01-01T00:00:00Z")
    expired_extra = ["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, json.dumps(expired))]
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, extra=extra) as imds, \
            harness.FakeImds(harness.CONFORMANCE_INSTANCE, extra=expired_extra) as expired_imds, \
            harness.FakeAws(["--access-key", KEY, "--secret-key", SECRET, "--token", SESSION]) as sts:
        instance = {"region": "us-west-2", "domain": "amazonaws.com", "imdsEndpoint": imds.endpoint, "iamRole": ROLE}
        root = imds_root(instance)
        try:
            before = len(imds.requests())
            r = get_token(cli, ["--cluster-name", "my-cluster", "--root=%s" % root], clean_env())
            reqs = imds.requests()[before:]
            check("IMDS: the role from instance.json, the region too: exit 0", r.credential is not None, r.stderr)
            check("IMDS: one session token and the role's document, nothing else",
                  [q[:3] for q in reqs] == [["PUT", "/latest/api/token", "200"],
                                            ["GET", "/latest/meta-data/iam/security-credentials/%s" % ROLE, "200"]],
                  reqs)
            identity, why = eks_authenticator.verify(r.credential["status"]["token"] if r.credential else "",
                                                     "my-cluster", sts.endpoint, region="us-west-2")
            check("IMDS: the fake STS accepts the token signed with the instance profile's credentials",
                  identity is not None, why)
            check("IMDS: no secret on stderr", not any(s in r.stderr for s in (SECRET, SESSION)), r.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        # issue 58: an instance profile whose Expiration has passed is fetched once more, then refused
        # (exit 75 naming the expiration), never signed with
        root = imds_root(dict(instance, imdsEndpoint=expired_imds.endpoint))
        try:
            before = len(expired_imds.requests())
            r = get_token(cli, ["--cluster-name", "my-cluster", "--root=%s" % root], clean_env())
            reqs = expired_imds.requests()[before:]
            one_line_failure(check, "expired instance profile credentials", r, 75,
                             "expired at 2020-01-01T00:00:00Z")
            check("expired instance profile credentials: the document fetched twice, nothing signed",
                  [q[1] for q in reqs if q[0] == "GET"] == ["/latest/meta-data/iam/security-credentials/%s" % ROLE] * 2,
                  reqs)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        # no instance.json: the listing, then the document, on one token
        root = imds_root(None)
        try:
            before = len(imds.requests())
            r = get_token(cli, ["--cluster-name", "my-cluster", "--region", "us-west-2", "--root=%s" % root,
                                "--imds-endpoint=%s" % imds.endpoint], clean_env())
            reqs = imds.requests()[before:]
            check("IMDS without instance.json: exit 0", r.credential is not None, r.stderr)
            check("IMDS without instance.json: one session token, the listing, the document",
                  [q[:3] for q in reqs] == [["PUT", "/latest/api/token", "200"],
                                            ["GET", "/latest/meta-data/iam/security-credentials/", "200"],
                                            ["GET", "/latest/meta-data/iam/security-credentials/%s" % ROLE, "200"]],
                  reqs)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        # instance.json says there is no instance profile: not even IMDS is asked
        root = imds_root(dict(instance, iamRole=None))
        try:
            before = len(imds.requests())
            r = get_token(cli, ["--cluster-name", "my-cluster", "--root=%s" % root], clean_env())
            one_line_failure(check, "no instance profile", r, 6, "instance profile")
            check("no instance profile: IMDS not asked", len(imds.requests()) == before, imds.requests()[before:])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        root = imds_root(instance)
        try:
            r = get_token(cli, ["--cluster-name", "my-cluster", "--root=%s" % root],
                          clean_env(AWS_EC2_METADATA_DISABLED="true"))
            one_line_failure(check, "AWS_EC2_METADATA_DISABLED=true and no AWS_ variables", r, 6,
                             "AWS_EC2_METADATA_DISABLED")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def one_line_failure(check, name, r, code, naming, compat=()):
    lines = r.stderr.splitlines()
    check("%s: exit %d, nothing on stdout, one line on stderr naming %s" % (name, code, naming),
          r.returncode == code and r.stdout == "" and len(lines) == 1 and naming in lines[0],
          "exit %d, stdout %r, stderr %r" % (r.returncode, r.stdout, r.stderr), compat=compat)


def bad_input_cases(cli, check):
    root = imds_root(None)
    try:
        base = ["--root=%s" % root]
        r = get_token(cli, ["--cluster-name", "c", *base], creds_env())
        one_line_failure(check, "no region", r, 6, "--region")
        r = get_token(cli, ["--cluster-name", "c", *base], creds_env(AWS_REGION="us-west-2"))
        check("AWS_REGION stands in for --region", r.url and "sts.us-west-2.amazonaws.com" in r.url, r.stderr)
        r = get_token(cli, ["--cluster-name", "c", "--region", "us-west-2/evil", *base], creds_env())
        one_line_failure(check, "a region that is not one", r, 6, "region")
        t0 = time.monotonic()
        r = get_token(cli, ["--cluster-name", "c", "--region", "us-west-2", *base,
                            "--imds-endpoint=http://127.0.0.1:%d" % closed_port()],
                      clean_env(AWS_METADATA_SERVICE_NUM_ATTEMPTS="2"))
        one_line_failure(check, "IMDS down", r, 75, "IMDS")
        # 2 attempts of a refused connection: milliseconds; the deadline would be 10 s
        check("IMDS down: given up within AWS_METADATA_SERVICE_NUM_ATTEMPTS' attempts, not the deadline",
              time.monotonic() - t0 < 9, time.monotonic() - t0)
        r = get_token(cli, ["--region", "us-west-2", *base], creds_env())
        one_line_failure(check, "no cluster", r, 2, "--cluster-name")
        r = get_token(cli, ["--cluster-name", "a", "--cluster-id", "b", "--region", "us-west-2", *base], creds_env())
        one_line_failure(check, "a name and an id", r, 2, "--cluster-id", compat=["cluster-id"])
        r = get_token(cli, ["--cluster-name", "bad name\nX-Injected: 1", "--region", "us-west-2", *base], creds_env())
        one_line_failure(check, "a cluster name that is not one", r, 2, "--cluster-name")
        r = get_token(cli, ["--cluster-name", "c", "--role-arn", "arn:aws:iam::1:role/x", "--region", "us-west-2",
                            *base], creds_env())
        one_line_failure(check, "--role-arn (not supported)", r, 2, "--role-arn", compat=["role-arn"])
        r = get_token(cli, ["--cluster-name", "c", "--region", "us-west-2", *base],
                      clean_env(AWS_ACCESS_KEY_ID=KEY))
        one_line_failure(check, "half the environment's credentials", r, 6, "AWS_SECRET_ACCESS_KEY")
        # the option spellings the AWS CLI takes, and ours
        r1 = get_token(cli, ["--cluster-name=c", "--region=us-west-2", *base], creds_env(EKS_NODE_TEST_NOW=NOW))
        r2 = get_token(cli, ["--region", "us-west-2", "--cluster-name", "c", *base], creds_env(EKS_NODE_TEST_NOW=NOW))
        check("--opt=VALUE and --opt VALUE, in any order, give the same token",
              r1.url is not None and r1.stdout == r2.stdout, r1.stderr + r2.stderr)
        # KUBERNETES_EXEC_INFO, as kubelet sets it
        for info, want, warns in (
                (None, "client.authentication.k8s.io/v1beta1", False),
                ('{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}',
                 "client.authentication.k8s.io/v1", False),
                ('{"apiVersion":"client.authentication.k8s.io/v1beta1"}', "client.authentication.k8s.io/v1beta1", False),
                ('{"apiVersion":"client.authentication.k8s.io/v1alpha1"}', "client.authentication.k8s.io/v1alpha1", True),
                ("{not json", "client.authentication.k8s.io/v1beta1", True),
                ('{"apiVersion":"example.com/v9"}', "client.authentication.k8s.io/v1beta1", True)):
            env = creds_env(EKS_NODE_TEST_NOW=NOW)
            if info is not None:
                env["KUBERNETES_EXEC_INFO"] = info
            r = get_token(cli, ["--cluster-name", "c", "--region", "us-west-2", *base], env)
            check("KUBERNETES_EXEC_INFO %s: apiVersion %s%s" % (info, want, ", one warning line" if warns else ""),
                  r.credential and r.credential["apiVersion"] == want and r.credential["kind"] == "ExecCredential" and
                  len(r.stderr.splitlines()) == (1 if warns else 0), r.stdout + r.stderr,
                  compat=("exec-info-version",))
        r = get_token(cli, ["--cluster-name", "c", "--region", "us-west-2", *base], creds_env(EKS_NODE_TEST_NOW=NOW))
        check("expirationTimestamp: 14 minutes after the signing time, RFC 3339",
              r.credential and r.credential["status"]["expirationTimestamp"] == "2026-01-01T00:14:00Z", r.stdout,
              compat=("expiration", "timestamp-format"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


COMPAT_TABLE = harness.SOURCE_ROOT / "tests" / "data" / "get-token-compat.tsv"


def walk_compat(check, backed):
    """Every behaviour tests/data/get-token-compat.tsv claims is backed by checks that passed,
    and every check that backs one names a row of it."""
    rows = [line.split("\t") for line in COMPAT_TABLE.read_text().splitlines()
            if line and not line.startswith("#")][1:]
    check("compat table: 5 columns a row", rows and all(len(r) == 5 for r in rows), [r for r in rows if len(r) != 5])
    ids = [r[0] for r in rows]
    for row in rows:
        check("compat table: %s (%s) backed by passing checks" % (row[0], row[1]), backed.get(row[0]) is True,
              "no check" if row[0] not in backed else "a check failed")
    check("compat table: every check's id is a row", set(backed) <= set(ids), sorted(set(backed) - set(ids)))


def main():
    cli = pathlib.Path(sys.argv[1]).resolve()
    tally = harness.Tally()
    backed = {}  # compat table id -> all its checks passed

    def check(name, cond, detail="", compat=()):
        tally.check(name, cond, detail)
        for i in compat:
            backed[i] = backed.get(i, True) and bool(cond)

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-get-token-"))
    try:
        botocore_cases(cli, check)
        aws_cli_cases(cli, check, tmp)
        sts_cases(cli, check)
        imds_cases(cli, check)
        bad_input_cases(cli, check)
        walk_compat(check, backed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tally.at_least(tally.passed + tally.failed, 60, "get-token checks")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
