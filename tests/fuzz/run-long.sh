#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Long fuzzing runs of every target (or the ones named), several at a time,
# from a -Dfuzz=true build (README.md here). Findings are kept, each run goes
# on after one, and a table of executions/s and coverage closes the run.
#
#   tests/fuzz/run-long.sh                    600 s per target
#   tests/fuzz/run-long.sh 60                 60 s per target
#   tests/fuzz/run-long.sh -runs=100000 toml  a fixed number of executions
#
# Environment: BUILD (default build-fuzz), JOBS (default: cores), OUT
# (default $BUILD/fuzz-long: corpus/, findings/, one log per target).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${BUILD:-build-fuzz}
how=(--seconds 600)
case "${1:-}" in
  -runs=*) how=(--runs "${1#-runs=}"); shift ;;
  [0-9]*) how=(--seconds "$1"); shift ;;
esac
# The fuzz targets only (tests/fuzz/NAME.cpp is fuzz-NAME, "_" as "-").
targets=("$@")
((${#targets[@]})) || for f in tests/fuzz/*.cpp; do f=${f##*/}; f=${f%.cpp}; targets+=("${f//_/-}"); done
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}" >/dev/null
exec /usr/bin/python3 tests/fuzz/run.py long --build-dir "$build" "${how[@]}" \
  --jobs "${JOBS:-$(nproc)}" ${OUT:+--out "$OUT"} "$@"
