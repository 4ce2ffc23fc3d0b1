#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The stub kubelet's CRI driver (tests/vm/guest/cri.py) speaks the real CRI API: every
message, field number, field type, enum value and method it uses is checked against
api.proto (k8s.io/cri-api pkg/apis/runtime/v1) from Debian's
golang-github-kubernetes-cri-api-dev (suite sid; bookworm has no such package).

The .deb comes from deb.debian.org with a private apt configuration (its own sources.list,
lists and archive cache under CACHE, default $EKS_NODE_CRI_API_CACHE or /var/cache/eks-node-cri-api; /etc/apt is never
read for sources nor written); Acquire::Check-Valid-Until=false because the mirror's sid
Release may be past its Valid-Until. Once the .deb is in CACHE no network is used. No
network and no cached .deb: a failure, not a skip (CI reaches Debian's archive, as it
must to install anything).

With --client EXE (tests/unit/cri/client_table.cpp), eks-node's own CRI client is checked
instead: the fields and methods cri/image_service.hpp speaks, as EXE prints them.

Usage: cri_fields.py [--client EXE] [CACHE]
       cri_fields.py --fetch-only CACHE   (prints the .deb's path; tests/plumbing/cache_locks.py)"""
import collections
import fcntl
import glob
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "vm" / "guest"))
import cri  # noqa: E402

PACKAGE = "golang-github-kubernetes-cri-api-dev"
PROTO = "usr/share/gocode/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto"


def fetch(cache):
    """Path of the package's .deb in cache, downloaded once.

    Two tests of one run fetch into the same cache (vm-cri-fields and cri-client-fields start
    a second apart): without a lock the second lost apt's lock on the lists and failed at once
    on a new machine. So the cache is taken under an exclusive lock for the whole fetch, and a
    waiter finds the .deb the first one left. The .deb is downloaded into a directory of its
    own and renamed into the cache, so a fetch killed mid-way leaves no partial .deb that a
    later run would take for the package."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        debs = sorted(glob.glob(os.path.join(cache, f"{PACKAGE}_*.deb")))
        if debs:
            return debs[-1]
        for d in ("etc", "lists/partial", "cache/archives/partial", "download"):
            os.makedirs(os.path.join(cache, d), exist_ok=True)
        sources = os.path.join(cache, "etc", "sources.list")
        with open(sources, "w", encoding="utf-8") as f:
            f.write("deb http://deb.debian.org/debian sid main\n")
        opts = ["-q", "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", f"Dir::State::Lists={cache}/lists", "-o", f"Dir::Cache={cache}/cache",
                "-o", "Acquire::Check-Valid-Until=false", "-o", "APT::Sandbox::User=root"]
        download = os.path.join(cache, "download")
        for stale in glob.glob(os.path.join(download, "*")):
            os.remove(stale)
        subprocess.run(["apt-get", *opts, "update"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", *opts, "download", PACKAGE], check=True, cwd=download,
                       stdout=subprocess.DEVNULL)
        got = sorted(glob.glob(os.path.join(download, f"{PACKAGE}_*.deb")))
        if not got:
            raise RuntimeError(f"apt-get download {PACKAGE} left no .deb in {download}")
        deb = os.path.join(cache, os.path.basename(got[-1]))
        os.rename(got[-1], deb)
        return deb


def norm(t):
    """A field type with its spaces normalised: "repeated T", "map<string,string>"."""
    repeated = re.match(r"repeated\s+", t)
    return ("repeated " if repeated else "") + re.sub(r"\s+", "", t[repeated.end():] if repeated else t)


def parse(text):
    """api.proto -> (package, messages {name: {field: (number, type)}}, enums {name: {value: number}},
    rpcs {(service, method): (request, response)}). Top-level blocks only, as api.proto has."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # field options such as [deprecated=true]
    messages, enums, rpcs = {}, {}, {}
    package = re.search(r"^package\s+([\w.]+)\s*;", text, re.M).group(1)
    # a block ends at a "}" starting a line, or at once ("message StartContainerResponse {}")
    for kind, name, body in re.findall(r"^(message|enum|service)\s+(\w+)\s*\{(?:[ \t]*\}|(.*?)^\})", text,
                                       re.S | re.M):
        if kind == "message":
            messages[name] = {f: (int(n), norm(rep + t)) for rep, t, f, n in re.findall(
                r"^\s*(repeated\s+)?(map\s*<[^>]*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", body, re.M)}
        elif kind == "enum":
            enums[name] = {v: int(n) for v, n in re.findall(r"^\s*(\w+)\s*=\s*(\d+)\s*;", body, re.M)}
        else:
            for m, req, resp in re.findall(r"rpc\s+(\w+)\s*\(\s*(\w+)\s*\)\s*returns\s*\(\s*(\w+)\s*\)", body):
                rpcs[(name, m)] = (req, resp)
    return package, messages, enums, rpcs




def compare(schema, enum_table, methods, package, proto):
    """Every difference between the driver's tables and api.proto, one line each."""
    proto_package, messages, enums, rpcs = proto
    problems = []
    for msg, fields in schema.items():
        if msg not in messages:
            problems.append(f"message {msg}: not in api.proto")
            continue
        for field, (number, typ) in fields.items():
            have = messages[msg].get(field)
            if have is None:
                problems.append(f"{msg}.{field}: no such field")
            elif have != (number, norm(typ)):
                problems.append(f"{msg}.{field}: driver says {number} {typ}, api.proto {have[0]} {have[1]}")
    for enum, values in enum_table.items():
        for value, number in values.items():
            if enums.get(enum, {}).get(value) != number:
                problems.append(f"enum {enum}.{value}: driver says {number}, api.proto "
                                f"{enums.get(enum, {}).get(value)}")
    for method, (service, req, resp) in methods.items():
        if rpcs.get((service, method)) != (req, resp):
            problems.append(f"rpc {service}.{method}: driver says ({req}) -> ({resp}), api.proto "
                            f"{rpcs.get((service, method))}")
    if package != proto_package:
        problems.append(f"package {package}, api.proto {proto_package}")
    return problems


def client_tables(exe):
    """eks-node's CRI client's tables, shaped as the driver's: (package, schema, methods)."""
    table = json.loads(subprocess.run([exe], check=True, stdout=subprocess.PIPE, text=True).stdout)
    schema = collections.defaultdict(dict)
    for f in table["fields"]:
        schema[f["message"]][f["name"]] = (f["number"], f["type"])
    methods = {m["name"]: (m["service"], m["request"], m["response"]) for m in table["methods"]}
    return table["package"], dict(schema), methods


def main():
    args = sys.argv[1:]
    client = None
    if args[:1] == ["--fetch-only"]:
        print(fetch(args[1]))
        return 0
    if args[:1] == ["--client"]:
        client, args = args[1], args[2:]
    cache = args[0] if args else os.environ.get("EKS_NODE_CRI_API_CACHE", "/var/cache/eks-node-cri-api")
    try:
        deb = fetch(cache)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:
        print(f"not ok - {PACKAGE} could not be fetched: {e}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        text = (pathlib.Path(tmp) / PROTO).read_text(encoding="utf-8")
    proto = parse(text)
    passed = failed = 0

    def check(what, ok, detail=""):
        nonlocal passed, failed
        print(f"{'ok' if ok else 'not ok'} - {what}")
        passed += bool(ok)
        if not ok:
            failed += 1
            print("    " + detail.replace("\n", "\n    "))

    print(f"# {os.path.basename(deb)}: {len(proto[1])} messages, {len(proto[2])} enums, {len(proto[3])} rpcs")
    check("api.proto parsed (RunPodSandboxRequest.config = 1)",
          proto[1].get("RunPodSandboxRequest", {}).get("config") == (1, "PodSandboxConfig"),
          repr(proto[1].get("RunPodSandboxRequest")))
    if client:
        package, schema, methods = client_tables(client)
        problems = compare(schema, {}, methods, package, proto)
        check(f"eks-node's CRI client: {sum(len(f) for f in schema.values())} fields of {len(schema)} messages "
              f"and {len(methods)} methods match api.proto", not problems and len(methods) == 2, "\n".join(problems))
        # the comparison sees a wrong number in the client's table too
        schema["AuthConfig"]["password"] = (3, "string")
        caught = compare(schema, {}, methods, package, proto)
        check("a wrong number in the client's table is reported", len(caught) == 1, "\n".join(caught))
        print(f"checks: {passed} passed, {failed} failed")
        return 1 if failed else 0
    problems = compare(cri.SCHEMA, cri.ENUMS, cri.METHODS, cri.PACKAGE, proto)
    n_fields = sum(len(f) for f in cri.SCHEMA.values())
    check(f"the driver's {len(cri.SCHEMA)} messages, {n_fields} fields, "
          f"{sum(len(v) for v in cri.ENUMS.values())} enum values and {len(cri.METHODS)} methods match api.proto",
          not problems, "\n".join(problems))
    # The comparison itself catches a wrong number, type, enum value and method.
    wrong = {m: dict(f) for m, f in cri.SCHEMA.items()}
    wrong["PodSandboxConfig"]["linux"] = (9, "LinuxPodSandboxConfig")
    wrong["ContainerStatus"]["exit_code"] = (7, "int64")
    enums = {"NamespaceMode": {**cri.ENUMS["NamespaceMode"], "NODE": 1}}
    methods = {"StopPodSandbox": ("RuntimeService", "RemovePodSandboxRequest", "StopPodSandboxResponse")}
    caught = compare(wrong, enums, methods, cri.PACKAGE, proto)
    check("a wrong field number, field type, enum value and request type are each reported",
          len(caught) == 4, "\n".join(caught))
    # The encoder writes what the tables say: RunPodSandboxRequest{config{linux{cgroup_parent}}}
    data = cri.encode("RunPodSandboxRequest", {"config": {"linux": {"cgroup_parent": "p"}}, "runtime_handler": "h"})
    check("encode: config (1) > linux (8) > cgroup_parent (1), runtime_handler (2)",
          data == bytes.fromhex("0a0542030a0170") + bytes.fromhex("120168"), data.hex())
    back = cri.decode("RunPodSandboxRequest", data)
    check("decode(encode(x)) keeps the fields", back["config"]["linux"]["cgroup_parent"] == "p"
          and back["runtime_handler"] == "h", repr(back))
    print(f"checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
