#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake EC2 + EKS API endpoint on loopback that checks every request's
SigV4 signature with botocore (an implementation independent of ours) and
serves canned answers, with fault injection.

EC2 (Query API, POST / form body): DescribeInstances, DescribeInstanceTypes,
DescribeNetworkInterfaces (the --eni ENIs, by the filters mac-address and
attachment.instance-id, with their tags).
EKS (REST JSON): GET /clusters/NAME (DescribeCluster).
STS: GET /?Action=GetCallerIdentity&...&X-Amz-Signature=... (a presigned URL, as
the EKS authenticator sends the one in kubelet's token, with the x-k8s-aws-id
header set to its own cluster): the identity, as XML, or JSON when the request
accepts application/json (aws-iam-authenticator asks for JSON). A URL signed
more than 15 minutes ago (or ahead) gets 403 RequestExpired.

A request whose signature botocore does not reproduce gets 403
SignatureDoesNotMatch, as AWS answers (for a presigned URL, from its query:
credential scope, date, signed headers, security token). --no-verify skips the check (the VM
guest has no botocore). The faults: --help (--fault); how the VM tier uses them:
tests/vm/README.md, "Fault scenarios"."""

import argparse
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
# How long STS accepts a presigned GetCallerIdentity after its X-Amz-Date,
# whatever its X-Amz-Expires says (aws-iam-authenticator's token.go says so,
# and checks the same window itself).
PRESIGNED_WINDOW = 15 * 60


class Faults:
    def __init__(self, specs):
        self.throttle_left = 0
        self.throttle_action = "*"  # the action to throttle ("*" for all)
        self.status_code, self.status_left = 0, 0
        self.deny = None  # None, or the action to refuse ("*" for all)
        self.slow = 0.0
        self.empty_dns_left = 0
        self.rate = 0.0  # requests per second above which to throttle (fleet check)
        self.cluster_creating_left = 0
        self.huge_left = 0  # 200 answers of 4 MiB + 1 byte, one over eks-node's cap
        self.untagged_left = 0  # DescribeNetworkInterfaces answers that list ENIs without tags (tags lag)
        for spec in specs:
            name, _, arg = spec.partition(":")
            try:
                if name == "throttle":
                    count, _, action = arg.partition(":")
                    self.throttle_left = int(count)
                    self.throttle_action = action or "*"
                elif name == "status":
                    code, count = arg.split(":")
                    self.status_code, self.status_left = int(code), int(count)
                elif name == "deny":
                    self.deny = arg or "*"
                elif name == "slow":
                    self.slow = int(arg) / 1000.0
                elif name == "empty-dns":
                    self.empty_dns_left = int(arg)
                elif name == "rate":
                    self.rate = float(arg)
                elif name == "huge":
                    self.huge_left = int(arg)
                elif name == "creating":
                    self.cluster_creating_left = int(arg)
                elif name == "untagged":
                    self.untagged_left = int(arg)
                else:
                    raise ValueError
            except ValueError:
                raise SystemExit("fake_aws: bad --fault %r" % spec)


def read_fault_file(path):
    """Fault specs from FILE: separated by white space or lines; # comments."""
    try:
        with open(path) as f:
            return [w for line in f for w in line.split("#", 1)[0].split()]
    except FileNotFoundError:
        return []


class State:
    def __init__(self, args):
        self.args = args
        self.faults = Faults(args.fault + (read_fault_file(args.fault_file) if args.fault_file else []))
        self.lock = threading.Lock()
        self.log = open(args.log, "a") if args.log else None
        self.window = []  # request times within the last second, for --fault rate
        self.types = {}
        for t in args.instance_type:
            name, enis, ips = t.split(":")
            self.types[name] = (int(enis), int(ips))
        self.clusters = {}
        for c in args.cluster:
            name, endpoint, ca, cidr = c.split(",", 3)
            self.clusters[name] = (endpoint, ca, cidr)
        self.enis = {}  # MAC -> (ENI ID, {tag: value}), all attached to --instance-id
        for e in args.eni:
            mac, eni_id, *tags = e.split(",")
            self.enis[mac.lower()] = (eni_id, dict(t.split("=", 1) for t in tags))
        self.verifier = None if args.no_verify else Verifier(args)

    def record(self, line):
        if self.log:
            with self.lock:
                self.log.write(line + "\n")
                self.log.flush()

    def reload_faults(self):
        """SIGHUP: the faults of --fault-file replace the current ones, counters
        start again; then FILE.applied says what applies (or why nothing changed)."""
        specs = read_fault_file(self.args.fault_file)
        try:
            faults = Faults(specs)
            with self.lock:
                self.faults = faults
                self.window = []
            result = "applied: %s\n" % " ".join(specs)
        except SystemExit as e:
            result = "error: %s\n" % e
        tmp = "%s.applied.%d.tmp" % (self.args.fault_file, os.getpid())
        with open(tmp, "w") as f:
            f.write(result)
        os.rename(tmp, self.args.fault_file + ".applied")

    def take(self, attr):
        with self.lock:
            left = getattr(self.faults, attr)
            if left > 0:
                setattr(self.faults, attr, left - 1)
                return True
            return False

    def over_rate(self):
        if not self.faults.rate:
            return False
        now = time.monotonic()
        with self.lock:
            self.window = [t for t in self.window if now - t < 1.0]
            if len(self.window) >= self.faults.rate:
                return True
            self.window.append(now)
            return False


class Verifier:
    """Recomputes the signature with botocore from what arrived."""

    def __init__(self, args):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        self.SigV4Auth, self.AWSRequest, self.Credentials = SigV4Auth, AWSRequest, Credentials
        self.args = args

    def check(self, method, path, headers, body):
        """'' when the signature is right, else what is wrong."""
        auth = headers.get("Authorization", "")
        m = AUTH_RE.match(auth)
        if not m:
            return "no or malformed Authorization header"
        key_id, day, region, service, signed, signature = m.groups()
        if key_id != self.args.access_key:
            return "unknown access key id"
        if region != self.args.region:
            return "region %s, expected %s" % (region, self.args.region)
        amz_date = headers.get("X-Amz-Date", "")
        if not amz_date.startswith(day):
            return "X-Amz-Date does not match the credential scope"
        token = headers.get("X-Amz-Security-Token")
        if (self.args.token or None) != token:
            return "wrong or missing X-Amz-Security-Token"
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return "host and x-amz-date must be signed"
        if token and "x-amz-security-token" not in names:
            return "the security token must be signed"
        lower = {k.lower(): v for k, v in headers.items()}
        req = self.AWSRequest(method=method, url="http://%s%s" % (lower.get("host", ""), path), data=body)
        for n in names:
            if n not in lower:
                return "signed header %s is missing" % n
            req.headers[n] = lower[n]
        req.context["timestamp"] = amz_date
        signer = self.SigV4Auth(self.Credentials(self.args.access_key, self.args.secret_key, token), service, region)
        # Only the headers the client signed, as AWS does.
        signer.headers_to_sign = lambda r: _header_map(names, lower)
        creq = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, creq), req)
        return "" if expected == signature else "signature mismatch"


    def check_presigned(self, path, headers, now=None):
        """('', '') when the presigned URL's signature is right and it is
        within its window, else (error code, what is wrong)."""
        import calendar
        url = urllib.parse.urlsplit(path)
        pairs = [p.partition("=")[::2] for p in url.query.split("&") if p]
        params = {}
        for k, v in pairs:
            k, v = urllib.parse.unquote(k), urllib.parse.unquote(v)
            if k in params:
                return "SignatureDoesNotMatch", "query parameter %s twice" % k
            params[k] = v
        signature = params.pop("X-Amz-Signature", "")
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            return "SignatureDoesNotMatch", "X-Amz-Algorithm is not AWS4-HMAC-SHA256"
        scope = params.get("X-Amz-Credential", "").split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            return "SignatureDoesNotMatch", "malformed X-Amz-Credential"
        key_id, day, region, service = scope[:4]
        if key_id != self.args.access_key:
            return "InvalidClientTokenId", "unknown access key id"
        if region != self.args.region or service != "sts":
            return "SignatureDoesNotMatch", "scope %s/%s, expected %s/sts" % (region, service, self.args.region)
        amz_date = params.get("X-Amz-Date", "")
        if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or not amz_date.startswith(day):
            return "SignatureDoesNotMatch", "X-Amz-Date missing or not the credential scope's day"
        token = params.get("X-Amz-Security-Token")
        if (self.args.token or None) != token:
            return "InvalidClientTokenId", "wrong or missing X-Amz-Security-Token"
        names = params.get("X-Amz-SignedHeaders", "").split(";")
        if "host" not in names:
            return "SignatureDoesNotMatch", "host must be signed"
        lower = {k.lower(): v for k, v in headers.items()}
        for n in names:
            if n not in lower:
                return "SignatureDoesNotMatch", "signed header %s is missing" % n
        # botocore encodes and sorts the parameters itself (_canonical_query_string_params)
        req = self.AWSRequest(method="GET", url="https://%s%s" % (lower["host"], url.path), params=params)
        req.context["timestamp"] = amz_date
        signer = self.SigV4Auth(self.Credentials(self.args.access_key, self.args.secret_key, token), service, region)
        signer.headers_to_sign = lambda r: _header_map(names, lower)
        expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        if expected != signature:
            return "SignatureDoesNotMatch", "signature mismatch"
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        now = time.time() if now is None else now
        if abs(now - signed_at) > PRESIGNED_WINDOW:
            return "RequestExpired", "signed at %s, %d s from now" % (amz_date, now - signed_at)
        return "", ""


def _header_map(names, lower):
    from botocore.awsrequest import HTTPHeaders
    h = HTTPHeaders()
    for n in names:
        h[n] = lower[n]
    return h


def ec2_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s</Message>'
            '</Error></Errors><RequestID>fake</RequestID></Response>' % (code, message)).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2-fake"
    sys_version = ""
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002
        pass

    @property
    def state(self):
        return self.server.state

    def send(self, code, body, ctype, headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path
        if self.command == "POST" and path == "/":
            service = "ec2"
            form = dict(urllib.parse.parse_qsl(body.decode()))
            action = form.get("Action", "?")
        elif self.command == "GET" and path.startswith("/clusters/"):
            service, form, action = "eks", {}, "DescribeCluster"
        elif self.command == "GET" and urllib.parse.urlsplit(path).path == "/" and "X-Amz-Signature=" in path:
            service = "sts"
            form = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
            action = form.get("Action", "?")
        else:
            self.state.record("%s %s 404 -" % (self.command, path))
            return self.send(404, b"not found", "text/plain")
        st = self.state
        sig = "unchecked"
        if st.verifier and service == "sts":
            code, problem = st.verifier.check_presigned(path, dict(self.headers.items()))
            sig = "sig-ok" if code in ("", "RequestExpired") else "sig-bad"
            if problem:
                st.record("%s 403 %s %s" % (action, sig, problem.replace(" ", "_")))
                return self.error(service, 403, code, {
                    "RequestExpired": "Request has expired.",
                    "InvalidClientTokenId": "The security token included in the request is invalid."}.get(
                        code, "The request signature we calculated does not match the signature you provided."
                    ) + " (%s)" % problem)
        elif st.verifier:
            problem = st.verifier.check(self.command, path, dict(self.headers.items()), body)
            sig = "sig-ok" if not problem else "sig-bad"
            if problem:
                st.record("%s 403 %s %s" % (action, sig, problem.replace(" ", "_")))
                return self.error(service, 403, "SignatureDoesNotMatch", "The request signature we calculated does "
                                  "not match the signature you provided (%s)" % problem)
        if st.faults.slow:
            time.sleep(st.faults.slow)
        if st.over_rate() or (st.faults.throttle_action in ("*", action) and st.take("throttle_left")):
            if service == "ec2":
                st.record("%s 503 %s throttled" % (action, sig))
                return self.error(service, 503, "RequestLimitExceeded", "Request limit exceeded.")
            if service == "sts":
                st.record("%s 400 %s throttled" % (action, sig))
                return self.error(service, 400, "Throttling", "Rate exceeded")
            st.record("%s 429 %s throttled" % (action, sig))
            return self.error(service, 429, "ThrottlingException", "Rate exceeded")
        if st.take("huge_left"):
            st.record("%s 200 %s huge" % (action, sig))
            return self.send(200, b" " * ((4 << 20) + 1), "text/xml" if service == "ec2" else "application/json")
        if st.take("status_left"):
            st.record("%s %d %s fault" % (action, st.faults.status_code, sig))
            return self.error(service, st.faults.status_code, "InternalError", "An internal error has occurred")
        if st.faults.deny in ("*", action):
            st.record("%s 403 %s denied" % (action, sig))
            if service == "ec2":
                return self.error(service, 403, "UnauthorizedOperation",
                                  "You are not authorized to perform this operation.")
            return self.error(service, 403, "AccessDeniedException", "User is not authorized to perform eks:%s" % action)
        getattr(self, "do_" + action.replace("Describe", "describe_").lower(), self.unknown)(form, path, sig, action)

    def error(self, service, code, err, message):
        if service == "sts":
            if self.wants_json():
                body = json.dumps({"Error": {"Code": err, "Message": message, "Type": "Sender"},
                                   "RequestId": "fake"}).encode()
                return self.send(code, body, "application/json")
            xml = ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message>'
                   '</Error><RequestId>fake</RequestId></ErrorResponse>' % (STS_NS, err, message))
            return self.send(code, xml.encode(), "text/xml")
        if service == "ec2":
            return self.send(code, ec2_error(err, message), "text/xml;charset=UTF-8")
        return self.send(code, json.dumps({"message": message}).encode(), "application/json",
                         [("x-amzn-ErrorType", err + ":http://internal.amazon.com/")])

    def unknown(self, form, path, sig, action):
        self.state.record("%s 400 %s unknown-action" % (action, sig))
        self.error("ec2", 400, "InvalidAction", "unknown action")

    def do_describe_instances(self, form, path, sig, action):
        iid = form.get("InstanceId.1", "")
        if iid != self.state.args.instance_id:
            self.state.record("%s 400 %s %s" % (action, sig, iid))
            return self.error("ec2", 400, "InvalidInstanceID.Malformed", "Invalid id: \"%s\"" % iid)
        name = "" if self.state.take("empty_dns_left") else self.state.args.private_dns_name
        self.state.record("%s 200 %s %s" % (action, sig, iid))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="%s"><requestId>fake'
               '</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item>'
               '<instanceId>%s</instanceId><privateDnsName>%s</privateDnsName><dnsName/></item></instancesSet>'
               '</item></reservationSet></DescribeInstancesResponse>' % (EC2_NS, iid, name))
        self.send(200, xml.encode(), "text/xml;charset=UTF-8")

    def do_describe_instancetypes(self, form, path, sig, action):
        t = form.get("InstanceType.1", "")
        self.state.record("%s 200 %s %s" % (action, sig, t))
        item = ""
        if t in self.state.types:
            enis, ips = self.state.types[t]
            item = ('<item><instanceType>%s</instanceType><networkInfo><maximumNetworkInterfaces>%d'
                    '</maximumNetworkInterfaces><ipv4AddressesPerInterface>%d</ipv4AddressesPerInterface>'
                    '<defaultNetworkCardIndex>0</defaultNetworkCardIndex><networkCards><item><networkCardIndex>0'
                    '</networkCardIndex><maximumNetworkInterfaces>%d</maximumNetworkInterfaces></item>'
                    '</networkCards></networkInfo></item>' % (t, enis, ips, enis))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstanceTypesResponse xmlns="%s"><requestId>fake'
               '</requestId><instanceTypeSet>%s</instanceTypeSet></DescribeInstanceTypesResponse>' % (EC2_NS, item))
        self.send(200, xml.encode(), "text/xml;charset=UTF-8")

    def do_describe_networkinterfaces(self, form, path, sig, action):
        # Filter.N.Name / Filter.N.Value.M, as the Query API spells filters
        filters = {}
        for k, v in form.items():
            m = re.fullmatch(r"Filter\.(\d+)\.Name", k)
            if m:
                filters[v] = {form[x] for x in form if x.startswith("Filter.%s.Value." % m.group(1))}
        macs = filters.get("mac-address")
        owners = filters.get("attachment.instance-id")
        untagged = self.state.take("untagged_left")
        items = ""
        for mac, (eni_id, tags) in sorted(self.state.enis.items()):
            if macs is not None and mac not in macs:
                continue
            if owners is not None and self.state.args.instance_id not in owners:
                continue
            tag_xml = "" if untagged else "".join(
                "<item><key>%s</key><value>%s</value></item>" % (k, v) for k, v in sorted(tags.items()))
            items += ("<item><networkInterfaceId>%s</networkInterfaceId><macAddress>%s</macAddress><attachment>"
                      "<instanceId>%s</instanceId></attachment><tagSet>%s</tagSet></item>"
                      % (eni_id, mac, self.state.args.instance_id, tag_xml))
        self.state.record("%s 200 %s %s%s" % (action, sig, ",".join(sorted(macs or ["*"])),
                                              " untagged" if untagged else ""))
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeNetworkInterfacesResponse xmlns="%s"><requestId>'
               'fake</requestId><networkInterfaceSet>%s</networkInterfaceSet></DescribeNetworkInterfacesResponse>'
               % (EC2_NS, items))
        self.send(200, xml.encode(), "text/xml;charset=UTF-8")

    def wants_json(self):
        return "application/json" in self.headers.get("Accept", "")

    def do_getcalleridentity(self, form, path, sig, action):
        a = self.state.args
        cluster = self.headers.get("x-k8s-aws-id", "")
        self.state.record("%s 200 %s %s" % (action, sig, cluster or "-"))
        if a.token:  # temporary credentials: the instance profile's role session
            arn, user = ("arn:aws:sts::%s:assumed-role/%s/%s" % (a.account, a.role, a.instance_id),
                         "AROAFAKEEKSNODEROLE:%s" % a.instance_id)
        else:
            arn, user = "arn:aws:iam::%s:user/eks-node-test" % a.account, "AIDAFAKEEKSNODEUSER"
        result = {"Account": a.account, "Arn": arn, "UserId": user}
        if self.wants_json():
            body = json.dumps({"GetCallerIdentityResponse": {"GetCallerIdentityResult": result,
                                                             "ResponseMetadata": {"RequestId": "fake"}}})
            return self.send(200, body.encode(), "application/json")
        xml = ('<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId>'
               '<Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake</RequestId>'
               '</ResponseMetadata></GetCallerIdentityResponse>' % (STS_NS, arn, user, a.account))
        self.send(200, xml.encode(), "text/xml")

    def do_describe_cluster(self, form, path, sig, action):
        name = urllib.parse.unquote(path[len("/clusters/"):])
        if name not in self.state.clusters:
            self.state.record("%s 404 %s %s" % (action, sig, name))
            return self.error("eks", 404, "ResourceNotFoundException", "No cluster found for name: %s." % name)
        endpoint, ca, cidr = self.state.clusters[name]
        creating = self.state.take("cluster_creating_left")
        self.state.record("%s 200 %s %s" % (action, sig, name))
        cluster = {"name": name, "status": "CREATING" if creating else "ACTIVE",
                   "endpoint": "" if creating else endpoint,
                   "certificateAuthority": {"data": "" if creating else ca},
                   "kubernetesNetworkConfig": {"ipFamily": "ipv6" if ":" in cidr else "ipv4",
                                               ("serviceIpv6Cidr" if ":" in cidr else "serviceIpv4Cidr"): cidr}}
        self.send(200, json.dumps({"cluster": cluster}).encode(), "application/json")

    do_GET = do_POST = handle_any


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--log", help="append one line per request: ACTION STATUS sig-ok|sig-bad|unchecked NOTE")
    p.add_argument("--region", default="us-west-2")
    p.add_argument("--access-key", default="AKIDFAKEEKSNODE")
    p.add_argument("--secret-key", default="fake/secret/key/for/tests")
    p.add_argument("--token", default="", help="expected X-Amz-Security-Token ('' for none)")
    p.add_argument("--instance-id", default="i-1234567890abcdef0")
    p.add_argument("--account", default="111122223333", help="STS GetCallerIdentity's account")
    p.add_argument("--role", default="eks-node-role", help="STS GetCallerIdentity's role, for temporary credentials")
    p.add_argument("--private-dns-name", default="ip-172-16-34-43.us-west-2.compute.internal")
    p.add_argument("--instance-type", action="append", default=[], metavar="TYPE:ENIS:IPS")
    p.add_argument("--cluster", action="append", default=[], metavar="NAME,ENDPOINT,CA_BASE64,CIDR")
    p.add_argument("--eni", action="append", default=[], metavar="MAC,ENI_ID[,KEY=VALUE...]",
                   help="an ENI attached to --instance-id, with its tags")
    p.add_argument("--fault", action="append", default=[],
                   help="throttle:N[:ACTION], status:CODE:N, deny[:ACTION], slow:MS, empty-dns:N, creating:N, huge:N, "
                        "rate:PER_SECOND, untagged:N")
    p.add_argument("--fault-file", metavar="FILE",
                   help="more faults, one per line; SIGHUP re-reads FILE, replaces the faults and writes FILE.applied")
    p.add_argument("--no-verify", action="store_true", help="do not check signatures (no botocore)")
    args = p.parse_args()
    state = State(args)
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    server.state = state
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.fault_file:
        signal.signal(signal.SIGHUP, lambda *_: state.reload_faults())
    random.seed()
    server.serve_forever()


if __name__ == "__main__":
    main()
