#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake EC2 instance metadata service (IMDSv2 only) with fault injection.

Used by the unit tests, the process tests and, inside the test VM, as the IMDS
on 169.254.169.254:80. Python standard library only; see README.md.
"""

import argparse
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_TTL = 21600  # seconds; what EC2 accepts for a token
TOKEN_PATH = "/latest/api/token"
# A few of the dated versions the real IMDS lists at /
API_VERSIONS = ("2009-04-04", "2016-09-02", "2018-09-24", "2021-03-23", "2021-07-15")
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
ELSEWHERE = "/elsewhere"  # where redirect:N points, on this same server


class Faults:
    """Parsed --fault options. Counters are consumed under State.lock."""

    def __init__(self, specs):
        self.down = False
        self.late = 0.0
        self.status_code = 0
        self.status_left = 0
        self.status_method = None  # None: every method
        self.token_expire_after = None
        self.slow = 0.0
        self.truncate_left = 0
        self.hangup_left = 0
        self.garbage_left = 0
        self.framing = "length"  # or "chunked", "close"
        self.dribble = 0
        self.redirect_code = 0
        self.redirect_left = 0
        self.redirect_method = None  # None: every method
        # set:PATH=VALUE, unset:PATH: what --set/--unset do, switchable by
        # --fault-file and SIGHUP (a value that changes while a node runs:
        # an Auto Scaling target lifecycle state); None: 404
        self.overrides = {}
        for spec in specs:
            name, _, arg = spec.partition(":")
            try:
                if name == "down" and not arg:
                    self.down = True
                elif name == "late":
                    self.late = float(arg)
                elif name == "status":
                    code, count, *method = arg.split(":")
                    self.status_code, self.status_left = int(code), int(count)
                    self.status_method = method[0].upper() if method else None
                    if not 100 <= self.status_code <= 599 or self.status_left < 0 or len(method) > 1:
                        raise ValueError
                elif name == "token-expire":
                    self.token_expire_after = int(arg)
                elif name == "slow":
                    self.slow = int(arg) / 1000.0
                elif name == "truncate":
                    self.truncate_left = int(arg)
                elif name == "hangup":
                    self.hangup_left = int(arg)
                elif name == "garbage":
                    self.garbage_left = int(arg)
                elif name in ("chunked", "no-length") and not arg:
                    self.framing = "chunked" if name == "chunked" else "close"
                elif name == "set" and "=" in arg:
                    key, _, value = arg.partition("=")
                    self.overrides[key.strip("/")] = value
                elif name == "unset" and arg:
                    self.overrides[arg.strip("/")] = None
                elif name == "dribble":
                    self.dribble = int(arg)
                    if self.dribble < 1:
                        raise ValueError
                elif name == "redirect":
                    count, *rest = arg.split(":")
                    self.redirect_left = int(count)
                    self.redirect_code = int(rest[0]) if rest else 307
                    self.redirect_method = rest[1].upper() if len(rest) > 1 else None
                    if self.redirect_code not in (301, 302, 303, 307, 308) or self.redirect_left < 0 or len(rest) > 2:
                        raise ValueError
                else:
                    raise ValueError
            except ValueError:
                raise SystemExit(f"fake_imds: bad --fault {spec!r} (see --help)")


class State:
    def __init__(self, data, faults, log, token=None):
        self.data = data
        self.faults = faults
        self.log = log
        self.token = token  # None: a fresh random token per PUT
        self.lock = threading.Lock()
        self.tokens = {}  # token -> expiry (time.monotonic())
        self.authorized_gets = 0

    def record(self, method, path, status, note=""):
        if self.log is None:
            return
        line = f"{method} {path} {status}{' ' + note if note else ''}\n"
        with self.lock:
            self.log.write(line)
            self.log.flush()


def load_data(path, user_data_file, sets, unsets, set_files=()):
    data = {}
    if path:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        for key, value in raw.items():
            if key.startswith("_"):  # _comment and friends
                continue
            data[key.strip("/")] = value
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"fake_imds: --set needs PATH=VALUE, got {item!r}")
        data[key.strip("/")] = value
    for item in set_files:
        key, sep, file = item.partition("=")
        if not sep:
            raise SystemExit(f"fake_imds: --set-file needs PATH=FILE, got {item!r}")
        with open(file, "rb") as f:
            data[key.strip("/")] = f.read()  # served byte for byte: NULs, bytes that are not UTF-8
    for key in unsets:
        data.pop(key.strip("/"), None)
    if user_data_file:
        with open(user_data_file, "rb") as f:
            data["user-data"] = f.read()
    return data


def render(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2).encode("utf-8")
    return str(value).encode("utf-8")


def listing(data, prefix):
    """Directory listing for an intermediate path, as IMDS serves it:
    one entry per line, sub-directories with a trailing slash."""
    entries = set()
    want = prefix + "/" if prefix else ""
    for key in data:
        if not key.startswith(want) or key == prefix:
            continue
        rest = key[len(want):]
        head, sep, _ = rest.partition("/")
        entries.add(head + "/" if sep else head)
    if not entries:
        return None
    return "\n".join(sorted(entries)).encode("utf-8")


class Dribble:
    """A wfile that sends N bytes at a time, a millisecond apart, so that the
    client's reads split status lines, header lines and chunks."""

    def __init__(self, sock, n):
        self.sock = sock
        self.n = n

    def write(self, data):
        for i in range(0, len(data), self.n):
            self.sock.sendall(data[i:i + self.n])
            time.sleep(0.001)
        return len(data)

    def flush(self):
        pass


def chunked(body, size=7):
    """body in chunked transfer coding, with a chunk extension and a trailer,
    as a server may legally send it."""
    out = b"".join(b"%x;n=%d\r\n%s\r\n" % (len(body[i:i + size]), i, body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\nX-Fake-Trailer: 1\r\n\r\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like IMDS
    server_version = "EC2ws"
    sys_version = ""
    timeout = 60  # idle keep-alive connections do not pin a thread forever
    # Headers and body go out in two writes. With Nagle's algorithm the body
    # waits for the client's delayed ACK of the headers (40 ms on Linux),
    # which no real IMDS does and which made every fetch look 60 ms slow.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        if self.server.state.faults.dribble:
            self.wfile = Dribble(self.connection, self.server.state.faults.dribble)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's name
        if self.server.verbose:
            sys.stderr.write("fake_imds: " + (format % args) + "\n")

    @property
    def state(self):
        return self.server.state

    # --- plumbing ---------------------------------------------------------

    def answer(self, code, body=b"", headers=(), truncate=False):
        """Logs, then sends. Logging first means a client that has the
        answer can rely on the log line being there already."""
        self.state.record(self.command, self.path, code, "truncated" if truncate else "")
        self.answer_unlogged(code, body, headers, truncate)

    def answer_unlogged(self, code, body=b"", headers=(), truncate=False):
        if self.state.faults.slow:
            time.sleep(self.state.faults.slow)
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        framing = self.state.faults.framing
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            body = chunked(body)
        elif framing == "length":
            # A truncated answer promises more than it sends, then hangs up:
            # what a connection reset in the middle of a body looks like.
            self.send_header("Content-Length", str(len(body) + (64 if truncate else 0)))
        for name, value in headers:
            self.send_header(name, value)
        if truncate or framing == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[:-64] if truncate and framing == "chunked" else body)
        self.wfile.flush()

    def error_page(self, code):
        text = f"{code} - {self.responses.get(code, ('',))[0]}"
        return (f'<?xml version="1.0" encoding="iso-8859-1"?>\n<html><head><title>{text}</title></head>'
                f"<body><h1>{text}</h1></body></html>\n").encode("utf-8")

    def drain_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))

    def injected(self):
        """Faults that hit any request before IMDS logic. True if answered."""
        f = self.state.faults
        with self.state.lock:
            hangup = f.hangup_left > 0
            if hangup:
                f.hangup_left -= 1
            garbage = not hangup and f.garbage_left > 0
            if garbage:
                f.garbage_left -= 1
            status = f.status_left > 0 and f.status_method in (None, self.command)
            if status:
                f.status_left -= 1
            redirect = not status and f.redirect_left > 0 and f.redirect_method in (None, self.command)
            if redirect:
                f.redirect_left -= 1
        if hangup:
            self.state.record(self.command, self.path, "-", "hangup")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if garbage:
            self.state.record(self.command, self.path, "-", "garbage")
            self.close_connection = True
            self.wfile.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if status:
            self.answer(f.status_code, self.error_page(f.status_code))
            return True
        if redirect:
            # Elsewhere on this same server, so that a client that follows
            # shows up in the log (note "followed-redirect").
            where = "http://%s%s%s" % (self.headers.get("Host") or "169.254.169.254", ELSEWHERE, self.path)
            self.answer(f.redirect_code, self.error_page(f.redirect_code), [("Location", where)])
            return True
        return False

    def followed(self):
        """A request to where a redirect pointed: the client followed it."""
        if not self.path.startswith(ELSEWHERE + "/"):
            return False
        self.state.record(self.command, self.path, 200, "followed-redirect")
        self.answer_unlogged(200, b"you followed a redirect")
        return True

    # --- IMDS -------------------------------------------------------------

    def do_PUT(self):
        self.drain_body()
        if self.followed() or self.injected():
            return
        if self.path != TOKEN_PATH:
            return self.answer(405, self.error_page(405))
        # EC2 refuses token requests that went through a proxy (SSRF defence).
        if self.headers.get("X-Forwarded-For") is not None:
            return self.answer(403, self.error_page(403))
        ttl = self.headers.get(TTL_HEADER)
        try:
            ttl_seconds = int(ttl)
        except (TypeError, ValueError):
            ttl_seconds = 0
        if not 1 <= ttl_seconds <= MAX_TTL:
            return self.answer(400, self.error_page(400))
        token = self.state.token or secrets.token_urlsafe(42)
        with self.state.lock:
            self.state.tokens[token] = time.monotonic() + ttl_seconds
        self.answer(200, token.encode("ascii"), [(TTL_HEADER, str(ttl_seconds))])

    def token_ok(self):
        token = self.headers.get(TOKEN_HEADER)
        st = self.state
        with st.lock:
            expiry = st.tokens.get(token)
            if expiry is None or expiry < time.monotonic():
                return False
            st.authorized_gets += 1
            limit = st.faults.token_expire_after
            if limit is not None and st.authorized_gets > limit:
                # IMDS forgot every token it issued (as after its own
                # restart): this request and the others in flight get 401,
                # a new token works. Happens once.
                st.faults.token_expire_after = None
                st.tokens.clear()
                return False
            return True

    def do_GET(self):
        if self.followed() or self.injected():
            return
        if not self.token_ok():
            return self.answer(401, self.error_page(401))
        f = self.state.faults
        with self.state.lock:
            truncate = f.truncate_left > 0
            if truncate:
                f.truncate_left -= 1
        path = self.path.split("?", 1)[0]
        # Dated API versions serve what /latest/ does (cloud-init asks for
        # /2021-03-23/..., falling back to /2009-04-04/...).
        m = re.match(r"/(\d{4}-\d{2}-\d{2})(/.*)?$", path)
        if m and m.group(1) in API_VERSIONS:
            path = "/latest" + (m.group(2) or "")
        if path == "/":
            return self.answer(200, "\n".join(API_VERSIONS + ("latest",)).encode(), truncate=truncate)
        if path in ("/latest", "/latest/"):
            return self.answer(200, b"dynamic\nmeta-data\nuser-data", truncate=truncate)
        if not path.startswith("/latest/"):
            return self.answer(404, self.error_page(404), truncate=truncate)
        key = path[len("/latest/"):]
        data = self.state.data
        if f.overrides:
            data = dict(data)
            for k, v in f.overrides.items():
                if v is None:
                    data.pop(k, None)
                else:
                    data[k] = v
        if key.strip("/") in data and not key.endswith("/"):
            return self.answer(200, render(data[key.strip("/")]), truncate=truncate)
        body = listing(data, key.strip("/"))
        if body is None:
            return self.answer(404, self.error_page(404), truncate=truncate)
        self.answer(200, body, truncate=truncate)

    def do_HEAD(self):
        self.do_GET()

    def refuse(self):
        self.drain_body()
        if self.followed() or self.injected():
            return
        self.answer(405, self.error_page(405))

    do_POST = do_DELETE = do_PATCH = do_OPTIONS = refuse


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many nodes' worth of concurrent requests

    def __init__(self, addr, state, verbose):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.state = state
        self.verbose = verbose
        super().__init__(addr, Handler, bind_and_activate=False)

    def handle_error(self, request, client_address):
        # A client hanging up mid-answer is normal under fault injection.
        if self.verbose:
            super().handle_error(request, client_address)


def read_fault_file(path):
    """Fault specs from FILE: separated by white space or lines; # comments."""
    try:
        with open(path, encoding="utf-8") as f:
            return [w for line in f for w in line.split("#", 1)[0].split()]
    except FileNotFoundError:
        return []


def reload_faults(state, path):
    """SIGHUP: the faults of FILE replace the current ones, counters start
    again; then FILE.applied says what applies (or why nothing changed), so
    that a test knows when the next request sees the new faults."""
    specs = read_fault_file(path)
    try:
        if any(s.split(":", 1)[0] in ("down", "late") for s in specs):
            raise SystemExit("fake_imds: down and late apply at start only")
        faults = Faults(specs)
        with state.lock:
            state.faults = faults
            state.authorized_gets = 0
        result = "applied: %s\n" % " ".join(specs)
    except SystemExit as e:
        result = "error: %s\n" % e
    tmp = "%s.applied.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(result)
    os.rename(tmp, path + ".applied")


def write_port_file(path, port):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.rename(tmp, path)  # readers never see a half-written port


def main():
    ap = argparse.ArgumentParser(
        description="Fake EC2 instance metadata service (IMDSv2) with fault injection.",
        epilog="faults: down | late:SECONDS | status:CODE:N[:METHOD] | token-expire:N | slow:MS | truncate:N | "
               "hangup:N | garbage:N | chunked | no-length | dribble:N | redirect:N[:CODE[:METHOD]] | set:PATH=VALUE | unset:PATH (see README.md)")
    ap.add_argument("--data", help="JSON file: {\"meta-data/instance-id\": \"i-...\", ...}, paths under /latest/ "
                                   "(default: nothing, every path is 404)")
    ap.add_argument("--user-data", help="file served as /latest/user-data (else 404)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="add or replace one value")
    ap.add_argument("--set-file", action="append", default=[], metavar="PATH=FILE",
                    help="add or replace one value with the bytes of FILE")
    ap.add_argument("--unset", action="append", default=[], metavar="PATH", help="remove one value (404)")
    ap.add_argument("--bind", action="append", metavar="ADDR",
                    help="address to listen on (repeatable; default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=80, help="port (0: pick a free one; default 80)")
    ap.add_argument("--port-file", help="write the port here once bound")
    ap.add_argument("--log", help="append one line per request: METHOD PATH STATUS [NOTE]")
    ap.add_argument("--fault", action="append", default=[], help="inject a fault (repeatable)")
    ap.add_argument("--fault-file", metavar="FILE",
                    help="more faults, one per line; SIGHUP re-reads FILE, replaces the faults and writes FILE.applied")
    ap.add_argument("--token", help="issue this session token to every PUT (default: a fresh random one each)")
    ap.add_argument("--verbose", action="store_true", help="log requests and errors to stderr")
    args = ap.parse_args()

    if args.token is not None and not (args.token and all(0x20 < ord(c) < 0x7f for c in args.token)):
        raise SystemExit("fake_imds: --token must be visible ASCII")
    faults = Faults(args.fault + (read_fault_file(args.fault_file) if args.fault_file else []))
    data = load_data(args.data, args.user_data, args.set, args.unset, args.set_file)
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    state = State(data, faults, log, args.token)

    # SIGTERM (systemd, tests) ends the process cleanly and at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.fault_file:
        signal.signal(signal.SIGHUP, lambda *_: reload_faults(state, args.fault_file))

    servers = []
    port = args.port
    for addr in args.bind or ["127.0.0.1"]:
        srv = Server((addr, port), state, args.verbose)
        srv.server_bind()
        port = srv.server_address[1]  # every address shares the first one's port
        servers.append(srv)
    # With --fault=down or late, the port is announced while bound but not
    # listening: connections are refused, exactly like a metadata service that
    # is not up yet. Otherwise only once listening, so that a test counting
    # requests never sees a refused first one (a race that made exact counts
    # flaky under load).
    if faults.down or faults.late:
        if args.port_file:
            write_port_file(args.port_file, port)
        if faults.down:
            while True:
                signal.pause()
        time.sleep(faults.late)
    for srv in servers:
        srv.server_activate()
    if args.port_file and not (faults.down or faults.late):
        write_port_file(args.port_file, port)
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
