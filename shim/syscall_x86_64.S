/* syscall_x86_64.S — the preload's syscall(3): one question, then libc's.
 *
 * A drop-in green thread asking syscall(SYS_gettid) must get its own
 * thread id, not its carrier's (shim/tid.c); every other call goes to
 * libc's syscall() by a tail jump, so the program's arguments (five in
 * registers, the sixth on the stack) and its frames stay exactly as they
 * were: strict mode's audit (shim/strict_audit.c) still finds the
 * program's own return address right above libc's.
 *
 *   long syscall(long nr, ...);     nr in rdi
 */
	.text
	.globl	syscall
	.type	syscall, @function
	.p2align 4
syscall:
	.cfi_startproc
	cmpq	$186, %rdi		/* SYS_gettid */
	je	1f
	movq	smarm__syscall_libc(%rip), %rax
	testq	%rax, %rax
	jz	2f
	jmp	*%rax
1:	jmp	smarm__syscall_gettid
2:	jmp	smarm__syscall_first	/* looks libc's up, then calls it */
	.cfi_endproc
	.size	syscall, .-syscall

	.section .note.GNU-stack,"",@progbits
