#!/usr/bin/env bash
# The long mutation run: N random mutants per fixture (default 10000) plus
# every structural one (each truncation at a section boundary, every length
# field set to huge values, bogus page commits), read in release by the
# library (parse, every CPU stream, analyze_with_info) and checked with the
# fuzz targets' invariants. Prints mutants, panics, the slowest mutant and
# the largest heap growth, then the process's peak RSS.
#
#   scripts/mutants.sh [N] [SHARDS]
#
# SHARDS (default 1) splits the fixtures over that many processes run side
# by side (one per core); each prints its own summary line. The mutants are
# the same whatever the split. MMRACE_MUTANTS_SLACK=S (seconds, default 5)
# loosens the per-mutant time limit for a run in the background of a busy
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
shards="${2:-1}"
cargo test --release --test mutants --no-run >/dev/null 2>&1 || cargo test --release --test mutants --no-run
bin=$(cargo test --release --test mutants --no-run --message-format=json 2>/dev/null |
  grep '"kind":\["test"\],[^}]*"name":"mutants"' |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
test -x "$bin"
pids=()
for ((i = 0; i < shards; i++)); do
  MMRACE_MUTANTS="$n" MMRACE_MUTANTS_SHARD="$i/$shards" /usr/bin/time -f "shard $i/$shards: peak RSS: %M KiB, wall %e s" \
    "$bin" --nocapture 2>&1 | grep --line-buffered -Ev '^(running|test result|$)' | sed -u "s|^|[$i/$shards] |" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit "$status"
