#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: the fake IMDS itself (tests/fake-imds/README.md), over loopback: its answers, its
request log, each option and each fault once. The other tests trust it to misbehave exactly as
told; this one holds it to that. No time is asserted, except lower bounds (slow:MS may not
answer sooner), which no slow machine can break.

Usage: fake_imds.py FAKE_IMDS_BINARY"""

import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
TTL = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "fixed-token"
AUTH = {"X-aws-ec2-metadata-token": TOKEN}
ID = "/latest/meta-data/instance-id"
DATA = json.loads(harness.CONFORMANCE_INSTANCE.read_text())


def fake(*extra, data=harness.CONFORMANCE_INSTANCE):
    return harness.FakeImds(data, extra=["--token", TOKEN, *extra])


def ask(conn, method, path, headers=None):
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.read(), r


def raw(port, request, limit=1 << 20, half_close=False):
    """Sends `request` on a fresh connection (half_close: then shuts its sending side) and reads
    until the server closes it: (bytes, pieces)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out, pieces = b"", 0
        while len(out) < limit:
            try:
                got = s.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            out, pieces = out + got, pieces + 1
        return out, pieces


def put_token(imds):
    """The fixed token made live (the fakes here issue TOKEN to every PUT); the PUT's status."""
    c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
    status = ask(c, "PUT", "/latest/api/token", {TTL: "60"})[0]
    c.close()
    return status


def get_request(path, close=True):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token: %s\r\n%s\r\n"
            % (path, TOKEN, "Connection: close\r\n" if close else "")).encode()


def head_and_body(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return lines[0], headers, body


def served(imds):
    """The log as lists of words, without the token requests each case starts with."""
    return [r for r in imds.requests() if r[:2] != ["PUT", "/latest/api/token"]]


def answers(tmp):
    """What it serves, over one kept-alive connection, and the log line of each request."""
    data = dict(DATA, _comment="ignored", **{"meta-data/tags/instance": {"Name": "n", "Team": "t"}})
    (tmp / "imds.json").write_text(json.dumps(data))
    (tmp / "raw").write_bytes(b"a\x00b\xffc")
    (tmp / "ud").write_bytes(b"#!/bin/bash\necho \xfe\n")
    with fake("--set", "meta-data/extra/one=1", "--set-file", "meta-data/raw=%s" % (tmp / "raw"),
              "--unset", "meta-data/mac", "--user-data", str(tmp / "ud"), data=tmp / "imds.json") as imds:
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        cases = [  # method, path, headers, status, body (None: not compared)
            ("PUT", "/latest/api/token", {TTL: "60"}, 200, TOKEN.encode()),
            ("GET", ID, AUTH, 200, DATA["meta-data/instance-id"].encode()),
            ("GET", "/2021-03-23/meta-data/instance-id", AUTH, 200, DATA["meta-data/instance-id"].encode()),
            ("GET", ID + "?x=1", AUTH, 200, DATA["meta-data/instance-id"].encode()),
            ("GET", "/latest/meta-data/extra", AUTH, 200, b"one"),
            ("GET", "/latest/meta-data/extra/", AUTH, 200, b"one"),
            ("GET", "/latest/meta-data/extra/one", AUTH, 200, b"1"),
            ("GET", "/latest/meta-data/raw", AUTH, 200, b"a\x00b\xffc"),
            ("GET", "/latest/meta-data/tags/instance", AUTH, 200, b'{\n  "Name": "n",\n  "Team": "t"\n}'),
            ("GET", "/latest/user-data", AUTH, 200, b"#!/bin/bash\necho \xfe\n"),
            ("GET", "/latest/meta-data/mac", AUTH, 404, None),
            ("GET", "/latest/_comment", AUTH, 404, None),
            ("GET", "/", AUTH, 200, b"2009-04-04\n2016-09-02\n2018-09-24\n2021-03-23\n2021-07-15\nlatest"),
            ("GET", "/latest", AUTH, 200, b"dynamic\nmeta-data\nuser-data"),
            ("HEAD", ID, AUTH, 200, b""),
            ("GET", ID, {}, 401, None),
            ("GET", ID, {"X-aws-ec2-metadata-token": "wrong"}, 401, None),
            ("PUT", "/latest/api/token", {}, 400, None),
            ("PUT", "/latest/api/token", {TTL: "21601"}, 400, None),
            ("PUT", "/latest/api/token", {TTL: "60", "X-Forwarded-For": "10.0.0.1"}, 403, None),
            ("PUT", ID, {TTL: "60"}, 405, None),
            ("POST", "/latest/api/token", {TTL: "60"}, 405, None),
        ]
        c.connect()
        sock = c.sock
        for method, path, headers, status, body in cases:
            got_status, got_body, r = ask(c, method, path, headers)
            ok = got_status == status and (body is None or got_body == body)
            check("%s %s %s: %d" % (method, path, sorted(headers), status), ok, (got_status, got_body))
            # the line is there when the answer is: written before it was sent
            last = imds.requests()[-1]
            check("  logged before the answer", last == [method, path, str(status)], last)
            if method == "PUT" and status == 200:
                check("  the TTL comes back", r.getheader(TTL) == "60", r.getheader(TTL))
        check("one kept-alive connection for all %d requests" % len(cases), c.sock is sock)
        got = raw(imds.port, get_request(ID))[0]
        check("Connection: close is honoured", got.endswith(DATA["meta-data/instance-id"].encode()), got[-80:])
        got = raw(imds.port, get_request(ID, close=False) * 2, half_close=True)[0]
        check("a client done sending gets both its answers, then the connection closes",
              got.count(b"HTTP/1.1 200 OK\r\n") == 2, got[-80:])
        check("the port file holds the port, one line",
              pathlib.Path(imds.dir, "port").read_text() == "%d\n" % imds.port)
        imds.proc.send_signal(signal.SIGTERM)
        check("SIGTERM: exit 0", imds.proc.wait(timeout=20) == 0, imds.proc.returncode)


def tokens():
    """A fresh random token per PUT, and token-expire:N."""
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, extra=["--fault", "token-expire:1"]) as imds:
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        one, two = (ask(c, "PUT", "/latest/api/token", {TTL: "60"})[1] for _ in range(2))
        alphabet = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        check("random tokens: 56 characters of base64url, a new one each time",
              len(one) == 56 and set(one) <= alphabet and one != two, (one, two))
        auth = {"X-aws-ec2-metadata-token": two.decode()}
        statuses = [ask(c, "GET", ID, auth)[0] for _ in range(2)]
        check("token-expire:1: the second authorised GET is refused", statuses == [200, 401], statuses)
        check("  and the token stays forgotten", ask(c, "GET", ID, auth)[0] == 401)
        new = {"X-aws-ec2-metadata-token": ask(c, "PUT", "/latest/api/token", {TTL: "60"})[1].decode()}
        check("  a new token works, from then on", [ask(c, "GET", ID, new)[0] for _ in range(3)] == [200] * 3)


def ipv6():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        print("skip IPv6: no ::1 here")
        return
    with fake("--bind", "::1", "--bind", "127.0.0.1") as imds:
        for host in ("::1", "127.0.0.1"):
            c = http.client.HTTPConnection(host, imds.port, timeout=20)
            check("--bind twice, one port: %s" % host, ask(c, "PUT", "/latest/api/token", {TTL: "60"})[0] == 200)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=20).close()
        return False
    except ConnectionRefusedError:
        return True


def start_faults():
    with fake("--fault", "down") as imds:
        check("down: bound (the port file is there) and every connection refused",
              refused(imds.port) and imds.proc.poll() is None)
    # the port file comes at once; the server listens an hour later (no test waits that long)
    with fake("--fault", "late:3600") as imds:
        check("late:S: the port file at once, connections refused meanwhile", refused(imds.port))
    with fake("--fault", "late:0.5") as imds:
        end = time.monotonic() + 30  # a hang guard, not a budget
        while refused(imds.port) and time.monotonic() < end:
            time.sleep(0.05)
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        check("late:S: then served", ask(c, "PUT", "/latest/api/token", {TTL: "60"})[0] == 200)


def counted_faults():
    with fake("--fault", "status:500:2:GET") as imds:
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        statuses = [ask(c, *req)[0] for req in [("PUT", "/latest/api/token", {TTL: "60"})] + [("GET", ID, AUTH)] * 3]
        check("status:500:2:GET: the token, then two GETs 500, then 200", statuses == [200, 500, 500, 200], statuses)
    with fake("--fault", "redirect:1:308:GET") as imds:
        check("redirect:1:308:GET: a PUT is not redirected", put_token(imds) == 200)
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        status, _, r = ask(c, "GET", ID, dict(AUTH, Host="169.254.169.254"))
        where = "http://169.254.169.254/elsewhere" + ID
        check("redirect:1:308:GET: 308 to /elsewhere on the request's host",
              status == 308 and r.getheader("Location") == where, (status, r.getheader("Location")))
        status, body, _ = ask(c, "GET", "/elsewhere" + ID)
        check("a client that follows is answered", (status, body) == (200, b"you followed a redirect"))
        check("  and logged as following", served(imds)[-1] == ["GET", "/elsewhere" + ID, "200", "followed-redirect"],
              served(imds))
        check("  once only", ask(c, "GET", ID, AUTH)[0] == 200)
    with fake("--fault", "hangup:1") as imds:
        check("hangup:1: read, closed, no answer", raw(imds.port, get_request(ID))[0] == b"")
        check("  logged as a hangup", served(imds) == [["GET", ID, "-", "hangup"]], served(imds))
        put_token(imds)
        check("  once", raw(imds.port, get_request(ID))[0].startswith(b"HTTP/1.1 200 OK\r\n"))
    with fake("--fault", "garbage:1") as imds:
        got = raw(imds.port, get_request(ID, close=False))[0]
        check("garbage:1: a line that is no HTTP, then closed", got == b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", got)
        check("  logged as garbage", served(imds) == [["GET", ID, "-", "garbage"]], served(imds))
    with fake("--fault", "truncate:1") as imds:
        put_token(imds)
        status, headers, body = head_and_body(raw(imds.port, get_request(ID, close=False))[0])
        value = DATA["meta-data/instance-id"].encode()
        check("truncate:1: 64 bytes promised that never come, then closed",
              body == value and headers.get("content-length") == str(len(value) + 64), (status, headers, body))
        check("  logged as truncated", served(imds) == [["GET", ID, "200", "truncated"]], served(imds))


def framing_faults():
    value = DATA["meta-data/instance-id"].encode()
    with fake("--fault", "chunked") as imds:
        put_token(imds)
        status, headers, body = head_and_body(raw(imds.port, get_request(ID))[0])
        want = b"".join(b"%x;n=%d\r\n%s\r\n" % (len(value[i:i + 7]), i, value[i:i + 7]) for i in range(0, len(value), 7))
        check("chunked: 7-byte chunks with an extension, and a trailer",
              headers.get("transfer-encoding") == "chunked" and "content-length" not in headers
              and body == want + b"0\r\nX-Fake-Trailer: 1\r\n\r\n", (headers, body))
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        check("  which a client decodes", ask(c, "GET", ID, AUTH)[:2] == (200, value))
    with fake("--fault", "chunked", "--fault", "truncate:1", "--set", "meta-data/long=" + "x" * 200) as imds:
        put_token(imds)
        status, headers, body = head_and_body(raw(imds.port, get_request("/latest/meta-data/long", close=False))[0])
        check("chunked and truncate:1: the chunks cut short, then closed",
              headers.get("transfer-encoding") == "chunked" and not body.endswith(b"0\r\nX-Fake-Trailer: 1\r\n\r\n")
              and 0 < len(body) and headers.get("connection") == "close", (headers, body))
    with fake("--fault", "no-length") as imds:
        put_token(imds)
        status, headers, body = head_and_body(raw(imds.port, get_request(ID, close=False))[0])
        check("no-length: no Content-Length, no chunks, the body ends with the connection",
              "content-length" not in headers and "transfer-encoding" not in headers and body == value,
              (headers, body))
    long = "y" * 1500
    with fake("--fault", "dribble:5", "--set", "meta-data/long=" + long) as imds:
        put_token(imds)
        got, pieces = raw(imds.port, get_request("/latest/meta-data/long"))
        # 300 writes or more, a millisecond apart: read in one piece only by a client that slept
        # through all of them
        check("dribble:5: the answer intact, in pieces",
              head_and_body(got)[2] == long.encode() and pieces > 1, (pieces, got[:200]))


def slow():
    with fake("--fault", "slow:300") as imds:
        put_token(imds)
        start = time.monotonic()
        got = raw(imds.port, get_request(ID))[0]
        check("slow:300: answered, never sooner than 300 ms",
              got.startswith(b"HTTP/1.1 200") and time.monotonic() - start >= 0.3, got[:80])
    # One connection waits out an hour: the others are read and logged meanwhile, the server
    # is not asleep (no token here: a 401 waits as long)
    with fake("--fault", "slow:3600000") as imds:
        a = socket.create_connection(("127.0.0.1", imds.port), timeout=20)
        b = socket.create_connection(("127.0.0.1", imds.port), timeout=20)
        a.sendall(get_request(ID))
        b.sendall(get_request("/latest/meta-data/mac"))
        end = time.monotonic() + 30  # a hang guard, not a budget
        while len(served(imds)) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        check("slow:MS: another connection is served meanwhile", len(served(imds)) == 2, served(imds))
        a.setblocking(False)
        try:
            early = a.recv(100)
        except BlockingIOError:
            early = None
        check("  and the answer waits", early is None, early)
        a.close()
        b.close()


def fault_file(tmp):
    faults = tmp / "faults"
    faults.write_text("# the faults now\nset:meta-data/instance-id=i-first   unset:meta-data/mac\n")
    applied = pathlib.Path(str(faults) + ".applied")
    with fake("--fault-file", str(faults), "--verbose") as imds:
        put_token(imds)
        c = http.client.HTTPConnection("127.0.0.1", imds.port, timeout=20)
        got = [ask(c, "GET", p, AUTH)[:2] for p in (ID, "/latest/meta-data/mac")]
        check("--fault-file: set: and unset: from the file", got[0] == (200, b"i-first") and got[1][0] == 404, got)

        def switch(text):
            faults.write_text(text)
            applied.unlink(missing_ok=True)
            imds.proc.send_signal(signal.SIGHUP)
            end = time.monotonic() + 30  # a hang guard, not a budget
            while not applied.exists() and time.monotonic() < end:
                time.sleep(0.02)
            return applied.read_text() if applied.exists() else None

        result = switch("status:503:1\n")
        check("SIGHUP: FILE.applied says what applies", result == "applied: status:503:1\n", result)
        got = [ask(c, "GET", ID, AUTH)[:2] for _ in range(2)]
        check("  the new faults replace the old ones",
              got[0][0] == 503 and got[1] == (200, DATA["meta-data/instance-id"].encode()), got)
        result = switch("down\n")
        check("  down and late apply at start only: an error, nothing changed",
              result is not None and result.startswith("error: ") and ask(c, "GET", ID, AUTH)[0] == 200, result)
        result = switch("status:600:1\n")
        check("  a bad spec: an error, nothing changed",
              result is not None and result.startswith("error: ") and ask(c, "GET", ID, AUTH)[0] == 200, result)
        imds.proc.terminate()
        imds.proc.wait(timeout=20)
        err = imds.proc.stderr.read().decode()
        check("--verbose: the requests on stderr", "GET %s 503" % ID in err, err[-400:])


def refusals(binary):
    for args in (["--fault", "sometimes"], ["--fault", "status:500"], ["--fault", "redirect:1:200"],
                 ["--frobnicate", "1"], ["--token", "has space"], ["--set", "novalue"]):
        r = subprocess.run([str(binary), *args], capture_output=True, timeout=20)
        check("refused, exit 2: %s" % " ".join(args), r.returncode == 2 and b"fake-imds: " in r.stderr, r)


def main():
    binary = pathlib.Path(sys.argv[1]).resolve()
    os.environ["EKS_NODE_FAKE_IMDS"] = str(binary)
    harness.FAKE_IMDS = binary
    with tempfile.TemporaryDirectory(prefix="eksnode-fake-imds-test.") as tmp:
        answers(pathlib.Path(tmp))
        tokens()
        ipv6()
        start_faults()
        counted_faults()
        framing_faults()
        slow()
        fault_file(pathlib.Path(tmp))
        refusals(binary)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
