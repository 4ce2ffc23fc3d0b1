# SPDX-License-Identifier: Apache-2.0
"""The secrets planted_secrets.py plants (the fake IMDS's session token and credentials, proxy
passwords, service environment keys, a kubeconfig token, registry credentials, hooks' secrets),
the user data and fragments that carry them, and the search for each in every form it may leak
in: raw, base64 at each alignment, URL-encoded, JSON-escaped (search_forms, leaks)."""

import base64
import json
import urllib.parse

import harness  # tests/lib, on the path its importer set (planted_secrets.py, 16-secrets' host check)


CASE = harness.SOURCE_ROOT / "tests" / "conformance" / "01-kubelet-config-json"
STEPS = ["imds", "config", "system", "ca", "kubelet", "containerd", "hosts"]
ROLE = "eks-node-secrets-role"

# Secrets nothing may write, log or print: IMDS's session token and the instance profile's
# credentials (eks-node-config(8): "They are never logged or written").
IMDS_TOKEN = "Pl4ntedImdsSessionT0ken-9d8c7b6a5f4e3d2c1b0a"
KEY_ID = "ASIAPLANTEDKEYID0001"
SECRET_KEY = "Pl4nted/Secret+Access/Key/9f8e7d6c5b4a3f2e1d0c"
SESSION_TOKEN = "IQoJb3JpZ2luPl4ntedSession/Token+Value//9z8y7x=="
NEVER_WRITTEN = {"IMDS session token": IMDS_TOKEN, "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET_KEY,
                 "session Token": SESSION_TOKEN}

# Secrets of the configuration: only files of mode 0600 may hold them.
PROXY_PASSWORD = "S3cr3t'@pw"  # a quote and an @: what URL-credential redaction gets wrong
PROXY_URL = "http://user:%s@proxy:3128" % PROXY_PASSWORD
PROXY2_PASSWORD = "Tr4il@Segment-Pl4nted"  # the part after the first @ must go too
PROXY2_URL = "http://svc:%s@proxy2:3128" % PROXY2_PASSWORD
ENV_SECRETS = {"DD_API_KEY": "dd0pl4nted0api0key0c0ffee0123", "REGISTRY_PASS": "Regi$try-Pl4nted-Pass-77",
               "GITHUB_PAT": "ghp_Pl4ntedGitHubPat0123456789abcdefXYZ"}
KUBECONFIG_TOKEN = "Pl4nted-Kubeconfig-Bearer-Token-5e6f"
# One per field of the configuration that can carry a credential to containerd, kubelet or a
# hook (issue 34, item 3): names that do not look secret on their own ("X-Origin-Verify",
# "--manifest-url-header") are masked by the key above them (headers), or by the field.
SURFACE_SECRETS = {
    "containerd registry Authorization header": "Pl4nted-Registry-Bearer-7a1b",
    "containerd registry custom header": "Pl4nted-Registry-Origin-Verify-2c3d",
    "containerd registry password": "Pl4nted-Registry-Passw0rd-4e5f",
    "containerd registry auth": "UGw0bnRlZC1SZWdpc3RyeS1BdXRo",
    "containerd registry identitytoken": "Pl4nted-Registry-Identity-Token-6a7b",
    "kubelet staticPodURLHeader Authorization": "Pl4nted-StaticPod-Bearer-8c9d",
    "kubelet staticPodURLHeader custom header": "Pl4nted-StaticPod-Origin-Verify-0e1f",
    "kubelet staticPodURL password": "Pl4nted-StaticPod-Url-Pass-2a3b",
    "kubelet --manifest-url-header": "Pl4nted-Manifest-Header-4c5d",
    "hook command word (admin fragment)": "Pl4nted-Site-Hook-Arg-6e7f",
    "hook command word (user data)": "Pl4nted-UserData-Hook-Arg-8a9b",
    "hook environment (user data)": "Pl4nted-UserData-Hook-Env-0c1d",
    "containerd baseRuntimeSpec process.env": "Pl4nted-Runtime-Spec-Env-5b6c",
    "static pod container env (settings.staticPods)": "Pl4nted-Static-Pod-Env-7d8e",
    # issue 37: settings.registries' static credentials, a credential provider's env
    "settings.registries password": "Pl4nted-Settings-Registry-Pass-3d4e",
    "settings.credentialProviders env": "Pl4nted-Provider-Env-9f0a",
}
S = SURFACE_SECRETS
# Planted by the process test alone (its 91-registries.toml, whose credential
# provider needs a program the VM image does not have); VM 16-secrets does not
# expect them on the node.
PROCESS_ONLY = {"registry client key", "settings.registries password", "settings.credentialProviders env"}
CLIENT_KEY = (harness.SOURCE_ROOT / "tests/data/certificates/registry-client.key").read_text()
CONFIG_SECRETS = {"registry client key": CLIENT_KEY.splitlines()[1],
                  "proxy password": PROXY_PASSWORD, "proxy password after its first @": PROXY2_PASSWORD,
                  **{"%s value" % k: v for k, v in ENV_SECRETS.items()}, "kubeconfig token": KUBECONFIG_TOKEN,
                  **SURFACE_SECRETS}

ALL_SECRETS = {**NEVER_WRITTEN, **CONFIG_SECRETS}

CRI = 'plugins."io.containerd.grpc.v1.cri".registry'
USER_DATA = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="==B=="

--==B==
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
  containerd:
    config: |
      [%(cri)s.headers]
      Authorization = ["Bearer %(ctd_bearer)s"]
      X-Origin-Verify = ["%(ctd_header)s"]
      [%(cri)s.configs."registry.example.com".auth]
      username = "puller"
      password = "%(ctd_password)s"
      auth = "%(ctd_auth)s"
      identitytoken = "%(ctd_identity)s"
    baseRuntimeSpec:
      process:
        env:
          - "SPEC_DB_PASSWORD=%(spec_env)s"
  kubelet:
    config:
      staticPodURL: "https://pods:%(pod_url_pass)s@pods.example.com/manifests"
      staticPodURLHeader:
        Authorization: ["Bearer %(pod_bearer)s"]
        X-Origin-Verify: ["%(pod_header)s"]
    flags:
      - "--manifest-url-header=X-Origin-Verify:%(manifest_header)s"
  instance:
    environment:
      default:
        HTTPS_PROXY: "%(proxy)s"
        NO_PROXY: "127.0.0.1,localhost,169.254.169.254"
      containerd:
        HTTP_PROXY: "%(proxy2)s"

--==B==
Content-Type: application/vnd.eks-node+toml

[settings.hooks.ud-agent]
command = ["/bin/true", "register", "--token", "%(ud_hook_arg)s"]

[settings.hooks.ud-agent.environment]
AGENT_ENROLL_KEY = "%(ud_hook_env)s"

[settings.staticPods]
node-agent = '''
apiVersion: v1
kind: Pod
metadata:
  name: node-agent
spec:
  containers:
  - name: agent
    image: busybox:1.36
    env:
    - name: AGENT_TOKEN
      value: "%(static_pod_env)s"
'''

--==B==--
""" % {"cri": CRI, "proxy": PROXY_URL, "proxy2": PROXY2_URL,
       "ctd_bearer": S["containerd registry Authorization header"],
       "ctd_header": S["containerd registry custom header"],
       "ctd_password": S["containerd registry password"], "ctd_auth": S["containerd registry auth"],
       "ctd_identity": S["containerd registry identitytoken"],
       "pod_url_pass": S["kubelet staticPodURL password"],
       "pod_bearer": S["kubelet staticPodURLHeader Authorization"],
       "pod_header": S["kubelet staticPodURLHeader custom header"],
       "manifest_header": S["kubelet --manifest-url-header"],
       "ud_hook_arg": S["hook command word (user data)"], "ud_hook_env": S["hook environment (user data)"],
       "spec_env": S["containerd baseRuntimeSpec process.env"],
       "static_pod_env": S["static pod container env (settings.staticPods)"]}

# A registry client key (a test fixture's; CLIENT_KEY above): its body's first line stands for it.
CLIENT_CERT = (harness.SOURCE_ROOT / "tests/data/certificates/registry-client.pem").read_text()
REGISTRIES_TOML = ('[settings.registries."registry.example.com:5000"]\nusername = "puller"\n'
                   'password = "%s"\nclientCertificate = """\n%s"""\nclientKey = """\n%s"""\n'
                   '[settings.credentialProviders.site-provider]\nmatchImages = ["registry.example.com:5000"]\n'
                   'env = { PROVIDER_SETTING = "%s" }\n'
                   % (S["settings.registries password"], CLIENT_CERT, CLIENT_KEY,
                      S["settings.credentialProviders env"]))
SITE_TOML = ("[instance.environment.kubelet]\n" + "".join('%s = "%s"\n' % kv for kv in ENV_SECRETS.items()) +
             '\n[settings.hooks.site-agent]\ncommand = ["/bin/true", "--key=%s"]\n'
             % S["hook command word (admin fragment)"])

# Files that hold secrets by design, relative to the root: the output registry's
# secrets (helpers/lib/core/outputs.hpp), every one 0600. This scenario (not on
# Outposts) writes all of them but the Outposts kubeconfig.
SECRET_FILES = [o["path"] for o in harness.outputs() if o["secret"]]
# ecs.config: ecs_case(); the AL2 file's edits: only after a user's edit (tests/unit/render)
NOT_WRITTEN_HERE = {"var/lib/kubelet/bootstrap-kubeconfig", "etc/ecs/ecs.config",
                    "etc/kubernetes/kubelet/config.json.d/90-kubelet-config-json.conf"}


def base64_forms(value):
    """The parts of base64(...value...) that value alone decides, for each of the three
    alignments it can have inside a longer encoded text, standard and URL-safe."""
    raw = value.encode()
    out = set()
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + raw).decode()
        first = (k + 2) // 3  # groups holding a byte before value
        last = (k + len(raw)) // 3  # groups wholly inside
        if last - first >= 2:
            part = enc[4 * first:4 * last]
            out.add(part)
            out.add(part.replace("+", "-").replace("/", "_"))
    return out


def search_forms(value):
    """Every form of value to search for: raw, URL-encoded, JSON-escaped, base64, and the
    pieces of value between quotes and @ (a redaction that stops at one leaves the rest)."""
    forms = {"raw": {value}}
    forms["URL-encoded"] = {urllib.parse.quote(value, safe=""), urllib.parse.quote(value),
                            urllib.parse.quote_plus(value)} - {value}
    forms["JSON-escaped"] = {json.dumps(value)[1:-1], json.dumps(value)[1:-1].replace("/", "\\/")} - {value}
    forms["base64"] = base64_forms(value)
    pieces = {p for p in value.replace("'", "@").split("@") if len(p) >= 6 and p != value}
    if pieces:
        forms["a piece"] = pieces
    return forms


FORMS = {name: search_forms(value) for name, value in ALL_SECRETS.items()}


def leaks(text, names=ALL_SECRETS):
    """[(secret, form)] of the secrets among names that text holds in any form."""
    found = []
    for name in names:
        for form, strings in FORMS[name].items():
            if any(s in text for s in strings):
                found.append((name, form))
    return found


def describe(found):
    """leaks()'s findings as one line: "SECRET (FORM), ..."."""
    return ", ".join("%s (%s)" % f for f in found)


def self_test(check):
    """The search finds every secret in each form, wherever it sits in a longer text."""
    missed = []
    for name, value in ALL_SECRETS.items():
        for pad in ("", "x", "xy"):
            for form, text in [("raw", value), ("URL-encoded", urllib.parse.quote(value, safe="")),
                               ("JSON-escaped", json.dumps(value)),
                               ("base64", base64.b64encode(("<%s%s>" % (pad, value)).encode()).decode())]:
                if not leaks("{%s}" % text, [name]):
                    missed.append("%s %s after %r" % (name, form, pad))
    check("the search finds each secret raw, URL-encoded, JSON-escaped and base64 (3 alignments)", not missed,
          missed)
