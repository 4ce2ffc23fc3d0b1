#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: tests/bench/fast-imds answers as tests/fake-imds/fake_imds.py does.
Both serve the conformance instance and one user data file; every path the data
serves, every directory listing (with and without its slash, under /latest/ and
each dated version), 404s, a missing or wrong token, token PUTs with a missing
or bad TTL and the other methods go to both over one keep-alive connection
each. Status, body (byte for byte) and the TTL header must match, and each
fake's request log must hold the same line per request: the join benchmark
counts requests from it. Not compared: the fault injection, and with it
/elsewhere/..., where fake_imds.py's redirect fault points (fast-imds: 404).

Usage: fast_imds.py FAST_IMDS_BINARY"""

import http.client
import json
import pathlib
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
TOKEN = "fixed-token-so-bodies-compare"
TTL = "X-aws-ec2-metadata-token-ttl-seconds"
VERSIONS = ("2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23", "2021-07-15")


class FastImds(harness._FakeServer):
    def __init__(self, binary, data, user_data, extra=()):
        cmd = [str(binary), "--data", str(data), "--user-data", str(user_data), *extra]
        self._start("fast IMDS", "eksnode-fast-imds-", cmd, 500)


def requests():
    """[(method, path, headers)]: everything an IMDS client can ask, and then some."""
    data = json.loads(harness.CONFORMANCE_INSTANCE.read_text())
    keys = [k.strip("/") for k in data if not k.startswith("_")] + ["user-data"]
    dirs = {""}
    for k in keys:
        parts = k.split("/")
        dirs |= {"/".join(parts[:i]) for i in range(1, len(parts))}
    paths = ["/", "/latest", "/latest/", "/latest/nope", "/latest/meta-data/nope/", "/nope",
             "/1999-01-01/meta-data/", "/latest/meta-data/instance-id?x=1", "//latest/meta-data/mac",
             "/latest//meta-data/mac", "/latest/meta-data/instance-id/", "/latest/meta-data/instance-idx"]
    for prefix in ["/latest"] + ["/" + v for v in VERSIONS]:
        paths.append(prefix)
        paths += [prefix + "/" + k for k in keys]
        paths += [prefix + "/" + d + "/" for d in sorted(dirs) if d]
        paths += [prefix + "/" + d for d in sorted(dirs) if d]
    paths = list(dict.fromkeys(paths))  # "/latest" is in both lists
    auth = {"X-aws-ec2-metadata-token": TOKEN}
    out = [("PUT", "/latest/api/token", {TTL: "21600"})]
    out += [("GET", p, auth) for p in paths]
    out += [("HEAD", "/latest/meta-data/instance-id", auth), ("HEAD", "/latest/nope", auth)]
    out += [("GET", "/latest/meta-data/instance-id", {}),
            ("GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": "wrong"}),
            ("GET", "/", {}),
            ("PUT", "/latest/api/token", {}),
            ("PUT", "/latest/api/token", {TTL: "0"}),
            ("PUT", "/latest/api/token", {TTL: "21601"}),
            ("PUT", "/latest/api/token", {TTL: "ten"}),
            ("PUT", "/latest/api/token", {TTL: " 1_0 "}),
            ("PUT", "/latest/api/token", {TTL: "60", "X-Forwarded-For": "10.0.0.1"}),
            ("PUT", "/latest/api/token?x", {TTL: "60"}),
            ("PUT", "/latest/meta-data/instance-id", {TTL: "60"}),
            ("POST", "/latest/api/token", {TTL: "60"}),
            ("DELETE", "/latest/meta-data/instance-id", auth),
            ("GET", "/latest/meta-data/instance-id", auth)]
    return out


def ask(conn, method, path, headers):
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    return r.status, r.read(), r.getheader(TTL), r.getheader("Content-Type")


def main():
    binary = pathlib.Path(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="eksnode-fast-imds-test.") as tmp:
        user_data = pathlib.Path(tmp) / "user-data"
        # bytes that are not UTF-8 and a NUL: served byte for byte
        user_data.write_bytes(b"#!/bin/bash\necho \xff\x00 done\n")
        reqs = requests()
        with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data, extra=["--token", TOKEN]) as py, \
                FastImds(binary, harness.CONFORMANCE_INSTANCE, user_data, ["--token", TOKEN]) as fast:
            conns = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=10) for s in (py, fast)]
            for c in conns:
                c.connect()
            socks = [c.sock for c in conns]
            for method, path, headers in reqs:
                want, got = (ask(c, method, path, headers) for c in conns)
                check("%s %s %s" % (method, path, sorted(headers.items())), want == got,
                      "fake_imds.py %r, fast-imds %r" % (want, got))
            # eks-node's client reuses one connection: so does IMDS, so must the fake
            check("one keep-alive connection for all %d requests" % len(reqs), conns[1].sock is socks[1])
            for c in conns:
                c.close()
            logs = [py.requests(), fast.requests()]
        check("request log: one line per request", len(logs[1]) == len(reqs), "%d lines" % len(logs[1]))
        diff = [(a, b) for a, b in zip(*logs) if a != b]
        check("request log: the lines fake_imds.py writes", logs[0] == logs[1],
              "first differences: %r" % diff[:5])

        # IPv6, a random token per PUT (as token_urlsafe(42) makes it), exit codes
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
            v6 = True
        except OSError:
            v6 = False
        if v6:
            binds = ["--bind", "127.0.0.1", "--bind", "::1"]
            with FastImds(binary, harness.CONFORMANCE_INSTANCE, user_data, binds) as f:
                c = http.client.HTTPConnection("::1", f.port, timeout=10)
                status, token, ttl, _ = ask(c, "PUT", "/latest/api/token", {TTL: "60"})
                check("IPv6: token PUT", status == 200 and ttl == "60" and len(token) == 56
                      and all(ch in b"-_" or chr(ch).isalnum() for ch in token), (status, token, ttl))
                status, body, _, _ = ask(c, "GET", "/latest/meta-data/instance-id",
                                         {"X-aws-ec2-metadata-token": token.decode()})
                check("IPv6: GET with that token", (status, body) == (200, b"i-1234567890abcdef0"), (status, body))
                c4 = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
                check("IPv4 on the same port", ask(c4, "GET", "/", {})[0] == 401)
        else:
            print("skip IPv6: no ::1 here")
        r = subprocess.run([str(binary), "--fault", "down"], capture_output=True, timeout=10)
        check("an unknown option (--fault) exits 2", r.returncode == 2, r)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
