#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A tiny HTTP proxy on loopback for the process tests: forwards requests
written with an absolute URL (plain http through a proxy) and tunnels CONNECT
(https through a proxy), logging one line per request:

    FORWARD METHOD URL STATUS auth=ok|none|bad
    CONNECT HOST:PORT STATUS auth=ok|none|bad

--require-auth USER:PASSWORD answers 407 unless Proxy-Authorization carries
exactly those (Basic), so a test can tell that the credentials of a proxy URL
reached the proxy. --refuse-body BYTES answers every request 407 with a body
of BYTES bytes (Content-Length) streamed in 64 KiB writes, the line ending
in sent=N: the bytes of it written before the client hung up (what the
client read is at most that, less what the two sockets' buffers held).
Python standard library only."""

import argparse
import base64
import http.client
import select
import signal
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailers",
              "transfer-encoding", "upgrade"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def record(self, line):
        srv = self.server
        if srv.log_path:
            with srv.lock, open(srv.log_path, "a") as f:
                f.write(line + "\n")

    def auth(self):
        """'ok', 'none' or 'bad' against --require-auth (always 'ok' without it)."""
        want = self.server.require_auth
        got = self.headers.get("Proxy-Authorization")
        if got is None:
            return "none" if want else "ok"
        if not want:
            return "ok"
        scheme, _, value = got.partition(" ")
        try:
            ok = scheme.lower() == "basic" and base64.b64decode(value).decode() == want
        except ValueError:
            ok = False
        return "ok" if ok else "bad"

    def refuse_auth(self, what, auth):
        if self.server.refuse_body:
            return self.refuse_with_body(what, auth)
        self.record("%s %d auth=%s" % (what, 407, auth))
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="fake"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def refuse_with_body(self, what, auth):
        total = self.server.refuse_body
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="fake"')
        self.send_header("Content-Length", str(total))
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            self.wfile.flush()
            while sent < total:
                n = min(len(chunk), total - sent)
                self.connection.sendall(chunk[:n])
                sent += n
        except OSError:
            pass
        self.close_connection = True
        self.record("%s %d auth=%s sent=%d" % (what, 407, auth, sent))

    def do_CONNECT(self):  # noqa: N802
        auth = self.auth()
        if self.server.refuse_body:
            return self.refuse_with_body("CONNECT %s" % self.path, auth)
        if auth != "ok":
            return self.refuse_auth("CONNECT %s" % self.path, auth)
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except (OSError, ValueError):
            self.record("CONNECT %s 502 auth=%s" % (self.path, auth))
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.record("CONNECT %s 200 auth=%s" % (self.path, auth))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        conns = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(conns, [], [], 10)
                if not ready:
                    break
                for c in ready:
                    data = c.recv(65536)
                    if not data:
                        return
                    (upstream if c is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def forward(self):
        url = urllib.parse.urlsplit(self.path)
        line = "FORWARD %s %s" % (self.command, self.path)
        if url.scheme != "http" or not url.hostname:
            self.record(line + " 400 auth=-")
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        auth = self.auth()
        if auth != "ok" or self.server.refuse_body:
            return self.refuse_auth(line, auth)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        target = url.path + ("?" + url.query if url.query else "")
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
            conn.request(self.command, target or "/", body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            self.record(line + " 502 auth=" + auth)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.record("%s %d auth=%s" % (line, resp.status, auth))
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--log", help="append one line per request")
    p.add_argument("--require-auth", metavar="USER:PASSWORD", help="answer 407 without these credentials")
    p.add_argument("--refuse-body", metavar="BYTES", type=int, default=0,
                   help="answer every request 407 with a body of BYTES bytes")
    args = p.parse_args()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.log_path = args.log
    server.require_auth = args.require_auth
    server.refuse_body = args.refuse_body
    server.lock = threading.Lock()
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
