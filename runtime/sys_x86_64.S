/* sys_x86_64.S — the runtime's one system call instruction.
 *
 *   long smarm__sys(long nr,                 rdi
 *                   long a1, long a2, long a3, rsi rdx rcx
 *                   long a4, long a5,          r8  r9
 *                   long a6);                  [rsp + 8]
 *
 * Returns what the kernel returned: >= 0, or -errno.  Never touches errno
 * (a switch could move errno to another carrier's TLS) and never reaches a
 * libc symbol that a preloaded shim may interpose.
 *
 * Why one instruction: strict mode (shim/strict.c) traps the blocking
 * system calls made on carriers, and lets through every call whose
 * instruction pointer, as the kernel reports it to the filter (the address
 * just after `syscall`), is smarm__sys_pass.  So the runtime's own calls
 * (idle futex and epoll waits, the poller's eventfd, messages) and the
 * calls strict mode itself makes on a program's behalf pass, whatever their
 * arguments, and a program cannot reach that address by accident.
 * Link mode has no filter; the function is then just a raw syscall.
 *
 * Registers: the kernel's convention (rax = nr; rdi rsi rdx r10 r8 r9) from
 * the C one; rcx and r11 are clobbered by `syscall` (both caller-saved).
 */
	.text
	.globl	smarm__sys
	.hidden	smarm__sys
	.globl	smarm__sys_pass
	.hidden	smarm__sys_pass
	.type	smarm__sys, @function
	.p2align 4
smarm__sys:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	syscall
smarm__sys_pass:
	ret
	.cfi_endproc
	.size	smarm__sys, .-smarm__sys

	.section .note.GNU-stack,"",@progbits
