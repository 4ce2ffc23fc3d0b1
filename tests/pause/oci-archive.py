#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Pack one static binary into an OCI image layout archive that `ctr images import` reads.

    oci-archive.py --binary PAUSE --name localhost/kubernetes/pause:latest --arch amd64 --out TAR

The image: one gzip layer holding /pause (mode 0755, root's), a config with Entrypoint
["/pause"], its manifest, and index.json naming it (io.containerd.image.name: the full name,
org.opencontainers.image.ref.name: the tag). Deterministic: the same binary gives the same
bytes (mtime 0, owner 0:0, entries sorted, gzip without a name or time, JSON with sorted keys),
so the image's digest and the VM image's cache key move only when the binary does.
"""
import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile


def tar_bytes(entries):
    """entries: [(name, bytes or None for a directory, mode)] -> an uncompressed tar, sorted."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def blob(data, media_type):
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "size": len(data)}


def canonical(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--name", required=True, help="image name with tag, e.g. localhost/kubernetes/pause:latest")
    p.add_argument("--arch", default="amd64", help="Go's architecture name")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if ":" not in a.name.rsplit("/", 1)[-1]:
        sys.exit("oci-archive.py: --name needs a tag")

    with open(a.binary, "rb") as f:
        binary = f.read()
    layer_tar = tar_bytes([("pause", binary, 0o755)])
    # mtime=0 and no filename: gzip's header is the same on every run
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0, compresslevel=9) as g:
        g.write(layer_tar)
    layer = gz.getvalue()

    platform = {"architecture": a.arch, "os": "linux"}
    config = canonical({
        **platform,
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    })
    config_desc = blob(config, "application/vnd.oci.image.config.v1+json")
    layer_desc = blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip")
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    })
    manifest_desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    index = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{**manifest_desc, "platform": platform, "annotations": {
            "io.containerd.image.name": a.name,
            "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[1],
        }}],
    })

    entries = [("blobs", None, 0o755), ("blobs/sha256", None, 0o755),
               ("oci-layout", canonical({"imageLayoutVersion": "1.0.0"}), 0o644),
               ("index.json", index, 0o644)]
    for data, desc in ((config, config_desc), (layer, layer_desc), (manifest, manifest_desc)):
        entries.append(("blobs/sha256/" + desc["digest"].split(":", 1)[1], data, 0o644))
    with open(a.out, "wb") as f:
        f.write(tar_bytes(entries))
    print(manifest_desc["digest"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
