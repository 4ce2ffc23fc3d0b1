#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-joined against a kubelet health endpoint on loopback:

- kubelet not listening yet, then answering ok: the step waits, then exit 0,
  one line saying how long it took;
- the port from the user's kubelet config (healthzPort in spec.kubelet.config)
  is the one asked;
- kubelet answering 500 until the deadline: exit 75 within the deadline, one
  error line naming the URL and the last answer;
- healthzPort 0 (kubelet serves no health check): exit 0 at once, asking nobody;
- a bad EKS_NODE_JOINED_TIMEOUT: exit 6.

Usage: joined.py HELPER_DIR"""

import http.server
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check
FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "golden/config/01-nodeconfig/expected/run/eks-node/config.json"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kubelet:
    """A health endpoint that answers `status`/`body`, counting requests."""

    def __init__(self, port, status=200, body=b"ok"):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def config_with(tmp, port):
    cfg = json.loads(FIXTURE.read_text())
    cfg["spec"].setdefault("kubelet", {}).setdefault("config", {})["healthzPort"] = port
    path = pathlib.Path(tmp) / f"config-{port}.json"
    path.write_text(json.dumps(cfg))
    return path


def run(helper, config, timeout="10s"):
    t0 = time.monotonic()
    r = subprocess.run([str(helper), f"--config={config}"], capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "EKS_NODE_JOINED_TIMEOUT": timeout,
                            "EKS_NODE_LOG_TARGET": "console"})
    return r, time.monotonic() - t0


def main():
    helper = pathlib.Path(sys.argv[1]) / "eks-node-joined"
    with tempfile.TemporaryDirectory(prefix="eks-node-joined.") as tmp:
        # not listening for 1 s, then ok
        port = free_port()
        config = config_with(tmp, port)
        holder = {}
        timer = threading.Timer(1.0, lambda: holder.setdefault("k", Kubelet(port)))
        timer.start()
        r, took = run(helper, config)
        timer.join()
        k = holder["k"]
        # no wall-clock bound: the only server that answers ok is the late one
        check("kubelet late, then ok: exit 0 after it answered", r.returncode == 0,
              f"exit {r.returncode} after {took:.2f} s: {r.stderr}")
        check("it asked GET /healthz on the configured port", k.requests[-1:] == ["/healthz"], k.requests)
        check("one line says it joined, and the URL", f"answered http://127.0.0.1:{port}/healthz with ok after"
              in r.stderr, r.stderr)
        check("it stopped asking once answered", len(k.requests) == 1, k.requests)
        k.close()

        # 500 until the deadline
        port = free_port()
        k = Kubelet(port, status=500, body=b"[-]ping failed\n")
        r, took = run(helper, config_with(tmp, port), timeout="2s")
        errors = [line for line in r.stderr.splitlines() if "error" in line]
        # exit 75 is its deadline's (it never got an ok); no wall-clock bound, it fails under load
        check("never ok: exit 75 at the deadline", r.returncode == 75,
              f"exit {r.returncode} after {took:.2f} s: {r.stderr}")
        check("one error line naming the URL and the last answer",
              len(errors) == 1 and f"http://127.0.0.1:{port}/healthz" in errors[0] and "HTTP 500" in errors[0],
              r.stderr)
        # at most one request per 250 ms of the 2 s deadline (+1); at least a second one: a
        # loaded machine makes fewer, never more
        check("it asked again while waiting (every 250 ms)", 2 <= len(k.requests) <= 9, len(k.requests))
        k.close()

        # health check off
        r, took = run(helper, config_with(tmp, 0))
        check("healthzPort 0: exit 0 at once, saying kubelet serves no health check",
              r.returncode == 0 and "health check is off" in r.stderr, f"{r.returncode} {r.stderr}")

        r, _ = run(helper, config_with(tmp, 0), timeout="soon")
        check("a bad EKS_NODE_JOINED_TIMEOUT: exit 6", r.returncode == 6, f"{r.returncode} {r.stderr}")
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
