/* ctx.c — building a fresh context; the switch itself is in ctx_x86_64.S.
 *
 * A fresh stack looks like this, top down:
 *     top (16-byte aligned, exclusive)
 *     top-8   &smarm__ctx_entry      <- rsp: the switch's `ret` pops it
 * so smarm__ctx_entry starts with rsp == top (0 mod 16) and its `call`
 * gives entry() the ABI's rsp == 8 mod 16 at its first instruction.
 */
#include <stdint.h>
#include "ctx.h"

void smarm__ctx_entry(void);

/* The ABI's initial control state: all FP exceptions masked, round to
 * nearest; x87 extended precision.  A fresh actor starts with these rather
 * than inheriting whatever its spawner had set. */
#define MXCSR_DEFAULT 0x1f80u
#define FPUCW_DEFAULT 0x037fu

void smarm__ctx_make(struct smarm__ctx *ctx, void *top, void (*entry)(void *),
                     void *arg)
{
	uintptr_t sp = (uintptr_t)top & ~(uintptr_t)15;

	sp -= 8;
	*(void (**)(void))sp = smarm__ctx_entry;
	*ctx = (struct smarm__ctx){
		.rsp = (void *)sp,
		.r12 = (uint64_t)(uintptr_t)entry,
		.r13 = (uint64_t)(uintptr_t)arg,
		.mxcsr = MXCSR_DEFAULT,
		.fpucw = FPUCW_DEFAULT,
	};
}
