#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node config check FILE...`, the command to run on user data before
launching a node.

Usage: cli_config_check.py EKS_NODE_CLI

- A complete NodeConfig is valid in YAML, JSON, MIME multipart and TOML:
  exit 0, "configuration valid (N sources)" on stdout, nothing on stderr.
- Every field of nodeadm's NodeConfig (tests/data/nodeadm-fields.md), set
  on top of a complete NodeConfig, once as YAML and once as JSON: a field
  eks-node accepts exits 0; one it refuses exits 6 with exactly one error
  line naming the file, the field (or the section holding it) and why, and
  never "unknown field".
- Refusals in a MIME part and in a later source name that part or source.
- A field nodeadm does not know either (a feature gate of a newer nodeadm, a
  typo) is ignored as nodeadm ignores it: exit 0, one warning line on stderr
  naming the file, the field and the nearest known name, and the count on
  stdout; with settings.strict = true (a TOML source) it is exit 6, an
  "unknown field" naming the known ones.
- A file that does not exist, or is a directory, exits 6 with one line
  naming it."""

import copy
import json
import pathlib
import sys
import tempfile

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TABLE = harness.SOURCE_ROOT / "tests" / "data" / "nodeadm-fields.md"
BASE = harness.SOURCE_ROOT / "tests" / "conformance" / "03-kubeconfig" / "nodeconfig.yaml"
NODECONFIG_PART = "application/node.eks.aws"


def rows():
    """(path, handling, sample) of every row of the table."""
    out = []
    for line in TABLE.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        path, handling, sample = cells[0].strip("`"), cells[1], cells[2].strip("`")
        out.append((path, handling, json.loads(sample)))
    return out


# A list element's fields that must be there for one field of it to be
# valid alone: an EBS volume needs a device and a target.
ELEMENTS = {"volumes": {"device": "/dev/xvdc", "mountTarget": "/var/lib/ebs-data"}}


def with_field(base, path, value):
    """A copy of the document `base` with `path` ("spec.a.b[].c") set to `value`."""
    doc = copy.deepcopy(base)
    keys = path.split(".")
    node = doc
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        listed = key.endswith("[]")
        key = key[:-2] if listed else key
        if listed:
            node = node.setdefault(key, [copy.deepcopy(ELEMENTS.get(key, {}))])[0]
            if last:
                raise ValueError("a list element is not a field: " + path)
            if key in ELEMENTS and keys[i + 1] in ("mountTarget", "mountTargets"):
                node.pop("mountTarget", None)  # one of the two shapes per entry
        elif last:
            node[key] = value
        else:
            node = node.setdefault(key, {})
    return doc


def run(cli, *files):
    r = harness.run_cli(cli, "config", "check", *map(str, files))
    errors = [line for line in r.stderr.splitlines() if "error:" in line]
    return r, errors


def accepted(cli, *files):
    r, _ = run(cli, *files)
    problems = []
    if r.returncode != 0:
        problems.append("exit %d, want 0: %r" % (r.returncode, r.stderr[-600:]))
    want = "configuration valid (%d source%s)" % (len(files), "" if len(files) == 1 else "s")
    # then one line per part cloud-init runs (tests/process/cli_cloud_init_parts.py)
    lines = [line for line in r.stdout.splitlines() if not line.startswith("cloud-init runs ")]
    if lines != [want] or r.stderr:
        problems.append("want %r and no stderr, got %r, %r" % (want, r.stdout, r.stderr[-600:]))
    return problems


def warned(cli, files, warnings):
    """Problems unless `config check FILES` exits 0 with exactly `warnings`
    (lines "SOURCE: FIELD: ...(nearest known ...: NAME)", as (source, field,
    nearest)) on stderr, and says how many it ignored."""
    r, errors = run(cli, *files)
    problems = []
    if r.returncode != 0:
        problems.append("exit %d, want 0: %r" % (r.returncode, r.stderr[-600:]))
    lines = [line.split("warning: ", 1)[1] for line in r.stderr.splitlines() if "warning: " in line]
    want = ["%s: %s: " % (source, field) for source, field, _ in warnings]
    if len(lines) != len(want) or any(not line.startswith(w) for line, w in zip(lines, want)):
        problems.append("want warnings %r, got %r" % (want, r.stderr[-600:]))
    for line, (_, _, nearest) in zip(lines, warnings):
        if not line.endswith(": %s)" % nearest) or "ignored as nodeadm ignores it" not in line:
            problems.append("the warning does not name %r: %r" % (nearest, line))
    if errors:
        problems.append("no error line wanted: %r" % errors)
    n = len(warnings)
    want_out = "configuration valid (%d source%s); %d NodeConfig field%s ignored" % (
        len(files), "" if len(files) == 1 else "s", n, "" if n == 1 else "s")
    if not r.stdout.startswith(want_out):
        problems.append("want stdout to start with %r: %r" % (want_out, r.stdout))
    return problems


def refused(cli, files, source, field, says, forbidden="unknown field"):
    """Problems unless `config check FILES` exits 6 with one error line
    "SOURCE: FIELD: ..." containing `says` (and not `forbidden`)."""
    r, errors = run(cli, *files)
    problems = []
    if r.returncode != 6:
        problems.append("exit %d, want 6: %r" % (r.returncode, r.stderr[-600:]))
    if len(errors) != 1:
        return problems + ["want exactly one error line, got %r" % r.stderr[-600:]]
    msg = errors[0].split("error: ", 1)[1]
    head = "%s: %s: " % (source, field) if field else "%s: " % source
    if not msg.startswith(head):
        problems.append("want it to start with %r: %r" % (head, msg))
    if says not in msg:
        problems.append("want it to say %r: %r" % (says, msg))
    if forbidden and forbidden in msg:
        problems.append("must not say %r: %r" % (forbidden, msg))
    if r.stdout:
        problems.append("stdout should be empty: %r" % r.stdout)
    return problems


def named_field(path, msg):
    """The field an error names, when it is `path` or a section above it."""
    field = msg.split(": ")[1]
    exact = path.replace("[]", "[0]")
    return field if exact == field or exact.startswith(field + ".") or exact.startswith(field + "[") else None


def mime(*parts):
    out = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
    for media_type, body in parts:
        out += "--B\nContent-Type: %s\n\n%s\n" % (media_type, body)
    return out + "--B--\n"


def main():
    cli = sys.argv[1]
    tally = harness.Tally()
    base = yaml.safe_load(BASE.read_text())
    ca = base["spec"]["cluster"]["certificateAuthority"]
    table = rows()
    tally.at_least(len(table), 35, "nodeadm field table")

    with tempfile.TemporaryDirectory(prefix="eksnode-check-") as d:
        d = pathlib.Path(d)

        def put(name, text):
            harness.write(d / name, text)
            return d / name

        # one good configuration in every form config check reads
        good_yaml = put("good.yaml", yaml.safe_dump(base))
        tally.case("a complete NodeConfig in YAML", accepted(cli, good_yaml))
        tally.case("the same in JSON", accepted(cli, put("good.json", json.dumps(base))))
        labels = yaml.safe_dump({"apiVersion": base["apiVersion"], "kind": "NodeConfig",
                                 "spec": {"kubelet": {"flags": ["--node-labels=team=a"]}}})
        tally.case("the same as two MIME parts, with a shell script beside them",
                   accepted(cli, put("good.mime", mime((NODECONFIG_PART, yaml.safe_dump(base)),
                                                       (NODECONFIG_PART, labels),
                                                       ("text/x-shellscript", "#!/bin/sh\necho hi")))))
        cluster = base["spec"]["cluster"]
        toml = "[cluster]\n" + "".join('%s = "%s"\n' % (k, cluster[k]) for k in
                                       ("name", "apiServerEndpoint", "certificateAuthority", "cidr"))
        tally.case("the same in eks-node TOML", accepted(cli, put("good.toml", toml)))
        tally.case("two sources, merged", accepted(cli, good_yaml, put("labels.yaml", labels)))

        # every nodeadm field, as YAML and as JSON
        for path, handling, sample in table:
            value = json.loads(json.dumps(sample).replace("@CA@", ca))
            if path in ("apiVersion", "kind", "metadata", "status"):
                doc = copy.deepcopy(base)
                doc[path] = value
            else:
                doc = with_field(base, path, value)
            for form, text in (("yaml", yaml.safe_dump(doc)), ("json", json.dumps(doc))):
                name = "%s: %s (%s)" % (handling, path, form)
                f = put("field.%s" % form, text)
                if path == "spec.featureGates.SomeFutureGate":  # a gate of a newer nodeadm
                    tally.case(name, warned(cli, [f], [(str(f), path, "InstanceIdNodeName")]))
                    continue
                if handling != "refused":
                    tally.case(name, accepted(cli, f))
                    continue
                r, errors = run(cli, f)
                field = named_field(path, errors[0].split("error: ", 1)[1]) if len(errors) == 1 else None
                if field is None:
                    tally.case(name, ["want one error naming %s or a section above it: %r" % (path, r.stderr)])
                    continue
                tally.case(name, refused(cli, [f], str(f), field, "not supported by eks-node: "))

        # where a refusal comes from
        refusal = yaml.safe_dump({"apiVersion": base["apiVersion"], "kind": "NodeConfig",
                                  "spec": {"hybrid": {"ssm": {"activationCode": "c", "activationId": "i"}}}})
        f = put("hybrid.mime", mime((NODECONFIG_PART, yaml.safe_dump(base)), (NODECONFIG_PART, refusal)))
        tally.case("a refused field in MIME part 2 names the file and the part",
                   refused(cli, [f], "%s (MIME part 2, %s)" % (f, NODECONFIG_PART), "spec.hybrid",
                           "not supported by eks-node: EKS Hybrid Nodes"))
        later = put("later.yaml", refusal)
        tally.case("a refused field in the second source names that source",
                   refused(cli, [good_yaml, later], str(later), "spec.hybrid", "EKS Hybrid Nodes"))
        f = put("gate.toml", toml + "[featureGates]\nOSManagedNoManageENIs = true\n")
        tally.case("a refused feature gate in TOML",
                   refused(cli, [f], str(f), "spec.featureGates.OSManagedNoManageENIs", "not supported by eks-node"))
        f = put("gate-off.yaml", yaml.safe_dump(with_field(base, "spec.featureGates.OSManagedNoManageENIs", False)))
        tally.case("a refused feature gate turned off asks for nothing", accepted(cli, f))

        # not nodeadm's either: ignored as nodeadm ignores it, named with the
        # nearest known name; refused with settings.strict
        f = put("typo.yaml", yaml.safe_dump(with_field(base, "spec.cluster.nmae", "x")))
        tally.case("a field nodeadm does not know either is ignored with a warning",
                   warned(cli, [f], [(str(f), "spec.cluster.nmae", "name")]))
        strict = put("strict.toml", "[settings]\nstrict = true\n")
        tally.case("... and refused with settings.strict",
                   refused(cli, [strict, f], str(f), "spec.cluster.nmae", "unknown field (known fields: name,",
                           forbidden=None))
        typos = put("typos.mime", mime((NODECONFIG_PART, yaml.safe_dump(
            with_field(with_field(base, "spec.kubelet.flag", ["--v=2"]), "spec.featureGates.FastImagePul", True))),
            (NODECONFIG_PART, labels)))
        # in document order (safe_dump sorts the keys: featureGates first)
        tally.case("one warning per field, naming the MIME part",
                   warned(cli, [typos], [("%s (MIME part 1, %s)" % (typos, NODECONFIG_PART),
                                          "spec.featureGates.FastImagePul", "FastImagePull"),
                                         ("%s (MIME part 1, %s)" % (typos, NODECONFIG_PART), "spec.kubelet.flag",
                                          "flags")]))
        f = put("typo.toml", toml + "nmae = \"x\"\n")
        tally.case("eks-node's TOML refuses a key it does not know, strict or not",
                   refused(cli, [f], str(f), "spec.cluster.nmae", "unknown field (known fields: name,",
                           forbidden=None))

        # sources that are not there
        missing = d / "missing.yaml"
        tally.case("a file that does not exist", refused(cli, [missing], str(missing), "", "no such file"))
        tally.case("a directory", refused(cli, [d], str(d), "", "a directory, not a file"))
        tally.case("a missing file after a good one",
                   refused(cli, [good_yaml, missing], str(missing), "", "no such file"))

        # runtime-class prints YAML for the admin to apply: a --node-selector
        # key or value that is not a Kubernetes label (a newline, a tab, ": ")
        # is a usage error naming it, never printed
        for arg, named in (("a\nkind: Pod=x", '"a\\nkind: Pod"'), ("gpu\t=x", '"gpu\\t"'),
                           ("gpu=a\nb", '"a\\nb"')):
            r = harness.run_cli(cli, "runtime-class", "--node-selector=" + arg, "--root=%s" % d)
            problems = [] if r.returncode == 2 else ["exit %d, want 2" % r.returncode]
            if named not in r.stderr or "--node-selector" not in r.stderr:
                problems.append("the error does not name %s: %r" % (named, r.stderr))
            if r.stdout:
                problems.append("printed despite the error: %r" % r.stdout)
            tally.case("runtime-class refuses the node selector %r" % arg, problems)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
