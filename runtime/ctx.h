/* ctx.h — the saved state of a suspended context, shared by C and ctx_x86_64.S.
 *
 * A context is what smarm__ctx_switch needs to resume a green thread: the
 * System V callee-saved registers, the stack pointer (the return address is
 * on the stack it points to), and the floating-point control state the ABI
 * says a callee preserves (MXCSR's control bits and the x87 control word).
 * Everything caller-saved is dead at the call, so it is not stored.
 *
 *   offset  field
 *        0  rsp
 *        8  rbp
 *       16  rbx
 *       24  r12
 *       32  r13
 *       40  r14
 *       48  r15
 *       56  mxcsr   (4 bytes)
 *       60  x87 cw  (2 bytes)
 */
#ifndef SMARM_CTX_H
#define SMARM_CTX_H

#define SMARM_CTX_RSP 0
#define SMARM_CTX_RBP 8
#define SMARM_CTX_RBX 16
#define SMARM_CTX_R12 24
#define SMARM_CTX_R13 32
#define SMARM_CTX_R14 40
#define SMARM_CTX_R15 48
#define SMARM_CTX_MXCSR 56
#define SMARM_CTX_FPUCW 60
#define SMARM_CTX_SIZE 64

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct smarm__ctx {
	void *rsp;
	uint64_t rbp, rbx, r12, r13, r14, r15;
	uint32_t mxcsr;
	uint16_t fpucw;
	uint16_t pad;
};

_Static_assert(offsetof(struct smarm__ctx, rsp) == SMARM_CTX_RSP, "ctx rsp");
_Static_assert(offsetof(struct smarm__ctx, rbp) == SMARM_CTX_RBP, "ctx rbp");
_Static_assert(offsetof(struct smarm__ctx, rbx) == SMARM_CTX_RBX, "ctx rbx");
_Static_assert(offsetof(struct smarm__ctx, r12) == SMARM_CTX_R12, "ctx r12");
_Static_assert(offsetof(struct smarm__ctx, r13) == SMARM_CTX_R13, "ctx r13");
_Static_assert(offsetof(struct smarm__ctx, r14) == SMARM_CTX_R14, "ctx r14");
_Static_assert(offsetof(struct smarm__ctx, r15) == SMARM_CTX_R15, "ctx r15");
_Static_assert(offsetof(struct smarm__ctx, mxcsr) == SMARM_CTX_MXCSR, "ctx mxcsr");
_Static_assert(offsetof(struct smarm__ctx, fpucw) == SMARM_CTX_FPUCW, "ctx fpucw");
_Static_assert(sizeof(struct smarm__ctx) == SMARM_CTX_SIZE, "ctx size");

/* Save the running context into *from and resume *to.  Returns when some
 * other context switches back to *from.  Never makes a system call. */
void smarm__ctx_switch(struct smarm__ctx *from, struct smarm__ctx *to);

/* Prepare *ctx so that switching to it calls entry(arg) on the stack whose
 * highest usable address is `top` (exclusive).  entry must never return. */
void smarm__ctx_make(struct smarm__ctx *ctx, void *top, void (*entry)(void *),
                     void *arg);
#endif
#endif
