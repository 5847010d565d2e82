#!/usr/bin/env bash
# Records a trace.dat on an x86_64 machine with the events mmrace's x86_64
# profile needs, around a command (default: `sleep 2` while your workload
# runs elsewhere), then analyses it.
#
#   sudo scripts/record-x86_64.sh [-o trace.dat] [-- COMMAND ARGS...]
#
# Environment: OUT, TRACE_CMD_FLAGS (e.g. "-k -d" where trace-cmd needs it),
# BUFFER_KB, FILE_VERSION (6|7), COMPRESSION (zstd|zlib|none), MMRACE.
#
# What is recorded, and why (race-model.md §2):
# - sched:sched_switch: who runs on each CPU (TaskSwitch);
# - tlb:tlb_flush: reason 0 (TLB_FLUSH_ON_TASK_SWITCH) marks the CR3 load of
#   switch_mm_irqs_off (MmLoaded, mm = the incoming task's); reasons 1..4 the
#   flush requests and completions. The profile reads the numeric reason,
#   never the reason strings, which changed across kernels;
# - mmap_lock:*: every mmap_lock event carries the task's mm pointer (TaskMm);
# - raw_syscalls:sys_exit, exceptions:page_fault_user: return to user space;
# - ipi:ipi_send_cpumask: which CPUs a flush IPI reached (kernels >= 6.6);
# - sched:sched_process_{fork,exec,exit}: mm identity changes.
# Optional kprobe (when the kernel has kprobe events): switch_mm_irqs_off
# (MmSwitchRequested), with the mm pointer in %si (x86_64 calling
# convention: prev in %di, next in %si, tsk in %dx).
# On kernels with BTF and fprobe events (CONFIG_FPROBE_EVENTS, >= 6.5) you
# can name arguments instead of registers:
#   f:mmctx/swreq switch_mm_irqs_off next=next tsk=tsk
source "$(dirname "$0")/record-common.sh"

parse_args "$@"

need_root
mount_tracefs
trap clear_probes EXIT
add_probe "t:mmctx/switch sched_switch prev_pid=prev->pid prev_mm=prev->mm:x64 next_pid=next->pid next_mm=next->mm:x64" || true
add_probe "p:mmctx/flush flush_tlb_mm_range mm=%di:x64 start=%si:x64 end=%dx:x64 lazy=\\0:u32" || true
record sched:sched_switch sched:sched_wakeup sched:sched_process_fork sched:sched_process_exec \
  sched:sched_process_exit tlb:tlb_flush ipi:ipi_send_cpumask raw_syscalls:sys_exit \
  exceptions:page_fault_user mmap_lock:mmap_lock_start_locking \
  mmap_lock:mmap_lock_acquire_returned mmap_lock:mmap_lock_released probes -- "${CMD[@]}"
check_with_mmrace x86_64
