#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Every TOML file eks-node writes reads back with an independent parser
(python3's tomllib), and keys it cannot write are refused where they enter.

Usage: toml_outputs.py EKS_NODE_CLI

toml++ 3.3 writes a key with a newline, a tab or an apostrophe (otherwise
bare) unquoted: a containerd.config or runtime handler options key holding
one made a config.toml containerd cannot parse while `config check` said
valid. Checked here: every golden tree's .toml output; config.toml rendered
from user data whose containerd.config and runtime options have keys with
spaces, quotes, dots and non-ASCII letters (each must come back as written);
and such keys with a newline or a tab refused with exit 6 naming the key path
and the source, nothing rendered."""

import pathlib
import sys
import tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

ODD_KEYS = ["a b", "a.b", 'a"b', "a\\b", "a=b", "[x]", "é"]


def user_data(containerd_keys, option_keys):
    """A MIME message: the conformance NodeConfig with containerd.config
    holding `containerd_keys`, and TOML adding a runtime handler with
    `option_keys` in its options."""
    nodeconfig = (harness.CONFORMANCE_CASE / "nodeconfig.yaml").read_text()
    table = "".join('%s = "v"\n' % toml_key(k) for k in containerd_keys)
    nodeconfig += "  containerd:\n    config: |\n      [plugins.\"io.example.test\"]\n"
    nodeconfig += "".join("      " + line + "\n" for line in table.splitlines())
    options = "".join("%s = true\n" % toml_key(k) for k in option_keys)
    toml = ('[settings.runtimes.crun]\ntype = "io.containerd.runc.v2"\nbinary = "/usr/bin/crun"\n'
            "[settings.runtimes.crun.options]\n" + options)
    return ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n"
            "--B\nContent-Type: application/node.eks.aws\n\n" + nodeconfig +
            "\n--B\nContent-Type: application/vnd.eks-node+toml\n\n" + toml + "\n--B--\n")


def toml_key(k):
    """`k` as a TOML basic-string key."""
    return '"%s"' % k.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def render(cli, text):
    root = harness.make_root()
    ud = root / "user-data.mime"
    ud.write_text(text)
    harness.write(root / "usr/bin/crun", "#!/bin/sh\n")
    (root / "usr/bin/crun").chmod(0o755)
    with harness.FakeImds(harness.CONFORMANCE_INSTANCE, user_data=ud) as imds:
        r = harness.run_cli(cli, "render", "--root=%s" % root, "--imds-endpoint=%s" % imds.endpoint)
    return root, r


def main():
    cli = sys.argv[1]
    tally = harness.Tally()

    goldens = sorted(p for p in (harness.SOURCE_ROOT / "tests" / "golden").rglob("*.toml") if "expected" in p.parts)
    for p in goldens:
        try:
            tomllib.loads(p.read_text())
            tally.case("golden %s reads as TOML" % p.relative_to(harness.SOURCE_ROOT), [])
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            tally.case("golden %s reads as TOML" % p.relative_to(harness.SOURCE_ROOT), [str(e)])
    tally.at_least(len(goldens), 20, "golden TOML outputs")

    root, r = render(cli, user_data(ODD_KEYS, ODD_KEYS))
    problems = [] if r.returncode == 0 else ["exit %d: %s" % (r.returncode, r.stderr[-800:])]
    written = sorted(root.rglob("*.toml"))
    if not any(p.name == "config.toml" for p in written):
        problems.append("no config.toml rendered")
    for p in written:
        try:
            doc = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            problems.append("%s: %s" % (p.relative_to(root), e))
            continue
        if p.name == "config.toml":
            plugin = doc.get("plugins", {}).get("io.example.test", {})
            if sorted(plugin) != sorted(ODD_KEYS):
                problems.append("containerd.config keys came back as %r" % sorted(plugin))
            cri = doc.get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
            options = cri.get("containerd", {}).get("runtimes", {}).get("crun", {}).get("options", {})
            if not set(ODD_KEYS) <= set(options):
                problems.append("crun's options came back as %r" % sorted(options))
    tally.case("odd but printable keys render into TOML that reads back as written", problems)
    harness.shutil.rmtree(root, ignore_errors=True)

    for where, bad, containerd_keys, option_keys, field in (
            ("containerd.config", "a\nb", ["a\nb"], ["ok"], 'spec.containerd.config.plugins.io.example.test."a\\nb"'),
            ("runtime options", "Sys\ttemd", ["ok"], ["Sys\ttemd"], 'settings.runtimes.crun.options."Sys\\ttemd"'),
            ("containerd.config", "a'b", ["a'b"], ["ok"], "spec.containerd.config.plugins.io.example.test.\"a'b\"")):
        root, r = render(cli, user_data(containerd_keys, option_keys))
        problems = [] if r.returncode == 6 else ["exit %d, want 6" % r.returncode]
        errors = [line for line in r.stderr.splitlines() if "error:" in line]
        if len(errors) != 1 or field not in errors[0] or "user data (MIME part" not in errors[0]:
            problems.append("want one error naming %s and the user data part: %r" % (field, r.stderr[-800:]))
        if list(root.rglob("config.toml")):
            problems.append("config.toml written despite the error")
        tally.case("a %s key %r is refused, naming it" % (where, bad), problems)
        harness.shutil.rmtree(root, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
