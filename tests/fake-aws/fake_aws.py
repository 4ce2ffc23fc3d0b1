#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake EC2 + EKS API endpoint on loopback that checks every request's
SigV4 signature with botocore (an implementation independent of ours) and
serves canned answers, with fault injection.

EC2 (Query API, POST / form body): DescribeInstances, DescribeInstanceTypes.
EKS (REST JSON): GET /clusters/NAME (DescribeCluster).

A request whose signature botocore does not reproduce gets 403
SignatureDoesNotMatch, as AWS answers. --no-verify skips the check (the VM
guest has no botocore). See README.md for the faults."""

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
                elif name == "creating":
                    self.cluster_creating_left = int(arg)
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
        else:
            self.state.record("%s %s 404 -" % (self.command, path))
            return self.send(404, b"not found", "text/plain")
        st = self.state
        sig = "unchecked"
        if st.verifier:
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
            st.record("%s 429 %s throttled" % (action, sig))
            return self.error(service, 429, "ThrottlingException", "Rate exceeded")
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
    p.add_argument("--private-dns-name", default="ip-172-16-34-43.us-west-2.compute.internal")
    p.add_argument("--instance-type", action="append", default=[], metavar="TYPE:ENIS:IPS")
    p.add_argument("--cluster", action="append", default=[], metavar="NAME,ENDPOINT,CA_BASE64,CIDR")
    p.add_argument("--fault", action="append", default=[],
                   help="throttle:N[:ACTION], status:CODE:N, deny[:ACTION], slow:MS, empty-dns:N, creating:N, "
                        "rate:PER_SECOND")
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
