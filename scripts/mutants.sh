#!/usr/bin/env bash
# The long mutation run: N random mutants per fixture (default 10000) plus
# every structural one (each truncation at a section boundary, every length
# field set to huge values, bogus page commits), read in release by the
# library (parse, every CPU stream, analyze_with_info) and checked with the
# fuzz targets' invariants. Prints mutants, panics, the slowest mutant and
# the largest heap growth, then the process's peak RSS.
#
#   scripts/mutants.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
cargo test --release --test mutants --no-run >/dev/null 2>&1 || cargo test --release --test mutants --no-run
MMRACE_MUTANTS="$n" /usr/bin/time -f "peak RSS: %M KiB, wall %e s" \
  cargo test --release --test mutants -- --nocapture 2>&1 | grep --line-buffered -Ev '^(running|test result|$)'
