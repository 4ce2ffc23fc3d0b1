#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lints the C++ under helpers/ generators/ tests/ with the LLVM 14 tools of
# Debian 12 (tools/deps.sh --test installs them); any finding fails the run.
#
#   clang-format  .clang-format, on the lines changed since the base below
#                 only: the tree predates the file (~960 of its lines differ),
#                 and a change should not have to reformat code it did not touch.
#   clang-tidy    .clang-tidy, on each changed .cpp and, for each changed
#                 header, one .cpp that includes it (its own, else the first
#                 by name; from ninja's dependency records in build/, so
#                 tools/build.sh must have run), where clang-tidy reports the
#                 header's findings (tools/tidy-keys.py says what that leaves
#                 out). Not the whole tree: its 110 files take 4-8 s of CPU
#                 each (nlohmann-json, fmt and toml++ in every one), ~13
#                 CPU-minutes. EKS_NODE_LINT_TIDY=includers checks every .cpp
#                 that includes a changed header, =all the whole tree.
#                 A file checked clean before with the same inputs is skipped
#                 (tools/tidy-keys.py; cache: $EKS_NODE_LINT_CACHE, else
#                 ~/.cache/eks-node-lint).
#
# The base for "changed": $EKS_NODE_LINT_BASE if set (CI may pass the target
# branch or the previously tested commit); else, on a branch, where it forked
# from main (main or origin/main); else, on main, HEAD's first parent, which
# for a merge commit is main before the merge, so the whole merged branch is
# checked. The working tree counts too: run it before committing. A clone too
# shallow to hold the base fails, saying so (fetch 2 commits or more, or set
# EKS_NODE_LINT_BASE), rather than passing without a check.
#
#   tools/lint.sh              both
#   tools/lint.sh --format     clang-format only (no build needed)
set -euo pipefail
cd "$(dirname "$0")/.."

what=all
[[ "${1:-}" == "--format" ]] && what=format
dirs=(helpers generators tests)
status=0

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "lint: not a git checkout: nothing says which lines changed" >&2
  exit 2
fi
base=${EKS_NODE_LINT_BASE:-}
if [[ -z "$base" ]]; then
  for trunk in main origin/main; do
    git rev-parse -q --verify "$trunk^{commit}" >/dev/null || continue
    fork=$(git merge-base HEAD "$trunk")
    [[ "$fork" != "$(git rev-parse HEAD)" ]] && base=$fork
    break
  done
  [[ -z "$base" ]] && base=$(git rev-parse -q --verify 'HEAD^1^{commit}' || true)
fi
if [[ -z "$base" ]]; then
  echo "lint: no base commit to find changed lines against (a shallow clone?); fetch 2+ commits or set EKS_NODE_LINT_BASE" >&2
  exit 2
fi

# git-clang-format formats only the lines that differ from $base; --diff
# prints what it would change instead of changing it. The files it looks at:
# C++ sources and headers by their extension.
out=$(git clang-format-14 --binary clang-format-14 --extensions cpp,hpp --diff "$base" -- "${dirs[@]}")
if [[ "$out" == *"diff --git"* ]]; then
  echo "lint: clang-format: lines changed since $(git rev-parse --short "$base") are not formatted (.clang-format):" >&2
  echo "$out" >&2
  echo "lint: apply with: git clang-format-14 $(git rev-parse --short "$base")" >&2
  status=1
else
  echo "lint: clang-format: changed lines since $(git rev-parse --short "$base") are formatted"
fi

# libFuzzer drops crash-/leak-/oom-/timeout-<sha1> files in its working
# directory; one was once committed at the top of the tree by mistake. A
# finding belongs in tests/fuzz/regressions/ (fixed) or pending/ (not yet),
# named after the defect.
mapfile -t artifacts < <(git ls-files --cached --others --exclude-standard |
  grep -E '(^|/)(crash|leak|oom|timeout|slow-unit)-[0-9a-f]{40}$' || true)
if ((${#artifacts[@]} > 0)); then
  echo "lint: libFuzzer artifacts in the tree (name them after the defect under tests/fuzz/regressions/ or pending/): ${artifacts[*]}" >&2
  status=1
fi

if [[ "$what" == all ]]; then
  if [[ ! -f build/build.ninja ]]; then
    echo "lint: clang-tidy needs build/ (its compile_commands.json and dependency records): run tools/build.sh first" >&2
    exit 2
  fi
  # Which sources (tools/tidy-keys.py): each under helpers/ generators/ tests/ whose
  # compilation read a changed file (ninja's dependency records in build/), "KEY SOURCE" when
  # clang-tidy must check it, "= SOURCE" when it was checked clean before with exactly these
  # inputs (clang-tidy's version, .clang-tidy, the compile command, the content of every file
  # its compilation read): a warm machine re-lints only what changed since its last clean run.
  # It also writes build/lint/compile_commands.json, one command per source where build/
  # merged 32 into one object (a unity build).
  cache=${EKS_NODE_LINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eks-node-lint}
  mkdir -p "$cache"
  # (a failure of it stops the run here, set -e: never "nothing to check")
  picked=$({ git diff --name-only "$base" -- "${dirs[@]}"; git ls-files --others --exclude-standard -- "${dirs[@]}"; } |
    tools/tidy-keys.py "$cache" "$(clang-tidy-14 --version)" "${EKS_NODE_LINT_TIDY:-changed}")
  selected=() sources=() todo=()
  [[ -n "$picked" ]] && mapfile -t selected <<<"$picked"
  for line in "${selected[@]}"; do
    sources+=("${line#* }")
    [[ "$line" == "= "* ]] || todo+=("$line")
  done
  cached=$((${#sources[@]} - ${#todo[@]}))
  # shellcheck disable=SC2016 # $1, $2 and $CACHE expand in the sh -c below, on purpose
  if ((${#sources[@]} == 0)); then
    echo "lint: clang-tidy: no changed C++ since $(git rev-parse --short "$base")"
  elif ((${#todo[@]} == 0)); then
    echo "lint: clang-tidy: ${#sources[@]} files, each checked clean before with the same inputs ($cache)"
  # WarningsAsErrors in .clang-tidy: a finding makes clang-tidy exit non-zero,
  # and xargs then 123; a clean check records its key. Two at a time: the
  # machines have two cores.
  elif printf '%s\n' "${todo[@]}" | CACHE=$cache xargs -P 2 -L 1 sh -c \
    'clang-tidy-14 -p build/lint --quiet "$2" && : >"$CACHE/$1"' lint-tidy >build/clang-tidy.log 2>&1; then
    echo "lint: clang-tidy: no findings in ${#sources[@]} files (${#todo[@]} checked, $cached clean before with the same inputs)"
  else
    grep -E '(warning|error): ' build/clang-tidy.log | sed 's/\x1b\[[0-9;]*m//; s/\x1b\[[0-9;]*m//g' | sort -u >&2 || true
    echo "lint: clang-tidy: findings above, in ${#todo[@]} files checked (full log: build/clang-tidy.log)" >&2
    status=1
  fi
fi
exit "$status"
