#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake EKS API server's token check and the fake STS it asks, on loopback.

What an EKS cluster does with the bearer token kubelet's credential plugin prints
(`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL), modelled on
aws-iam-authenticator's pkg/token/token.go (Verify) and pkg/server/server.go:

apiserver  POST /apis/authentication.k8s.io/v1/selfsubjectreviews, Authorization: Bearer TOKEN
           (what `kubectl auth whoami` asks). The token is decoded and checked as the
           authenticator does (prefix, size, base64url, https, an STS host of the partition,
           path /, only the presigning parameters, each once, Action=GetCallerIdentity,
           x-k8s-aws-id among the signed headers, X-Amz-Expires within 0..900, X-Amz-Date not
           older than 15 minutes), then the presigned request is sent to the fake STS with the
           cluster's own id as the x-k8s-aws-id header, as the authenticator sends it to STS.
           The id is not in the URL: a token minted for another cluster fails STS's signature
           check. 201 with the caller's identity, or 401 (a Kubernetes Status) naming why.
sts        GET /?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-...: the query signature is
           recomputed with botocore (an implementation independent of eks-node's SigV4) with
           the credentials the instance profile hands out (the fake IMDS's data), and the
           request is refused as STS refuses it (unknown key, wrong session token, a scope
           that is not sts or not the host's region, expired, not yet valid, signature
           mismatch). 200: the GetCallerIdentity answer, JSON when asked (the authenticator
           asks), else XML.

The API server does not map the identity to a Kubernetes user (EKS's access entries give a
node role system:node:{{EC2PrivateDNSName}}, which needs EC2): the username is the canonical
ARN. Nothing secret is logged or answered: no token, signature, secret key, session token or
access key id (16-secrets plants the key id as a secret no file may hold).

Used in the VM guest (socket-activated, tests/vm/guest/eksvm-eks-auth.service) and imported by
the host test tests/plumbing/eks_auth.py. Needs python3-botocore for the STS side only.
"""

import argparse
import base64
import binascii
import datetime
import hmac
import http.client
import json
import os
import re
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

V1_PREFIX = "k8s-aws-v1."
MAX_TOKEN_BYTES = 4096
CLUSTER_ID_HEADER = "x-k8s-aws-id"
# Presigned STS URLs are valid 15 minutes after X-Amz-Date whatever X-Amz-Expires says
# (token.go's presignedURLExpiration); STS honours the same window.
LIFETIME = datetime.timedelta(minutes=15)
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# token.go's parameterWhitelist: anything else in the URL is refused
ALLOWED_PARAMS = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                  "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}
REGION_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
# STS domains per partition: regional, and dual-stack (aws-iam-authenticator's endpoints package)
PARTITION_DOMAINS = {"aws": ("amazonaws.com", "api.aws"), "aws-us-gov": ("amazonaws.com", "api.aws"),
                     "aws-cn": ("amazonaws.com.cn", "api.amazonwebservices.com.cn")}
STS_VERSION = "2011-06-15"
REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
DEFAULT_ACCOUNT = "111122223333"


class Rejected(Exception):
    """The token is refused: `stage` is "format" (the authenticator's own checks) or "sts"."""

    def __init__(self, stage, message):
        super().__init__(message)
        self.stage = stage


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_date(text):
    try:
        return datetime.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def parse_query(raw):
    """The query's parameters, each name once (STS and the authenticator refuse repeats)."""
    try:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        raise Rejected("format", "malformed query parameter")
    params, seen = {}, set()
    for name, value in pairs:
        if name.lower() in seen:
            raise Rejected("format", "duplicate query parameter found: %r" % name)
        seen.add(name.lower())
        params[name] = value
    return params


def sts_region(host):
    """The region an STS host serves (token.go's getStsRegion): the second label, "global" for
    sts.amazonaws.com."""
    parts = host.split(".")
    if len(parts) < 3:
        raise Rejected("format", "could not parse region for pre-signed URL %s" % host)
    return "global" if host == "sts.amazonaws.com" else parts[1]


def check_sts_host(host, partition):
    """An STS endpoint of the cluster's partition: sts[-fips].REGION.DOMAIN or its dual-stack
    twin, or the global endpoint in the aws partition (token.go's verifySTSHostnameFormat)."""
    region = sts_region(host)
    if region == "global":
        if partition != "aws":
            raise Rejected("format", "global endpoint unsupported in partition %s" % partition)
        return region
    if not REGION_RE.match(region):
        raise Rejected("format", "invalid region identifier format provided: %s" % region)
    domains = PARTITION_DOMAINS.get(partition, ())
    labels = host.split(".")
    if labels[0] not in ("sts", "sts-fips") or ".".join(labels[2:]) not in domains:
        raise Rejected("format", "unexpected hostname %r in pre-signed URL" % host)
    return region


def decode_token(token, partition="aws", now=None):
    """The authenticator's checks of the token itself (token.go's Verify up to the STS call).
    Returns what it found: the URL's parts and its parameters (names in lower case)."""
    now = now or utcnow()
    if len(token) > MAX_TOKEN_BYTES:
        raise Rejected("format", "token is too large")
    if not token.startswith(V1_PREFIX):
        raise Rejected("format", "token is missing expected %r prefix" % V1_PREFIX)
    body = token[len(V1_PREFIX):]
    # base64url without padding, strictly (Go's RawURLEncoding): no '=', no '+' or '/'
    if "=" in body or not re.fullmatch(r"[A-Za-z0-9_-]*", body) or len(body) % 4 == 1:
        raise Rejected("format", "illegal base64 data")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        url = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise Rejected("format", "illegal base64 data (%s)" % e)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        raise Rejected("format", "unexpected scheme %r in pre-signed URL" % parts.scheme)
    host = parts.netloc
    region = check_sts_host(host, partition)
    if parts.path != "/":
        raise Rejected("format", "unexpected path in pre-signed URL")
    params = parse_query(parts.query)
    lower = {}
    for name, value in params.items():
        if name.lower() not in ALLOWED_PARAMS:
            raise Rejected("format", "non-whitelisted query parameter %r" % name)
        lower[name.lower()] = value
    if lower.get("action") != "GetCallerIdentity":
        raise Rejected("format", "unexpected action parameter in pre-signed URL")
    if CLUSTER_ID_HEADER not in [h.lower() for h in lower.get("x-amz-signedheaders", "").split(";")]:
        raise Rejected("format", "client did not sign the %s header in the pre-signed URL" % CLUSTER_ID_HEADER)
    try:
        expires = int(lower.get("x-amz-expires", ""))
    except ValueError:
        expires = -1
    if not 0 <= expires <= 900:
        raise Rejected("format", "invalid X-Amz-Expires parameter in pre-signed URL: %s" % lower.get("x-amz-expires"))
    if not lower.get("x-amz-date"):
        raise Rejected("format", "X-Amz-Date parameter must be present in pre-signed URL")
    date = parse_date(lower["x-amz-date"])
    if date is None:
        raise Rejected("format", "error parsing X-Amz-Date parameter %s" % lower["x-amz-date"])
    if now > date + LIFETIME:
        raise Rejected("format", "X-Amz-Date parameter is expired (15 minute expiration) %s" % lower["x-amz-date"])
    return {"url": url, "host": host, "region": region, "target": parts.path + "?" + parts.query,
            "params": lower, "date": date, "expires": expires}


class Principal:
    """One instance profile's credentials and the identity STS answers for them."""

    def __init__(self, role, doc, account, instance_id, partition):
        self.role, self.account, self.instance_id, self.partition = role, account, instance_id, partition
        self.access_key = doc.get("AccessKeyId", "")
        self.secret_key = doc.get("SecretAccessKey", "")
        self.token = doc.get("Token") or None
        # a stable, made-up role id (STS's AROA...), the user id of an EC2 role session being
        # ROLEID:INSTANCE-ID
        digest = base64.b32encode(hmac.new(b"role-id", role.encode(), "sha256").digest()).decode()
        self.role_id = "AROA" + digest[:17]

    @property
    def arn(self):
        return "arn:%s:sts::%s:assumed-role/%s/%s" % (self.partition, self.account, self.role, self.instance_id)

    @property
    def user_id(self):
        return "%s:%s" % (self.role_id, self.instance_id)


def principals_from_imds(data):
    """Access key id -> Principal, from the fake IMDS's data (imds.json's format: paths under
    /latest/ -> values): each meta-data/iam/security-credentials/ROLE, the account from
    meta-data/iam/info's InstanceProfileArn (else DEFAULT_ACCOUNT)."""
    def value(key):
        v = data.get(key)
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v

    info = value("meta-data/iam/info") or {}
    account = DEFAULT_ACCOUNT
    m = re.match(r"arn:[^:]+:iam::(\d{12}):", str(info.get("InstanceProfileArn", "")) if isinstance(info, dict) else "")
    if m:
        account = m.group(1)
    partition = value("meta-data/services/partition") or "aws"
    instance_id = value("meta-data/instance-id") or "i-00000000000000000"
    out = {}
    prefix = "meta-data/iam/security-credentials/"
    for key in data:
        role = key.strip("/")[len(prefix):] if key.strip("/").startswith(prefix) else ""
        doc = value(key) if role and "/" not in role else None
        if isinstance(doc, dict) and doc.get("AccessKeyId"):
            p = Principal(role, doc, account, instance_id, partition)
            out[p.access_key] = p
    return out


def load_imds_json(path):
    with open(path, encoding="utf-8") as f:
        return {k.strip("/"): v for k, v in json.load(f).items() if not k.startswith("_")}


class Sts:
    """GetCallerIdentity with query (presigned) authentication, checked with botocore."""

    def __init__(self, principals, now=utcnow):
        # botocore only here: the API server side and the stub kubelet do without it
        import botocore
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest, HTTPHeaders
        from botocore.credentials import Credentials
        self.botocore = "botocore %s" % botocore.__version__
        self._SigV4Auth, self._AWSRequest, self._HTTPHeaders, self._Credentials = (
            SigV4Auth, AWSRequest, HTTPHeaders, Credentials)
        self.principals = principals  # a callable: access key id -> Principal, read per request
        self.now = now

    def expected_signature(self, principal, region, host, params, signed, headers):
        """The signature botocore computes for this request: the canonical query of every
        parameter but X-Amz-Signature, the headers named in X-Amz-SignedHeaders with the values
        that arrived, the hash of the empty payload (a GET over https)."""
        req = self._AWSRequest(method="GET", url="https://%s/" % host)
        req.params = {k: v for k, v in params.items() if k != "X-Amz-Signature"}
        req.context["timestamp"] = params["X-Amz-Date"]
        signer = self._SigV4Auth(self._Credentials(principal.access_key, principal.secret_key, principal.token),
                                 "sts", region)
        header_map = self._HTTPHeaders()
        for name in signed:
            header_map[name] = headers[name]
        signer.headers_to_sign = lambda _request: header_map
        canonical = signer.canonical_request(req)
        return signer.signature(signer.string_to_sign(req, canonical), req)

    def get_caller_identity(self, method, target, headers):
        """(HTTP status, error code or "", message, Principal or None) for one request;
        headers: lower-case name -> value."""
        parts = urllib.parse.urlsplit(target)
        if method != "GET" or parts.path != "/":
            return 404, "UnknownOperation", "only GET / is served", None
        try:
            params = parse_query(parts.query)
        except Rejected as e:
            return 400, "MalformedQueryString", str(e), None
        if params.get("Action") != "GetCallerIdentity":
            return 400, "InvalidAction", "Could not find operation %s" % params.get("Action"), None
        if params.get("Version") != STS_VERSION:
            return 400, "InvalidAction", "Could not find operation GetCallerIdentity for version %s" % (
                params.get("Version")), None
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in params:
            return 403, "MissingAuthenticationToken", "Request is missing Authentication Token", None
        host = headers.get("host", "")
        host_region = "us-east-1" if host == "sts.amazonaws.com" else (host.split(".") + [""])[1]
        key_id, day, region, service, terminal = (params.get("X-Amz-Credential", "").split("/") + [""] * 5)[:5]
        date = parse_date(params.get("X-Amz-Date", ""))
        if date is None or day != params["X-Amz-Date"][:8] or terminal != "aws4_request":
            return 400, "IncompleteSignature", "malformed X-Amz-Credential or X-Amz-Date", None
        if service != "sts":
            return 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'", None
        if region != host_region:
            return 403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region, not '%s'" % region, None
        now = self.now()
        if now > date + LIFETIME:
            return 403, "ExpiredToken", "Request has expired", None
        if date > now + LIFETIME:
            return 403, "SignatureDoesNotMatch", "Signature not yet current", None
        principal = self.principals(key_id)
        if principal is None:
            return 403, "InvalidClientTokenId", "The security token included in the request is invalid", None
        if params.get("X-Amz-Security-Token") != principal.token:
            return 403, "InvalidClientTokenId", "The security token included in the request is invalid", None
        signed = [h for h in params.get("X-Amz-SignedHeaders", "").split(";") if h]
        if "host" not in signed or signed != sorted(signed) or any(h not in headers for h in signed):
            return 403, "SignatureDoesNotMatch", "signed headers missing or not in canonical order", None
        expected = self.expected_signature(principal, region, host, params, signed, headers)
        if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            return 403, "SignatureDoesNotMatch", ("The request signature we calculated does not match the "
                                                  "signature you provided"), None
        return 200, "", "", principal


def identity_json(principal):
    return {"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Account": principal.account, "Arn": principal.arn, "UserId": principal.user_id},
        "ResponseMetadata": {"RequestId": "00000000-0000-4000-8000-000000000000"}}}


def identity_xml(principal):
    return ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account>"
            "</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000"
            "</RequestId></ResponseMetadata></GetCallerIdentityResponse>" % (
                principal.arn, principal.user_id, principal.account))


def error_body(code, message, as_json):
    if as_json:
        return json.dumps({"Error": {"Code": code, "Message": message, "Type": "Sender"},
                           "RequestId": "00000000-0000-4000-8000-000000000000"})
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            "<Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-4000-8000-000000000000"
            "</RequestId></ErrorResponse>" % (code, message))


def canonical_arn(arn):
    """aws-iam-authenticator's arn.Canonicalize for the identities STS answers here: an
    assumed role's session ARN -> the role's IAM ARN."""
    m = re.match(r"^arn:([^:]+):sts::(\d+):assumed-role/(.+)/[^/]+$", arn)
    if m:
        return "arn:%s:iam::%s:role/%s" % m.groups()
    if re.match(r"^arn:[^:]+:iam::\d+:(role|user|root)", arn):
        return arn
    raise Rejected("sts", "arn %r is not an identity the authenticator maps" % arn)


class Authenticator:
    """The API server's side: decode_token, then the presigned request to STS at sts_address
    (host, port) with the Host header of the URL and the cluster's id."""

    def __init__(self, cluster_id, sts_address, partition="aws", now=utcnow):
        self.cluster_id = cluster_id  # a callable: the id this cluster knows itself by
        self.sts_address = sts_address
        self.partition = partition  # a callable too
        self.now = now

    def verify(self, token):
        """The identity (a dict, aws-iam-authenticator's Identity and what was checked) or Rejected."""
        decoded = decode_token(token, self.partition(), self.now())
        cluster = self.cluster_id()
        if not cluster:
            raise Rejected("format", "this API server does not know its cluster id yet")
        conn = http.client.HTTPConnection(*self.sts_address, timeout=60)
        try:
            # the URL's host, not the fake's address: it is signed
            conn.putrequest("GET", decoded["target"], skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", decoded["host"])
            conn.putheader(CLUSTER_ID_HEADER, cluster)
            conn.putheader("Accept", "application/json")
            conn.endheaders()
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
        except OSError as e:
            raise Rejected("sts", "error during GET: %s on %s endpoint" % (e, decoded["region"]))
        finally:
            conn.close()
        if response.status != 200:
            raise Rejected("sts", "error from AWS (expected 200, got %d) on %s endpoint. Body: %s" % (
                response.status, decoded["region"], body))
        try:
            result = json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
            arn, account, user_id = result["Arn"], result["Account"], result["UserId"]
        except (ValueError, KeyError, TypeError) as e:
            raise Rejected("sts", "unreadable GetCallerIdentity answer: %s" % e)
        principal_id, _, session = user_id.partition(":")
        return {"arn": arn, "canonicalArn": canonical_arn(arn), "accountId": account, "userId": principal_id,
                "sessionName": session, "stsEndpoint": decoded["host"], "clusterId": cluster,
                "signedHeaders": decoded["params"]["x-amz-signedheaders"],
                "expires": decoded["expires"], "date": decoded["params"]["x-amz-date"],
                "version": decoded["params"].get("version", "")}


def review(identity, verified_by):
    """The SelfSubjectReview an API server answers (userInfo as aws-iam-authenticator's server.go
    builds it, without accessKeyId: see the module's doc)."""
    extra = {"arn": [identity["arn"]], "canonicalArn": [identity["canonicalArn"]],
             "sessionName": [identity["sessionName"]], "principalId": [identity["userId"]],
             "sigs.k8s.io/aws-iam-authenticator/principalId": [identity["userId"]]}
    for key in ("clusterId", "stsEndpoint", "signedHeaders", "expires", "date", "version"):
        extra["eksvm.test/" + key] = [str(identity[key])]
    extra["eksvm.test/verifiedBy"] = [verified_by]
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
            "status": {"userInfo": {
                "username": identity["canonicalArn"],
                "uid": "aws-iam-authenticator:%s:%s" % (identity["accountId"], identity["userId"]),
                "groups": ["system:authenticated"], "extra": extra}}}


def unauthorized(message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized: " + message, "reason": "Unauthorized", "code": 401}


# --- servers -----------------------------------------------------------------------------------

class Log:
    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()

    def __call__(self, line):
        print(line, flush=True)
        if self.path:
            with self.lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, *_):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StsHandler(_Handler):
    server_version = "AmazonSTS-fake"

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.handle_sts()

    do_POST = do_GET

    def handle_sts(self):
        sts, log = self.server.sts, self.server.log
        headers = {k.lower(): v for k, v in self.headers.items()}
        code, err, message, principal = sts.get_caller_identity(self.command, self.path, headers)
        as_json = "application/json" in headers.get("accept", "")
        cluster = headers.get(CLUSTER_ID_HEADER, "-")
        if principal:
            log("sts: GetCallerIdentity 200 sig-ok (%s) role=%s cluster=%s" % (sts.botocore, principal.role, cluster))
            body = json.dumps(identity_json(principal)) if as_json else identity_xml(principal)
        else:
            log("sts: GetCallerIdentity %d %s: %s cluster=%s" % (code, err, message, cluster))
            body = error_body(err, message, as_json)
        self.reply(code, body, "application/json" if as_json else "text/xml")


class ApiServerHandler(_Handler):
    server_version = "kube-apiserver-fake"

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        log = self.server.log
        if self.path != REVIEW_PATH:
            return self.reply(404, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                               "reason": "NotFound", "code": 404}))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            log("apiserver: selfsubjectreview 401 no bearer token")
            return self.reply(401, json.dumps(unauthorized("no bearer token")))
        try:
            identity = self.server.authenticator.verify(auth[len("Bearer "):].strip())
        except Rejected as e:
            log("apiserver: selfsubjectreview 401 %s: %s" % (e.stage, e))
            return self.reply(401, json.dumps(unauthorized("%s: %s" % (e.stage, e))))
        log("apiserver: selfsubjectreview 201 %s cluster=%s via %s" % (
            identity["arn"], identity["clusterId"], identity["stsEndpoint"]))
        self.reply(201, json.dumps(review(identity, self.server.verified_by)))


def make_server(handler, sock=None, address=None):
    if sock is not None:
        server = ThreadingHTTPServer(sock.getsockname()[:2], handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
    else:
        server = ThreadingHTTPServer(address, handler)
    server.daemon_threads = True
    return server


def systemd_sockets():
    """name -> socket, from socket activation (LISTEN_FDS, LISTEN_FDNAMES), else {}."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return {}
    n = int(os.environ.get("LISTEN_FDS", "0"))
    names = os.environ.get("LISTEN_FDNAMES", "").split(":")
    return {names[i] if i < len(names) else str(i): socket.socket(fileno=3 + i) for i in range(n)}


def cluster_id_from_config(path, override=None):
    """What the cluster knows itself by, for the node eks-node configured: spec.cluster.id on an
    Outposts local cluster, else spec.cluster.name; the override file's first line instead
    where there is one (a scenario that runs no eks-node, 00-smoke). Read at each request: a
    boot group's sub-cases re-run the chain for other clusters."""
    def read():
        try:
            with open(override, encoding="utf-8") as f:
                return f.readline().strip()
        except (OSError, TypeError):
            pass
        try:
            with open(path, encoding="utf-8") as f:
                cluster = json.load(f).get("spec", {}).get("cluster", {})
        except (OSError, ValueError):
            return ""
        return cluster.get("id", "") if cluster.get("enableOutpost") else cluster.get("name", "")
    return read


def imds_data_reader(imds_json, case_dir_file):
    """The fake IMDS's data as it serves it now: a boot group's sub-case names its directory in
    case_dir_file (tests/vm/guest/subcases.sh), whose imds.json then applies."""
    def read():
        path = imds_json
        try:
            with open(case_dir_file, encoding="utf-8") as f:
                case = f.read().strip()
            if case:
                path = os.path.join(case, "imds.json")
        except (OSError, TypeError):
            pass
        try:
            return load_imds_json(path)
        except (OSError, ValueError):
            return {}
    return read


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imds-json", required=True, help="the fake IMDS's data (instance profile credentials)")
    p.add_argument("--case-dir-file", help="a file naming the directory whose imds.json applies instead")
    p.add_argument("--config-json", default="/run/eks-node/config.json",
                   help="eks-node's config.json: the cluster name, or id on Outposts")
    p.add_argument("--cluster-id-file", help="the cluster's id, instead of config.json's, where it exists")
    p.add_argument("--apiserver", default="127.0.0.1:6443", help="ADDR:PORT without socket activation")
    p.add_argument("--sts", default="127.0.0.1:6080", help="ADDR:PORT without socket activation; "
                   "the API server sends STS requests here")
    p.add_argument("--log", help="append one line per request (nothing secret)")
    args = p.parse_args()

    def address(text):
        host, _, port = text.rpartition(":")
        return host, int(port)

    imds = imds_data_reader(args.imds_json, args.case_dir_file)

    def principal(key_id):
        return principals_from_imds(imds()).get(key_id)

    def partition():
        return str(imds().get("meta-data/services/partition") or "aws")

    log = Log(args.log)
    fds = systemd_sockets()
    sts_server = make_server(StsHandler, fds.get("sts"), address(args.sts))
    sts_server.sts, sts_server.log = Sts(principal), log
    api = make_server(ApiServerHandler, fds.get("apiserver"), address(args.apiserver))
    api.authenticator = Authenticator(cluster_id_from_config(args.config_json, args.cluster_id_file),
                                      sts_server.server_address[:2], partition)
    api.verified_by, api.log = "fake STS, signature recomputed with " + sts_server.sts.botocore, log
    threading.Thread(target=sts_server.serve_forever, daemon=True).start()
    log("fake EKS authenticator: API server on %s:%d, STS on %s:%d (%s)" % (
        api.server_address[:2] + sts_server.server_address[:2] + (sts_server.sts.botocore,)))
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
