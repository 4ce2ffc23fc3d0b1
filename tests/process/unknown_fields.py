#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""NodeConfig fields eks-node does not know, through the whole chain
(`eks-node render` against the fake IMDS), as nodeadm treats them: ignored.

Usage: unknown_fields.py EKS_NODE_CLI

- A MIME user data whose first NodeConfig part has unknown fields (at several
  levels, a feature gate among them) and placeholder values, and whose second
  part sets the real ones (a client's part behind the user's): the node
  renders with the second part's values, one warning line per field naming
  MIME part 1, the field and the nearest known name, and never the value.
- The same in JSON and YAML user data, and in an /etc/eks/nodeadm.d file.
- `config dump --origins` shows config.json's warnings, a plain dump does not;
  `config check` on the node says how many fields it ignored, exit 0.
- settings.strict = true in an admin's fragment: exit 6, exactly one error
  line naming the part and the field, nothing rendered.
- `eks-node bootstrap-sh` (the AL2 shim) beside such a NodeConfig part: a
  warning, and the slot it writes without the field; with the image's
  settings.strict, exit 6 and no slot."""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

PART = "application/node.eks.aws"
SECRET = "s3cr3t-never-shown"


def nodeconfig(spec):
    return json.dumps({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": spec})


def cluster():
    return {"name": "my-cluster", "apiServerEndpoint": "https://example.com",
            "certificateAuthority": harness.conformance_ca_base64(), "cidr": "10.100.0.0/16"}


def mime(*parts):
    out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
    for media_type, body in parts:
        out += "--B\nContent-Type: %s\n\n%s\n" % (media_type, body)
    return out + "--B--\n"


def render(cli, user_data, files=None):
    """(result, root) of `eks-node render` with `user_data` served by IMDS and
    `files` ({relative path: text}) on the node."""
    root = harness.make_root()
    for rel, text in (files or {}).items():
        harness.write(root / rel, text)
    ud = root.parent / (root.name + ".user-data")
    ud.write_text(user_data)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=ud) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    ud.unlink()
    return r, root


def warnings_of(stderr):
    return [line.split("warning: ", 1)[1] for line in stderr.splitlines()
            if "warning: " in line and "ignored as nodeadm ignores it" in line]


def expect_warnings(r, want):
    """Problems unless the warning lines are `want` ((source, field, nearest)), in order."""
    got = warnings_of(r.stderr)
    problems = []
    if len(got) != len(want):
        return ["want %d warnings, got %r" % (len(want), got)]
    for line, (source, field, nearest) in zip(got, want):
        if not line.startswith("%s: %s: " % (source, field)) or not line.endswith("known %s: %s)" % (
                "gate" if ".featureGates." in field else "field", nearest)):
            problems.append("want %s: %s (nearest %s), got %r" % (source, field, nearest, line))
    if SECRET in r.stderr or SECRET in r.stdout:
        problems.append("a value was shown: %r" % r.stderr)
    return problems


def merged_mime(cli):
    users = nodeconfig({"cluster": {"name": "placeholder", "nmae": SECRET},
                        "kubelet": {"config": {"maxPods": 10}, "maxPodsExpresion": SECRET},
                        "containerd": {"configs": SECRET},
                        "instance": {"network": {"nameserver": [SECRET]}},
                        "featureGates": {"InstanceIDNodeName": True}})
    generated = nodeconfig({"cluster": cluster(), "kubelet": {"config": {"maxPods": 42}}})
    r, root = render(cli, mime((PART, users), (PART, generated)))
    if r.returncode != 0:
        return ["exit %d: %s" % (r.returncode, r.stderr[-800:])]
    src = "user data (MIME part 1, %s)" % PART
    problems = expect_warnings(r, [(src, "spec.cluster.nmae", "name"),
                                   (src, "spec.kubelet.maxPodsExpresion", "maxPodsExpression"),
                                   (src, "spec.containerd.configs", "config"),
                                   (src, "spec.instance.network.nameserver", "nameservers"),
                                   (src, "spec.featureGates.InstanceIDNodeName", "InstanceIdNodeName")])
    kubelet = json.loads((root / "etc/kubernetes/kubelet/config.json").read_text())
    if kubelet.get("maxPods") != 42:
        problems.append("kubelet's maxPods %r, want part 2's 42" % kubelet.get("maxPods"))
    kubeconfig = (root / "var/lib/kubelet/kubeconfig").read_text()
    if "my-cluster" not in kubeconfig or "placeholder" in kubeconfig:
        problems.append("the kubeconfig does not name part 2's cluster: %r" % kubeconfig)
    env = (root / "etc/eks/kubelet/environment").read_text()
    if "--hostname-override=i-" in env:
        problems.append("the unknown gate turned InstanceIdNodeName on: %r" % env)
    cfg = json.loads((root / "run/eks-node/config.json").read_text())
    if [w["field"] for w in cfg.get("warnings", [])] != ["spec.cluster.nmae", "spec.kubelet.maxPodsExpresion",
                                                          "spec.containerd.configs",
                                                          "spec.instance.network.nameserver",
                                                          "spec.featureGates.InstanceIDNodeName"]:
        problems.append("config.json's warnings: %r" % cfg.get("warnings"))
    for rel in harness.tree(root):
        p = root / rel
        if p.is_file() and SECRET in p.read_text(errors="replace") and rel != "run/eks-node/user-data":
            problems.append("%s holds an ignored field's value" % rel)

    # the node's view of it
    dump = harness.run_cli(cli, "config", "dump", "--origins", "--root=%s" % root)
    if dump.returncode != 0 or json.loads(dump.stdout).get("warnings") != cfg["warnings"]:
        problems.append("config dump --origins lacks the warnings: %r" % dump.stdout[-400:])
    plain = harness.run_cli(cli, "config", "dump", "--root=%s" % root)
    if plain.returncode != 0 or "warnings" in json.loads(plain.stdout):
        problems.append("a plain config dump shows the warnings")
    check = harness.run_cli(cli, "config", "check", "--root=%s" % root)
    if check.returncode != 0 or not check.stdout.startswith("configuration valid; 5 NodeConfig fields ignored"):
        problems.append("config check on the node: exit %d, %r" % (check.returncode, check.stdout))
    harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def yaml_json_nodeadm_d(cli):
    problems = []
    spec = {"cluster": dict(cluster(), **{"Name": SECRET}), "instance": {"localStorage": {"mountpath": "/x"}}}
    yaml_doc = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: %s\nextra: 1\n" % json.dumps(spec)
    for form, text, extra in (("JSON", nodeconfig(spec), []), ("YAML", yaml_doc, [("user data", "extra", "kind")])):
        dropin = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    flagz: [--v=4]\n"
        r, root = render(cli, text, {"etc/eks/nodeadm.d/10-x.yaml": dropin})
        if r.returncode != 0:
            problems.append("%s: exit %d: %s" % (form, r.returncode, r.stderr[-800:]))
        else:
            # the document's own keys first, then the spec's, then the next source
            problems += ["%s: %s" % (form, p) for p in expect_warnings(r, extra + [
                ("user data", "spec.cluster.Name", "name"),
                ("user data", "spec.instance.localStorage.mountpath", "mountPath"),
                (str(root / "etc/eks/nodeadm.d/10-x.yaml"), "spec.kubelet.flagz", "flags")])]
        harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def strict(cli):
    users = nodeconfig({"cluster": {"nmae": SECRET}})
    generated = nodeconfig({"cluster": cluster()})
    r, root = render(cli, mime((PART, generated), (PART, users)),
                     {"etc/eks-node/node.toml.d/90-strict.toml": "[settings]\nstrict = true\n"})
    problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    want = "user data (MIME part 2, %s): spec.cluster.nmae: unknown field (known fields: name," % PART
    if len(errors) != 1 or want not in errors[0] or "settings.strict = true" not in errors[0]:
        problems.append("want one error %r, got %r" % (want, r.stderr[-800:]))
    if SECRET in r.stderr:
        problems.append("the value was shown")
    if (root / "run/eks-node/config.json").exists() or (root / "etc/kubernetes/kubelet/config.json").exists():
        problems.append("files rendered despite the error")
    harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def shim(cli):
    """`eks-node bootstrap-sh`, run by an AL2 script beside a NodeConfig part
    with an unknown field: the slot it writes holds the known fields only, so
    it warns (or, with the node's settings.strict, refuses) itself."""
    problems = []
    ca = harness.conformance_ca_base64()
    script = ("#!/bin/bash\n/etc/eks/bootstrap.sh $(true) my-cluster --b64-cluster-ca %s "
              "--apiserver-endpoint https://example.com --dns-cluster-ip 10.100.0.10\n" % ca)
    user_data = mime((PART, nodeconfig({"kubelet": {"flags": ["--v=2"], "flag": [SECRET]}})),
                     ("text/x-shellscript", script))
    args = ["--", "my-cluster", "--b64-cluster-ca", ca, "--apiserver-endpoint", "https://example.com",
            "--dns-cluster-ip", "10.100.0.10"]
    slot = "run/eks-node/node.toml.d/50-user-data.toml"
    for strict_mode in (False, True):
        root = harness.make_root()
        if strict_mode:
            harness.write(root / "usr/lib/eks-node/node.toml.d/10-strict.toml", "[settings]\nstrict = true\n")
        ud = root.parent / (root.name + ".user-data")
        ud.write_text(user_data)
        r = harness.run_cli(cli, "bootstrap-sh", "--root=%s" % root, "--user-data=%s" % ud, *args)
        ud.unlink()
        what = "strict" if strict_mode else "lenient"
        if SECRET in r.stderr + r.stdout:
            problems.append("%s: the value was shown" % what)
        if strict_mode:
            errors = [line for line in r.stderr.splitlines() if "error:" in line]
            if r.returncode != 6 or len(errors) != 1 or "spec.kubelet.flag: unknown field" not in errors[0]:
                problems.append("strict: exit %d, want 6 naming spec.kubelet.flag: %r" % (r.returncode, r.stderr))
            if (root / slot).exists():
                problems.append("strict: the slot was written despite the error")
        else:
            problems += ["lenient: " + p for p in expect_warnings(r, [(str(ud) + " (MIME part 1, %s)" % PART,
                                                                         "spec.kubelet.flag", "flags")])]
            text = (root / slot).read_text() if (root / slot).exists() else ""
            if r.returncode != 0 or "--v=2" not in text or SECRET in text:
                problems.append("lenient: exit %d, slot %r" % (r.returncode, text))
        harness.shutil.rmtree(root, ignore_errors=True)
    return problems


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    tally.case("a merged MIME user data renders with part 2's values, part 1's unknown fields ignored",
               merged_mime(cli))
    tally.case("unknown fields in JSON and YAML user data and in nodeadm.d, each warned of with its source",
               yaml_json_nodeadm_d(cli))
    tally.case("settings.strict = true: exit 6 naming the part and the field, nothing rendered", strict(cli))
    tally.case("the bootstrap.sh shim warns of (or with settings.strict refuses) what its slot leaves out", shim(cli))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
