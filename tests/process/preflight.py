#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-preflight against real TLS servers on loopback, with
certificates the openssl tool makes for the run:

- the cluster CA's server: reachable; the handshake completed on the server's side;
- a server whose certificate another CA signed, or not for the endpoint's name: TLS;
- a black hole (a full accept queue drops the SYN): timeout, within the bound;
- a name that does not resolve: DNS;
- through the proxy kubelet would use (tests/fake-proxy/): the CONNECT tunnel,
  the proxy's 407, the kubelet section of the environment over the default one;
- policy warn (one attempt, exit 0, one warning line per endpoint), fail
  (retried until the timeout, exit 75, one error line), off (no connection);
- an ECR pause image adds its registry and the ECR API;
- settings.preflight.timeout over 5m: exit 6.

Usage: preflight.py HELPER_DIR"""

import json
import re
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """Two CAs, and a server certificate for localhost and 127.0.0.1 signed by the first."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                f"{ca}.key", "-out", f"{ca}.crt", "-days", "2", "-subj", f"/CN={ca}", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    pathlib.Path(d, "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "server.crt", "-days", "2", "-extfile", "ext", cwd=d)


class TlsServer:
    """Accepts on 127.0.0.1 and completes TLS handshakes; counts the connections and the
    completed handshakes."""

    def __init__(self, d, host="127.0.0.1", port=0):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
        self.sock = socket.socket()
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.settimeout(2)
                    tls.recv(1)  # until the client closes
            except (OSError, ssl.SSLError):
                pass


class BlackHole:
    """A port whose accept queue is full: the kernel drops further SYNs, as a
    security group that drops does."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fill = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(c)
        time.sleep(0.1)


def config(d, endpoint, ca, settings=None, environment=None, sandbox_image="localhost/kubernetes/pause:3.10"):
    cfg = {"spec": {"cluster": {"name": "c", "apiServerEndpoint": endpoint},
                    "instance": {"environment": environment or {}}},
           "settings": {"preflight": settings or {}},
           "derived": {"caPEM": pathlib.Path(d, ca).read_text(), "sandboxImage": sandbox_image}}
    path = pathlib.Path(d, "config.json")
    path.write_text(json.dumps(cfg))
    return path


def run(helpers, cfg):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    t = time.monotonic()
    r = subprocess.run([os.path.join(helpers, "eks-node-preflight"), f"--config={cfg}"], capture_output=True,
                       text=True, env=env, timeout=60)
    return r.returncode, r.stderr, time.monotonic() - t


def lines(err, word):
    return [line for line in err.splitlines() if word in line]


def main():
    helpers = sys.argv[1]
    d = tempfile.mkdtemp(prefix="eksnode-preflight-")
    make_pki(d)
    server = TlsServer(d)
    url = f"https://localhost:{server.port}"

    code, err, _ = run(helpers, config(d, url, "ca.crt"))
    check("the cluster CA's server: reachable, exit 0", code == 0 and f"the API server at {url} is reachable" in err,
          err)
    check("the handshake completed on the server's side", server.handshakes == 1, server.handshakes)

    code, err, took = run(helpers, config(d, url, "other-ca.crt"))
    warn = lines(err, "unreachable")
    check("another CA's certificate, warn: exit 0, one line naming the endpoint and TLS",
          code == 0 and len(warn) == 1 and f"the API server at {url} is unreachable: TLS:" in warn[0]
          and 'kubelet starts anyway: settings.preflight.policy = "warn"' in warn[0], err)

    elsewhere = TlsServer(d, "127.0.0.2")
    code, err, took = run(helpers, config(d, f"https://127.0.0.2:{elsewhere.port}", "ca.crt"))
    check("a certificate not for the endpoint's name: TLS", code == 0 and ": TLS:" in err, err)

    # retried until the timeout (load-independent proof: at least two connections), not timed here
    before_fail = server.connections
    code, err, took = run(helpers, config(d, url, "other-ca.crt", {"policy": "fail", "timeout": "1500ms"}))
    bad = lines(err, "unreachable")
    check("another CA's certificate, fail: exit 75 after retrying up to the timeout, one error line",
          code == 75 and len(bad) == 1 and ": TLS:" in bad[0] and "kubelet held back" in bad[0]
          and server.connections >= before_fail + 2,
          f"exit {code}, {took:.2f} s, {server.connections - before_fail} connections: {err}")

    hole = BlackHole()
    code, err, took = run(helpers, config(d, f"https://127.0.0.1:{hole.port}", "ca.crt", {"timeout": "1s"}))
    check("a black hole: timeout, no TCP connection, within the bound",
          code == 0 and ": timeout: no TCP connection in time" in err,
          f"exit {code}, {took:.2f} s: {err}")

    code, err, took = run(helpers, config(d, "https://no-such-name.invalid", "ca.crt", {"timeout": "3s"}))
    check("a name that does not resolve: DNS", code == 0 and "no-such-name.invalid is unreachable: DNS:" in err, err)

    before = server.handshakes
    code, err, _ = run(helpers, config(d, url, "other-ca.crt", {"policy": "off"}))
    check("policy off: no connection, exit 0", code == 0 and "no checks" in err and server.handshakes == before, err)

    code, err, _ = run(helpers, config(d, url, "ca.crt", {"timeout": "6m"}))
    check("settings.preflight.timeout over 5m: exit 6 naming it",
          code == 6 and "settings.preflight.timeout" in err, err)

    # issue 58: a proxy that takes the TCP connection and the CONNECT, then says nothing, was
    # reported as "no TCP connection": now what happened, naming the proxy and the time allowed
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshakes; nothing is ever accepted or answered
    silent_port = silent.getsockname()[1]
    env = {"default": {"HTTPS_PROXY": f"http://u:secret-pw@127.0.0.1:{silent_port}"}}
    code, err, took = run(helpers, config(d, url, "ca.crt", {"timeout": "1s"}, environment=env))
    check("a proxy that accepts and never answers: connected to it, no answer to the CONNECT within 1 s",
          code == 0 and f"proxy: connected to the proxy at 127.0.0.1:{silent_port}, no answer to the tunnel "
          "request (CONNECT) within 1 s" in err and "no TCP connection" not in err, f"exit {code}: {err}")
    check("... its password never shown", "secret-pw" not in err, err)
    silent.close()

    with harness.FakeProxy() as proxy:
        env = {"default": {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}}
        code, err, _ = run(helpers, config(d, url, "ca.crt", environment=env))
        check("through the proxy: a CONNECT tunnel, then the handshake",
              code == 0 and "reachable through the proxy of HTTPS_PROXY (spec.instance.environment.default)" in err
              and any(r[:3] == ["CONNECT", f"localhost:{server.port}", "200"] for r in proxy.requests()),
              f"{err} {proxy.requests()}")
    with harness.FakeProxy(require_auth="u:p") as proxy:
        env = {"default": {"HTTPS_PROXY": "http://127.0.0.1:1"},
               "kubelet": {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}}
        code, err, _ = run(helpers, config(d, url, "ca.crt", environment=env))
        check("kubelet's own section wins; the proxy's 407 is a proxy failure",
              code == 0 and "through the proxy of HTTPS_PROXY (spec.instance.environment.kubelet): proxy: "
              "the proxy refused the tunnel (HTTP 407; " in err, err)
        code, err, _ = run(helpers, config(d, url, "ca.crt", environment=env,
                                           sandbox_image="602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"))
        ecr = [line for line in lines(err, "unreachable") if "ECR" in line]
        check("an ECR pause image: its registry and the ECR API are checked too",
              len(ecr) == 2 and "at https://602401143452.dkr.ecr.us-west-2.amazonaws.com is" in ecr[0]
              and "at https://api.ecr.us-west-2.amazonaws.com is" in ecr[1], err)
    # A proxy streaming a 50 MB 407 body: libcurl read a CONNECT refusal's
    # body a byte per call without looking at the clock (18 s for 10 MB with
    # an 8 s timeout). Judged by its headers now, the client hanging up.
    with harness.FakeProxy(refuse_body=50 << 20) as proxy:
        env = {"default": {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}}
        code, err, _ = run(helpers, config(d, url, "ca.crt", {"timeout": "8s"}, environment=env))
        m = re.search(r"the proxy refused the tunnel \(HTTP 407; (\d+) bytes of headers read, its (\d+)-byte body "
                      r"left unread\)", err)
        check("a proxy streaming a 50 MB 407: a proxy failure naming the proxy, its body unread",
              code == 0 and "through the proxy of HTTPS_PROXY (spec.instance.environment.default): proxy:" in err
              and m is not None and int(m.group(1)) <= 64 << 10 and int(m.group(2)) == 50 << 20, err)
        sent = []
        for _ in range(500):  # the proxy logs once the client hung up
            sent = [int(x[-1][5:]) for x in proxy.requests() if x and x[-1].startswith("sent=")]
            if sent:
                break
            time.sleep(0.01)
        check("a proxy streaming a 50 MB 407: the client hung up long before its end",
              len(sent) == 1 and sent[0] < 25 << 20, f"{sent} {proxy.requests()}")
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
