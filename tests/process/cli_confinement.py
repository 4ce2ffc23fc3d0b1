#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`eks-node confinement`: the steps' Landlock policies, and the probe.

Usage: cli_confinement.py EKS_NODE_CLI

The listing names every confined step and its directories, and says whether
this kernel has Landlock. The probe, run here as root: unconfined (--probe=none)
it gets through its writes and exec; with eks-node-containerd's policy the
writes outside its directories (derived from the output registry), and exec, are refused while
its own directory stays writable. Without Landlock in this kernel the probe
says so, and the refusals are not expected. Bad arguments exit 2.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))
import harness  # noqa: E402

TALLY = harness.Tally()
check = TALLY.check


def results(out):
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line and not line.startswith("#"))


def main():
    cli = sys.argv[1]
    r = harness.run_cli(cli, "confinement")
    check("listing: exit 0", r.returncode == 0, r.stderr)
    lines = r.stdout.splitlines()
    landlock = bool(lines) and lines[0].startswith("Landlock: ABI")
    check("listing: first line says whether Landlock is here",
          bool(lines) and (landlock or lines[0].startswith("Landlock: not available")), r.stdout)
    for step in ("imds", "config", "system", "ca", "containerd", "hosts", "kubelet"):
        check(f"listing: eks-node-{step}", any(line.startswith(f"eks-node-{step} ") for line in lines), r.stdout)
    check("listing: containerd's directories",
          "writes beneath /etc/containerd, /etc/soci-snapshotter-grpc (if present)\n" in r.stdout, r.stdout)
    check("listing: eks-node-system's directories (the service environment, resolved's drop-ins)",
          "writes beneath /run/eks-node/env, /run/sysctl.d, /run/systemd/resolved.conf.d\n" in r.stdout, r.stdout)
    check("listing: instance-store is not Landlock-confined", "instance-store" not in r.stdout, r.stdout)

    own = pathlib.Path("/run/eks-node")  # the probe's own directory
    made = not own.exists()
    own.mkdir(parents=True, exist_ok=True)
    # eks-node-system's policy names /run/eks-node/env and
    # /run/systemd/resolved.conf.d, which the probe makes (as a step would)
    # when Landlock is enforced: removed again below
    env = own / "env"
    env_made = not env.exists()
    resolved = pathlib.Path("/run/systemd/resolved.conf.d")
    resolved_made = not resolved.exists()
    r = harness.run_cli(cli, "confinement", "--probe=none")
    got = results(r.stdout)
    check("probe unconfined: exit 0", r.returncode == 0, r.stderr)
    for label in ("own", "etc", "usr", "exec"):  # (cgroupfs depends on the machine)
        check(f"probe unconfined: {label}=ok", got.get(label) == "ok", r.stdout)

    for step, own_dir in (("containerd", "its own directory"), ("system", "its own directory (/run/eks-node/env)")):
        r = harness.run_cli(cli, "confinement", f"--probe={step}")
        got = results(r.stdout)
        check(f"probe {step}: exit 0", r.returncode == 0, r.stderr)
        check(f"probe {step}: {own_dir} stays writable", got.get("own") == "ok", r.stdout)
        if landlock:
            for label in ("etc", "usr", "cgroupfs", "exec"):
                check(f"probe {step}: {label} refused", got.get(label, "").startswith("denied"), r.stdout)
        else:
            check(f"probe {step}: says Landlock is not enforced", r.stdout.startswith("# Landlock not enforced"),
                  r.stdout)

    if resolved_made and resolved.exists():
        resolved.rmdir()
    if env_made and env.exists():
        env.rmdir()
    if made:
        own.rmdir()

    r = harness.run_cli(cli, "confinement", "no-such-step")
    check("unknown step: exit 2", r.returncode == 2 and "no step" in r.stderr, r.stderr)
    r = harness.run_cli(cli, "confinement", "--probe=instance-store")
    check("probe of an unconfined step: exit 2", r.returncode == 2, r.stderr)
    return TALLY.finish()


if __name__ == "__main__":
    sys.exit(main())
