# Shared by scripts/record-*.sh (source it; do not run it).
#
# Mounts tracefs, defines kprobe events, runs `trace-cmd record` around a
# command and checks the result with `mmrace analyze`. Every function fails
# loudly: a recipe that records nothing useful must not look like it worked.

set -euo pipefail

TRACEFS=${TRACEFS:-/sys/kernel/tracing}
OUT=${OUT:-trace.dat}
# Extra trace-cmd flags. Some machines need `-k -d` (keep tracing settings,
# do not disable the function tracer's filters): set TRACE_CMD_FLAGS="-k -d".
TRACE_CMD_FLAGS=${TRACE_CMD_FLAGS:-}
# Per-CPU ring buffer in KiB: big enough that busy CPUs lose nothing.
BUFFER_KB=${BUFFER_KB:-8192}
FILE_VERSION=${FILE_VERSION:-7}
COMPRESSION=${COMPRESSION:-zstd}

# parse_args "$@": takes `-o FILE` and an optional `--`; sets OUT and
# leaves the command in CMD (an array).
parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      -o) OUT=$2; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  CMD=("$@")
}

die() { echo "record: $*" >&2; exit 2; }
note() { echo "record: $*" >&2; }

need_root() {
  [ "$(id -u)" = 0 ] || die "needs root (tracefs and kprobes)"
  command -v trace-cmd >/dev/null || die "trace-cmd not found (apt-get install trace-cmd)"
}

mount_tracefs() {
  if [ ! -e "$TRACEFS/events" ]; then
    mount -t tracefs nodev "$TRACEFS" 2>/dev/null || die "cannot mount tracefs on $TRACEFS"
  fi
}

# add_probe "p:GROUP/NAME SYMBOL ARGS..." — defines one dynamic event
# (kprobe p:, kretprobe r:, and where the kernel has them fprobe f: and
# BTF tracepoint probe t:), or says why not (blacklisted, inlined, notrace,
# no such probe type) and goes on. Returns 1 if the kernel refused it.
PROBES_ADDED=()
add_probe() {
  local def=$1 file=$TRACEFS/dynamic_events
  [ -w "$file" ] || file=$TRACEFS/kprobe_events
  case ${def%%:*} in
    p|r*) [ -w "$file" ] || file=$TRACEFS/kprobe_events ;;
  esac
  if [ ! -w "$file" ]; then
    note "no dynamic_events/kprobe_events in $TRACEFS: skipping '$def'"
    return 1
  fi
  if ! echo "$def" >> "$file" 2>/dev/null; then
    note "kernel refused '$def': $(tail -n 2 "$TRACEFS/error_log" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
  local name=${def#*:}
  PROBES_ADDED+=("${name%% *}")
}

# Removes the probes this recipe defined.
clear_probes() {
  local p file=$TRACEFS/dynamic_events
  [ -w "$file" ] || file=$TRACEFS/kprobe_events
  for p in "${PROBES_ADDED[@]}"; do
    echo "-:$p" >> "$file" 2>/dev/null || true
  done
  PROBES_ADDED=()
}

# have_event SYSTEM:NAME — whether the running kernel has this event.
have_event() {
  [ -d "$TRACEFS/events/${1%%:*}/${1#*:}" ]
}

# record EVENT... -- COMMAND... : records the events that exist around COMMAND.
record() {
  local args=() ev p
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    ev=$1; shift
    if [ "$ev" = "probes" ]; then
      for p in "${PROBES_ADDED[@]}"; do args+=(-e "${p%%/*}:${p#*/}"); done
    elif have_event "$ev"; then
      args+=(-e "$ev")
    else
      note "this kernel has no $ev: not recorded"
    fi
  done
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || set -- sleep 2
  local comp=()
  [ "$FILE_VERSION" = 7 ] && comp=(--compression "$COMPRESSION")
  note "trace-cmd record $TRACE_CMD_FLAGS -b $BUFFER_KB --file-version $FILE_VERSION ${comp[*]} ${args[*]} -o $OUT -- $*"
  # shellcheck disable=SC2086
  trace-cmd record $TRACE_CMD_FLAGS -b "$BUFFER_KB" --file-version "$FILE_VERSION" "${comp[@]}" \
    "${args[@]}" -o "$OUT" "$@" >&2 || die "trace-cmd record failed"
  [ -s "$OUT" ] || die "$OUT is empty"
}

# check_with_mmrace PROFILE — analyses the new trace with the given profile
# and prints the summary (exit 1 = findings, 2 = unreadable).
check_with_mmrace() {
  local mm=${MMRACE:-mmrace}
  if ! command -v "$mm" >/dev/null; then
    note "mmrace not on PATH: run 'mmrace analyze --profile $1 $OUT' yourself"
    return 0
  fi
  "$mm" analyze --profile "$1" "$OUT"
}
