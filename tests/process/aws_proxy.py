#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-config's own AWS requests and proxies, with the loopback
fake EC2/EKS endpoint (tests/fake-aws/, signatures checked with botocore), a
tiny proxy (tests/fake-proxy/) and the fake IMDS.

- the proxy is chosen by the endpoint's scheme (HTTP_PROXY for http,
  HTTPS_PROXY for https, which CONNECTs), from user data or, first, from the
  process environment;
- NO_PROXY (names, addresses, CIDRs) sends the request directly;
- NO_PROXY in config.json is completed (IMDS, loopback, VPC and service CIDRs,
  the cluster endpoint from DescribeCluster), with origins;
- IMDS is never asked through a proxy, whatever is set;
- a proxy password reaches the proxy and no log line;
- AWS_MAX_ATTEMPTS, settings.aws.maxAttempts, AWS_EC2_METADATA_DISABLED.

The fake AWS endpoint listens on 127.0.0.2, not 127.0.0.1: NO_PROXY completion
adds 127.0.0.1 (loopback), which would send every request to 127.0.0.1 past
the proxy. The fake IMDS listens on 127.0.0.3 for the same reason.

Usage: aws_proxy.py HELPER_DIR EKS_NODE_CLI"""

import json
import pathlib
import re
import subprocess
import sys
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

AWS_HOST = "127.0.0.2"
IMDS_HOST = "127.0.0.3"
DNS_NAME = "ip-172-16-34-43.us-west-2.compute.internal"
CLUSTER_ENDPOINT = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com"
ROLE = "eks-node-test-role"
TOKEN = "FwoGZXIvYXdzEFAKEsessionTOKENforEKSnodePROXYtests=="
IMDS_SECRET = "imds/profile/secret/for/proxy/tests"
PROXY_USER = "alice"
PROXY_PASSWORD = "pa'ss@w:rd PLANTED"  # percent-encoded in the URL below
TALLY = harness.Tally()
check = TALLY.check


def Node(helpers, ud, **kw):  # noqa: N802 (used as the class it returns)
    """A node whose user data is `ud`, its fake IMDS on IMDS_HOST."""
    return harness.ConfigNode(helpers, user_data=ud, imds_bind=IMDS_HOST, **kw)


def user_data(environment, full_cluster=True):
    """A NodeConfig with `environment` (section -> {VAR: value})."""
    cluster = {"name": "my-cluster"}
    if full_cluster:
        cluster.update({"apiServerEndpoint": "https://example.com", "certificateAuthority": harness.conformance_ca_base64(),
                        "cidr": "10.100.0.0/16"})
    doc = {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
           "spec": {"cluster": cluster, "instance": {"environment": environment}}}
    return "---\n" + json.dumps(doc, indent=2) + "\n"


def proxied(proxy):
    """The proxy's log lines as (kind, target, status)."""
    return [(r[0], r[2] if r[0] == "FORWARD" else r[1], r[3] if r[0] == "FORWARD" else r[2])
            for r in proxy.requests()]


def actions(aws):
    return [r[0] for r in aws.requests()]


def signed(aws):
    reqs = aws.requests()
    return bool(reqs) and all(r[2] == "sig-ok" for r in reqs)


def test_http_proxy_from_user_data(helpers):
    with harness.FakeProxy() as proxy, harness.FakeAws(bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTP_PROXY": proxy.endpoint, "HTTPS_PROXY": "http://127.0.0.1:9"}})
        with Node(helpers, ud) as n:
            r = n.config(aws.env())
            cfg = n.config_json() or {}
            check("HTTP_PROXY in user data, http endpoint: exit 0", r.returncode == 0, r.stderr)
            check("HTTP_PROXY in user data: DescribeInstances went through the proxy",
                  proxied(proxy) == [("FORWARD", aws.endpoint + "/", "200")], proxy.requests())
            check("HTTP_PROXY in user data: the fake saw one signed DescribeInstances (Host kept)",
                  actions(aws) == ["DescribeInstances"] and signed(aws), aws.requests())
            check("HTTP_PROXY in user data: node name from EC2",
                  cfg.get("derived", {}).get("nodeName") == DNS_NAME, cfg.get("derived"))
            check("HTTP_PROXY in user data: the log says which variable, from where",
                  "through the proxy of HTTP_PROXY (spec.instance.environment.default)" in r.stderr, r.stderr)


def test_scheme_decides(helpers):
    """HTTPS_PROXY alone does not apply to an http endpoint (nor HTTP_PROXY to https)."""
    with harness.FakeProxy() as proxy, harness.FakeAws(bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTPS_PROXY": proxy.endpoint}})
        with Node(helpers, ud) as n:
            r = n.config(aws.env())
            check("HTTPS_PROXY only, http endpoint: exit 0, directly", r.returncode == 0 and proxied(proxy) == [],
                  "%s %s" % (r.stderr, proxy.requests()))
            check("HTTPS_PROXY only, http endpoint: the request arrived", actions(aws) == ["DescribeInstances"],
                  aws.requests())


def test_https_connects(helpers):
    """An https endpoint goes through HTTPS_PROXY with CONNECT. The fake speaks
    plain HTTP, so TLS then fails: what counts is where the request went."""
    deadline = '[settings.aws]\ndeadline = "2s"\nrequestTimeout = "1s"\n'
    with harness.FakeProxy() as proxy, harness.FakeProxy() as wrong, harness.FakeAws(bind=AWS_HOST) as aws:
        https_endpoint = "https://%s:%d" % (AWS_HOST, aws.port)
        ud = user_data({"default": {"HTTPS_PROXY": proxy.endpoint, "HTTP_PROXY": wrong.endpoint}})
        with Node(helpers, ud, toml=deadline) as n:
            r = n.config(aws.env(AWS_ENDPOINT_URL=https_endpoint))
            connects = proxied(proxy)
            check("https endpoint: CONNECT through HTTPS_PROXY",
                  bool(connects) and all(c == ("CONNECT", "%s:%d" % (AWS_HOST, aws.port), "200") for c in connects),
                  proxy.requests())
            check("https endpoint: HTTP_PROXY unused", wrong.requests() == [], wrong.requests())
            check("https endpoint behind a plain-HTTP fake: exit 75 (TLS fails)", r.returncode == 75,
                  "%d %s" % (r.returncode, r.stderr))
        ud = user_data({"default": {"HTTPS_PROXY": proxy.endpoint, "NO_PROXY": AWS_HOST}})
        before = len(proxy.requests())
        with Node(helpers, ud, toml=deadline) as n:
            n.config(aws.env(AWS_ENDPOINT_URL=https_endpoint))
            check("https endpoint listed in NO_PROXY: no CONNECT", len(proxy.requests()) == before,
                  proxy.requests())


def test_no_proxy(helpers):
    for no_proxy, what in ((AWS_HOST, "the address"), ("localhost, 127.0.0.0/30", "a CIDR"),
                           ("*", "*")):
        with harness.FakeProxy() as proxy, harness.FakeAws(bind=AWS_HOST) as aws:
            ud = user_data({"default": {"HTTP_PROXY": proxy.endpoint, "no_proxy": no_proxy}})
            with Node(helpers, ud) as n:
                r = n.config(aws.env())
                check("NO_PROXY lists %s: exit 0, not through the proxy" % what,
                      r.returncode == 0 and proxied(proxy) == [] and actions(aws) == ["DescribeInstances"],
                      "%s %s %s" % (r.stderr, proxy.requests(), aws.requests()))


def test_process_environment_first(helpers):
    with harness.FakeProxy() as admin, harness.FakeProxy() as user, harness.FakeAws(bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTP_PROXY": user.endpoint}})
        with Node(helpers, ud) as n:
            r = n.config(aws.env(http_proxy=admin.endpoint))
            check("the process environment's http_proxy wins over user data's HTTP_PROXY",
                  r.returncode == 0 and len(admin.requests()) == 1 and user.requests() == [],
                  "%s admin=%s user=%s" % (r.stderr, admin.requests(), user.requests()))
            r = n.config(aws.env(NO_PROXY=AWS_HOST))
            check("the process environment's NO_PROXY applies to user data's HTTP_PROXY",
                  r.returncode == 0 and user.requests() == [], "%s %s" % (r.stderr, user.requests()))


def test_describe_cluster_and_completion(helpers, cli):
    ca = harness.conformance_ca_base64()
    cluster = ["--cluster", "my-cluster,%s,%s,172.20.0.0/16" % (CLUSTER_ENDPOINT, ca)]
    with harness.FakeProxy() as proxy, harness.FakeAws(cluster, bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTP_PROXY": proxy.endpoint, "NO_PROXY": ".internal"},
                        "kubelet": {"no_proxy": "kubelet.test"}}, full_cluster=False)
        with Node(helpers, ud) as n:
            r = n.config(aws.env())
            cfg = n.config_json() or {}
            check("cluster name only, HTTP_PROXY: exit 0", r.returncode == 0, r.stderr)
            targets = [t for _, t, _ in proxied(proxy)]
            check("DescribeCluster and DescribeInstances went through the proxy",
                  targets == [aws.endpoint + "/clusters/my-cluster", aws.endpoint + "/"], proxy.requests())
            check("both arrived signed", actions(aws) == ["DescribeCluster", "DescribeInstances"] and signed(aws),
                  aws.requests())
            env = cfg.get("spec", {}).get("instance", {}).get("environment", {})
            ours = ("169.254.169.254,fd00:ec2::254,localhost,127.0.0.1,::1,172.16.0.0/16,172.20.0.0/16,"
                    "abcdef0123456789.gr7.us-west-2.eks.amazonaws.com")
            check("config.json: default NO_PROXY completed after the user's entries (the endpoint and CIDR from "
                  "DescribeCluster)", env.get("default", {}).get("NO_PROXY") == ".internal," + ours, env)
            check("config.json: default no_proxy the same list", env.get("default", {}).get("no_proxy") ==
                  env.get("default", {}).get("NO_PROXY"), env)
            check("config.json: kubelet's own no_proxy completed, NO_PROXY its copy",
                  env.get("kubelet", {}).get("no_proxy") == "kubelet.test," + ours and
                  env.get("kubelet", {}).get("NO_PROXY") == "kubelet.test," + ours, env)
            d = subprocess.run([str(cli), "config", "dump", "--origins", "--root=%s" % n.root],
                               capture_output=True, text=True, timeout=30)
            origins = json.loads(d.stdout).get("origins", {}) if d.returncode == 0 else {}
            o = origins.get("/spec/instance/environment/default/NO_PROXY", "")
            check("config dump --origins: NO_PROXY from user data, completed by eks-node, each entry's reason",
                  o.startswith("user data") and "completed by eks-node" in o and "172.20.0.0/16 (service CIDR" in o
                  and "(cluster endpoint" in o, o)
            check("config dump --origins: no_proxy a copy of NO_PROXY",
                  origins.get("/spec/instance/environment/default/no_proxy", "").startswith("copy of NO_PROXY"),
                  origins)
    with harness.FakeProxy() as proxy, harness.FakeAws(cluster, bind=AWS_HOST) as aws:
        with Node(helpers, user_data({"default": {"FOO": "bar"}}, full_cluster=False)) as n:
            r = n.config(aws.env())
            env = (n.config_json() or {}).get("spec", {}).get("instance", {}).get("environment", {})
            check("no proxy set: NO_PROXY not added", r.returncode == 0 and env == {"default": {"FOO": "bar"}},
                  "%s %s" % (r.stderr, env))


def test_imds_never_proxied(helpers):
    """Instance-profile credentials from IMDS with every proxy variable set,
    in the process environment and in user data; the proxy is asked for the
    EC2 request only."""
    doc = json.dumps({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                      "AccessKeyId": harness.FakeAws.ACCESS_KEY, "SecretAccessKey": IMDS_SECRET, "Token": TOKEN,
                      "Expiration": "2099-01-01T00:00:00Z"})
    extra = ["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, doc)]
    with harness.FakeProxy() as proxy, harness.FakeAws(["--secret-key", IMDS_SECRET, "--token", TOKEN],
                                                       bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTP_PROXY": proxy.endpoint, "http_proxy": proxy.endpoint,
                                    "ALL_PROXY": proxy.endpoint}})
        with Node(helpers, ud, imds_extra=extra) as n:
            env = aws.env(credentials=False)
            for v in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
                env[v] = proxy.endpoint
            r = n.config(env)
            check("proxies everywhere, credentials from IMDS: exit 0", r.returncode == 0, r.stderr)
            paths = [x[1] for x in n.imds.requests()]
            check("the instance profile's credentials came from IMDS",
                  "/latest/meta-data/iam/security-credentials/%s" % ROLE in paths, paths)
            check("the proxy saw the EC2 request and nothing of IMDS",
                  [t for _, t, _ in proxied(proxy)] == [aws.endpoint + "/"] and
                  not any(IMDS_HOST in " ".join(x) for x in proxy.requests()), proxy.requests())
            check("signed with the IMDS credentials", signed(aws), aws.requests())


def test_proxy_password(helpers):
    quoted = urllib.parse.quote(PROXY_PASSWORD, safe="")
    with harness.FakeProxy(require_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD)) as proxy, \
            harness.FakeAws(bind=AWS_HOST) as aws:
        url = "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, quoted, proxy.port)
        with Node(helpers, user_data({"default": {"HTTP_PROXY": url}})) as n:
            r = n.config(aws.env(), "--log-level=debug")
            check("proxy with a password: the proxy accepted the credentials from the URL",
                  r.returncode == 0 and [s for _, _, s in proxied(proxy)] == ["200"] and
                  all(x[-1] == "auth=ok" for x in proxy.requests()), "%s %s" % (r.stderr, proxy.requests()))
            leaked = [s for s in (PROXY_PASSWORD, quoted, "pa'ss") if s in r.stdout + r.stderr]
            check("proxy with a password: not in the debug log", not leaked, leaked)
        # A wrong password is bad configuration, not a network fault: exit 6
        # at once, naming the variable, for plain http (the proxy's 407
        # answer) and for https (407 to CONNECT) alike.
        bad = "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, quoted + "x", proxy.port)
        for scheme, var in (("http", "HTTP_PROXY"), ("https", "HTTPS_PROXY")):
            before = len(proxy.requests())
            with Node(helpers, user_data({"default": {var: bad}})) as n:
                r = n.config(aws.env(AWS_ENDPOINT_URL="%s://%s:%d" % (scheme, AWS_HOST, aws.port)),
                             "--log-level=debug")
                check("%s, a proxy refusing the password: exit 6 after one request, naming %s and user data" % (
                      scheme, var), r.returncode == 6 and len(proxy.requests()) == before + 1 and
                      "spec.instance.environment.default: %s: the proxy answered HTTP 407" % var in r.stderr,
                      "%d %s %s" % (r.returncode, r.stderr, proxy.requests()))
                check("%s, a proxy refusing the password: the password is in no line" % scheme,
                      not [s for s in (PROXY_PASSWORD, quoted, "pa'ss") if s in r.stdout + r.stderr], r.stderr)


BIG_BODY = 50 << 20


def sent_bytes(proxy, more_than):
    """The sent=N of the proxy's refusals, once it has logged more than
    `more_than` of them (the proxy logs after the client hung up)."""
    sent = []
    for _ in range(500):
        sent = [int(x[-1][5:]) for x in proxy.requests() if x and x[-1].startswith("sent=")]
        if len(sent) > more_than:
            break
        subprocess.run(["sleep", "0.01"])
    return sent


def test_proxy_big_refusal(helpers):
    # A proxy streaming a 50 MB 407 body: libcurl read a CONNECT refusal's
    # body a byte per call without looking at the clock (68 s for a 6 s
    # deadline). Now the refusal is judged by its headers and the client
    # hangs up; a plain-http refusal's body is cut at 64 KiB.
    with harness.FakeProxy(refuse_body=BIG_BODY) as proxy, harness.FakeAws(bind=AWS_HOST) as aws:
        url = "http://127.0.0.1:%d" % proxy.port
        for scheme, var in (("https", "HTTPS_PROXY"), ("http", "HTTP_PROXY")):
            before = len(proxy.requests())
            with Node(helpers, user_data({"default": {var: url}}),
                      toml='[settings.aws]\ndeadline = "6s"\n') as n:
                r = n.config(aws.env(AWS_ENDPOINT_URL="%s://%s:%d" % (scheme, AWS_HOST, aws.port)))
                check("%s, a proxy streaming a 50 MB 407: exit 6 naming %s and user data" % (scheme, var),
                      r.returncode == 6 and
                      "spec.instance.environment.default: %s: the proxy answered HTTP 407" % var in r.stderr,
                      "%d %s" % (r.returncode, r.stderr))
                if scheme == "https":
                    m = re.search(r"\((\d+) bytes of headers read, its (\d+)-byte body left unread\)", r.stderr)
                    check("https, a proxy streaming a 50 MB 407: the CONNECT aborted after its headers",
                          m is not None and int(m.group(1)) <= 64 << 10 and int(m.group(2)) == BIG_BODY, r.stderr)
                sent = sent_bytes(proxy, before)[before:]
                check("%s, a proxy streaming a 50 MB 407: the client hung up long before its end" % scheme,
                      len(sent) == 1 and sent[0] < BIG_BODY // 2, "%s %s" % (sent, proxy.requests()))


def test_max_attempts(helpers):
    with harness.FakeAws(["--fault", "throttle:3"], bind=AWS_HOST) as aws:
        with Node(helpers, user_data({"default": {"AWS_MAX_ATTEMPTS": "1"}})) as n:
            r = n.config(aws.env())
            check("AWS_MAX_ATTEMPTS=1 in user data, throttled: exit 75 after one request",
                  r.returncode == 75 and len(aws.requests()) == 1, "%d %s %s" % (r.returncode, r.stderr,
                                                                                aws.requests()))
            # one request (above) and this line: the attempt limit ended it, not the 3 min deadline
            check("AWS_MAX_ATTEMPTS=1: says so, not the deadline",
                  "gave up at AWS_MAX_ATTEMPTS=1 (spec.instance.environment.default)" in r.stderr
                  and "settings.aws.deadline" not in r.stderr,
                  "%.1fs %s" % (r.took, r.stderr))
    with harness.FakeAws(["--fault", "throttle:3"], bind=AWS_HOST) as aws:
        with Node(helpers, user_data({"default": {"AWS_MAX_ATTEMPTS": "1"}})) as n:
            r = n.config(aws.env(AWS_MAX_ATTEMPTS="4"))
            check("AWS_MAX_ATTEMPTS=4 in the environment wins over user data's 1: answered on the 4th",
                  r.returncode == 0 and len(aws.requests()) == 4, "%s %s" % (r.stderr, aws.requests()))
    with harness.FakeAws(["--fault", "throttle:3"], bind=AWS_HOST) as aws:
        with Node(helpers, user_data({}), toml="[settings.aws]\nmaxAttempts = 2\n") as n:
            r = n.config(aws.env(AWS_MAX_ATTEMPTS="10"))
            check("settings.aws.maxAttempts = 2 wins over AWS_MAX_ATTEMPTS=10: exit 75 after 2 requests",
                  r.returncode == 75 and len(aws.requests()) == 2 and "settings.aws.maxAttempts=2" in r.stderr,
                  "%d %s %s" % (r.returncode, r.stderr, aws.requests()))
    with harness.FakeAws(bind=AWS_HOST) as aws:
        with Node(helpers, user_data({})) as n:
            r = n.config(aws.env(AWS_RETRY_MODE="sometimes"))
            check("AWS_RETRY_MODE=sometimes: exit 6 naming the variable and the environment",
                  r.returncode == 6 and "environment: AWS_RETRY_MODE: \"sometimes\" is not one of standard, "
                  "adaptive, legacy" in r.stderr and aws.requests() == [], "%d %s" % (r.returncode, r.stderr))
        with Node(helpers, user_data({"default": {"AWS_MAX_ATTEMPTS": "0"}})) as n:
            r = n.config(aws.env())
            check("AWS_MAX_ATTEMPTS=0 in user data: exit 6 naming the field and user data",
                  r.returncode == 6 and "spec.instance.environment.default.AWS_MAX_ATTEMPTS: \"0\"" in r.stderr,
                  "%d %s" % (r.returncode, r.stderr))


def test_huge_answer(helpers):
    # issue 58: an answer over 4 MiB through a proxy exits 75 naming the API, the endpoint and the proxy
    # (its variable and where it was set, never its value); before, exit 1 naming none of them
    with harness.FakeProxy() as proxy, harness.FakeAws(["--fault", "huge:100000"], bind=AWS_HOST) as aws:
        ud = user_data({"default": {"HTTP_PROXY": proxy.endpoint, "AWS_MAX_ATTEMPTS": "2"}})
        with Node(helpers, ud) as n:
            r = n.config(aws.env())
            errors = [line for line in r.stderr.splitlines() if "error:" in line]
            check("answers over 4 MiB through a proxy: exit 75 after 2 requests",
                  r.returncode == 75 and len(aws.requests()) == 2, "%d %s %s" % (r.returncode, r.stderr,
                                                                                aws.requests()))
            check("answers over 4 MiB through a proxy: the error names the API, endpoint, proxy and cap",
                  len(errors) == 1 and "ec2:DescribeInstances at %s" % aws.endpoint in errors[0]
                  and "through the proxy of HTTP_PROXY (spec.instance.environment.default)" in errors[0]
                  and "larger than 4194304 bytes" in errors[0], r.stderr)


def test_metadata_disabled(helpers):
    doc = json.dumps({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                      "AccessKeyId": harness.FakeAws.ACCESS_KEY, "SecretAccessKey": IMDS_SECRET, "Token": TOKEN,
                      "Expiration": "2099-01-01T00:00:00Z"})
    extra = ["--set", "meta-data/iam/security-credentials/%s=%s" % (ROLE, doc)]
    with harness.FakeAws(bind=AWS_HOST) as aws:
        with Node(helpers, user_data({"default": {"AWS_EC2_METADATA_DISABLED": "true"}}), imds_extra=extra) as n:
            before = len(n.imds.requests())
            r = n.config(aws.env(credentials=False))
            check("AWS_EC2_METADATA_DISABLED=true: no credentials asked of IMDS, no API call",
                  len(n.imds.requests()) == before and aws.requests() == [], n.imds.requests()[before:])
            check("AWS_EC2_METADATA_DISABLED=true, default strategy: IMDS local-hostname, with the reason",
                  r.returncode == 0 and "AWS_EC2_METADATA_DISABLED=true" in r.stderr and
                  (n.config_json() or {}).get("derived", {}).get("nodeName") == "ip-172-16-34-43.ec2.internal",
                  r.stderr)


def main():
    helpers, cli = sys.argv[1], sys.argv[2]
    test_http_proxy_from_user_data(helpers)
    test_scheme_decides(helpers)
    test_https_connects(helpers)
    test_no_proxy(helpers)
    test_process_environment_first(helpers)
    test_describe_cluster_and_completion(helpers, cli)
    test_imds_never_proxied(helpers)
    test_proxy_password(helpers)
    test_proxy_big_refusal(helpers)
    test_max_attempts(helpers)
    test_huge_answer(helpers)
    test_metadata_disabled(helpers)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
