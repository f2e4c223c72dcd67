/* ctx_x86_64.S — the context switch.
 *
 *   void smarm__ctx_switch(struct smarm__ctx *from,   rdi
 *                          struct smarm__ctx *to);    rsi
 *
 * Saves rsp, rbp, rbx, r12-r15, MXCSR and the x87 control word into *from
 * (layout in ctx.h, checked there with _Static_assert) and loads them from
 * *to; the `ret` then pops the return address that *to's own call of
 * smarm__ctx_switch pushed (or, for a fresh context, smarm__ctx_entry).
 * No system call, no memory barrier: the caller orders its own publication.
 *
 *   void smarm__ctx_entry(void)    -- first frame of every green thread
 *
 * A fresh context (smarm__ctx_make) has r12 = entry function, r13 = its
 * argument and [rsp] = smarm__ctx_entry.  CFI marks rip undefined here so
 * gdb and unwinders stop at the actor's first frame; rbp = 0 ends frame
 * pointer chains.  The entry function never returns; if it did, ud2.
 */
#include "ctx.h"

	.text
	.globl	smarm__ctx_switch
	.hidden	smarm__ctx_switch
	.type	smarm__ctx_switch, @function
	.p2align 4
smarm__ctx_switch:
	.cfi_startproc
	movq	%rsp, SMARM_CTX_RSP(%rdi)
	movq	%rbp, SMARM_CTX_RBP(%rdi)
	movq	%rbx, SMARM_CTX_RBX(%rdi)
	movq	%r12, SMARM_CTX_R12(%rdi)
	movq	%r13, SMARM_CTX_R13(%rdi)
	movq	%r14, SMARM_CTX_R14(%rdi)
	movq	%r15, SMARM_CTX_R15(%rdi)
	stmxcsr	SMARM_CTX_MXCSR(%rdi)
	fnstcw	SMARM_CTX_FPUCW(%rdi)

	movq	SMARM_CTX_RSP(%rsi), %rsp
	movq	SMARM_CTX_RBP(%rsi), %rbp
	movq	SMARM_CTX_RBX(%rsi), %rbx
	movq	SMARM_CTX_R12(%rsi), %r12
	movq	SMARM_CTX_R13(%rsi), %r13
	movq	SMARM_CTX_R14(%rsi), %r14
	movq	SMARM_CTX_R15(%rsi), %r15
	ldmxcsr	SMARM_CTX_MXCSR(%rsi)
	fldcw	SMARM_CTX_FPUCW(%rsi)
	ret
	.cfi_endproc
	.size	smarm__ctx_switch, .-smarm__ctx_switch

	.globl	smarm__ctx_entry
	.hidden	smarm__ctx_entry
	.type	smarm__ctx_entry, @function
	.p2align 4
smarm__ctx_entry:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	call	*%r12
	ud2
	.cfi_endproc
	.size	smarm__ctx_entry, .-smarm__ctx_entry

	.section .note.GNU-stack,"",@progbits
