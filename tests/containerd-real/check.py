#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every containerd golden config.toml, loaded by a real containerd.

For each tests/golden/containerd/*/expected/etc/containerd/config.toml, the
containerd of the case's generation (machine.containerdVersion of its
input/config.json: 1.x -> Debian trixie's 1.7, 2.x -> sid's 2.1) runs
`containerd --config FILE config dump`, which parses the file, migrates it to
its own schema and prints what it loaded, defaults added; no daemon starts.
Every key we wrote must be in that dump with our value: a misspelled or
unknown key, which containerd only warns about (or ignores), is missing
there, and a value of the wrong type fails the load.

containerd 2 dumps schema 3; a schema 2 file is compared through the same
migration containerd applies (plugin split of io.containerd.grpc.v1.cri), so
the check still names the key we wrote.

No containerd 2.3 is packaged here, so a case for containerd 2.3 (schema 4)
is loaded twice by 2.1: as written, which 2.1 must refuse (its ValidateVersion:
the reason eks-node writes version 4 only for 2.3), and with the server
plugins' tables put back where version 3 had them, the inverse of 2.3's
serviceMigrate (tests/data/containerd-config-v4.tsv), so that every other key,
the CRI plugins' above all, is still checked against a real containerd.

  check.py SOURCE_ROOT FETCH_SCRIPT
"""
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

V2_CRI = "io.containerd.grpc.v1.cri"
IMAGES = "io.containerd.cri.v1.images"
RUNTIME = "io.containerd.cri.v1.runtime"
# containerd 2's migration of the CRI plugin's schema 2 keys
# (plugins/cri/images, plugins/cri/runtime: configMigration).
TO_IMAGES = {"registry", "image_decryption", "max_concurrent_downloads", "image_pull_progress_timeout",
             "image_pull_with_sync_fs", "stats_collect_period"}
TO_SERVER = {"disable_tcp_service", "stream_server_address", "stream_server_port", "stream_idle_timeout",
             "enable_tls_streaming", "x509_key_pair_streaming"}
CTD_TO_IMAGES = {"snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"}


def v3_path(path):
    """Where containerd 2 puts a schema 2 key path (a tuple of keys)."""
    if len(path) < 3 or path[:2] != ("plugins", V2_CRI):
        return path
    key, rest = path[2], path[3:]
    if key == "sandbox_image":
        return ("plugins", IMAGES, "pinned_images", "sandbox")
    if key in TO_IMAGES:
        return ("plugins", IMAGES, key) + rest
    if key in TO_SERVER:
        return path
    if key == "cni" and rest == ("bin_dir",):
        return ("plugins", RUNTIME, "cni", "bin_dirs")
    if key == "containerd" and rest and rest[0] in CTD_TO_IMAGES:
        return ("plugins", IMAGES) + rest
    return ("plugins", RUNTIME, key) + rest


# containerd 2.3's server plugins and the version 3 places of their keys
# (cmd/containerd/server/config/config.go serviceMigrate, at v2.3.0).
V4_SERVER = {
    "io.containerd.server.v1.grpc": ("grpc", {}),
    "io.containerd.server.v1.grpc-tcp": ("grpc", {"address": "tcp_address", "tls_ca": "tcp_tls_ca",
                                                  "tls_cert": "tcp_tls_cert", "tls_key": "tcp_tls_key",
                                                  "tls_common_name": "tcp_tls_common_name"}),
    "io.containerd.server.v1.ttrpc": ("ttrpc", {}),
    "io.containerd.server.v1.debug": ("debug", {}),
    "io.containerd.server.v1.metrics": ("metrics", {}),
    "io.containerd.metrics.v1.grpc-prometheus": ("metrics", {}),
}
V2_1_REFUSAL = "expected containerd config version equal to or less than `3`, got `4`"


def v3_of_v4_path(path):
    """Where a schema 4 key path was in schema 3."""
    if len(path) == 3 and path[0] == "plugins" and path[1] in V4_SERVER:
        table, renamed = V4_SERVER[path[1]]
        return (table, renamed.get(path[2], path[2]))
    return path


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise ValueError(f"no TOML for {v!r}")


def toml_text(table, header=()):
    """A TOML document of nested dicts, enough for a rendered config.toml."""
    out = []
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if header and (scalars or not table):
        out.append("[" + ".".join(json.dumps(k) for k in header) + "]")
    out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in scalars.items()]
    for k, v in table.items():
        if isinstance(v, dict):
            out.append(toml_text(v, header + (k,)))
    return "\n".join(out)


def as_version_3(doc):
    """A schema 4 document with its server plugins' keys back in schema 3's places."""
    doc = json.loads(json.dumps(doc))
    doc["version"] = 3
    for plugin in V4_SERVER:
        for key, value in doc.get("plugins", {}).pop(plugin, {}).items():
            table, k = v3_of_v4_path(("plugins", plugin, key))
            doc.setdefault(table, {})[k] = value
    return doc


def leaves(table, prefix=()):
    for k, v in table.items():
        if isinstance(v, dict):
            yield from leaves(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def lookup(table, path):
    for k in path:
        if not isinstance(table, dict) or k not in table:
            raise KeyError(".".join(path))
        table = table[k]
    return table


def case_input(case):
    return json.loads((case / "input/config.json").read_text())


def config_dump(binary, case, text):
    """containerd's `config dump` of `text` as config.toml, the case's drop-ins beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        # The imports glob re-pointed into the case: the host's
        # /etc/containerd/config.d is no part of the test.
        dropins = Path(tmp) / "config.d"
        dropins.mkdir()
        src = case / "input/etc/containerd/config.d"
        if src.is_dir():
            for f in src.iterdir():
                (dropins / f.name).write_bytes(f.read_bytes())
        cfg = Path(tmp) / "config.toml"
        cfg.write_text(text.replace("/etc/containerd/config.d/*.toml", f"{dropins}/*.toml"))
        return subprocess.run([binary, "--config", str(cfg), "config", "dump"], capture_output=True, text=True,
                              cwd=tmp, timeout=60)


def check(case, binaries, problems):
    ours_file = case / "expected/etc/containerd/config.toml"
    cfg = case_input(case)
    version = cfg["machine"]["containerdVersion"]
    major, minor = (int(x) for x in version.split(".")[:2])
    # The user's own keys (spec.containerd.config) are written as given:
    # one containerd does not know is reported, not failed.
    user = dict(leaves(cfg["spec"].get("containerd", {}).get("config", {})))
    binary = binaries["sid" if major >= 2 else "trixie"]
    text = ours_file.read_text()
    ours = tomllib.loads(text)
    before = len(problems)
    v4 = ours.get("version") == 4
    if v4:
        if (major, minor) < (2, 3):
            problems.append(f"{case.name}: version 4 written for containerd {version}")
            return
        r = config_dump(binary, case, text)
        if r.returncode == 0 or V2_1_REFUSAL not in r.stderr:
            problems.append(f"{case.name}: containerd {binary} did not refuse version 4 as expected: "
                            f"exit {r.returncode}, {r.stderr.strip()}")
            return
        text = toml_text(as_version_3(ours))
    r = config_dump(binary, case, text)
    if r.returncode != 0:
        problems.append(f"{case.name}: containerd {binary} refused the file: {r.stderr.strip()}")
        return
    dump = tomllib.loads(r.stdout)
    migrate = major >= 2 and ours.get("version") == 2
    checked = 0
    notes = []
    for path, value in leaves(ours):
        if path == ("imports",) or ((migrate or v4) and path == ("version",)):
            continue
        where = v3_path(path) if migrate else v3_of_v4_path(path) if v4 else path
        if where != path and where[-1] == "bin_dirs":
            value = [value]
        try:
            loaded = lookup(dump, where)
        except KeyError:
            if path in user:
                notes.append(f"the user's {'.'.join(path)} is unknown to containerd: ignored")
                continue
            problems.append(f"{case.name}: {'.'.join(path)} is not in containerd's dump "
                            f"(an unknown key: containerd ignores it){r.stderr.strip() and ': ' + r.stderr.strip()}")
            continue
        if loaded != value:
            problems.append(f"{case.name}: {'.'.join(path)} = {value!r}, containerd loaded {loaded!r}")
        checked += 1
    if version.startswith("2.0") and "bin_dir =" in text:
        # containerd 2.1 still reads 2.0's bin_dir: it keeps it beside
        # bin_dirs in the dump and uses it in place of bin_dirs, with a
        # deprecation warning, when the CRI plugin starts.
        notes.append("2.0's bin_dir: 2.1 still reads it (deprecated)")
    print(f"{'FAIL' if len(problems) > before else 'ok'} {case.name} (containerd {version}): {checked} keys "
          f"checked against the dump of {binaries[binary]}"
          f"{', migrated 2 -> 3' if migrate else ''}"
          f"{', refused as version 4, checked as version 3' if v4 else ''}{''.join('; ' + n for n in notes)}")


def main():
    root, fetch = Path(sys.argv[1]), sys.argv[2]
    r = subprocess.run([fetch], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        print("0 passed, 1 failed")
        return 1
    binaries = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    for path in list(binaries.values()):  # each binary's own word for its version, for the report
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.split()
        binaries[path] = f"containerd {out[2] if len(out) > 2 else '?'}"
    problems = []
    cases = sorted(p for p in (root / "tests/golden/containerd").iterdir() if (p / "expected").is_dir())
    failed = 0
    for case in cases:
        before = len(problems)
        check(case, binaries, problems)
        failed += len(problems) > before
    for p in problems:
        print("FAIL", p)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
