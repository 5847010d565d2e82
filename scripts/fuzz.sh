#!/usr/bin/env bash
# Runs the cargo-fuzz targets of parsers/fuzz one at a time on one core,
# SECONDS each (default 600), and prints per target the executions and the
# result. Needs cargo-fuzz (`cargo install cargo-fuzz`); the sanitizer flags
# need nightly features, hence RUSTC_BOOTSTRAP=1 on a stable toolchain.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# New corpus entries stay in parsers/fuzz/corpus/TARGET (git ignores all but
# the seed-* files); a crash is written to parsers/fuzz/artifacts/TARGET/
# and must become a regression test under fixtures/corrupt/.
set -uo pipefail
cd "$(dirname "$0")/../parsers"
secs="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(tracedat page event_format print_fmt perf_data)
export RUSTC_BOOTSTRAP=1
cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
status=0
for t in "${targets[@]}"; do
  log="fuzz/fuzz-$t.log"
  cargo fuzz run "$t" -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 >"$log" 2>&1
  rc=$?
  execs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1)
  [ -z "$execs" ] && execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  if [ $rc -eq 0 ]; then
    echo "$t: ${secs}s, ${execs:-?} execs, no crash"
  else
    status=1
    echo "$t: FAILED after ${execs:-?} execs (exit $rc), see parsers/$log:"
    grep -E 'panicked|ERROR|artifact' "$log" | head -5
  fi
done
exit $status
