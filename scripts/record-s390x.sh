#!/usr/bin/env bash
# Records a trace.dat on an s390x machine with the kprobes and events that
# mmrace's s390x profile needs, around a command, then analyses it.
#
#   sudo scripts/record-s390x.sh [-o trace.dat] [-- COMMAND ARGS...]
#
# The probes read struct fields at byte offsets that depend on the kernel
# build. The defaults are those of Debian's 6.1.0-*-s390x kernels (the
# fixtures in fixtures/s390x were recorded with exactly these). For another
# build, derive them with pahole, from BTF (no debug package needed):
#   pahole -C task_struct --hex /sys/kernel/btf/vmlinux | grep -E ' (pid|mm|active_mm);'
#   pahole -C mm_struct   --hex /sys/kernel/btf/vmlinux | grep -E 'context'
#   pahole -C mm_context_t --hex /sys/kernel/btf/vmlinux   # asce, flush_mm, flush_count
#   pahole -C lowcore     --hex /sys/kernel/btf/vmlinux | grep -E ' (user_asce|current_task);'
# or from DWARF: `pahole -C task_struct /usr/lib/debug/boot/vmlinux-$(uname -r)`.
# mm->context.X is at OFF_MM_CONTEXT + (offset of X in mm_context_t).
# On kernels with BTF argument support (>= 6.5, `README` in tracefs lists
# "<argname>" and "->"), fprobe events can name fields instead:
#   f:kprobes/exit_to_user exit_to_user_mode_prepare cur_mm=current->mm
#
# Probes (race-model.md §2, s390):
# - exit_to_user (exit_to_user_mode_prepare): return to user, with the
#   lowcore's user ASCE (what the hardware will run with) and the current
#   task's mm and mm->context.asce: INV-1 compares the two;
# - finish_task_switch / finish_task_switch_ret: the deferred part of the
#   switch (finish_arch_post_lock_switch is inlined into it);
# - ptep_xchg_direct / ptep_xchg_lazy: PTE invalidations, immediate or lazy
#   (flush_mm), with attach mask and flush_count;
# - tlb_flush_mmu / tlb_finish_mmu: mmu_gather flushes.
# Environment: the offsets below, OUT, TRACE_CMD_FLAGS, BUFFER_KB, MMRACE.
source "$(dirname "$0")/record-common.sh"

OFF_TASK_PID=${OFF_TASK_PID:-1928}
OFF_TASK_MM=${OFF_TASK_MM:-1784}
OFF_TASK_ACTIVE_MM=${OFF_TASK_ACTIVE_MM:-1792}
OFF_MM_ASCE=${OFF_MM_ASCE:-800}          # mm->context.asce
OFF_MM_FLUSH_MM=${OFF_MM_FLUSH_MM:-756}  # mm->context.flush_mm
OFF_MM_FLUSH_COUNT=${OFF_MM_FLUSH_COUNT:-752}
OFF_MM_ATTACH=${OFF_MM_ATTACH:-720}      # mm->context.cpu_attach_mask
OFF_MM_CPUMASK=${OFF_MM_CPUMASK:-992}
LC_USER_ASCE=${LC_USER_ASCE:-912}        # lowcore user_asce (absolute @address)
LC_CURRENT=${LC_CURRENT:-832}            # lowcore current_task

parse_args "$@"

need_root
mount_tracefs
trap clear_probes EXIT
cur="@$LC_CURRENT"
fts=$(grep -m1 -oE ' finish_task_switch(\.[a-z0-9.]+)?$' /proc/kallsyms | tr -d ' ' || true)
[ -n "$fts" ] || fts=finish_task_switch
add_probe "p:kprobes/exit_to_user exit_to_user_mode_prepare regs=%r2:x64 lc_user_asce=@$LC_USER_ASCE:x64 cur_pid=+$OFF_TASK_PID($cur):s32 cur_mm=+$OFF_TASK_MM($cur):x64 cur_mm_asce=+$OFF_MM_ASCE(+$OFF_TASK_MM($cur)):x64 cur_mm_flush_mm=+$OFF_MM_FLUSH_MM(+$OFF_TASK_MM($cur)):u32" ||
  die "the exit_to_user probe is what INV-1 rests on on s390x: fix it first"
add_probe "p:kprobes/finish_task_switch $fts prev=%r2:x64 prev_pid=+$OFF_TASK_PID(%r2):s32 prev_mm=+$OFF_TASK_MM(%r2):x64 prev_active_mm=+$OFF_TASK_ACTIVE_MM(%r2):x64 lc_user_asce=@$LC_USER_ASCE:x64 cur_pid=+$OFF_TASK_PID($cur):s32 cur_active_mm=+$OFF_TASK_ACTIVE_MM($cur):x64" || true
add_probe "r10:kprobes/finish_task_switch_ret $fts lc_user_asce=@$LC_USER_ASCE:x64 cur_pid=+$OFF_TASK_PID($cur):s32 cur_mm=+$OFF_TASK_MM($cur):x64 cur_mm_asce=+$OFF_MM_ASCE(+$OFF_TASK_ACTIVE_MM($cur)):x64" || true
add_probe "p:kprobes/ptep_xchg_direct ptep_xchg_direct mm=%r3:x64 addr=%r4:x64 asce=+$OFF_MM_ASCE(%r3):x64 attach_mask=+$OFF_MM_ATTACH(%r3):x64 cpumask=+$OFF_MM_CPUMASK(%r3):x64 flush_count=+$OFF_MM_FLUSH_COUNT(%r3):s32" || true
add_probe "p:kprobes/ptep_xchg_lazy ptep_xchg_lazy mm=%r3:x64 addr=%r4:x64 asce=+$OFF_MM_ASCE(%r3):x64 attach_mask=+$OFF_MM_ATTACH(%r3):x64 cpumask=+$OFF_MM_CPUMASK(%r3):x64 flush_mm=+$OFF_MM_FLUSH_MM(%r3):u32" || true
add_probe "p:kprobes/tlb_flush_mmu tlb_flush_mmu tlb=%r2:x64 mm=+0(%r2):x64 start=+16(%r2):x64 end=+24(%r2):x64" || true
add_probe "p:kprobes/tlb_finish_mmu tlb_finish_mmu tlb=%r2:x64 mm=+0(%r2):x64 start=+16(%r2):x64 end=+24(%r2):x64" || true
record sched:sched_switch sched:sched_wakeup sched:sched_process_fork sched:sched_process_exec \
  sched:sched_process_exit raw_syscalls:sys_exit tlb:tlb_flush mmap:exit_mmap probes -- "${CMD[@]}"
# The built-in s390x profile names the probes kprobes:*; trace-cmd keeps
# the group of the definition, so analyse with the profile written for it.
check_with_mmrace s390x
