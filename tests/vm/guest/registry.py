#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The VM tier's OCI registry stand-in (scenarios 22-prepull, 34-private-registries,
31-fast-image-pull): the read side of the distribution API on 127.0.0.1:PORT, serving one
image it makes at start (a gzip layer holding one text file, its config, its manifest) as
REPO:v1, the same bytes every run. Every other name or tag is MANIFEST_UNKNOWN (404), as a
registry answers an image that does not exist. Shipped per run (run-scenario.sh), like
check-lib.sh.

  registry.py --port N [--repo NAME] [--log FILE] [--tls CERT KEY] [--basic-auth FILE]
              [--layer-mib N] [--push]
  registry.py certs DIR NAME...

certs makes what --tls serves, with openssl, in DIR: a CA (ca.pem, ca.key) and a server
certificate for the DNS names NAME... (server.pem, server.key), P-256, valid two days; a
scenario gives ca.pem to the node as settings.trust, so that containerd and the snapshotter
trust the stand-in as they would a registry's public certificate.

--layer-mib adds a file of N MiB of pseudo-random bytes (the same every run, as good as
incompressible) to the layer, so that a lazy pull has spans to fetch by range; a blob GET
with a Range header is answered 206 with those bytes. --push lets REPO take pushes as a
registry does (blob uploads: POST, PATCH, PUT; manifests by tag or digest: PUT) and answers
OCI 1.1's referrers API (GET /v2/REPO/referrers/DIGEST: the pushed manifests whose subject is
DIGEST, optionally filtered by ?artifactType=), as SOCI's index is found beside its image.

--tls serves HTTPS with that certificate; --basic-auth asks every request for the
USER:PASSWORD the file holds (401 with a Basic challenge otherwise, as a registry behind
basic auth answers). Each request is one line of --log: PORT METHOD PATH STATUS auth=none|
bad|ok, so that a check sees what containerd fetched and whether it brought credentials;
the credentials themselves are never written. A request with a Range header adds range=A-B.

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
import os
import ssl
import subprocess
import sys
import tarfile
import threading
import urllib.parse
import uuid

TAG = "v1"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def filler(mib):
    """MIB MiB of bytes gzip cannot shrink, the same every run (SHA-256 in counter mode)."""
    return b"".join(hashlib.sha256(b"eksvm %d" % i).digest() for i in range(mib * 1024 * 1024 // 32))


def make_image(repo, layer_mib=0):
    """(manifest bytes, {digest: blob}) of a one-layer linux/amd64 OCI image."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        body = ("%s, pulled through containerd's CRI\n" % repo).encode()
        info = tarfile.TarInfo("eksvm-image.txt")
        info.size, info.mode, info.mtime = len(body), 0o644, 0
        tar.addfile(info, io.BytesIO(body))
        if layer_mib:
            big = filler(layer_mib)
            info = tarfile.TarInfo("eksvm-filler.bin")
            info.size, info.mode, info.mtime = len(big), 0o644, 0
            tar.addfile(info, io.BytesIO(big))
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
    push = False
    manifests = {}  # --push: digest -> (media type, bytes); tags: tag -> digest
    tags = {}
    uploads = {}  # --push: upload id -> bytes so far
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass  # one line per answer, written by answer()

    def auth_state(self):
        got = self.headers.get("Authorization")
        if got is None:
            return "none"
        return "ok" if self.expected_auth and hmac.compare_digest(got, self.expected_auth) else "bad"

    def answer(self, status, body=b"", ctype="application/json", headers=()):
        with open(self.log, "a") as f:
            rng = self.headers.get("Range")
            f.write("%d %s %s %d auth=%s%s\n" % (self.server.server_address[1], self.command, self.path, status,
                                                   self.auth_state(), " range=" + rng[6:] if rng else ""))
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
            with self.lock:
                found = self.manifests.get(self.tags.get(ref, ref))
            if self.repo and found:
                return self.answer(200, found[1], found[0], [("Docker-Content-Digest", digest(found[1]))])
            return self.error(404, "MANIFEST_UNKNOWN")
        if path.startswith(prefix + "blobs/") and not path.startswith(prefix + "blobs/uploads/"):
            name = path[len(prefix + "blobs/"):]
            with self.lock:
                blob = self.blobs.get(name) if self.repo else None
            if blob is None:
                return self.error(404, "BLOB_UNKNOWN")
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes="):
                first, _, last = rng[6:].partition("-")
                first, last = int(first), min(int(last) if last else len(blob) - 1, len(blob) - 1)
                if first > last:
                    return self.error(416, "RANGE_INVALID")
                return self.answer(206, blob[first:last + 1], "application/octet-stream",
                                   [("Docker-Content-Digest", name),
                                    ("Content-Range", "bytes %d-%d/%d" % (first, last, len(blob)))])
            return self.answer(200, blob, "application/octet-stream", [("Docker-Content-Digest", name)])
        if self.push and path.startswith(prefix + "referrers/"):
            return self.referrers(path[len(prefix + "referrers/"):])
        if "/manifests/" in path:
            return self.error(404, "MANIFEST_UNKNOWN")
        return self.error(404, "NAME_UNKNOWN")

    do_HEAD = do_GET

    def referrers(self, subject):
        """OCI 1.1's referrers list: an index of the pushed manifests whose subject is SUBJECT."""
        want = urllib.parse.parse_qs(self.path.partition("?")[2]).get("artifactType", [None])[0]
        found = []
        with self.lock:
            for d, (mtype, body) in sorted(self.manifests.items()):
                m = json.loads(body)
                if (m.get("subject") or {}).get("digest") != subject:
                    continue
                atype = m.get("artifactType") or m.get("config", {}).get("mediaType", "")
                if want and atype != want:
                    continue
                entry = {"mediaType": mtype, "digest": d, "size": len(body), "artifactType": atype}
                if m.get("annotations"):
                    entry["annotations"] = m["annotations"]
                found.append(entry)
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": found}).encode()
        return self.answer(200, index, "application/vnd.oci.image.index.v1+json",
                           [("OCI-Filters-Applied", "artifactType")] if want else [])

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        """--push: a blob upload starts (a cross-repository mount is refused: upload instead)."""
        data = self.body()
        if not (self.push and self.path.split("?")[0] == "/v2/%s/blobs/uploads/" % self.repo):
            return self.error(404, "NAME_UNKNOWN")
        if self.expected_auth and self.auth_state() != "ok":
            return self.error(401, "UNAUTHORIZED", [("WWW-Authenticate", 'Basic realm="eksvm-registry"')])
        upload = uuid.uuid4().hex
        query = self.path.partition("?")[2]
        with self.lock:
            self.uploads[upload] = data
        if "digest=" in query:  # a monolithic upload in one POST
            return self.finish_upload(upload, query)
        return self.answer(202, b"", headers=[("Location", "/v2/%s/blobs/uploads/%s" % (self.repo, upload)),
                                              ("Range", "0-0"), ("Docker-Upload-UUID", upload)])

    def do_PATCH(self):
        data = self.body()
        upload = self.path.split("?")[0].rsplit("/", 1)[-1]
        with self.lock:
            if upload not in self.uploads:
                return self.error(404, "BLOB_UPLOAD_UNKNOWN")
            self.uploads[upload] += data
            size = len(self.uploads[upload])
        return self.answer(202, b"", headers=[("Location", "/v2/%s/blobs/uploads/%s" % (self.repo, upload)),
                                              ("Range", "0-%d" % max(size - 1, 0))])

    def do_PUT(self):
        data = self.body()
        path, _, query = self.path.partition("?")
        prefix = "/v2/%s/" % self.repo
        if not self.push or not path.startswith(prefix):
            return self.error(404, "NAME_UNKNOWN")
        if path.startswith(prefix + "blobs/uploads/"):
            upload = path.rsplit("/", 1)[-1]
            with self.lock:
                if upload not in self.uploads:
                    return self.error(404, "BLOB_UPLOAD_UNKNOWN")
                self.uploads[upload] += data
            return self.finish_upload(upload, query)
        if path.startswith(prefix + "manifests/"):
            ref = path[len(prefix + "manifests/"):]
            d = digest(data)
            if ref.startswith("sha256:") and ref != d:
                return self.error(400, "DIGEST_INVALID")
            with self.lock:
                self.manifests[d] = (self.headers.get("Content-Type", MANIFEST_TYPE), data)
                if not ref.startswith("sha256:"):
                    self.tags[ref] = d
            return self.answer(201, b"", headers=[("Location", prefix + "manifests/" + d),
                                                  ("Docker-Content-Digest", d)])
        return self.error(404, "NAME_UNKNOWN")

    def finish_upload(self, upload, query):
        want = urllib.parse.parse_qs(query).get("digest", [None])[0]
        with self.lock:
            data = self.uploads.pop(upload)
            if want != digest(data):
                return self.error(400, "DIGEST_INVALID")
            self.blobs[digest(data)] = data
        return self.answer(201, b"", headers=[("Location", "/v2/%s/blobs/%s" % (self.repo, digest(data))),
                                              ("Docker-Content-Digest", digest(data))])


def make_certs(directory, names):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ext = os.path.join(directory, "server.ext")
    # the extensions a strict verifier wants (Python's ssl since 3.13: a CA's key usage, a leaf's
    # authority key identifier), as a public CA's certificates carry them
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
                % ",".join("DNS:" + n for n in names))
    for cmd in (["req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=eksvm registry CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                ["req", "-new", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=" + names[0]],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.pem", "-days", "2", "-extfile", "server.ext"]):
        subprocess.run(["openssl", *cmd], cwd=directory, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def main():
    if sys.argv[1:2] == ["certs"]:
        if len(sys.argv) < 4:
            sys.exit("usage: registry.py certs DIR NAME...")
        return make_certs(sys.argv[2], sys.argv[3:])
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--repo", default="", help="the repository serving REPO:v1 (none: every image is unknown)")
    p.add_argument("--log", default="/run/eksvm-registry.log")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--basic-auth", metavar="FILE", help="a file holding USER:PASSWORD")
    p.add_argument("--layer-mib", type=int, default=0, help="a file of N MiB in the layer (lazy pulls by range)")
    p.add_argument("--push", action="store_true", help="REPO takes pushes and answers the referrers API")
    a = p.parse_args()
    manifest, blobs = make_image(a.repo, a.layer_mib)
    attrs = {"repo": a.repo, "manifest": manifest, "blobs": blobs, "log": a.log, "push": a.push,
             "manifests": {}, "tags": {}, "uploads": {}}
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
