#!/usr/bin/env bash
# End-to-end check of the reader against trace-cmd's own output: for every
# fixture with an oracle, `mmrace dump --raw F` must equal
# `zstdcat F.raw.txt.zst` byte for byte. Prints one line per file and exits
# non-zero on the first difference.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/mmrace
fail=0
for f in fixtures/*/*.dat; do
  oracle="$f.raw.txt.zst"
  [ -f "$oracle" ] || continue
  if cmp -s <("$bin" dump --raw "$f") <(zstdcat "$oracle"); then
    echo "same      $f"
  else
    echo "DIFFERENT $f"
    fail=1
  fi
done
exit "$fail"
