#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A registry stand-in for scenario 22-prepull: the read side of the OCI
distribution API on 127.0.0.1:5000, serving one small image it makes at start
(a gzip layer holding /eks-node-prepull.txt, its config, its manifest) as
eks-node/prepull:v1. Every other name or tag is MANIFEST_UNKNOWN (404), as a
registry answers an image that does not exist. Each request is logged to
/run/eksvm-registry.log, so that the check sees what containerd fetched.

The guest has no network: containerd reaches this over loopback, in plain
HTTP (its hosts.toml for 127.0.0.1:5000)."""

import gzip
import hashlib
import http.server
import io
import json
import tarfile

REPO = "eks-node/prepull"
TAG = "v1"
LOG = "/run/eksvm-registry.log"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_image():
    """(manifest bytes, {digest: blob}) of a one-layer linux/amd64 OCI image, the same bytes every run."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        body = b"pre-pulled by eks-node-prepull through containerd's CRI\n"
        info = tarfile.TarInfo("eks-node-prepull.txt")
        info.size, info.mode, info.mtime = len(body), 0o644, 0
        tar.addfile(info, io.BytesIO(body))
    layer_tar = tar_bytes.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/eks-node-prepull.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar)]},
        "history": [{"created_by": "tests/vm/scenarios/22-prepull registry.py"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer),
                    "size": len(layer)}],
    }, sort_keys=True).encode()
    return manifest, {digest(config): config, digest(layer): layer}


MANIFEST, BLOBS = make_image()
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def answer(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def unknown(self, code):
        self.answer(404, json.dumps({"errors": [{"code": code, "message": "unknown", "detail": self.path}]}).encode())

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/v2", "/v2/"):
            return self.answer(200, b"{}")
        prefix = "/v2/%s/" % REPO
        if path.startswith(prefix + "manifests/"):
            ref = path[len(prefix + "manifests/"):]
            if ref in (TAG, digest(MANIFEST)):
                return self.answer(200, MANIFEST, MANIFEST_TYPE, [("Docker-Content-Digest", digest(MANIFEST))])
            return self.unknown("MANIFEST_UNKNOWN")
        if path.startswith(prefix + "blobs/"):
            blob = BLOBS.get(path[len(prefix + "blobs/"):])
            if blob is not None:
                return self.answer(200, blob, "application/octet-stream",
                                   [("Docker-Content-Digest", path[len(prefix + "blobs/"):])])
            return self.unknown("BLOB_UNKNOWN")
        if "/manifests/" in path:
            return self.unknown("MANIFEST_UNKNOWN")
        return self.unknown("NAME_UNKNOWN")

    do_HEAD = do_GET


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", 5000), Registry).serve_forever()
