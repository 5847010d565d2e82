#!/usr/bin/env bash
# Records a trace.dat on an arm64 machine with the kprobes and events that
# mmrace's arm64 profile needs, around a command, then analyses it.
#
#   sudo scripts/record-arm64.sh [-o trace.dat] [-- COMMAND ARGS...]
#
# The defaults are the struct offsets of Debian's 6.1.0-*-arm64 kernels (the
# fixtures in fixtures/arm64 were recorded with them). For another build:
#   pahole -C task_struct --hex /sys/kernel/btf/vmlinux | grep -E ' (pid|mm|active_mm);'
#   pahole -C mm_struct   --hex /sys/kernel/btf/vmlinux | grep -E ' (pgd|context);'
#   pahole -C mm_context_t --hex /sys/kernel/btf/vmlinux   # id (ASID + generation)
# (or from DWARF with a -dbg vmlinux). On kernels >= 6.5 with BTF argument
# support, fprobe events can name fields: `f:kprobes/mm_switch
# check_and_switch_context mm=mm ctx_id=mm->context.id.counter`.
#
# Probes (race-model.md §2, arm64):
# - mm_switch (check_and_switch_context): the switch request (ASID check);
# - cpu_switch_mm (cpu_do_switch_mm): the TTBR0 write: the mm is loaded;
# - new_context / new_context_ret: ASID allocation (rollover evidence);
# - finish_task_switch: the deferred part of the switch;
# - notify_resume (do_notify_resume): return-to-user slow path; with
#   context_tracking:user_enter/user_exit (nohz_full CPUs) every return;
# - tlb_flush_mmu / tlb_finish_mmu: mmu_gather flushes.
# Environment: the offsets below, OUT, TRACE_CMD_FLAGS, BUFFER_KB, MMRACE.
source "$(dirname "$0")/record-common.sh"

OFF_TASK_PID=${OFF_TASK_PID:-1352}
OFF_TASK_MM=${OFF_TASK_MM:-1208}
OFF_TASK_ACTIVE_MM=${OFF_TASK_ACTIVE_MM:-1216}
OFF_MM_PGD=${OFF_MM_PGD:-56}
OFF_MM_CTX_ID=${OFF_MM_CTX_ID:-736}

parse_args "$@"

need_root
mount_tracefs
trap clear_probes EXIT
fts=$(grep -m1 -oE ' finish_task_switch(\.[a-z0-9.]+)?$' /proc/kallsyms | tr -d ' ' || true)
[ -n "$fts" ] || fts=finish_task_switch
add_probe "p:kprobes/mm_switch check_and_switch_context mm=%x0:x64 ctx_id=+$OFF_MM_CTX_ID(%x0):x64 pgd=+$OFF_MM_PGD(%x0):x64" ||
  die "check_and_switch_context is what the arm64 profile rests on: fix it first"
add_probe "r10:kprobes/mm_switch_ret check_and_switch_context" || true
add_probe "p:kprobes/cpu_switch_mm cpu_do_switch_mm pgd_phys=%x0:x64 mm=%x1:x64 ctx_id=+$OFF_MM_CTX_ID(%x1):x64" || true
add_probe "p:kprobes/new_context new_context mm=%x0:x64 old_id=+$OFF_MM_CTX_ID(%x0):x64" || true
add_probe "r10:kprobes/new_context_ret new_context new_id=\$retval:x64" || true
add_probe "p:kprobes/finish_task_switch $fts prev=%x0:x64 prev_pid=+$OFF_TASK_PID(%x0):s32 prev_mm=+$OFF_TASK_MM(%x0):x64 prev_active_mm=+$OFF_TASK_ACTIVE_MM(%x0):x64" || true
add_probe "p:kprobes/notify_resume do_notify_resume regs=%x0:x64 thread_flags=%x1:x64" || true
add_probe "p:kprobes/tlb_flush_mmu tlb_flush_mmu tlb=%x0:x64 mm=+0(%x0):x64 start=+16(%x0):x64 end=+24(%x0):x64" || true
add_probe "p:kprobes/tlb_finish_mmu tlb_finish_mmu tlb=%x0:x64 mm=+0(%x0):x64 start=+16(%x0):x64 end=+24(%x0):x64" || true
record sched:sched_switch sched:sched_wakeup sched:sched_process_fork sched:sched_process_exec \
  sched:sched_process_exit raw_syscalls:sys_exit context_tracking:user_enter \
  context_tracking:user_exit probes -- "${CMD[@]}"
check_with_mmrace arm64
