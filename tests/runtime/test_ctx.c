/* test_ctx.c — the context switch (ctx.h, ctx.c, ctx_x86_64.S) on its own:
 * no scheduler, a malloc'd stack, the test's main thread as the other side.
 *
 * What a switch must keep per context: rsp, the callee-saved registers rbx,
 * rbp, r12-r15, MXCSR and the x87 control word.  The register test goes
 * through two small asm functions defined below, because C cannot pin
 * values in callee-saved registers across a call: regs_switch() loads six
 * given values into rbx, rbp, r12-r15, calls smarm__ctx_switch, and stores
 * what those registers hold when the switch returns.  Each side loads
 * different values before switching to the other, so a register that the
 * switch failed to restore shows up as the other side's value.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

TestSuite(ctx, .timeout = 30);

#define STACK_SIZE (64 * 1024)

#define MXCSR_DEFAULT 0x1f80u
#define FPUCW_DEFAULT 0x037fu
/* Control bits only: the low six bits of MXCSR are sticky status flags that
 * arithmetic sets, so comparisons after computing mask them off. */
#define MXCSR_CONTROL 0xffc0u
#define MXCSR_RC_DOWN 0x2000u
#define MXCSR_RC_UP 0x4000u
#define FPUCW_RC_DOWN 0x0400u
#define FPUCW_RC_UP 0x0800u

/* void regs_switch(struct smarm__ctx *from, struct smarm__ctx *to,
 *                  const uint64_t in[6], uint64_t out[6]);
 * in/out order: rbx, rbp, r12, r13, r14, r15.  Seven pushes after the call's
 * return address leave rsp 16-byte aligned for the inner call. */
void regs_switch(struct smarm__ctx *from, struct smarm__ctx *to,
                 const uint64_t in[6], uint64_t out[6]);
__asm__(".text\n"
        ".globl regs_switch\n"
        ".type regs_switch, @function\n"
        "regs_switch:\n"
        "	pushq %rbp\n"
        "	pushq %rbx\n"
        "	pushq %r12\n"
        "	pushq %r13\n"
        "	pushq %r14\n"
        "	pushq %r15\n"
        "	pushq %rcx\n"
        "	movq 0(%rdx), %rbx\n"
        "	movq 8(%rdx), %rbp\n"
        "	movq 16(%rdx), %r12\n"
        "	movq 24(%rdx), %r13\n"
        "	movq 32(%rdx), %r14\n"
        "	movq 40(%rdx), %r15\n"
        "	call smarm__ctx_switch@PLT\n"
        "	popq %rcx\n"
        "	movq %rbx, 0(%rcx)\n"
        "	movq %rbp, 8(%rcx)\n"
        "	movq %r12, 16(%rcx)\n"
        "	movq %r13, 24(%rcx)\n"
        "	movq %r14, 32(%rcx)\n"
        "	movq %r15, 40(%rcx)\n"
        "	popq %r15\n"
        "	popq %r14\n"
        "	popq %r13\n"
        "	popq %r12\n"
        "	popq %rbx\n"
        "	popq %rbp\n"
        "	ret\n"
        ".size regs_switch, .-regs_switch\n");

static uint32_t get_mxcsr(void)
{
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(uint32_t v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v) : "memory");
}

static uint16_t get_fpucw(void)
{
	uint16_t v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void set_fpucw(uint16_t v)
{
	__asm__ volatile("fldcw %0" : : "m"(v) : "memory");
}

/* State shared by the main side and the coroutine.  One test per process
 * (Criterion forks a worker per test), so plain globals are enough. */
static struct smarm__ctx main_ctx, co_ctx, co2_ctx;
static void *stack, *stack2;
static volatile long counter;
static void *volatile seen_arg;
static volatile uintptr_t seen_frame, seen_sp;
static volatile long failures;

static void *stack_top(void *s)
{
	return (char *)s + STACK_SIZE;
}

static void new_stack(void **s)
{
	*s = malloc(STACK_SIZE);
	cr_assert_not_null(*s);
	/* Fill with a pattern: nothing may depend on a zeroed stack. */
	memset(*s, 0xa5, STACK_SIZE);
}

/* ---- there and back --------------------------------------------------- */

static void counting_entry(void *arg)
{
	seen_arg = arg;
	seen_frame = (uintptr_t)__builtin_frame_address(0);
	seen_sp = (uintptr_t)&arg;
	for (;;) {
		counter++;
		smarm__ctx_switch(&co_ctx, &main_ctx);
	}
}

Test(ctx, switches_there_and_back_a_million_times)
{
	int token;
	long bad = 0;

	new_stack(&stack);
	smarm__ctx_make(&co_ctx, stack_top(stack), counting_entry, &token);
	for (long i = 0; i < 1000000; i++) {
		smarm__ctx_switch(&main_ctx, &co_ctx);
		if (counter != i + 1)
			bad++;
	}
	cr_assert_eq(bad, 0, "%ld round trips did not run the coroutine once", bad);
	cr_assert_eq(counter, 1000000);
	cr_assert_eq(seen_arg, &token, "entry did not get its argument");
	free(stack);
}

Test(ctx, fresh_context_runs_on_its_stack_aligned)
{
	new_stack(&stack);
	/* An unaligned top must be rounded down, not trusted. */
	smarm__ctx_make(&co_ctx, (char *)stack_top(stack) - 3, counting_entry, NULL);
	smarm__ctx_switch(&main_ctx, &co_ctx);
	cr_assert_eq(counter, 1);
	cr_assert(seen_sp > (uintptr_t)stack && seen_sp < (uintptr_t)stack_top(stack),
	          "entry ran at %#lx, outside its stack", (unsigned long)seen_sp);
	/* With frame pointers, rbp after the prologue is the entry rsp - 8,
	 * which the ABI makes 16-byte aligned. */
	cr_assert_eq(seen_frame % 16, 0, "entry frame %#lx is not 16-byte aligned",
	             (unsigned long)seen_frame);
	free(stack);
}

/* A ring of three contexts: main -> co -> co2 -> main, passing a token. */
static void ring_entry1(void *arg)
{
	(void)arg;
	for (;;) {
		counter += 1;
		smarm__ctx_switch(&co_ctx, &co2_ctx);
	}
}

static void ring_entry2(void *arg)
{
	(void)arg;
	for (;;) {
		counter += 1000;
		smarm__ctx_switch(&co2_ctx, &main_ctx);
	}
}

Test(ctx, three_contexts_in_a_ring)
{
	new_stack(&stack);
	new_stack(&stack2);
	smarm__ctx_make(&co_ctx, stack_top(stack), ring_entry1, NULL);
	smarm__ctx_make(&co2_ctx, stack_top(stack2), ring_entry2, NULL);
	for (int i = 0; i < 10000; i++)
		smarm__ctx_switch(&main_ctx, &co_ctx);
	cr_assert_eq(counter, 10000 * 1001L);
	free(stack);
	free(stack2);
}

/* ---- callee-saved registers ------------------------------------------- */

static void fill(uint64_t v[6], uint64_t seed)
{
	for (int k = 0; k < 6; k++)
		v[k] = (seed * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(k + 1) << 56) ^ k;
}

static void regs_entry(void *arg)
{
	uint64_t in[6], out[6];

	(void)arg;
	for (uint64_t i = 0;; i++) {
		fill(in, 0xc0c0c0c0ull + i);
		regs_switch(&co_ctx, &main_ctx, in, out);
		if (memcmp(in, out, sizeof in) != 0)
			failures++;
		counter++;
	}
}

Test(ctx, callee_saved_registers_survive_a_switch)
{
	static const char *names[6] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
	uint64_t in[6], out[6];

	new_stack(&stack);
	smarm__ctx_make(&co_ctx, stack_top(stack), regs_entry, NULL);
	for (uint64_t i = 0; i < 1000; i++) {
		fill(in, i);
		memset(out, 0, sizeof out);
		regs_switch(&main_ctx, &co_ctx, in, out);
		for (int k = 0; k < 6; k++)
			cr_assert_eq(out[k], in[k],
			             "round %lu: %s was %#lx before the switch, %#lx after",
			             (unsigned long)i, names[k], (unsigned long)in[k],
			             (unsigned long)out[k]);
	}
	/* The coroutine checked its own registers on each resume but the last. */
	cr_assert_eq(counter, 999);
	cr_assert_eq(failures, 0, "the coroutine lost its registers %ld times",
	             failures);
	free(stack);
}

/* ---- floating-point control state ------------------------------------- */

static volatile uint32_t fresh_mxcsr;
static volatile uint16_t fresh_fpucw;
static volatile double co_third;
static volatile long double co_third_x87;

static void fp_entry(void *arg)
{
	volatile double one = 1.0, three = 3.0;
	volatile long double lone = 1.0L, lthree = 3.0L;

	(void)arg;
	fresh_mxcsr = get_mxcsr();
	fresh_fpucw = get_fpucw();
	set_mxcsr(MXCSR_DEFAULT | MXCSR_RC_UP);
	set_fpucw(FPUCW_DEFAULT | FPUCW_RC_UP);
	for (;;) {
		co_third = one / three;
		co_third_x87 = lone / lthree;
		smarm__ctx_switch(&co_ctx, &main_ctx);
		if ((get_mxcsr() & MXCSR_CONTROL) != (MXCSR_DEFAULT | MXCSR_RC_UP) ||
		    get_fpucw() != (FPUCW_DEFAULT | FPUCW_RC_UP))
			failures++;
		counter++;
	}
}

Test(ctx, fp_control_state_is_per_context)
{
	uint32_t saved_mxcsr = get_mxcsr();
	uint16_t saved_fpucw = get_fpucw();
	volatile double one = 1.0, three = 3.0;
	volatile long double lone = 1.0L, lthree = 3.0L;
	/* volatile: the divisions must happen before the modes are restored. */
	volatile double main_third = 0;
	volatile long double main_third_x87 = 0;

	new_stack(&stack);
	set_mxcsr(MXCSR_DEFAULT | MXCSR_RC_DOWN);
	set_fpucw(FPUCW_DEFAULT | FPUCW_RC_DOWN);
	smarm__ctx_make(&co_ctx, stack_top(stack), fp_entry, NULL);
	for (int i = 0; i < 1000; i++) {
		smarm__ctx_switch(&main_ctx, &co_ctx);
		uint32_t m = get_mxcsr() & MXCSR_CONTROL;
		uint16_t c = get_fpucw();
		main_third = one / three;
		main_third_x87 = lone / lthree;
		if (m != (MXCSR_DEFAULT | MXCSR_RC_DOWN) ||
		    c != (FPUCW_DEFAULT | FPUCW_RC_DOWN)) {
			set_mxcsr(saved_mxcsr);
			set_fpucw(saved_fpucw);
			cr_assert_fail("round %d: main's MXCSR %#x / FPU CW %#x became "
			               "%#x / %#x", i, MXCSR_DEFAULT | MXCSR_RC_DOWN,
			               FPUCW_DEFAULT | FPUCW_RC_DOWN, m, c);
		}
	}
	set_mxcsr(saved_mxcsr);
	set_fpucw(saved_fpucw);

	cr_assert_eq(failures, 0, "the coroutine lost its FP control %ld times",
	             failures);
	cr_assert_eq(counter, 999);
	/* The modes took effect: rounding down gives a smaller 1/3 than up. */
	cr_assert(main_third < co_third, "SSE rounding modes had no effect");
	cr_assert(main_third_x87 < co_third_x87, "x87 rounding modes had no effect");
	free(stack);
}

Test(ctx, fresh_context_starts_with_default_fp_control)
{
	uint32_t saved_mxcsr = get_mxcsr();
	uint16_t saved_fpucw = get_fpucw();

	new_stack(&stack);
	/* The creator runs with unusual modes: the new context must not
	 * inherit them. */
	set_mxcsr(MXCSR_DEFAULT | MXCSR_RC_DOWN | MXCSR_RC_UP);
	set_fpucw((FPUCW_DEFAULT & ~0x0300u) | FPUCW_RC_DOWN | FPUCW_RC_UP);
	smarm__ctx_make(&co_ctx, stack_top(stack), fp_entry, NULL);
	smarm__ctx_switch(&main_ctx, &co_ctx);
	uint32_t m = get_mxcsr() & MXCSR_CONTROL;
	uint16_t c = get_fpucw();
	set_mxcsr(saved_mxcsr);
	set_fpucw(saved_fpucw);

	cr_assert_eq(fresh_mxcsr, MXCSR_DEFAULT, "fresh MXCSR %#x", fresh_mxcsr);
	cr_assert_eq(fresh_fpucw, FPUCW_DEFAULT, "fresh FPU CW %#x", fresh_fpucw);
	cr_assert_eq(m, MXCSR_DEFAULT | MXCSR_RC_DOWN | MXCSR_RC_UP);
	cr_assert_eq(c, (FPUCW_DEFAULT & ~0x0300u) | FPUCW_RC_DOWN | FPUCW_RC_UP);
	free(stack);
}
