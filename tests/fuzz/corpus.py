#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Seed corpora of the fuzz targets, gathered from the test data in the tree
at run time, so that the seeds follow the tests (README.md here).

    corpus.py TARGET DIR     write TARGET's seeds into DIR (one file each)

Sources: tests/bad-input/*/user-data, every other user-data file of the tests
and examples/, the parts of MIME user data (by their media type), the
conformance NodeConfigs, every .toml of the tree, the CA files, the max pods
expressions of tests/unit/derive/test_expr.cpp, the instances the fake IMDS
serves (tests/**/imds.json), and answers of tests/fake-imds and tests/fake-aws
themselves, started on loopback for the occasion."""

import base64
import email
import email.policy
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", "build", "build-fuzz"}


def tree_files(pattern):
    """Files of the source tree matching a glob, build directories left out."""
    out = []
    for p in sorted(ROOT.glob(pattern)):
        rel = p.relative_to(ROOT).parts
        if p.is_file() and not (set(rel[:1]) & SKIP_DIRS or rel[0].startswith("build")):
            out.append(p)
    return out


def user_data_files():
    files = tree_files("tests/**/user-data") + tree_files("examples/*.mime") + tree_files("examples/**/user-data")
    return [f for f in files if "fuzz" not in f.parts]


def mime_parts(raw):
    """(media type, decoded payload) of every leaf part of MIME user data."""
    if not re.match(rb"(?i)(mime-version|content-)", raw.lstrip()[:20]):
        return []
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(p.get_content_type(), p.get_payload(decode=True) or b"") for p in msg.walk() if not p.is_multipart()]


def looks_like_script(b):
    return b.startswith(b"#!") or b"bootstrap.sh" in b


def looks_like_toml(b):
    return re.search(rb"(?m)^\[[A-Za-z]", b) is not None and b"apiVersion" not in b


def user_data_seeds():
    return [f.read_bytes() for f in user_data_files()]


def nodeconfig_seeds():
    seeds = [f.read_bytes() for f in tree_files("tests/conformance/*/nodeconfig.yaml")]
    # A stream of documents with anchors and aliases, each under the caps
    # alone: the budget is the stream's (tests/bad-input/94-*).
    doc = (b"---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nmetadata:\n  a: &a " + b"x" * 64 +
           b"\n  b: &b [" + b", ".join([b"*a"] * 16) + b"]\n  c: [" + b", ".join([b"*b"] * 16) + b"]\n")
    seeds.append(doc * 8)
    # EBS data volumes in both of nodeadm's shapes (instance.storage.volumes)
    seeds.append(b"apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  instance:\n    storage:\n"
                 b"      volumes:\n        - device: /dev/xvdb\n          mountTarget: /var/lib/containerd/\n"
                 b"          fsType: xfs\n        - device: /dev/sdc\n          mountTargets: [/var/lib/kubelet, /data]\n"
                 b"          fsType: ext4\n    localStorage:\n      strategy: RAID0\n      disabledMounts: [Containerd]\n")
    for raw in user_data_seeds():
        parts = mime_parts(raw)
        if not parts and not looks_like_script(raw) and not looks_like_toml(raw):
            seeds.append(raw)
        seeds += [body for kind, body in parts if kind == "application/node.eks.aws"]
    # The JSON flavour of each YAML NodeConfig (python3-yaml is a test dependency).
    try:
        import yaml
        for s in list(seeds):
            if b"&" in s:  # anchors: the alias bomb of tests/bad-input expands forever
                continue
            try:
                for doc in yaml.safe_load_all(s):
                    if isinstance(doc, dict):
                        seeds.append(json.dumps(doc, default=str).encode())
            except yaml.YAMLError:
                pass
    except ImportError:
        pass
    return seeds


def toml_seeds():
    seeds = [f.read_bytes() for f in tree_files("**/*.toml")]
    for raw in user_data_seeds():
        parts = mime_parts(raw)
        if not parts and looks_like_toml(raw):
            seeds.append(raw)
        seeds += [body for kind, body in parts if kind == "application/vnd.eks-node+toml"]
    return seeds


def settings_seeds():
    """Bodies of [settings] tables (the target adds the header itself)."""
    seeds = []
    for t in toml_seeds():
        m = re.search(rb"(?m)^\[settings[.\]]", t)
        if m:
            body = t[m.start():]
            seeds.append(body[body.index(b"\n") + 1:] if body.startswith(b"[settings]") else body)
    return seeds


def registries_seeds():
    """[settings] bodies with registries, credential providers and trust: the
    goldens' tables written as TOML, and every settings seed."""
    seeds = []
    for case in sorted(ROOT.glob("tests/golden/*/*")):
        cfg = case / "input" / "config.json"
        if not cfg.exists():
            continue
        s = json.loads(cfg.read_text()).get("settings", {})
        for key in ("registries", "credentialProviders", "trust"):
            for name, table in s.get(key, {}).items():
                lines = ["[settings.%s.%s]" % (key, json.dumps(name))]
                for k, v in table.items():
                    if k == "mirrors":
                        continue
                    lines.append("%s = %s" % (k, json.dumps(v) if not isinstance(v, dict) else
                                              "{ %s }" % ", ".join("%s = %s" % (a, json.dumps(b))
                                                                    for a, b in v.items())))
                for m in table.get("mirrors", []) if isinstance(table, dict) else []:
                    lines.append("[[settings.%s.%s.mirrors]]" % (key, json.dumps(name)))
                    lines += ["%s = %s" % (k, json.dumps(v)) for k, v in m.items()]
                seeds.append(("\n".join(lines) + "\n").encode())
    return seeds + settings_seeds()


def bootstrap_sh_seeds():
    # bootstrap.sh's variables exported to the call, and eksctl's --max-pods
    # edit of the file before it (eks-node-config(8), AL2 BOOTSTRAP.SH USER DATA)
    seeds = [
        b"#!/bin/bash\nset -a\nexport USE_MAX_PODS=false\nexport KUBELET_EXTRA_ARGS=\"--max-pods=109 -v 2\"\n"
        b"declare -x CONTAINER_RUNTIME=containerd\nIP_FAMILY=ipv4\nunset IP_FAMILY\n"
        b"LOCAL_DISKS=raid0 env DNS_CLUSTER_IP=10.100.0.10 /etc/eks/bootstrap.sh c\n",
        b"#!/bin/sh\nsed -i 's/KUBELET_EXTRA_ARGS=$2/KUBELET_EXTRA_ARGS=\"$2 --max-pods=58\"/' /etc/eks/bootstrap.sh\n"
        b"echo x >> /etc/eks/bootstrap.sh\n/etc/eks/bootstrap.sh c --kubelet-extra-args --v=2\n",
    ]
    for raw in user_data_seeds():
        if looks_like_script(raw):
            seeds.append(raw)
        seeds += [body for kind, body in mime_parts(raw) if kind == "text/x-shellscript" or looks_like_script(body)]
    return seeds


def max_pods_expr_seeds():
    text = (ROOT / "tests/unit/derive/test_expr.cpp").read_text()
    # Adjacent literals continue one expression across lines.
    literal = r'"((?:[^"\\]|\\.)*)"'
    seeds = []
    for m in re.finditer(r'\(\s*((?:%s\s*)+)' % literal, text):
        seeds.append("".join(re.findall(literal, m.group(1))).encode().decode("unicode_escape").encode())
    return [s for s in seeds if s]


def certificate_seeds():
    seeds = [f.read_bytes() for f in tree_files("tests/data/certificates/*.pem")]
    seeds += [f.read_bytes() for f in tree_files("tests/conformance/instance/*.crt")]
    seeds += [base64.b64encode(s) for s in seeds]
    for raw in user_data_seeds() + nodeconfig_seeds():
        seeds += re.findall(rb"certificateAuthority[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/=]{16,})", raw)
    return seeds


def imds_json_files():
    return tree_files("tests/**/imds.json")


def instance_seeds():
    """Each fake IMDS instance in the target's format: "=== PATH" sections, with the
    listing of the interfaces' directories the fake serves (one "MAC/" a line)."""
    seeds = []
    macs_dir = "meta-data/network/interfaces/macs/"
    for f in imds_json_files():
        data = json.loads(f.read_text())
        out = []
        macs = set()
        for path, value in data.items():
            if path.startswith("_"):
                continue
            if path.startswith(macs_dir):
                macs.add(path[len(macs_dir):].partition("/")[0] + "/")
            text = value if isinstance(value, str) else json.dumps(value)
            out.append("=== %s\n%s" % (path, text))
        if macs:
            out.append("=== %s\n%s" % (macs_dir, "\n".join(sorted(macs))))
        out.append("=== user-data !")
        seeds.append("\n".join(out).encode())
    return seeds


def free_port_server(cmd, port_file):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    raise RuntimeError("%s did not start" % cmd[1])


def raw_exchange(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def imds_http_seeds():
    """Raw answers of tests/fake-imds (the build's fake-imds: meson's test setup names it,
    else build/'s), byte for byte; the first byte of each seed is the target's split choice."""
    data = ROOT / "tests/conformance/instance/imds.json"
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        fake_imds = os.environ.get("EKS_NODE_FAKE_IMDS") or str(ROOT / "build/tests/fake-imds/fake-imds")
        proc, port = free_port_server(
            [fake_imds, "--data", str(data),
             "--user-data", str(ROOT / "examples/user-data.mime"), "--port", "0", "--port-file", str(port_file)],
            port_file)
        try:
            def req(method, path, headers=()):
                lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1", "Connection: close"]
                lines += ["%s: %s" % h for h in headers]
                return raw_exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode())

            token_answer = req("PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", "60"),
                                                            ("Content-Length", "0")])
            token = token_answer.split(b"\r\n\r\n", 1)[1].decode()
            auth = [("X-aws-ec2-metadata-token", token)]
            answers = [token_answer, req("PUT", "/latest/api/token", [("Content-Length", "0")]),
                       req("POST", "/latest/api/token"), req("GET", "/latest/meta-data/instance-id"),
                       req("GET", "/latest/meta-data/instance-id", auth),
                       req("GET", "/latest/dynamic/instance-identity/document", auth),
                       req("GET", "/latest/meta-data/", auth), req("GET", "/latest/meta-data/nothing", auth),
                       req("GET", "/latest/user-data", auth)]
        finally:
            proc.terminate()
            proc.wait()
    # A few framings the fake does not send: chunked, interim, close-framed.
    answers += [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close",
        b"HTTP/1.0 204 No Content\nX-Folded: a\n b\n\n",
    ]
    return [bytes([split]) + a for a in answers for split in (0x00, 0x83)]


def aws_seeds():
    """Bodies of tests/fake-aws's answers (run without signature checks),
    errors included, and an instance profile's credentials document."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        ca = base64.b64encode((ROOT / "tests/conformance/instance/cluster-ca.crt").read_bytes()).decode()
        proc, port = free_port_server(
            [sys.executable, str(ROOT / "tests/fake-aws/fake_aws.py"), "--no-verify", "--port", "0",
             "--port-file", str(port_file), "--instance-type", "x9.fuzz:4:15",
             "--eni", "0e:49:61:0f:c3:13,eni-0a1b2c3d4e5f60713,node.k8s.amazonaws.com/no_manage=true,Name=db",
             "--cluster", "fuzz,https://fuzz.example.com,%s,10.100.0.0/16" % ca,
             "--cluster", "fuzz6,https://fuzz6.example.com,%s,fd00::/108" % ca,
             "--fault", "deny:DescribeCluster"],
            port_file)
        bodies = []
        try:
            def call(method, path, form=None):
                body = urllib.parse.urlencode(form).encode() if form else None
                r = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method=method)
                try:
                    with urllib.request.urlopen(r, timeout=5) as resp:
                        return resp.read()
                except urllib.error.HTTPError as e:
                    return e.read()

            bodies += [call("POST", "/", {"Action": "DescribeInstances", "InstanceId.1": "i-1234567890abcdef0"}),
                       call("POST", "/", {"Action": "DescribeNetworkInterfaces", "Filter.1.Name": "mac-address",
                                          "Filter.1.Value.1": "0e:49:61:0f:c3:13"}),
                       call("POST", "/", {"Action": "DescribeInstances", "InstanceId.1": "i-0"}),
                       call("POST", "/", {"Action": "DescribeInstanceTypes", "InstanceType.1": "x9.fuzz"}),
                       call("POST", "/", {"Action": "DescribeInstanceTypes", "InstanceType.1": "x9.none"}),
                       call("GET", "/clusters/fuzz")]
        finally:
            proc.terminate()
            proc.wait()
    # DescribeCluster answers: the fake is told to deny them above, so the
    # denial is one seed; the clusters themselves are built as it builds them.
    for name, cidr, family in (("fuzz", "10.100.0.0/16", "serviceIpv4Cidr"), ("fuzz6", "fd00::/108", "serviceIpv6Cidr")):
        bodies.append(json.dumps({"cluster": {"name": name, "status": "ACTIVE", "endpoint": "https://x.example.com",
                                              "certificateAuthority": {"data": ca},
                                              "kubernetesNetworkConfig": {family: cidr}}}).encode())
    bodies.append(json.dumps({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                              "AccessKeyId": "ASIAFUZZ", "SecretAccessKey": "secret", "Token": "token",
                              "Expiration": "2026-01-01T06:00:00Z"}).encode())
    return bodies


def get_token_seeds():
    """eks-node get-token's inputs: a region, a cluster, KUBERNETES_EXEC_INFO as kubelet
    sets it (and as it should not be), an instance profile's credentials document."""
    doc = json.dumps({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                      "AccessKeyId": "ASIAFUZZ", "SecretAccessKey": "se/cr+et", "Token": "to/ken+==",
                      "Expiration": "2026-01-01T00:10:00Z"}).encode()
    infos = [b'{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}',
             b'{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,'
             b'"cluster":{"server":"https://x.example.com","certificate-authority-data":"LS0t"}}}',
             b'{"apiVersion":"client.authentication.k8s.io/v1alpha1"}', b"", b"{", b'{"apiVersion":7}']
    places = [(b"us-west-2", b"my-cluster"), (b"cn-north-1", b"8f0b2d9e-4c1a-4d6b-9e7f-0a1b2c3d4e5f"),
              (b"us-iso-east-1", b"iso"), (b"eusc-de-east-1", b"c"), (b"US-WEST-2", b"a b")]
    return [r + b"\n" + c + b"\n" + i + b"\n" + doc for r, c in places for i in infos] + \
        [b"us-west-2\nc\n\n" + body for body in aws_seeds() if body.startswith(b"{")]


def unit_reader_seeds():
    """The units and drop-ins of the tree (what validate --image reads on an image), then
    the writers' values."""
    seeds = [f.read_bytes() for f in tree_files("units/*")]
    seeds += [f.read_bytes() for f in tree_files("dropins/**/*.conf")]
    seeds += [b"[Service]\nExecStart=-/bin/a \\\n  b\n", b"[Unit\nWants=x.service\n", b"[Unit]\nWants=a\\"]
    return seeds + writer_seeds()


def small_elf(interp=b"/lib64/ld-linux-x86-64.so.2", needed=(b"libc.so.6",), runpath=b"$ORIGIN/../lib",
              dlopen=b'[{"feature":"curl","soname":["libcurl.so.4"]}]'):
    """An ELF-64 little-endian object as the loader reads it (readahead/elf.cpp): PT_LOAD,
    PT_INTERP, PT_DYNAMIC (DT_NEEDED, DT_RUNPATH, DT_STRTAB, DT_STRSZ) and a .note.dlopen
    in a PT_NOTE, laid out as tests/unit/readahead/test_readahead.cpp's make_elf does."""
    import struct
    base, phnum = 0x400000, 4
    at = 64 + 56 * phnum
    interp_at = at
    at += len(interp) + 1
    strtab, dyn = b"\0", []
    for n in needed:
        dyn.append((1, len(strtab)))
        strtab += n + b"\0"
    dyn.append((29, len(strtab)))
    strtab += runpath + b"\0"
    strtab_at = at
    at = (at + len(strtab) + 7) // 8 * 8
    dyn += [(5, base + strtab_at), (10, len(strtab)), (0, 0)]
    dyn_at = at
    at += 16 * len(dyn)
    desc = dlopen + b"\0"
    note = struct.pack("<III", 4, len(desc), 0x407c0c0a) + b"FDO\0" + desc
    note += b"\0" * (-len(note) % 4)
    note_at = at
    at += len(note)
    b = bytearray(at)
    b[0:16] = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    struct.pack_into("<HHIQQQIHHH", b, 16, 3, 62, 1, 0, 64, 0, 0, 64, 56, phnum)
    for i, (t, off, size) in enumerate([(1, 0, at), (3, interp_at, len(interp) + 1), (2, dyn_at, 16 * len(dyn)),
                                        (4, note_at, len(note))]):
        struct.pack_into("<IIQQQQQQ", b, 64 + 56 * i, t, 4, off, base + off, base + off, size, size, 8)
    b[interp_at:interp_at + len(interp)] = interp
    b[strtab_at:strtab_at + len(strtab)] = strtab
    for i, (tag, val) in enumerate(dyn):
        struct.pack_into("<QQ", b, dyn_at + 16 * i, tag, val)
    b[note_at:note_at + len(note)] = note
    return bytes(b)


def readahead_seeds():
    """Byte 0 even: a list of the join's files (the golden generator trees' and the shapes
    an admin's copy may take); odd: an ELF object or a script, as readahead-list reads the
    image's programs."""
    lists = [f.read_bytes() for f in tree_files("tests/golden/generator/*/root/usr/lib/eks-node/readahead.list")]
    lists += [b"# the join's files\n/usr/libexec/eks-node/eks-node-imds\n\n  /usr/bin/kubelet\t\n/usr/bin/kubelet\n",
              b"relative\n/a/../b\n/a/./b\n/\x01\n/ok\r\n#\n/" + b"x" * 5000 + b"\n",
              b"/usr/lib/x86_64-linux-gnu/libc.so.6",
              # recordings (eks-node readahead-record): good, empty, refused
              b"/usr/bin/kubelet\tsize=90000000 mtime=1732900000.123456789 ranges=0+2097152,4194304+131072\n"
              b"/usr/bin/containerd\tsize=10 mtime=0.000000000 ranges=\n# not read by the recorded join: /x\n"
              b"/a\tsize=10 mtime=1.000000000 ranges=0+4,2+4\n/b\tsize=1 size=1\n/c\tranges=0+1,\n"]
    objects = [small_elf(), small_elf(interp=b"", needed=(), runpath=b"", dlopen=b"[]"),
               small_elf(dlopen=b'[{"soname":["libcrypto.so.3","libcrypto.so.1.1"]},{"soname":7}]'),
               b"#!/usr/bin/env -S python3 -u\n", b"#! /bin/sh\n"]
    return [b"\x00" + t for t in lists] + [b"\x01" + o for o in objects]


def journal_calls_seeds():
    """What the steps log, and the shapes the unit tests read back."""
    seeds = [b"{}", b'{"imds":{"requests":9,"retries":1}}',
             b'{"imds":{"requests":20,"retries":0},"ec2":{"requests":2,"retries":1},"eks":{"requests":1,"retries":0}}']
    for f in tree_files("tests/unit/core/test_telemetry.cpp"):
        seeds += re.findall(rb'R"\((\{.*?\})\)"', f.read_bytes())
    # issue 34: forged fields past the bounds (core/telemetry.hpp): 65 names,
    # and 100,000 names in ~3.7 MB (refused on its size, before parsing)
    def names(n):
        return b"{" + b",".join(b'"a%d":{"requests":1,"retries":0}' % i for i in range(n)) + b"}"
    seeds += [names(64), names(65), names(100000), b'{"imds":{"requests":1,"retries":0}}' + b" " * 65536]
    return seeds


def writer_seeds():
    """Values the writers of core/syntax.hpp must carry or refuse (issue 34): the
    hostile names and descriptions of the regression tests, then the generator
    goldens' config.json files and TOML, whose bytes the targets cut into values."""
    seeds = [b"10-image\n[Service]\nExecStartPre=false\n[X-eks]\n#.toml", b"C:\\", b"padded ", b"100%n",
             b"$HOME ${X} `id`", b'a\\b "c"', b"\xe2\x80\xa8 \xc2\x85 \xef\xbb\xbf", b"\x1b[31m\r\t\x7f",
             b"/etc/eks-node/node.toml.d/90-100%n a\\b.toml", b"10-x\ndisabled_plugins = [\"cri\"]\n#.toml",
             b"\xff\xfe", b"'single' \"double\" ;", b"/mnt/./x/../y"]
    seeds += [f.read_bytes() for f in tree_files("tests/golden/generator/*/root/run/eks-node/config.json")]
    seeds += [f.read_bytes() for f in tree_files("tests/golden/generator/*/root/**/*.toml")]
    return seeds


def _pb(number, payload):
    """One protobuf LEN field (payloads under 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def _grpc(message, status=b"0", extra=b""):
    head = b"content-type: application/grpc\ngrpc-status: " + status + b"\n" + extra
    return head + b"\n" + b"\x00" + len(message).to_bytes(4, "big") + message


def cri_answer_seeds():
    """What containerd answers to ImageStatus and PullImage (the prepull
    test's fake CRI answers the same), and the ways an answer goes wrong."""
    ref = b"sha256:" + b"ab" * 32
    image = _pb(1, _pb(1, ref) + _pb(2, b"registry.test:5000/team/app:3"))
    return [
        _grpc(_pb(1, ref)),                                      # PullImageResponse
        _grpc(image),                                            # ImageStatusResponse, present
        _grpc(b""),                                              # ImageStatusResponse, absent
        _grpc(b"", b"5", b"grpc-message: failed to resolve reference%3A not found\n"),
        _grpc(b"", b"14", b"grpc-message: registry unavailable\n"),
        b"content-type: application/grpc\n\n",                  # no trailers
        b"content-type: application/grpc\ngrpc-status: 0\n\n\x01\x00\x00\x00\x02ab",  # compressed
        _grpc(b"\x28\x96\x01\x11" + b"\x7f" * 8 + _pb(1, ref)),  # unknown fields first
    ]


def credential_provider_seeds():
    """A pattern line, an image line, then a plugin's answer or the config
    eks-node-kubelet renders (every one the tests hold)."""
    lines = b"*.dkr.ecr.*.amazonaws.com\n602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3\n"
    answer = (b'{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1",'
              b'"cacheKeyType":"Registry","cacheDuration":"6h","auth":{"*.dkr.ecr.*.amazonaws.com":'
              b'{"username":"AWS","password":"pw"},"602401143452.dkr.ecr.us-west-2.amazonaws.com":'
              b'{"username":"AWS","password":"exact"}}}')
    seeds = [lines + answer, b"registry-[0-9].example.com:5000/team\nregistry-7.example.com:5000/team/app@sha256:"
             + b"0" * 64 + b"\n" + answer, b"docker.io/library\nbusybox:1.36\n{}"]
    # many stars against a long label: the matcher must stay linear
    seeds.append(b"*a" * 13 + b"*b.io\n" + b"a" * 40 + b".io/x\n" + answer)
    for f in tree_files("tests/**/image-credential-provider/config.json"):
        seeds.append(lines + f.read_bytes())
    return seeds


def image_archive_seeds():
    """The pause image's archive as the VM image's build packs it
    (tests/pause/oci-archive.py), around a small binary so that it fits
    max_len, and that archive cut short in the middle of a blob."""
    with tempfile.TemporaryDirectory(prefix="eksnode-fuzz-archive-") as d:
        binary, out = Path(d) / "pause", Path(d) / "pause.tar"
        binary.write_bytes(b"\x7fELF" + bytes(range(64)))
        subprocess.run([sys.executable, str(ROOT / "tests/pause/oci-archive.py"), "--binary", str(binary),
                        "--name", "localhost/kubernetes/pause:latest", "--out", str(out)],
                       check=True, capture_output=True)
        data = out.read_bytes()
    # without tarfile's padding of the archive to 10 KiB records: the last member,
    # then the two zero blocks that end a tar
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        end = max(m.offset_data + (m.size + 511) // 512 * 512 for m in tar.getmembers())
    whole = data[:end] + bytes(1024)
    return [whole, whole[:len(whole) // 2]]


GATHER = {
    "user-data": user_data_seeds,
    "pipeline": user_data_seeds,
    "nodeconfig": nodeconfig_seeds,
    "toml": toml_seeds,
    "settings": settings_seeds,
    "bootstrap-sh": bootstrap_sh_seeds,
    "max-pods-expr": max_pods_expr_seeds,
    "certificate": certificate_seeds,
    "imds-instance": instance_seeds,
    "imds-http": imds_http_seeds,
    "aws-api": aws_seeds,
    "journal-calls": journal_calls_seeds,
    "cri-answer": cri_answer_seeds,
    "credential-provider": credential_provider_seeds,
    "image-archive": image_archive_seeds,
    "unit-writer": writer_seeds,
    "unit-reader": unit_reader_seeds,
    "registries": registries_seeds,
    "generator-dropins": writer_seeds,
    "toml-writer": writer_seeds,
    "env-yaml-writer": writer_seeds,
    "get-token": get_token_seeds,
    "readahead": readahead_seeds,
}


def gather(target, out_dir):
    """Writes the target's seeds into out_dir, named by content; returns how many."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = {s for s in GATHER[target]() if s}
    for s in seeds:
        (out_dir / hashlib.sha1(s).hexdigest()).write_bytes(s)
    return len(seeds)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in GATHER:
        sys.exit("usage: corpus.py {%s} DIR" % ",".join(sorted(GATHER)))
    print("%s: %d seeds" % (sys.argv[1], gather(sys.argv[1], sys.argv[2])))


if __name__ == "__main__":
    main()
