/* cancel.c — pthread cancellation and cleanup handlers for drop-in green
 * threads: pthread_cancel, setcancelstate/type, testcancel, the entry
 * points glibc 2.36's pthread_cleanup_push/pop macros compile to
 * (__pthread_register_cancel ... __pthread_unwind_next), the old-ABI
 * _pthread_cleanup_push/pop, and pthread_exit's unwinding.
 *
 * Owns: struct smarm__shim_cancel (shim.h), one per gthread.
 *
 * Requests.  pthread_cancel sets `requested` in the target's record and,
 * for another thread, posts a runtime stop request (smarm__exit_request).
 * Drop-in green threads run with stop requests deferred (thread.c), so the
 * request does nothing until the target parks inside a cancellation point:
 * there smarm__shim_cancel_begin lifts the deferral for the duration of
 * the park, so a request already posted or arriving during the park makes
 * the runtime wait return -ECANCELED (the runtime's asymmetric-Dekker
 * protocol covers the race: internal.h, "the failure model").  A
 * cancellation point acts on a request only when enabled (`disabled`
 * clear), so PTHREAD_CANCEL_DISABLE holds a request until the thread
 * enables again and reaches the next point.  The runtime request is never
 * used to end the thread at a runtime exit point (yield, preemption):
 * that would be asynchronous cancellation, and would skip the handlers.
 *
 * Cancellation points: the shim's cond waits, join/timedjoin/clockjoin,
 * the sleep family, sem_wait/timedwait/clockwait, pthread_testcancel, and
 * whatever other wrappers call the shim.h interface.  Not points: mutex
 * locks, rwlocks, barriers (as in POSIX).
 *
 * PTHREAD_CANCEL_ASYNCHRONOUS is accepted and acts as deferred: the thread
 * is cancelled at its next cancellation point, or at once when it turns
 * asynchronous (or enables) with a request pending, as glibc does.  A
 * thread looping in async mode with no cancellation point is not
 * cancelled (natively it would be): documented in LOOM.
 *
 * Acting on a cancel, and pthread_exit, unwind as glibc does: a forced
 * unwind (_Unwind_ForcedUnwind, libgcc_s) walks the green stack from the
 * current frame outwards.  Its stop function, for each frame about to be
 * unwound, first runs the handlers that live in that frame: an old-ABI
 * buffer's routine is called directly, a __pthread_unwind_buf_t is
 * longjmp'ed to (the macro's setjmp returns again, calls the routine and
 * then __pthread_unwind_next, which starts a new forced unwind from there).
 * Between them the unwinder runs each frame's own cleanups: C++
 * destructors and pthread_cleanup_push's C++ form, C compiled with
 * -fexceptions (__attribute__((cleanup))), catch (abi::__forced_unwind&).
 * At the end of the green stack (the actor's first frame has an undefined
 * return address: ctx_x86_64.S) it calls smarm__shim_thread_exit.  If the
 * unwinder cannot go on (a frame without unwind information), the handlers
 * left are run by longjmp alone and the thread exits from where it is.
 * A catch (...) that swallows the unwind aborts, as natively ("exception
 * not rethrown").
 *
 * Handlers are matched to frames by address: a buffer lives in the frame
 * of the function that pushed it, and the green stack grows down, so the
 * frame whose CFA lies above a buffer's address is the one that holds it.
 *
 * Switching: pthread_cancel, the state calls and the register calls never
 * switch; testcancel, the unwinding, and cancellation points may (the
 * handlers are the program's, and the thread's end switches away).
 */
#include <setjmp.h>
#include <string.h>
#include <unwind.h>

#include "shim.h"

/* glibc's private view of __pthread_unwind_buf_t (nptl's
 * struct pthread_unwind_buf): the jump buffer, then its own chaining,
 * which we reuse for ours. */
struct ubuf {
	struct {
		__jmp_buf jb;
		int mask_was_saved;
	} jmp[1];
	struct ubuf *prev;
	void *unused;
	int canceltype; /* the type before __pthread_register_cancel_defer */
};
_Static_assert(sizeof(struct ubuf) <= sizeof(__pthread_unwind_buf_t), "unwind buf");
_Static_assert(sizeof(struct _Unwind_Exception) <=
	       sizeof(((struct smarm__shim_cancel *)0)->exc), "exception object");

/* glibc's exception class for cancellation, "GNU\0NPTL". */
#define NPTL_CLASS 0x474e55004e50544cULL

/* ---- unwinding ---- */

/* Jump back into a pthread_cleanup_push frame (still live).  The mask was
 * not saved (the macro passes 0 to __sigsetjmp), so siglongjmp reads only
 * the part of struct __jmp_buf_tag the buffer has (out of line: the
 * compiler sees a 72-byte buffer given as a 200-byte one). */
__attribute__((noipa, noreturn)) static void jump(void *jb)
{
	siglongjmp(jb, 1);
}

__attribute__((noreturn)) static void unwind(struct smarm__shim_cancel *c);

/* Run every handler whose buffer lies below `limit` (in frames that are
 * about to go), innermost first: old-ABI ones by a call, a C macro's by
 * jumping back into its frame (then this does not return). */
static void handlers_below(struct smarm__shim_cancel *c, uintptr_t limit)
{
	for (;;) {
		struct ubuf *u = c->top;
		struct _pthread_cleanup_buffer *o = c->old_top;
		bool uin = u && (uintptr_t)u < limit, oin = o && (uintptr_t)o < limit;

		if (oin && (!uin || (uintptr_t)o < (uintptr_t)u)) {
			c->old_top = o->__prev;
			o->__routine(o->__arg);
			continue;
		}
		if (!uin)
			return;
		c->top = u->prev;
		jump(u->jmp);
	}
}

static _Unwind_Reason_Code stop(int version, _Unwind_Action actions,
				_Unwind_Exception_Class cls, struct _Unwind_Exception *e,
				struct _Unwind_Context *ctx, void *param)
{
	struct smarm__shim_cancel *c = param;

	(void)version, (void)cls, (void)e;
	if (actions & _UA_END_OF_STACK) {
		handlers_below(c, UINTPTR_MAX);
		smarm__shim_thread_exit(c->value);
	}
	handlers_below(c, _Unwind_GetCFA(ctx));
	return _URC_NO_REASON;
}

static void not_rethrown(_Unwind_Reason_Code r, struct _Unwind_Exception *e)
{
	(void)r, (void)e;
	smarm__msg("FATAL: exception not rethrown (a thread's cancellation or "
		   "pthread_exit was caught and not rethrown)");
	abort();
}

static void unwind(struct smarm__shim_cancel *c)
{
	struct _Unwind_Exception *e = (struct _Unwind_Exception *)(void *)c->exc;

	memset(e, 0, sizeof *e);
	e->exception_class = NPTL_CLASS;
	e->exception_cleanup = not_rethrown;
	_Unwind_ForcedUnwind(e, stop, c);
	/* The unwinder gave up (a frame without unwind information): the C
	 * handlers still run, by longjmp, and the thread ends here. */
	handlers_below(c, UINTPTR_MAX);
	smarm__shim_thread_exit(c->value);
}

void smarm__shim_unwind(void *v)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	c->unwinding = true;
	c->value = v;
	unwind(c);
}

/* Act on a cancel: as pthread_exit(PTHREAD_CANCELED), with cancellation
 * off from now on. */
__attribute__((noreturn)) static void act(struct smarm__shim_cancel *c)
{
	c->disabled = true;
	smarm__shim_unwind(PTHREAD_CANCELED);
}

static bool due(struct smarm__shim_cancel *c)
{
	return !c->disabled && !c->unwinding &&
	       atomic_load_explicit(&c->requested, memory_order_acquire);
}

/* ---- cancellation points ---- */

bool smarm__shim_cancel_pending(void)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();
	return c && due(c);
}

void smarm__shim_testcancel(void)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (c && due(c))
		act(c);
}

bool smarm__shim_cancel_begin(void)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c || c->disabled || c->unwinding || c->window)
		return false;
	if (due(c))
		act(c);
	c->window = true;
	smarm__exit_undefer(smarm__self(), false);
	return true;
}

void smarm__shim_cancel_end(bool opened)
{
	if (!opened)
		return;
	smarm__exit_defer(smarm__self());
	smarm__shim_cancel_self()->window = false;
}

/* ---- the pthread calls ---- */

SMARM_API int pthread_cancel(pthread_t t)
{
	struct smarm__shim_cancel *c, *me = smarm__shim_cancel_self();

	if (!me)
		smarm__shim_unsupported("pthread_cancel outside main and its threads");
	c = smarm__shim_cancel_of(t);
	if (atomic_exchange(&c->requested, true))
		return 0;
	if (c == me) {
		/* Deferred: the next cancellation point acts.  Asynchronous
		 * and enabled: now, as natively. */
		if (me->async)
			smarm__shim_testcancel();
		return 0;
	}
	/* Only cuts a park inside a cancellation point short (the target
	 * defers requests everywhere else).  -ESRCH: it has ended already
	 * (joinable, not yet joined): nothing to do, as glibc >= 2.34. */
	smarm__exit_request(smarm__shim_pid_of(t), SMARM_EXIT_SHUTDOWN, "pthread_cancel");
	return 0;
}

SMARM_API int pthread_setcancelstate(int state, int *old)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	if (!c)
		return REAL_FN(pthread_setcancelstate)(state, old);
	if (old)
		*old = c->disabled ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
	c->disabled = state == PTHREAD_CANCEL_DISABLE;
	if (c->async)
		smarm__shim_testcancel();
	return 0;
}

SMARM_API int pthread_setcanceltype(int type, int *old)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	if (!c)
		return REAL_FN(pthread_setcanceltype)(type, old);
	if (old)
		*old = c->async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
	c->async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
	if (c->async)
		smarm__shim_testcancel();
	return 0;
}

SMARM_API void pthread_testcancel(void)
{
	smarm__shim_testcancel();
}

/* ---- what pthread_cleanup_push/pop compile to ----
 * Callers that are not green threads (constructors, before main) get
 * glibc's own. */

SMARM_API void __pthread_register_cancel(__pthread_unwind_buf_t *b)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();
	struct ubuf *u = (struct ubuf *)(void *)b;

	if (!c) {
		REAL_FN(__pthread_register_cancel)(b);
		return;
	}
	u->prev = c->top;
	c->top = u;
}

SMARM_API void __pthread_unregister_cancel(__pthread_unwind_buf_t *b)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(__pthread_unregister_cancel)(b);
		return;
	}
	c->top = ((struct ubuf *)(void *)b)->prev;
}

/* pthread_cleanup_push_defer_np: also switch to deferred until the pop. */
SMARM_API void __pthread_register_cancel_defer(__pthread_unwind_buf_t *b)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();
	struct ubuf *u = (struct ubuf *)(void *)b;

	if (!c) {
		REAL_FN(__pthread_register_cancel_defer)(b);
		return;
	}
	u->prev = c->top;
	u->canceltype = c->async;
	c->async = false;
	c->top = u;
}

SMARM_API void __pthread_unregister_cancel_restore(__pthread_unwind_buf_t *b)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();
	struct ubuf *u = (struct ubuf *)(void *)b;

	if (!c) {
		REAL_FN(__pthread_unregister_cancel_restore)(b);
		return;
	}
	c->top = u->prev;
	c->async = u->canceltype;
	if (c->async)
		smarm__shim_testcancel();
}

/* Called by the macro's handler branch once the routine has run: go on
 * with the outer handlers and the end of the thread. */
SMARM_API __attribute__((noreturn)) void __pthread_unwind_next(__pthread_unwind_buf_t *b)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(__pthread_unwind_next)(b);
		abort();
	}
	unwind(c);
}

/* The old ABI (glibc < 2.3.3 binaries): the buffer holds the routine. */
void _pthread_cleanup_push(struct _pthread_cleanup_buffer *b, void (*fn)(void *), void *arg);
void _pthread_cleanup_pop(struct _pthread_cleanup_buffer *b, int execute);
void _pthread_cleanup_push_defer(struct _pthread_cleanup_buffer *b, void (*fn)(void *),
				 void *arg);
void _pthread_cleanup_pop_restore(struct _pthread_cleanup_buffer *b, int execute);

SMARM_API void _pthread_cleanup_push(struct _pthread_cleanup_buffer *b, void (*fn)(void *),
				     void *arg)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(_pthread_cleanup_push)(b, fn, arg);
		return;
	}
	b->__routine = fn;
	b->__arg = arg;
	b->__prev = c->old_top;
	c->old_top = b;
}

SMARM_API void _pthread_cleanup_pop(struct _pthread_cleanup_buffer *b, int execute)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(_pthread_cleanup_pop)(b, execute);
		return;
	}
	c->old_top = b->__prev;
	if (execute)
		b->__routine(b->__arg);
}

SMARM_API void _pthread_cleanup_push_defer(struct _pthread_cleanup_buffer *b,
					   void (*fn)(void *), void *arg)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(_pthread_cleanup_push_defer)(b, fn, arg);
		return;
	}
	_pthread_cleanup_push(b, fn, arg);
	b->__canceltype = c->async;
	c->async = false;
}

SMARM_API void _pthread_cleanup_pop_restore(struct _pthread_cleanup_buffer *b, int execute)
{
	struct smarm__shim_cancel *c = smarm__shim_cancel_self();

	if (!c) {
		REAL_FN(_pthread_cleanup_pop_restore)(b, execute);
		return;
	}
	c->old_top = b->__prev;
	c->async = b->__canceltype;
	if (execute)
		b->__routine(b->__arg);
	if (c->async)
		smarm__shim_testcancel();
}
