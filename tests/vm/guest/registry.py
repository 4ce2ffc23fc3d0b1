#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The VM tier's OCI registry stand-in (scenarios 22-prepull, 34-private-registries): the
read side of the distribution API on 127.0.0.1:PORT, serving one small image it makes at
start (a gzip layer holding one text file, its config, its manifest) as REPO:v1, the same
bytes every run. Every other name or tag is MANIFEST_UNKNOWN (404), as a registry answers an
image that does not exist. Shipped per run (run-scenario.sh), like check-lib.sh.

  registry.py --port N [--repo NAME] [--log FILE] [--tls CERT KEY] [--basic-auth FILE]

--tls serves HTTPS with that certificate; --basic-auth asks every request for the
USER:PASSWORD the file holds (401 with a Basic challenge otherwise, as a registry behind
basic auth answers). Each request is one line of --log: PORT METHOD PATH STATUS auth=none|
bad|ok, so that a check sees what containerd fetched and whether it brought credentials;
the credentials themselves are never written.

The guest has no network: containerd reaches this over loopback, in plain HTTP without --tls
(22's hosts.toml for 127.0.0.1:5000), or through names /etc/hosts maps to 127.0.0.1 (34):
containerd speaks plain HTTP to a loopback address unless a hosts.toml says otherwise."""

import argparse
import base64
import gzip
import hashlib
import hmac
import http.server
import io
import json
import ssl
import tarfile

TAG = "v1"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_image(repo):
    """(manifest bytes, {digest: blob}) of a one-layer linux/amd64 OCI image."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        body = ("%s, pulled through containerd's CRI\n" % repo).encode()
        info = tarfile.TarInfo("eksvm-image.txt")
        info.size, info.mode, info.mtime = len(body), 0o644, 0
        tar.addfile(info, io.BytesIO(body))
    layer_tar = tar_bytes.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/eksvm-image.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]},
        "history": [{"created_by": "tests/vm/guest/registry.py"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer),
                    "size": len(layer)}],
    }, sort_keys=True).encode()
    return manifest, {digest(config): config, digest(layer): layer}


class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # set per server by main()
    repo = ""
    manifest = b""
    blobs = {}
    log = ""
    expected_auth = None  # the Authorization header value that is let in, or None: no auth

    def log_message(self, fmt, *args):
        pass  # one line per answer, written by answer()

    def auth_state(self):
        got = self.headers.get("Authorization")
        if got is None:
            return "none"
        return "ok" if self.expected_auth and hmac.compare_digest(got, self.expected_auth) else "bad"

    def answer(self, status, body=b"", ctype="application/json", headers=()):
        with open(self.log, "a") as f:
            f.write("%d %s %s %d auth=%s\n" % (self.server.server_address[1], self.command, self.path, status,
                                                 self.auth_state()))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, headers=()):
        self.answer(status, json.dumps({"errors": [{"code": code, "message": code.lower().replace("_", " "),
                                                    "detail": self.path}]}).encode(), headers=headers)

    def do_GET(self):
        if self.expected_auth and self.auth_state() != "ok":
            return self.error(401, "UNAUTHORIZED", [("WWW-Authenticate", 'Basic realm="eksvm-registry"')])
        path = self.path.split("?")[0]
        if path in ("/v2", "/v2/"):
            return self.answer(200, b"{}")
        prefix = "/v2/%s/" % self.repo
        if path.startswith(prefix + "manifests/"):
            ref = path[len(prefix + "manifests/"):]
            if self.repo and ref in (TAG, digest(self.manifest)):
                return self.answer(200, self.manifest, MANIFEST_TYPE, [("Docker-Content-Digest", digest(self.manifest))])
            return self.error(404, "MANIFEST_UNKNOWN")
        if path.startswith(prefix + "blobs/"):
            name = path[len(prefix + "blobs/"):]
            if self.repo and name in self.blobs:
                return self.answer(200, self.blobs[name], "application/octet-stream", [("Docker-Content-Digest", name)])
            return self.error(404, "BLOB_UNKNOWN")
        if "/manifests/" in path:
            return self.error(404, "MANIFEST_UNKNOWN")
        return self.error(404, "NAME_UNKNOWN")

    do_HEAD = do_GET


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--repo", default="", help="the repository serving REPO:v1 (none: every image is unknown)")
    p.add_argument("--log", default="/run/eksvm-registry.log")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--basic-auth", metavar="FILE", help="a file holding USER:PASSWORD")
    a = p.parse_args()
    manifest, blobs = make_image(a.repo)
    attrs = {"repo": a.repo, "manifest": manifest, "blobs": blobs, "log": a.log}
    if a.basic_auth:
        with open(a.basic_auth, "rb") as f:
            attrs["expected_auth"] = "Basic " + base64.b64encode(f.read().strip()).decode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), type("Handler", (Registry,), attrs))
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
