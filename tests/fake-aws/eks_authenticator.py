#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What an EKS API server does with the bearer token kubelet presents, for the
tests: the checks of aws-iam-authenticator's tokenVerifier.Verify
(pkg/token/token.go), written again here, then the presigned GET forwarded to
an STS endpoint (tests/fake-aws/fake_aws.py on loopback, which checks the
signature with botocore) with x-k8s-aws-id set to the cluster the server
belongs to. Python standard library only.

    eks_authenticator.py STS_URL CLUSTER_ID TOKEN    prints the ARN, or the refusal (exit 1)

verify(token, cluster_id, sts_url, region=None, domain="amazonaws.com", now=None)
returns (identity dict, "") or (None, why)."""

import base64
import calendar
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

PREFIX = "k8s-aws-v1."
MAX_TOKEN_BYTES = 4096
WINDOW = 15 * 60  # presignedURLExpiration
# parameterWhitelist, lower-cased
ALLOWED = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
           "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"}


def decode(token):
    """The presigned URL inside a token; ValueError with the reason."""
    if len(token) > MAX_TOKEN_BYTES:
        raise ValueError("token is too large")
    if not token.startswith(PREFIX):
        raise ValueError("token is missing the %s prefix" % PREFIX)
    body = token[len(PREFIX):]
    if "=" in body or any(c in body for c in "+/"):
        raise ValueError("token is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError("token does not decode: %s" % e)


def check_url(url, region=None, domain="amazonaws.com", now=None):
    """The authenticator's checks of the URL before it calls STS: problems, [] when none."""
    problems = []
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        problems.append("scheme %r, not https" % parts.scheme)
    host = parts.netloc
    labels = host.split(".")
    if len(labels) < 4 or labels[0] != "sts" or ".".join(labels[2:]) != domain:
        problems.append("host %r is not sts.REGION.%s" % (host, domain))
    elif region and labels[1] != region:
        problems.append("host %r is not the region %s's" % (host, region))
    if parts.path != "/":
        problems.append("path %r, not /" % parts.path)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    params = {}
    for key, values in query.items():
        if key.lower() not in ALLOWED:
            problems.append("parameter %r not allowed" % key)
        if len(values) != 1 or key.lower() in params:
            problems.append("parameter %r more than once" % key)
        params[key.lower()] = values[0]
    if params.get("action") != "GetCallerIdentity":
        problems.append("action %r, not GetCallerIdentity" % params.get("action"))
    if "x-k8s-aws-id" not in params.get("x-amz-signedheaders", "").split(";"):
        problems.append("x-k8s-aws-id is not signed")
    try:
        expires = int(params.get("x-amz-expires", ""))
        if not 0 <= expires <= 900:
            raise ValueError
    except ValueError:
        problems.append("X-Amz-Expires %r not within 0-900" % params.get("x-amz-expires"))
    try:
        signed_at = calendar.timegm(time.strptime(params.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ"))
        if (time.time() if now is None else now) > signed_at + WINDOW:
            problems.append("X-Amz-Date %s is more than 15 minutes ago" % params["x-amz-date"])
    except ValueError:
        problems.append("X-Amz-Date missing or malformed")
    return problems


def forward(url, cluster_id, sts_url, timeout=10):
    """GET the presigned request at sts_url (the URL's host in the Host header), as the
    authenticator does, with x-k8s-aws-id: cluster_id. (status, body text)."""
    parts = urllib.parse.urlsplit(url)
    req = urllib.request.Request(sts_url.rstrip("/") + parts.path + "?" + parts.query, method="GET")
    req.add_header("Host", parts.netloc)
    req.add_header("x-k8s-aws-id", cluster_id)
    req.add_header("accept", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def verify(token, cluster_id, sts_url, region=None, domain="amazonaws.com", now=None):
    try:
        url = decode(token)
    except ValueError as e:
        return None, str(e)
    problems = check_url(url, region, domain, now)
    if problems:
        return None, "; ".join(problems)
    status, body = forward(url, cluster_id, sts_url)
    if status != 200:
        return None, "STS answered %d: %s" % (status, body)
    result = json.loads(body)["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    return result, ""


if __name__ == "__main__":
    identity, why = verify(sys.argv[3], sys.argv[2], sys.argv[1])
    print(identity["Arn"] if identity else why)
    sys.exit(0 if identity else 1)
