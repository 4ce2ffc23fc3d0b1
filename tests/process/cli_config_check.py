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
- A kubelet.config key the kubelet does not know is a warning naming the
  field and the nearest one or the minor that added it (exit 0), refused
  with --strict; with --root=DIR, against DIR's kubelet.
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


def noted(cli, files, fields):
    """Problems unless `config check FILES` exits 0 with one note naming
    `fields` and eks:DescribeCluster, as eks-node-config fills them at boot."""
    r, errors = run(cli, *files)
    problems = []
    if r.returncode != 0 or errors:
        problems.append("exit %d, want 0: %r" % (r.returncode, r.stderr[-600:]))
    notes = [line for line in r.stdout.splitlines() if line.startswith("note: ")]
    if len(notes) != 1:
        return problems + ["want one note, got %r" % r.stdout]
    head = "note: %s: not set by any source; " % ", ".join("spec.cluster." + f for f in fields)
    if not notes[0].startswith(head) or "eks:DescribeCluster" not in notes[0]:
        problems.append("want the note to start with %r and name eks:DescribeCluster: %r" % (head, notes[0]))
    return problems


def boot_lookup_cases(cli, tally, put, base, toml):
    """What the node fills from EKS DescribeCluster is a note, not an error;
    where the node would refuse it (an Outposts local cluster), an error."""
    f = put("al2.sh", "#!/bin/bash\nset -e\n/etc/eks/bootstrap.sh my-cluster\n")
    tally.case("AL2 `bootstrap.sh my-cluster` is valid, endpoint, CA and CIDR noted as looked up at boot",
               noted(cli, [f], ["apiServerEndpoint", "certificateAuthority", "cidr"]))
    name_only = {"apiVersion": base["apiVersion"], "kind": "NodeConfig", "spec": {"cluster": {"name": "c"}}}
    f = put("name-only.yaml", yaml.safe_dump(name_only))
    tally.case("a NodeConfig with only cluster.name is valid, with the note",
               noted(cli, [f], ["apiServerEndpoint", "certificateAuthority", "cidr"]))
    no_cidr = copy.deepcopy(base)
    del no_cidr["spec"]["cluster"]["cidr"]
    tally.case("only the CIDR missing: noted alone",
               noted(cli, [put("no-cidr.yaml", yaml.safe_dump(no_cidr))], ["cidr"]))
    vpc = put("vpc.toml", toml.replace('cidr = "%s"\n' % base["spec"]["cluster"]["cidr"], "")
              + "[settings]\nserviceCidrStrategy = \"vpc\"\n")
    r, errors = run(cli, vpc)
    problems = [] if r.returncode == 0 and not errors else ["exit %d: %r" % (r.returncode, r.stderr)]
    if "note: spec.cluster.cidr: not set by any source; eks-node-config derives it at boot from the instance's VPC" \
            not in r.stdout or "DescribeCluster" in r.stdout:
        problems.append("want the VPC note and no DescribeCluster: %r" % r.stdout)
    tally.case("serviceCidrStrategy = vpc: the CIDR noted as the VPC's, EKS not asked", problems)
    outpost = copy.deepcopy(name_only)
    outpost["spec"]["cluster"].update({"enableOutpost": True, "id": "0123abcd-0000-1111-2222-333344445555"})
    f = put("outpost.yaml", yaml.safe_dump(outpost))
    tally.case("an Outposts local cluster named alone is refused, as the node refuses it",
               refused(cli, [f], str(f), "spec.cluster.apiServerEndpoint",
                       "required, but no source sets it (EKS DescribeCluster does not describe an Outposts"))
    nothing = put("empty.yaml", yaml.safe_dump({"apiVersion": base["apiVersion"], "kind": "NodeConfig",
                                                  "spec": {"kubelet": {"flags": ["--v=2"]}}}))
    tally.case("no cluster name at all is still an error",
               refused(cli, [nothing], str(nothing), "spec.cluster.name", "required, but no source sets it"))


def every_error_cases(cli, tally, put, base, good_yaml):
    """Every error of the input, not the first: each field of a document,
    each source; one line each, then the count."""
    two = with_field(with_field(base, "spec.cluster.cidr", "10.100.0.0/33"),
                     "spec.instance.localStorage.strategy", "bogus")
    f = put("two-bad.yaml", yaml.safe_dump(two))
    r, errors = run(cli, f)
    fields = sorted(e.split("error: ", 1)[1].split(": ")[1] for e in errors if "errors: the configuration" not in e)
    problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
    if fields != ["spec.cluster.cidr", "spec.instance.localStorage.strategy"]:
        problems.append("want both fields named, got %r" % r.stderr)
    tally.case("a document with two bad fields: both named", problems)
    toml_two = put("two-bad.toml", '[cluster]\nname = "c"\ncidr = "x"\n[settings]\nstrict = "yes"\n')
    hybrid = put("hybrid.yaml", yaml.safe_dump({"apiVersion": base["apiVersion"], "kind": "NodeConfig",
                                                  "spec": {"hybrid": {"ssm": {"activationCode": "c"}}}}))
    r, errors = run(cli, toml_two, good_yaml, hybrid)
    named = sorted("%s %s" % tuple(e.split("error: ", 1)[1].split(": ")[:2]) for e in errors
                   if "errors: the configuration" not in e)
    want = sorted(["%s spec.cluster.cidr" % toml_two, "%s settings.strict" % toml_two, "%s spec.hybrid" % hybrid])
    problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
    if named != want:
        problems.append("want %r, got %r" % (want, r.stderr))
    if not r.stderr.rstrip().endswith("3 errors: the configuration is not valid"):
        problems.append("want the count last: %r" % r.stderr)
    if r.stdout:
        problems.append("stdout should be empty: %r" % r.stdout)
    tally.case("three errors in two of three sources: each named with its source, then the count", problems)


def option_cases(cli, tally, put, base, good_yaml, d):
    """--json, --strict, - for standard input, --root=DIR's fragments."""
    name_only = put("name-only.json", json.dumps(
        {"apiVersion": base["apiVersion"], "kind": "NodeConfig", "spec": {"cluster": {"name": "c"}}}))
    r = harness.run_cli(cli, "config", "check", "--json", str(name_only))
    problems = [] if r.returncode == 0 and not r.stderr else ["exit %d: %r" % (r.returncode, r.stderr)]
    try:
        out = json.loads(r.stdout)
        if out.get("valid") is not True or out.get("errors") != [] or len(out.get("notes", [])) != 1 \
                or out.get("sources") != [str(name_only)]:
            problems.append("unexpected answer %r" % out)
    except ValueError:
        problems.append("not JSON: %r" % r.stdout)
    tally.case("--json of a valid source: valid, no errors, the note", problems)
    bad = put("bad.yaml", yaml.safe_dump(with_field(with_field(base, "spec.cluster.cidr", "x"),
                                                      "spec.hybrid", {"ssm": {"activationCode": "c"}})))
    r = harness.run_cli(cli, "config", "check", "--json", str(bad))
    problems = [] if r.returncode == 6 and not r.stderr else ["exit %d: %r" % (r.returncode, r.stderr)]
    try:
        out = json.loads(r.stdout)
        fields = sorted(e["field"] for e in out.get("errors", []))
        if out.get("valid") is not False or fields != ["spec.cluster.cidr", "spec.hybrid"] or \
                any(e["source"] != str(bad) for e in out["errors"]):
            problems.append("unexpected answer %r" % out)
    except (ValueError, KeyError, TypeError):
        problems.append("not the JSON wanted: %r" % r.stdout)
    tally.case("--json of a bad source: exit 6, every error with source and field", problems)

    typo = put("typo-strict.yaml", yaml.safe_dump(with_field(base, "spec.cluster.nmae", "x")))
    r = harness.run_cli(cli, "config", "check", "--strict", str(typo))
    problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
    if "%s: spec.cluster.nmae: unknown field (nearest known field: name)" % typo not in r.stderr:
        problems.append("want the field and its nearest name: %r" % r.stderr)
    tally.case("--strict refuses an unknown NodeConfig field", problems)

    r = harness.run_cli(cli, "config", "check", "-", input=good_yaml.read_text())
    problems = [] if r.returncode == 0 and r.stdout == "configuration valid (1 source)\n" else \
        ["exit %d: %r %r" % (r.returncode, r.stdout, r.stderr)]
    bad_stdin = harness.run_cli(cli, "config", "check", "-", input="spec: [\n")
    if bad_stdin.returncode != 6 or "standard input" not in bad_stdin.stderr:
        problems.append("bad standard input: exit %d, %r" % (bad_stdin.returncode, bad_stdin.stderr))
    tally.case("- reads standard input, named so in errors", problems)

    # errors that name the fix: a tab where YAML wants spaces
    tab = put("tab.yaml", "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n\tcluster:\n    name: x\n")
    r = harness.run_cli(cli, "config", "check", str(tab))
    tally.check("a tab in YAML: exit 6, saying it is a tab and YAML indents with spaces",
                r.returncode == 6 and "line 4, column 1" in r.stderr and
                "it is a tab: YAML indents with spaces only" in r.stderr, r.stderr)

    # --root=DIR: the sources take the user data's slot among DIR's fragments
    root = d / "root"
    admin = root / "etc/eks-node/node.toml.d"
    admin.mkdir(parents=True, exist_ok=True)
    harness.write(admin / "90-admin.toml", "[settings]\nstrict = \"yes\"\n")
    r = harness.run_cli(cli, "config", "check", "--root=%s" % root, str(good_yaml))
    problems = [] if r.returncode == 6 else ["exit %d, want 6: %r" % (r.returncode, r.stderr)]
    if "%s: settings.strict" % (admin / "90-admin.toml") not in r.stderr:
        problems.append("want DIR's broken fragment named: %r" % r.stderr)
    tally.case("--root=DIR reads DIR's fragments: a broken one is an error", problems)
    harness.write(admin / "90-admin.toml", '[cluster]\ncidr = "10.200.0.0/16"\n')
    harness.write(admin / "10-image.toml", '[cluster]\ncidr = "not-a-cidr"\n')
    r = harness.run_cli(cli, "config", "check", "--root=%s" % root, str(good_yaml))
    problems = [] if r.returncode == 6 else ["exit %d, want 6 (10-image.toml is read too)" % r.returncode]
    (admin / "10-image.toml").unlink()
    r2 = harness.run_cli(cli, "config", "check", "--root=%s" % root, "--json", str(good_yaml))
    if r2.returncode != 0:
        problems.append("a good root: exit %d: %r" % (r2.returncode, r2.stderr))
    tally.case("--root=DIR: every fragment of DIR in its order", problems)
    kubelet_field_cases(cli, tally, put, base, d)


def kubelet_field_cases(cli, tally, put, base, d):
    """kubelet.config keys the kubelet does not know: passed through with a warning (exit 0),
    refused with --strict; against DIR's kubelet with --root=DIR, else against every minor."""
    typo = put("kubelet-typo.yaml", yaml.safe_dump(with_field(base, "spec.kubelet.config",
                                                              {"maxPods": 20, "evictionHardd": {}})))
    r = harness.run_cli(cli, "config", "check", str(typo))
    want = "%s: spec.kubelet.config.evictionHardd: not a field of any kubelet from 1." % typo
    problems = [] if r.returncode == 0 else ["exit %d, want 0" % r.returncode]
    if want not in r.stderr or "did you mean evictionHard?" not in r.stderr:
        problems.append("want a warning starting %r, naming evictionHard: %r" % (want, r.stderr))
    if not r.stdout.startswith("configuration valid (1 source); 1 kubelet.config field the kubelet does not "
                               "know, passed to it all the same"):
        problems.append("stdout: %r" % r.stdout)
    tally.case("a kubelet.config typo: a warning with the nearest field, exit 0", problems)
    r = harness.run_cli(cli, "config", "check", "--strict", str(typo))
    problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
    if "error: %s: spec.kubelet.config.evictionHardd: " % typo not in r.stderr or \
            "--strict, as settings.strict = true, refuses a field the node's kubelet does not know" not in r.stderr:
        problems.append("want the field refused by --strict: %r" % r.stderr)
    tally.case("--strict refuses a kubelet.config typo, naming field and source", problems)

    newer = put("kubelet-newer.yaml", yaml.safe_dump(with_field(base, "spec.kubelet.config",
                                                               {"crashLoopBackOff": {}})))
    root = d / "kubelet-root"
    harness.write(root / "etc/eks/kubelet-version.txt", "v1.31.4-eks-1\n")
    r = harness.run_cli(cli, "config", "check", "--root=%s" % root, "--json", str(newer))
    problems = [] if r.returncode == 0 else ["exit %d, want 0: %r" % (r.returncode, r.stderr)]
    try:
        warnings = json.loads(r.stdout)["warnings"]
        if [(w.get("kind"), w.get("field"), w.get("message")) for w in warnings] != [
                ("kubeletField", "spec.kubelet.config.crashLoopBackOff",
                 "a kubelet 1.32 field; this node's kubelet is 1.31")]:
            problems.append("warnings: %r" % warnings)
    except (ValueError, KeyError):
        problems.append("not the JSON wanted: %r" % r.stdout)
    harness.write(root / "etc/eks/kubelet-version.txt", "v1.32.0\n")
    r = harness.run_cli(cli, "config", "check", "--root=%s" % root, "--json", str(newer))
    if r.returncode != 0 or json.loads(r.stdout or "{}").get("warnings") != []:
        problems.append("a 1.32 kubelet has it: %r" % r.stdout)
    tally.case("--root=DIR: kubelet.config against DIR's kubelet minor", problems)


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
        f = put("hybrid.toml", toml + "[hybrid]\nenableCredentialsFile = true\n")
        tally.case("a refused field in TOML",
                   refused(cli, [f], str(f), "spec.hybrid", "not supported by eks-node"))
        f = put("gate.toml", toml + "[featureGates]\nOSManagedNoManageENIs = true\n")
        tally.case("the OSManagedNoManageENIs gate in TOML", accepted(cli, f))

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
        tally.case("eks-node's TOML refuses a key it does not know, strict or not, naming the nearest",
                   refused(cli, [f], str(f), "spec.cluster.nmae",
                           "unknown field (nearest known field: name; known fields: name,", forbidden=None))
        f = put("typo-settings.toml", toml + "[settings]\nnodeNameStrategi = \"imds\"\n")
        tally.case("... in a section of many keys, the nearest and where they are listed, not all of them",
                   refused(cli, [f], str(f), "settings.nodeNameStrategi",
                           "unknown field (nearest known field: nodeNameStrategy; eks-node.toml(5), FIELDS, "
                           "lists the ", forbidden="serviceCidrStrategy"))

        boot_lookup_cases(cli, tally, put, base, toml)
        every_error_cases(cli, tally, put, base, good_yaml)
        option_cases(cli, tally, put, base, good_yaml, d)

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
