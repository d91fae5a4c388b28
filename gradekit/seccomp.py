"""A seccomp filter for a kernel that no memory cgroup can cap: shared memory is refused.

Without a cgroup (gradekit.cgroups), RLIMIT_AS is the only memory bound, and it does not count memory that is
mapped nowhere: a memfd (`memfd_create`, `memfd_secret`) or a SysV segment (`shmget`) can be written to up to
the file-size limit, once per open file. This filter makes those system calls fail with EPERM. Files on the
sandbox's tmpfs mounts are size-capped already. Other system call ABIs of the same machine (32-bit, x32) are
refused whole, since their numbers differ and nothing a notebook needs uses them.

The filter is a classic BPF program, written out here (a dozen instructions) rather than through libseccomp,
and handed to bubblewrap's `--seccomp FD`.
"""

from __future__ import annotations

import errno
import platform
import struct

# linux/filter.h, linux/seccomp.h, linux/audit.h
BPF_LD_W_ABS = 0x20
BPF_JMP_JEQ_K = 0x15
BPF_JMP_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
X32_SYSCALL_BIT = 0x40000000
OFFSET_NR, OFFSET_ARCH = 0, 4

# machine -> (AUDIT_ARCH_*, {name: number}); numbers from the kernel's syscall tables.
ARCHITECTURES = {
    "x86_64": (0xC000003E, {"shmget": 29, "memfd_create": 319, "memfd_secret": 447}),
    "aarch64": (0xC00000B7, {"shmget": 194, "memfd_create": 279, "memfd_secret": 447}),
}
DENIED = ("memfd_create", "memfd_secret", "shmget")


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def shared_memory_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter for this machine, or None where its system call numbers are not known here."""
    arch = ARCHITECTURES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, numbers = arch
    denied = [numbers[name] for name in DENIED]
    deny = _insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)
    program = [_insn(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
               _insn(BPF_JMP_JEQ_K, 1, 0, audit_arch),  # our ABI: skip the next instruction
               deny,
               _insn(BPF_LD_W_ABS, 0, 0, OFFSET_NR)]
    # Each test jumps to the final `deny` when it matches; jt counts the instructions in between.
    tests = [(BPF_JMP_JGE_K, X32_SYSCALL_BIT)] + [(BPF_JMP_JEQ_K, nr) for nr in denied]
    for i, (code, k) in enumerate(tests):
        program.append(_insn(code, len(tests) - i, 0, k))
    program += [_insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), deny]
    return b"".join(program)
