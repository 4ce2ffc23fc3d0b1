#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""data/kubelet-config-fields.tsv and the two tools around it:

- tools/gen-tables.py compiles the tree's table, and refuses each kind of malformed row
  naming the file and line (the build would otherwise carry a wrong table to every node);
- tools/kubelet-fields.py reads Go types as kubelet's are written (nested structs, lists of
  structs, maps, pointers, the inlined TypeMeta, json:"-") and tells the minors each field
  spans, from a small git repository made here with tags v0.1.0 to v0.3.0;
- with EKS_NODE_KUBELET_REPO=DIR (a clone of github.com/kubernetes/kubelet with its tags),
  the table is what the generator makes of kubelet's own types; without it that one check is
  skipped, saying so.

Usage: kubelet_fields.py SOURCE_ROOT"""
import importlib.util
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(sys.argv[1])
GEN_TABLES = ROOT / "tools" / "gen-tables.py"
GENERATOR = ROOT / "tools" / "kubelet-fields.py"
TABLE_PATH = ROOT / "data" / "kubelet-config-fields.tsv"
TABLE = TABLE_PATH.read_text(encoding="utf-8")

sys.path.insert(0, str(ROOT / "tests" / "lib"))
import harness  # noqa: E402

spec = importlib.util.spec_from_file_location("kubelet_fields", GENERATOR)
kubelet_fields = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kubelet_fields)


def compile_table(text):
    """gen-tables.py over the tree's other data files and `text` as the kubelet table."""
    with tempfile.TemporaryDirectory() as d:
        src, out = pathlib.Path(d) / "kubelet-config-fields.tsv", pathlib.Path(d) / "tables.cpp"
        src.write_text(text, encoding="utf-8")
        r = subprocess.run([sys.executable, str(GEN_TABLES),
                            "--instance-info", str(ROOT / "data" / "instance-info.jsonl"),
                            "--pause-accounts", str(ROOT / "data" / "ecr-pause-accounts.tsv"),
                            "--xen-families", str(ROOT / "data" / "xen-instance-families.txt"),
                            "--kubelet-fields", str(src), "--output", str(out)],
                           stderr=subprocess.PIPE, text=True)
        return r.returncode, r.stderr, out.read_text() if out.exists() else ""


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def types_repo(directory, versions):
    """A git repository whose tag v0.N.0 (N from 1) holds versions[N-1] as the types file."""
    repo = pathlib.Path(directory)
    git(repo, "init", "-q")
    path = repo / kubelet_fields.TYPES_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(versions, start=1):
        path.write_text(text, encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"v{n}")
        git(repo, "tag", f"v0.{n}.0")
    return repo


GO_V1 = """package v1beta1

type KubeletConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	// maxPods is the maximum number of pods.
	MaxPods int32 `json:"maxPods,omitempty"`
	Authentication KubeletAuthentication `json:"authentication"`
	EvictionHard map[string]string `json:"evictionHard,omitempty"`
	ReservedMemory []MemoryReservation `json:"reservedMemory,omitempty"`
	Logging logsapi.LoggingConfiguration `json:"logging,omitempty"`
	Internal string `json:"-"`
	// Commented out: `json:"notAField"`
	OldField *bool `json:"oldField,omitempty"`
}

type KubeletAuthentication struct {
	X509 KubeletX509Authentication `json:"x509"`
}

type KubeletX509Authentication struct {
	ClientCAFile string `json:"clientCAFile,omitempty"`
}

type MemoryReservation struct {
	NumaNode int32 `json:"numaNode"`
	Limits v1.ResourceList `json:"limits"`
}
"""
# v2 adds a pointer to a struct; v3 drops oldField
GO_V2 = GO_V1.replace("\tOldField", "\tUserNamespaces *UserNamespaces `json:\"userNamespaces,omitempty\"`\n\tOldField") + """
type UserNamespaces struct {
	IDsPerPod *int64 `json:"idsPerPod,omitempty"`
}
"""
GO_V3 = GO_V2.replace("\tOldField *bool `json:\"oldField,omitempty\"`\n", "")


def main():
    tally = harness.Tally()
    check = tally.check

    # the tree's table: well-formed, sorted, in range (gen-tables.py's checks), every row compiled
    rows = [line for line in TABLE.splitlines() if line and not line.startswith("#")][1:]
    rc, err, out = compile_table(TABLE)
    compiled = out.split("kubelet_field_rows[] = {\n", 1)[-1].split("\n};", 1)[0].splitlines()
    check(f"the tree's table compiles, {len(rows)} rows, each one", rc == 0 and len(compiled) == len(rows) and all(
        line.startswith(f'    {{"{r.split(chr(9))[0]}", ') for line, r in zip(compiled, rows)), err)
    header = TABLE.split("\nfield\t", 1)[0]
    for needle in ("https://github.com/kubernetes/kubelet", "v0.29.0", "v0.36.0",
                   "tools/kubelet-fields.py --repo DIR", "# minors: 1.29 1.36"):
        check(f"the header names {needle}", needle in header)

    row = next(r for r in rows if r.startswith("crashLoopBackOff\t"))
    child = next(r for r in rows if r.startswith("crashLoopBackOff.maxContainerRestartPeriod\t"))
    cases = {
        "rows out of order": TABLE.replace(row + "\n", "") + row + "\n",
        "a row twice": TABLE.replace(row + "\n", row + "\n" + row + "\n"),
        "a first minor past the table's": TABLE.replace(row, "crashLoopBackOff\t1.37\t-"),
        "a first minor before the table's": TABLE.replace(row, "crashLoopBackOff\t1.28\t-"),
        "a last minor before the first": TABLE.replace(row, "crashLoopBackOff\t1.32\t1.31"),
        "the newest minor as a last one (\"-\" says it)": TABLE.replace(row, "crashLoopBackOff\t1.32\t1.36"),
        "a minor that is not 1.N": TABLE.replace(row, "crashLoopBackOff\t32\t-"),
        "a missing column": TABLE.replace(row, "crashLoopBackOff\t1.32"),
        "a path that is not a field path": TABLE.replace(row, "crash LoopBackOff\t1.32\t-"),
        "a nested field without its parent": TABLE.replace(row + "\n", ""),
        "a nested field older than its parent": TABLE.replace(child, child.replace("1.32", "1.31")),
        "no minors line": TABLE.replace("# minors: 1.29 1.36\n", ""),
        "no column names": TABLE.replace("field\tfirst\tlast\n", ""),
    }
    for what, text in cases.items():
        assert text != TABLE, what
        rc, err, _ = compile_table(text)
        check(f"refused: {what}", rc != 0 and "kubelet-config-fields.tsv" in err, f"rc {rc}: {err.strip()}")

    # the generator on Go types written as kubelet's are
    with tempfile.TemporaryDirectory() as d:
        repo = types_repo(d, [GO_V1, GO_V2, GO_V3])
        got = kubelet_fields.table(str(repo), 1, 3)
        want = [
            ("apiVersion", 1, None), ("authentication", 1, None), ("authentication.x509", 1, None),
            ("authentication.x509.clientCAFile", 1, None), ("evictionHard", 1, None), ("kind", 1, None),
            ("logging", 1, None), ("maxPods", 1, None), ("oldField", 1, 2), ("reservedMemory", 1, None),
            ("reservedMemory[].limits", 1, None), ("reservedMemory[].numaNode", 1, None),
            ("userNamespaces", 2, None), ("userNamespaces.idsPerPod", 2, None),
        ]
        check("the generator: nested structs, lists of them, maps and other repositories' types as leaves, "
              "json:\"-\" and comments skipped, added and removed fields", got == want, f"{got}")
        text = kubelet_fields.render(got, 1, 3)
        check("the generator's rows: \"-\" for a field still there, 1.N for the last minor of one removed",
              "\noldField\t1.1\t1.2\n" in text and "\nuserNamespaces\t1.2\t-\n" in text, text)
        back_again = GO_V3.replace("\tMaxPods", "\tOldField *bool `json:\"oldField,omitempty\"`\n\tMaxPods")
    with tempfile.TemporaryDirectory() as d:
        repo = types_repo(d, [GO_V1, GO_V3, back_again])
        try:
            kubelet_fields.table(str(repo), 1, 3)
            check("the generator refuses a field that comes and goes", False, "no error")
        except kubelet_fields.TypesError as e:
            check("the generator refuses a field that comes and goes", "oldField" in str(e), str(e))
    with tempfile.TemporaryDirectory() as d:
        repo = types_repo(d, [GO_V1.replace("metav1.TypeMeta", "metav1.ObjectMeta")])
        try:
            kubelet_fields.table(str(repo), 1, 1)
            check("the generator refuses an inlined type it does not know", False, "no error")
        except kubelet_fields.TypesError as e:
            check("the generator refuses an inlined type it does not know", "ObjectMeta" in str(e), str(e))

    # the table against kubelet's own types
    kubelet_repo = os.environ.get("EKS_NODE_KUBELET_REPO")
    if not kubelet_repo:
        print("skip - the table against kubelet's types: EKS_NODE_KUBELET_REPO (a clone of "
              "github.com/kubernetes/kubelet with its tags) is not set")
    else:
        r = subprocess.run([sys.executable, str(GENERATOR), "--repo", kubelet_repo, "--check", str(TABLE_PATH)],
                           capture_output=True, text=True)
        check(f"the table is what tools/kubelet-fields.py makes of {kubelet_repo}", r.returncode == 0,
              r.stdout + r.stderr)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
