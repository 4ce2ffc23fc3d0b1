#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tier 3: eks-node-prepull against a fake CRI image service, served by
python3-grpcio on the unix socket containerd would have (under --root), with
raw-bytes handlers whose requests this test decodes with its own protobuf
reader (independent of cri/protobuf.cpp), and a fake credential provider
plugin in kubelet's plugin directory:

- an image containerd has is not pulled again (ImageStatus first);
- an image no provider matches is pulled anonymously (no AuthConfig);
- an image a provider matches is pulled with what its plugin answered: the
  plugin got a CredentialProviderRequest for the image on stdin, its args, and
  kubelet's environment (spec.instance.environment's default then kubelet
  sections) under its own env, and the password it answered reaches
  containerd and no log;
- a plugin that fails is a warning, and the pull goes on without credentials;
- NotFound: one failure line with the gRPC status and reason, the next image
  is still pulled, exit 1; Unavailable only: exit 75;
- a pull slower than settings.prePull.timeout fails within its bound;
- no containerd socket: exit 75 and one clear line, no plugin run;
- an empty list: nothing asked; a bad reference in config.json: exit 6;
- `eks-node-prepull sandbox-image` (eks-node-sandbox-image.service): derived.sandboxImage
  alone, pulled with its provider's credentials (settings.prePull.images untouched),
  present already: not pulled again; the image's cached pause image: nothing asked;
  a refused pull: exit 1, one line naming the pause image; any other argument: exit 2.

Usage: prepull.py HELPER_DIR"""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent import futures

import grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check

SECRET = "planted-registry-password-5f3a9c"
PLUGIN_DIR = "etc/eks/image-credential-provider"
V1 = "credentialprovider.kubelet.k8s.io/v1"

# The plugin answers with a password that spells out what it was given, so
# that the request, its args and its env are checked where containerd gets
# them (the step's Landlock policy lets a plugin write nothing).
PLUGIN = r"""#!/usr/bin/python3
import json, os, sys
req = json.load(sys.stdin)
said = "|".join([req.get("apiVersion", ""), req.get("kind", ""), req.get("image", ""), " ".join(sys.argv[1:]),
                 os.environ.get("FAKE_PLUGIN_ENV", ""), os.environ.get("HTTPS_PROXY", "")])
json.dump({"kind": "CredentialProviderResponse", "apiVersion": req["apiVersion"], "cacheKeyType": "Registry",
           "auth": {"registry.test:5000": {"username": "AWS", "password": "%s|" + said},
                    "other.test": {"username": "wrong", "password": "wrong"}}}, sys.stdout)
""" % SECRET


def fields(data):
    """A protobuf message as {field number: [values]}: bytes for LEN, int for VARINT."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(data):
        tag = varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            value = data[i:i + n]
            i += n
        else:
            raise ValueError(f"wire type {wire} in a CRI request")
        out.setdefault(number, []).append(value)
    return out


def encode(number, payload):
    def varint(v):
        b = bytearray()
        while v >= 0x80:
            b.append(v & 0x7F | 0x80)
            v >>= 7
        b.append(v)
        return bytes(b)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


class FakeCri:
    """runtime.v1.ImageService on a unix socket: ImageStatus and PullImage,
    each image's fate chosen by `behaviour` (present, ok, notfound,
    unavailable, slow); records every request decoded."""

    def __init__(self, socket_path, behaviour, not_ready=0):
        self.behaviour = behaviour
        # the first `not_ready` calls are answered as containerd answers while its CRI plugin
        # initialises (after a restart): a plain Go error, which gRPC sends as UNKNOWN
        self.not_ready = not_ready
        self.calls = []
        self.lock = threading.Lock()
        handler = grpc.method_handlers_generic_handler("runtime.v1.ImageService", {
            "ImageStatus": grpc.unary_unary_rpc_method_handler(self.status),
            "PullImage": grpc.unary_unary_rpc_method_handler(self.pull),
        })
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((handler,))
        self.server.add_insecure_port("unix:" + socket_path)
        self.server.start()

    def record(self, method, request, context):
        f = fields(request)
        image = fields(f[1][0])[1][0].decode()
        auth = None
        if 2 in f:
            a = fields(f[2][0])
            auth = {k: a[n][0].decode() for k, n in (("username", 1), ("password", 2)) if n in a}
        with self.lock:
            self.calls.append({"method": method, "image": image, "auth": auth, "fields": sorted(f),
                               # grpc-timeout, as grpcio turned it into the call's deadline
                               "left": context.time_remaining()})
            initialising = self.not_ready > 0
            self.not_ready -= initialising
        if initialising:
            context.abort(grpc.StatusCode.UNKNOWN, "server is not initialized yet")
        return image

    def status(self, request, context):
        image = self.record("ImageStatus", request, context)
        if self.behaviour.get(image) == "present":
            return encode(1, encode(1, b"sha256:" + b"ab" * 32) + encode(2, image.encode()))
        return b""  # containerd: image nil

    def pull(self, request, context):
        image = self.record("PullImage", request, context)
        fate = self.behaviour.get(image, "ok")
        if fate == "notfound":
            context.abort(grpc.StatusCode.NOT_FOUND, f"failed to resolve reference \"{image}\": not found")
        if fate == "restarted" and len(self.pulls()) == 1:
            context.abort(grpc.StatusCode.UNKNOWN, "server is not initialized yet")
        if fate == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "registry unavailable")
        if fate == "slow":
            time.sleep(6)
        return encode(1, b"sha256:" + (b"%02x" % (len(image) % 256)) * 32)

    def pulls(self):
        return [c for c in self.calls if c["method"] == "PullImage"]

    def close(self):
        self.server.stop(0)


def node(root, images, timeout=None, providers=None, sandbox=None):
    settings = {"prePull": {"images": images}}
    if timeout:
        settings["prePull"]["timeout"] = timeout
    # kubelet's service environment: the default section, then kubelet's own (which wins)
    environment = {"default": {"HTTPS_PROXY": "http://default-proxy:3128", "FAKE_PLUGIN_ENV": "from-default"},
                   "kubelet.service": {"HTTPS_PROXY": "http://kubelet-proxy:3128"},
                   "containerd": {"HTTPS_PROXY": "http://not-kubelets:3128"}}
    cfg = {"schemaVersion": 1, "spec": {"instance": {"environment": environment}}, "settings": settings}
    if sandbox:
        cfg["derived"] = {"sandboxImage": sandbox}
    harness.write(root / "run/eks-node/config.json", json.dumps(cfg))
    plugins = root / PLUGIN_DIR
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "fake-provider").write_text(PLUGIN)
    (plugins / "fake-provider").chmod(0o755)
    (plugins / "broken-provider").write_text("#!/bin/sh\necho 'broken: no instance role' >&2\nexit 1\n")
    (plugins / "broken-provider").chmod(0o755)
    cfg = {"apiVersion": "kubelet.config.k8s.io/v1", "kind": "CredentialProviderConfig",
           "providers": providers if providers is not None else [
               {"name": "fake-provider", "matchImages": ["registry.test:5000", "*.other.test"], "apiVersion": V1,
                "defaultCacheDuration": "12h", "args": ["--from-args"],
                "env": [{"name": "FAKE_PLUGIN_ENV", "value": "from-env"}]},
               {"name": "broken-provider", "matchImages": ["broken.test"], "apiVersion": V1,
                "defaultCacheDuration": "12h"}]}
    (plugins / "config.json").write_text(json.dumps(cfg))


def run(helpers, root, timeout=60, args=()):
    t = time.monotonic()
    r = subprocess.run([os.path.join(helpers, "eks-node-prepull"), f"--root={root}", *args], capture_output=True,
                       text=True,
                       timeout=timeout, env=dict(os.environ, EKS_NODE_LOG_TARGET="console", EKS_NODE_LOG_LEVEL="debug"))
    return r.returncode, r.stderr + r.stdout, time.monotonic() - t


def lines(out, word):
    return [line for line in out.splitlines() if word in line]


def fresh_root():
    root = pathlib.Path(tempfile.mkdtemp(prefix="eksnode-prepull-"))
    (root / "run/containerd").mkdir(parents=True)
    return root, str(root / "run/containerd/containerd.sock")


def attempt(helpers, roots, behaviour, images, not_ready=0, timeout=None):
    """One run of the step on a fresh root against a fake CRI: (exit code, output, the fake)."""
    root, sock = fresh_root()
    roots.append(root)
    cri = FakeCri(sock, behaviour, not_ready)
    node(root, images, timeout=timeout)
    code, out, _ = run(helpers, root)
    cri.close()
    return code, out, cri


def main():
    helpers = sys.argv[1]
    roots = []

    # pulls with and without credentials, an image present already
    root, sock = fresh_root()
    roots.append(root)
    present, anon, private = "quay.io/present/app:1", "quay.io/team/app:2", "registry.test:5000/team/app:3"
    cri = FakeCri(sock, {present: "present"})
    node(root, [present, anon, private])
    code, out, _ = run(helpers, root)
    cri.close()
    check("all pulled: exit 0", code == 0, out)
    pulls = {c["image"]: c for c in cri.pulls()}
    check("ImageStatus asked for every image, in order",
          [c["image"] for c in cri.calls if c["method"] == "ImageStatus"] == [present, anon, private], cri.calls)
    check("the present image is not pulled again", present not in pulls and len(lines(out, "present already")) == 1,
          out)
    check("an image no provider matches is pulled without AuthConfig",
          anon in pulls and pulls[anon]["auth"] is None and pulls[anon]["fields"] == [1], pulls.get(anon))
    want = "|".join([SECRET, V1, "CredentialProviderRequest", private, "--from-args", "from-env",
                     "http://kubelet-proxy:3128"])
    check("a matched image is pulled with its plugin's credentials (request, args and env as kubelet gives them: "
          "kubelet's service environment, then the provider's env)",
          private in pulls and pulls[private]["auth"] == {"username": "AWS", "password": want}, pulls.get(private))
    # ImageStatus: 30 s; PullImage: settings.prePull.timeout (5 min by default)
    check("a gRPC deadline is sent with each call",
          all(c["left"] is not None and 0 < c["left"] <= (30 if c["method"] == "ImageStatus" else 300)
              for c in cri.calls) and any(c["left"] > 200 for c in cri.pulls()), cri.calls)
    check("one journal line per pulled image, with its image_ref",
          len(lines(out, "pulled quay.io/team/app:2 (sha256:")) == 1
          and len(lines(out, f"pulled {private} (sha256:")) == 1
          and "with credentials from fake-provider" in out and "without credentials" in out, out)
    forms = [SECRET, base64.b64encode(SECRET.encode()).decode().rstrip("="), urllib.parse.quote(want, safe="")]
    check("the password is in no log line (at debug level; raw, base64 or URL-encoded)",
          not any(f in out for f in forms), out)

    # a failing plugin: a warning, then an anonymous pull
    code, out, cri = attempt(helpers, roots, {}, ["broken.test/app:1"])
    check("a failing plugin: warned, pulled without credentials, exit 0",
          code == 0 and lines(out, "credential provider: broken-provider exited with status 1: broken: no instance role")
          and [c["auth"] for c in cri.pulls()] == [None], out)

    # NotFound goes on to the next image; the step fails with exit 1
    root, sock = fresh_root()
    roots.append(root)
    missing, fine = "quay.io/team/missing:1", "quay.io/team/fine:1"
    cri = FakeCri(sock, {missing: "notfound"})
    node(root, [missing, fine])
    code, out, _ = run(helpers, root)
    cri.close()
    check("NotFound: exit 1", code == 1, out)
    check("NotFound: one line with the gRPC status and containerd's reason",
          len(lines(out, f"failed to pull {missing} after")) == 1
          and "NotFound (5): failed to resolve reference" in out, out)
    check("after a failure the next image is still pulled",
          [c["image"] for c in cri.pulls()] == [missing, fine] and len(lines(out, f"pulled {fine}")) == 1, out)
    check("the step's error names the images not pulled",
          len(lines(out, f"1 of 2 images not pulled: {missing} (kubelet is not affected)")) == 1, out)

    # temporary failures only: exit 75
    code, out, cri = attempt(helpers, roots, {"quay.io/x/y:1": "unavailable"}, ["quay.io/x/y:1"])
    check("Unavailable only: exit 75", code == 75 and "Unavailable (14): registry unavailable" in out, out)

    # a pull slower than settings.prePull.timeout
    code, out, cri = attempt(helpers, roots, {"quay.io/slow/app:1": "slow"}, ["quay.io/slow/app:1"], timeout="1s")
    # no wall-clock bound (load makes it flaky): exit 75 and the line saying the pull ran out
    # of settings.prePull.timeout; the fake never answers, so only that timeout can end it
    check("a slow pull fails at settings.prePull.timeout (exit 75, the line naming the image)",
          code == 75 and lines(out, "failed to pull quay.io/slow/app:1 after"), out)

    # no containerd, for all of the image's budget
    root, _ = fresh_root()
    roots.append(root)
    node(root, ["registry.test:5000/team/app:3"], timeout="1s")
    code, out, _ = run(helpers, root)
    check("no containerd socket: waited for it within settings.prePull.timeout, then exit 75 with a clear line",
          code == 75 and "containerd's CRI socket" in out and "is missing: is containerd running?" in out
          and len(lines(out, "containerd's CRI is not ready for registry.test:5000/team/app:3")) == 1
          and "still so after" in out, out)

    # containerd restarted just before the step (eks-node-ca for settings.trust): its CRI
    # answers "not initialized" to the first calls, then serves
    code, out, cri = attempt(helpers, roots, {}, ["quay.io/team/app:2"], not_ready=3)
    check("containerd's CRI not initialised yet: the step waits (one line saying so), then pulls: exit 0",
          code == 0 and [c["image"] for c in cri.pulls()] == ["quay.io/team/app:2"]
          and len(lines(out, "containerd's CRI is not ready for quay.io/team/app:2")) == 1
          and "server is not initialized yet" in out and len(lines(out, "pulled quay.io/team/app:2 (sha256:")) == 1,
          out + str(cri.calls))
    # restarted between ImageStatus and PullImage (the run that found this: 0.05 s after)
    code, out, cri = attempt(helpers, roots, {"quay.io/team/app:3": "restarted"}, ["quay.io/team/app:3"])
    check("containerd restarted between ImageStatus and PullImage: the pull asked again, exit 0",
          code == 0 and len(cri.pulls()) == 2 and len(lines(out, "pulled quay.io/team/app:3 (sha256:")) == 1, out)
    # the socket appears only after the step started (containerd still starting)
    root, sock = fresh_root()
    roots.append(root)
    node(root, ["quay.io/team/app:4"])
    step = subprocess.Popen([os.path.join(helpers, "eks-node-prepull"), f"--root={root}"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, EKS_NODE_LOG_TARGET="console", EKS_NODE_LOG_LEVEL="debug"))
    first = ""
    while "not ready" not in first:  # the step's line saying it waits for the socket (or its end)
        line = step.stdout.readline()
        if not line:
            break
        first += line
    cri = FakeCri(sock, {})
    rest, _ = step.communicate(timeout=120)
    cri.close()
    check("containerd's socket appears while the step waits: pulled, exit 0",
          step.returncode == 0 and "is missing" in first and "not ready" in first
          and len(lines(rest, "pulled quay.io/team/app:4 (sha256:")) == 1, first + rest)

    # nothing to do; bad settings
    root, sock = fresh_root()
    roots.append(root)
    cri = FakeCri(sock, {})
    node(root, [])
    code, out, _ = run(helpers, root)
    check("an empty list: exit 0, nothing asked", code == 0 and not cri.calls and "nothing to pull" in out, out)
    node(root, ["Not A Reference"])
    code, out, _ = run(helpers, root)
    cri.close()
    check("a bad reference in config.json: exit 6, nothing asked",
          code == 6 and not cri.calls and "settings.prePull.images[0]" in out, out)

    # the pause image the image did not cache (eks-node-sandbox-image.service)
    pause = "registry.test:5000/eks/pause:3.10"
    root, sock = fresh_root()
    roots.append(root)
    cri = FakeCri(sock, {})
    node(root, ["quay.io/team/app:2"], sandbox=pause)
    code, out, _ = run(helpers, root, args=["sandbox-image"])
    check("sandbox-image: exit 0, the pause image alone pulled, with its provider's credentials",
          code == 0 and [c["image"] for c in cri.pulls()] == [pause]
          and cri.pulls()[0]["auth"] and cri.pulls()[0]["auth"]["username"] == "AWS"
          and len(lines(out, f"pulled {pause} (sha256:")) == 1, out + str(cri.calls))
    cri.close()
    cri = FakeCri(sock, {pause: "present"})
    code, out, _ = run(helpers, root, args=["sandbox-image"])
    check("sandbox-image: present already, not pulled again", code == 0 and not cri.pulls()
          and lines(out, "present already"), out)
    cri.close()
    cri = FakeCri(sock, {pause: "notfound"})
    code, out, _ = run(helpers, root, args=["sandbox-image"])
    check("sandbox-image: a refused pull is exit 1, one error line naming the pause image and holding kubelet",
          code == 1 and len(lines(out, f"the pause image {pause} could not be pulled after")) == 1
          and "kubelet is held back" in out, out)
    cri.close()
    cri = FakeCri(sock, {})
    node(root, [], sandbox="localhost/kubernetes/pause:latest")
    code, out, _ = run(helpers, root, args=["sandbox-image"])
    check("sandbox-image: the image's cached pause image: exit 0, nothing asked",
          code == 0 and not cri.calls and "cached pause image" in out, out)
    code, out, _ = run(helpers, root, args=["sandbox"])
    check("an unknown argument: exit 2", code == 2 and "unexpected argument" in out, out)
    cri.close()

    for r in roots:
        shutil.rmtree(r, ignore_errors=True)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
