#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""settings.registries' hosts.toml, loaded by real containerd 1.7 and 2.1.

containerd's resolver (remotes/docker/config, the code the CRI plugin pulls
through) is what `ctr content fetch-object --hosts-dir DIR` runs: it reads
DIR/HOST/hosts.toml and the files it names at each fetch, as the daemon does
at each pull, without a daemon. For each containerd of tests/containerd-real
(Debian trixie's 1.7, sid's 2.1):

1. every golden tests/golden/containerd/*registries*/expected certs.d tree is
   read by the containerd of its generation without "failed to decode" (a
   file containerd refuses is ignored whole, and it silently falls back to
   the registry itself: 1.7 refuses one without a [host] table, which 2.x
   reads);
2. eks-node-containerd renders, from a config.json made here, a registry on
   127.0.0.1 whose image only a mirror has; the mirror speaks TLS with a
   certificate of a CA made now by openssl and asks for a client
   certificate. The manifest arrives through the mirror, bytes equal; the
   registry itself is never asked;
3. without the mirror's ca, the fetch fails and the log names the
   certificate (x509); without the client certificate, the TLS handshake
   (1.7 returns the mirror's error; 2.1 logs it and goes on to the registry
   itself, whose "not found" is the last word).

hosts.toml names its files by absolute node paths (/etc/containerd/certs.d/...):
the copies here have that prefix replaced by the temporary root, the only
change made to what eks-node wrote.

  registries.py SOURCE_ROOT FETCH_SCRIPT BUILD_DIR
"""
import hashlib
import http.server
import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

NODE_DIR = "/etc/containerd/certs.d"
BLOB = b"a blob only the mirror has\n"
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST,
                                  "size": len(BLOB)}, "layers": []}).encode()


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made now."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "1", "-subj", "/CN=registries.py CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        (d / (name + ".ext")).write_text(ext + "\n")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".pem", "-days", "1", "-extfile", name + ".ext", cwd=d)


class Registry(http.server.BaseHTTPRequestHandler):
    """The distribution API's read side for one blob; `has_blob` says whether this one has it."""
    protocol_version = "HTTP/1.1"
    has_blob = False
    seen = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        self.seen.append(path)
        if self.has_blob and path.endswith("/" + DIGEST):
            # ctr fetch-object asks for the object where its reference's kind says (manifests/ here)
            body, ctype = BLOB, "application/octet-stream"
        elif self.has_blob and "/manifests/" in path:
            # the reference resolves here (ctr resolves it before it fetches the object)
            body, ctype = MANIFEST, "application/vnd.oci.image.manifest.v1+json"
        else:
            body, ctype = b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', "application/json"
        self.send_response(404 if ctype == "application/json" else 200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if body is MANIFEST:
            self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(MANIFEST).hexdigest())
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


def serve(pki, has_blob, require_client):
    seen = []
    handler = type("Handler", (Registry,), {"has_blob": has_blob, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki / "ca.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def render(build, golden_input, root, registries):
    cfg = json.loads(golden_input.read_text())
    cfg["settings"]["registries"] = registries
    (root / "run/eks-node").mkdir(parents=True, exist_ok=True)
    (root / "run/eks-node/config.json").write_text(json.dumps(cfg))
    r = subprocess.run([str(build / "helpers/eks-node-containerd"), "--root=%s" % root], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("eks-node-containerd failed: " + r.stderr)


def rerooted(tree, into):
    """A copy of a rendered certs.d tree whose hosts.toml files name the copy's files."""
    shutil.copytree(tree, into)
    for toml in into.glob("*/hosts.toml"):
        toml.write_text(toml.read_text().replace(NODE_DIR, str(into)))
    return into


def fetch(ctr, hosts_dir, ref):
    return subprocess.run([ctr, "content", "fetch-object", "--hosts-dir", str(hosts_dir), ref, DIGEST],
                          capture_output=True, timeout=60)


def main():
    src, fetch_script, build = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    r = subprocess.run([fetch_script], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("fetch.sh failed:\n" + r.stderr)
    ctrs = {}
    for line in r.stdout.split("\n"):
        if line.strip():
            suite, containerd = line.split()
            ctrs[suite] = str(Path(containerd).parent / "ctr")
    failures = []
    goldens = sorted(src.glob("tests/golden/containerd/*registries*"))
    # tests/data/registries-compat.tsv: every hosts.toml key the goldens hold is a row there that
    # both containerd generations read ("yes" in both columns)
    facts = {}
    for line in (src / "tests/data/registries-compat.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            cols = line.split("\t")
            facts[cols[0]] = cols[1:3]
    for case in goldens:
        for toml in sorted((case / "expected" / NODE_DIR.lstrip("/")).glob("*/hosts.toml")):
            if not toml.read_text().startswith("# Generated by eks-node"):
                continue
            doc = tomllib.loads(toml.read_text())
            keys = [k for k in doc if k != "host"] + [k for h in doc.get("host", {}).values() for k in h]
            for k in keys:
                if facts.get("key:" + k) != ["yes", "yes"]:
                    failures.append("%s: key %s is not read by both containerd 1.7 and 2.1 (registries-compat.tsv)"
                                    % (toml, k))
    if len(goldens) < 2:
        failures.append("no registries goldens for containerd 1.7 and 2.1")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pki = tmp / "pki"
        pki.mkdir()
        make_pki(pki)
        mirror, mirror_seen = serve(pki, has_blob=True, require_client=True)
        upstream, upstream_seen = serve(pki, has_blob=False, require_client=False)
        host = "127.0.0.1:%d" % upstream.server_address[1]
        mirror_url = "https://127.0.0.1:%d" % mirror.server_address[1]
        tls = {"ca": (pki / "ca.pem").read_text(), "clientCertificate": (pki / "client.pem").read_text(),
               "clientKey": (pki / "client.key").read_text()}
        cases = {
            "all": ({"ca": tls["ca"], "mirrors": [{"endpoint": mirror_url, **tls}]}, "ok"),
            "no-mirror-ca": ({"ca": tls["ca"], "mirrors": [{"endpoint": mirror_url, **{k: v for k, v in tls.items()
                                                                                       if k != "ca"}}]}, "x509"),
            "no-client-certificate": ({"ca": tls["ca"], "mirrors": [{"endpoint": mirror_url, "ca": tls["ca"]}]},
                                      "tls"),
        }
        for suite, ctr in sorted(ctrs.items()):
            for case in goldens:
                # each golden by the containerd of its generation: 1.7's form is not 2.x's
                if ("1.7" in case.name) != (suite == "trixie"):
                    continue
                hosts = rerooted(case / "expected" / NODE_DIR.lstrip("/"), tmp / ("golden-%s-%s" % (suite, case.name)))
                for d in sorted(p for p in hosts.iterdir() if (p / "hosts.toml").exists()
                                and (p / "hosts.toml").read_text().startswith("# Generated by eks-node")):
                    ref = "%s/eks-node/x:v1" % ("example.invalid" if d.name == "_default" else d.name)
                    r = fetch(ctr, hosts, ref)
                    if b"failed to decode" in r.stderr:
                        failures.append("%s: %s/hosts.toml: %s" % (suite, d, r.stderr.decode(errors="replace")))
            for name, (registry, want) in cases.items():
                root = tmp / ("%s-%s" % (suite, name))
                render(build, sorted(src.glob("tests/golden/containerd/*registries-containerd-2.1"))[0] /
                       "input/config.json", root, {host: registry})
                hosts = rerooted(root / NODE_DIR.lstrip("/"), tmp / ("%s-%s-hosts" % (suite, name)))
                mirror_seen.clear()
                upstream_seen.clear()
                r = fetch(ctr, hosts, "%s/eks-node/x:v1" % host)
                err = r.stderr.decode(errors="replace")
                label = "%s (%s): %s" % (suite, ctr, name)
                if want == "ok":
                    # ctr resolves the reference and prints the manifest it resolved to
                    if r.returncode != 0 or r.stdout != MANIFEST:
                        failures.append("%s: fetch failed: %s" % (label, err))
                    if not any("/manifests/" in p for p in mirror_seen):
                        failures.append("%s: the mirror was not asked: %s" % (label, mirror_seen))
                    if upstream_seen:
                        failures.append("%s: the registry itself was asked: %s" % (label, upstream_seen))
                else:
                    if r.returncode == 0:
                        failures.append("%s: fetched without what the case leaves out" % label)
                    elif want not in err.lower():
                        failures.append("%s: the error does not name %s: %s" % (label, want, err))
                print("%s: %s" % (label, "ok" if r.returncode == 0 else err.strip().splitlines()[-1][:160]))
        mirror.shutdown()
        upstream.shutdown()
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
