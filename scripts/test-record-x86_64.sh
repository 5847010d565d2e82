#!/usr/bin/env bash
# End-to-end check of the x86_64 recording recipe on this machine: records a
# short trace with scripts/record-x86_64.sh around a small workload and
# checks that `mmrace analyze` reads it with the x86_64 profile, completely,
# with the events it needs. Needs root and tracefs, so it is not part of CI;
# run it on an x86_64 test machine:  sudo scripts/test-record-x86_64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
MMRACE=$PWD/target/release/mmrace OUT=$dir/rec.dat TRACE_CMD_FLAGS=${TRACE_CMD_FLAGS:--k -d} BUFFER_KB=4096 \
  scripts/record-x86_64.sh -- sh -c 'for i in $(seq 100); do ls / >/dev/null; done' >/dev/null
target/release/mmrace report --format json "$dir/rec.dat" > "$dir/report.json"
python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
f = r["files"][0]
assert f["status"] == "ok", f["errors"]
assert f["profile"] == "x86_64", f["profile"]
assert f["trace"]["arch"] == "x86_64"
roles = f["stats"]["roles"]
for role in ("task-switch", "return-to-user", "mm-loaded"):
    assert roles.get(role, 0) > 0, (role, roles)
print(f"record-x86_64: ok: {f['trace']['events']} events, roles {roles}, findings {len(f['findings'])}")
PY
