#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test tier that fits here: golden (Catch2), process-level (fake IMDS,
# conformance samples, bad-input corpus, the chain of step binaries), the VM tier,
# then the sanitizer tier and the fuzz smoke in a clang ASan+UBSan build
# (build-fuzz/, tests/fuzz/README.md), and the aarch64 build's unit and golden
# tests under qemu-user and its packages (build-aarch64/, tests/README.md). The unit
# tests run in those two builds (--no-fuzz: in build/ and build-aarch64/).
# Installs its own dependencies on a fresh Debian 12 machine.
#
#   tools/test.sh              the three builds
#   tools/test.sh --no-fuzz    the GCC builds only (x86_64 and aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=1
[[ "${1:-}" == "--no-fuzz" ]] && fuzz=0
# ccache (meson picks it up; the sanitizer build names it) hits across clones in other
# directories: paths under the clone are hashed relative to it, and the working directory is
# not hashed for -g builds (only the debug info's compilation directory then names the clone
# that filled the cache). Each CI run and each bare run here is a fresh clone at a new path.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1

# Where the time goes (the figures of docs/test-cost.md): each phase's end, seconds into the run, and the
# CPU time the machine left idle during it (all cores' idle and iowait, /proc/stat): what a
# job beside that phase could still have had
idle_ticks() { awk '/^cpu /{ print $5 + $6; exit }' /proc/stat; }
hz=$(getconf CLK_TCK) idle_last=$(idle_ticks) phase_start=0
phase() {
  local idle
  idle=$(idle_ticks)
  echo "test.sh: $1 done at ${SECONDS} s ($(((idle - idle_last) / hz)) CPU-s idle in its $((SECONDS - phase_start)) s)"
  idle_last=$idle phase_start=$SECONDS
}
deps=(--test)
((fuzz)) && deps+=(--fuzz)
tools/deps.sh "${deps[@]}"
phase dependencies
# Stage 1 of the VM images (mmdebstrap: downloads and unpacking, no eks-node needed) beside
# the build, niced below it: on a bare machine it took 5 of the images' 6 minutes, after the
# build. Its failures show again in the full image build below, which redoes what is missing.
# One flavour after the other. Both at once (run B, 2026-11-27, bare) ended the images 100 s
# earlier, but the build took 105 s longer beside two of them, and the sanitizer build, which
# fills the CPU the images leave idle, then had less of it before the VM tier: its tail after
# the main tests grew (486 s against run Y's 341). The run does about 6,500 CPU-s of work with
# no core idle: its order moves the time around, only less work saves it.
# Both image logs stay in build/ (each step's seconds: where a bare run's image time went)
mkdir -p build
stage1_log=build/vm-images-stage1.log
(for flavour in bookworm sid; do
  EKS_NODE_VM_FLAVOUR=$flavour nice -n 10 tests/vm/build-image.sh --stage1 >/dev/null || true
done) >"$stage1_log" 2>&1 &
# The unit tests run in the sanitizer build (x86_64, clang) and the aarch64 build (GCC), not
# here as well: a third compile of their objects (about 150 CPU-s from nothing) and a third
# run would test no code of ours the other two do not (--no-fuzz keeps them here: no
# sanitizer build then). `meson test -C build unit` builds and runs them on demand.
main_run=()
if ((fuzz)); then
  tools/build.sh --without-unit-tests >/dev/null
  main_run=(--no-suite unit)
else
  tools/build.sh >/dev/null
fi
phase build
# The sanitizer tier (below) runs beside the rest: its build first, from the end of the GCC
# build on, compiled at the lowest priority, on the CPU the image builds and the VM guests
# leave idle, not instead of them (on a bare machine the images' stage 2 left 193 CPU-s idle
# in its 207 s, run V, while this build waited for it). nice(1)
# alone does not do that where the kernel groups tasks by session (autogroup, on in Debian's
# kernels): meson starts each test in a session of its own, so a guest's group and the test
# command's weighed the same, and niced compiles in other sessions took half the CPU from a
# boot (29-ecs ran out of its 180 s: qemu had 143 s of CPU in 270 s). So the build gets a
# session, its group niced. Its tests then start once the VM boots are over (below), each in
# a session of its own as meson starts them, beside the container boots: those boots' waits
# for a fault's deadline (tests/vm/README.md) left a core idle that they now use, where they
# used to run alone after the rest (run P: 297 s of 2,156). Two at a time, as alone: one at
# a time left a core idle after the rest; their hang guards doubled for the boots beside
# them. Their output is printed once the rest ended.
sanitizer=
rm -f build/.main-tests-done build/.vm-boots-over
# Returns once the VM boots are over (build/.vm-boots-over, which one watcher writes from the
# start of the main tests: below), or once the main run's tests are over (no VM ran, or
# another user's qemu runs). The watcher, not each tier: a tier whose build ended after the
# last boot saw no qemu at all and waited for the main tests' end (run F1: the sanitizer
# tests started 275 s late, docs/test-cost.md). A TCG guest takes a core of its
# own and has its boot guards, and two of them already keep both cores busy. The sanitizer
# tests beside them (run T: a warm build ended at once) took 250 s of CPU from the guests, and
# the container boots after them left a core idle while they wait out a fault's deadline,
# which the tests of the background builds (the sanitizer's, aarch64's) can fill instead.
after_vm_boots() {
  while [[ ! -e build/.vm-boots-over && ! -e build/.main-tests-done ]]; do sleep 1; done
}
# The boots are over once a qemu-system has run and none has for 10 s
watch_vm_boots() {
  local seen=0 quiet=0
  while [[ ! -e build/.main-tests-done ]]; do
    if pgrep -x qemu-system-x86 >/dev/null; then
      seen=1 quiet=0
    elif ((seen)) && ((++quiet >= 10)); then
      touch build/.vm-boots-over
      return
    fi
    sleep 1
  done
}
# Runs "$@" in a session of its own, its group niced to 19 (the sanitizer build says why)
niced_session() {
  setsid --wait bash -c '[[ -w /proc/self/autogroup ]] && echo 19 >/proc/self/autogroup
    exec nice -n 19 "$@"' niced "$@"
}
if ((fuzz)); then
  # A unity build, as build/ is (tools/build.sh; meson merges each target's sources, 32 to
  # an object, the unit test files too): the headers (nlohmann/json, fmt, the standard
  # library) are parsed, and their templates instantiated and instrumented, once per 32
  # files. This build from nothing, two jobs, no ccache (2026-11-29): 1,768 CPU-s at four to
  # an object, 1,149 at sixteen.
  # Linked by lld (CXX_LD): an ASan binary of a helper links in 0.25 CPU-s against GNU ld's
  # 0.95, and the build links ~60 of them (2026-11-28). build/ keeps the default linker,
  # the one the packages are built with (packaging/README.md), which the AMI installs.
  [[ -f build-fuzz/build.ninja ]] ||
    CC="ccache clang-14" CXX="ccache clang++-14" CC_LD=lld CXX_LD=lld meson setup build-fuzz -Dfuzz=true --unity on \
      -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 >/dev/null
  # meson writes the clone's absolute path into each unity source, which then missed ccache in
  # every fresh clone, warm or not (run D: all 87 objects compiled again, ~1,000 CPU-s beside
  # the VM tier); relative paths hit (tools/unity-relative.py). Before each build: a
  # reconfigure since the last run writes them anew.
  tools/unity-relative.py build-fuzz >/dev/null
  (
    # The sanitizer tier: the tests whose code paths no other sanitized test
    # reaches, against the unit tests, steps and CLI built with ASan+UBSan (a
    # report halts the process: the test fails), then each fuzz target's smoke.
    # Landlock, the dlopen()ed libcurl and libcrypto and LeakSanitizer at exit
    # all work there. Each suite here, and what only it reaches:
    #   unit              the library, every module (the widest)
    #   bad-input         eks-node-config on hostile user data, at its limits
    #   process-chain     every step binary's main, in chain order, and re-runs
    #   aws-lookups       libcurl and libcrypto (SigV4, XML) against a faulty fake AWS
    #   imds-values       eks-node-imds's HTTP client on hostile metadata answers
    #   prepull           the CRI client (gRPC framing, protobuf) on a fake containerd
    #   joined            eks-node-joined's socket loop
    #   secrets           collect-logs' tar writer and the redaction
    #   cli-validate-logs validate and the journal reader
    #   cli-confinement   the Landlock rule sets and their probe
    #   get-token         eks-node get-token: the presign, KUBERNETES_EXEC_INFO, the role's
    #                     document on the listing's IMDS session token
    # Left to the GCC run, with the reason: conformance, max-pods, al2-golden and
    # cli-user-data-file (the same parsers and renderers as unit, bad-input and
    # process-chain, and the fuzz smokes of bootstrap-sh, nodeconfig and
    # user-data), process-kill (SIGKILL timing, not memory: its writes are
    # process-chain's), the VM tier (its own image), generator-golden (the
    # generator's code is the unit tests' generator cases, and its golden cases
    # run each under strace), and the checks that run no code of ours (packer,
    # units, unit-docs, cli-completion). tests/fuzz/ubsan.supp lists the UBSan
    # reports of defects found and not fixed yet.
    sanitized=(unit bad-input process-chain aws-lookups imds-values prepull joined secrets cli-validate-logs
      cli-confinement get-token)
    # what those tests and the fuzz smokes start, and no more (no man page, no benchmark
    # program, no test helper of the x86_64 GCC run): tools/targets.py
    mapfile -t fuzz_targets < <(tools/targets.py build-fuzz "${sanitized[@]/#/--tests-of=}" --suite-of fuzz)
    if ! niced_session ninja -C build-fuzz "${fuzz_targets[@]}" >build/fuzz-build.log 2>&1; then
      tail -n 40 build/fuzz-build.log
      exit 1
    fi
    echo "test.sh: sanitizer build done at ${SECONDS} s"
    # Its tests wait for the VM boots (the first tests of the run, tests/meson.build)
    after_vm_boots
    echo "test.sh: sanitizer tests start at ${SECONDS} s"
    mapfile -t smokes < <(meson test -C build-fuzz --list --suite fuzz 2>/dev/null | grep -o 'fuzz-[a-z-]*$')
    ASAN_OPTIONS=halt_on_error=1:print_stacktrace=1:detect_leaks=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/ubsan.supp \
      meson test -C build-fuzz --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 2 \
      "${sanitized[@]}" "${smokes[@]}"
  ) >build/sanitizer-tier.log 2>&1 &
  sanitizer=$!
fi
# aarch64, proven and not only compiled (issue 59): the cross build (tools/build-aarch64.sh:
# the package's programs and the unit tests, GCC -O2 as build/), beside the rest as the
# sanitizer build is, in a niced session; then, once the VM boots are over, its tests under
# qemu-user (meson's exe_wrapper, tools/cross/aarch64-linux-gnu.ini):
#   unit               the library, every module, as aarch64 code
#   steps-golden       eks-node-imds, -config, -instance-store, -network on their golden trees
#   al2-golden         eks-node render and bootstrap-sh on AL2 user data
#   generator-golden   eks-node-generator's trees (its system call budget is x86_64's: under
#                      qemu strace would count qemu's calls)
#   elf-check-build    the binaries against AL2023's aarch64 table (tests/data/al2023/abi.tsv)
#   packages           the .deb, .rpm and tarball for aarch64: the same checks as x86_64's, and
#                      the same files as build/ installs (EKS_NODE_PACKAGE_PEER)
# Left to the x86_64 run: the process tests (fake IMDS, fake AWS, kills, Landlock...), which
# exercise the same code paths as the unit tests through the same mains, at a multiple of
# their time under emulation, and the VM tier, whose guests are x86_64.
rm -f build-aarch64/meson-logs/testlog.json # a failed build's run counts no earlier run's tests
(
  if ! niced_session tools/build-aarch64.sh >build/aarch64-build.log 2>&1; then
    tail -n 40 build/aarch64-build.log
    exit 1
  fi
  echo "test.sh: aarch64 build done at ${SECONDS} s"
  after_vm_boots
  echo "test.sh: aarch64 tests start at ${SECONDS} s"
  # --no-rebuild: the build above made what these tests need, and only that
  EKS_NODE_PACKAGE_PEER=$PWD/build meson test -C build-aarch64 --no-rebuild --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 unit steps-golden al2-golden generator-golden elf-check-build packages
) >build/aarch64-tier.log 2>&1 &
aarch64=$!
# The VM tier's guest images (tests/vm/build-image.sh; cached by content in
# /var/cache/eks-node-vm, minutes when absent) are finished beside the lint: stage 2
# comes after the build, as a new image is validated by the eks-node just built
# (`meson install` of build/, `eks-node validate --image`); stage 1 started with the
# build (above), and each flavour's lock makes this wait for it.
images_log=build/vm-images.log
(for flavour in bookworm sid; do
  EKS_NODE_VM_FLAVOUR=$flavour EKS_NODE_VM_BUILD_DIR=$PWD/build tests/vm/build-image.sh >/dev/null ||
    echo "image $flavour: FAILED"
done) >"$images_log" 2>&1 &
images=$!
status=0
# clang-format on the changed lines, clang-tidy on the changed files
# (tools/lint.sh says which base): a finding fails the run; the tests still
# run, so one CI round shows both.
tools/lint.sh || status=$?
phase lint
wait "$images" || true
phase 'VM images'
if grep -q FAILED "$images_log"; then
  tail -n 40 "$stage1_log" "$images_log" # stage 1 beside the build wrote only there
  status=1
fi
# Every tier, two tests at a time, the VM tier's boots too (each guest on one
# host thread: tests/vm/run-scenario.sh); a boot group's scenarios share one
# boot within this run (EKS_NODE_VM_RUN, tests/vm/run-case.sh).
watch_vm_boots &
EKS_NODE_VM_RUN=$(date +%s%N)-$$ meson test -C build --print-errorlogs --num-processes 2 "${main_run[@]}" || status=$?
touch build/.main-tests-done
phase 'meson test'
logs=(build/meson-logs/testlog.json)

if ((fuzz)); then
  wait "$sanitizer" || status=1
  cat build/sanitizer-tier.log
  logs+=(build-fuzz/meson-logs/testlog.json)
  phase 'sanitizer tier'
fi
wait "$aarch64" || status=1
cat build/aarch64-tier.log
[[ -f build-aarch64/meson-logs/testlog.json ]] && logs+=(build-aarch64/meson-logs/testlog.json)
phase 'aarch64 tier'

# One closing line CI can read: the cases inside every meson test (Catch2 test
# cases, the Python runners' checks), summed from meson's own logs.
/usr/bin/python3 tools/test-counts.py total "${logs[@]}"
exit "$status"
