/* dump.c — the dump of every green thread: smarm_dump(fd), SIGQUIT, and
 * the report that follows "all N threads are asleep - deadlock!".
 *
 * Owns: the SIGQUIT handler and the dump thread it wakes, the SMARM_DUMP,
 * SMARM_DUMP_FORMAT and SMARM_STATS settings, and both output formats.
 *
 * A dump walks the slot table (pid.c) one slot at a time.  Under a slot's
 * lock the actor is pinned (it cannot finish exiting, so its record and
 * stack stay), and dump.c copies what it shows into a snapshot: state,
 * carrier, wait kind and object, park time, deadline, parent, and a
 * backtrace.  The lock is dropped before anything is printed or any other
 * slot is looked at (names of mutex owners, join targets, supervisors), so
 * no two slot locks are ever held and nothing else of the runtime's is
 * taken under one.
 *
 * The program keeps running while it is dumped, so a snapshot is a moment
 * per thread, not one moment for all.  A parked actor may be woken while
 * its stack is walked: the walk checks every frame pointer against the
 * actor's own stack bounds (mapped for as long as the slot lock pins it),
 * requires frames to move up the stack, and stops at a depth limit, so a
 * torn walk prints a wrong frame, never faults.  A wait object (a mutex)
 * is read only while its waiter is still WAITING on it; it could still be
 * freed by the time it is read, a window of a few instructions that a dump
 * accepts (a deadlock report has no such window: nothing runs).
 *
 * Output goes out with write(2) in 4 KiB pieces, never through stdio: a
 * parked green thread may hold stdout's lock.  SIGQUIT's handler only
 * writes a byte to a pipe; the dump thread (an OS thread of the runtime,
 * every signal blocked, named smarm-dump) reads it and writes the dump to
 * stderr, taking whatever locks it needs like any other thread.
 *
 * Switching: nothing here switches.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define DEPTH 24     /* backtrace frames kept */
#define SUP_DEPTH 8  /* supervisors shown above an actor */

bool smarm__dump_json;
bool smarm__dump_on = true;
bool smarm__stats_on;
static _Atomic int dump_tid;
static int pipe_w = -1;

extern const char __start_smarm_text[] __attribute__((visibility("hidden")));
extern const char __stop_smarm_text[] __attribute__((visibility("hidden")));

static bool in_runtime(uintptr_t pc)
{
	return pc - (uintptr_t)__start_smarm_text <
	       (uintptr_t)__stop_smarm_text - (uintptr_t)__start_smarm_text;
}

/* ---- output ---------------------------------------------------------------- */

struct out {
	int fd;
	int err;          /* first write error, as -errno */
	bool json;
	size_t n;
	char buf[4096];
};

static void out_flush(struct out *o)
{
	size_t off = 0;

	while (off < o->n && !o->err) {
		ssize_t w = write(o->fd, o->buf + off, o->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->err = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	o->n = 0;
}

static void out_raw(struct out *o, const char *s, size_t len)
{
	while (len) {
		size_t k = sizeof o->buf - o->n;
		if (k == 0) {
			out_flush(o);
			continue;
		}
		if (k > len)
			k = len;
		memcpy(o->buf + o->n, s, k);
		o->n += k;
		s += k;
		len -= k;
	}
}

__attribute__((format(printf, 2, 3))) static void out_f(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	out_raw(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped;
 * other bytes pass as they are (names are the program's: they may be any
 * bytes, and a byte >= 0x80 that is not UTF-8 is shown as \u00XX). */
static void out_jstr(struct out *o, const char *s)
{
	out_raw(o, "\"", 1);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			out_raw(o, e, 2);
		} else if (ch < 0x20 || ch >= 0x7f) {
			out_f(o, "\\u%04x", ch);
		} else {
			out_raw(o, (const char *)&ch, 1);
		}
	}
	out_raw(o, "\"", 1);
}

/* A name for the text format: the program's bytes, control bytes as '?'. */
static void out_tname(struct out *o, const char *s)
{
	out_raw(o, "\"", 1);
	for (; *s; s++) {
		char ch = (unsigned char)*s < 0x20 || *s == '"' ? '?' : *s;
		out_raw(o, &ch, 1);
	}
	out_raw(o, "\"", 1);
}

/* ---- snapshots ---------------------------------------------------------------- */

struct snap {
	smarm_pid_t pid;
	char name[16];
	int state;           /* enum smarm__state */
	int carrier;         /* running: its carrier's id; else -1 */
	const char *what;    /* parked: the wait's kind */
	const void *obj;     /* parked: its object */
	int64_t since;       /* parked: coarse clock at wait_prepare, 0: unknown */
	int64_t deadline;    /* parked: absolute ns, -1: none */
	smarm_pid_t parent;  /* 0: none */
	bool is_sup;         /* it is a supervisor */
	smarm_pid_t other;   /* mutex: owner; join: target */
	bool foreign;        /* mutex: held by a thread outside the runtime */
	int fd;              /* fd waits */
	uintptr_t job_fn;    /* blocking call: the function the pool runs */
	int npc;
	uintptr_t pc[DEPTH];
};

static bool is(const char *what, const char *k)
{
	return what && strcmp(what, k) == 0;
}

/* Walk the frame pointers of a switched-out actor from its saved context.
 * Every frame must lie in the actor's stack, above the previous one. */
/* Not instrumented: it reads another stack, whose frames ASan may have
 * poisoned around their locals. */
__attribute__((no_sanitize_address)) static void walk(struct smarm__actor *a, struct snap *s)
{
	uintptr_t lo = (uintptr_t)a->stack_lo, hi = lo + a->stack_size;
	uintptr_t sp = (uintptr_t)a->ctx.rsp, fp = a->ctx.rbp, pc;

	s->npc = 0;
	if (sp < lo || sp + 8 > hi || (sp & 7))
		return;
	pc = *(const uintptr_t *)sp; /* the return address into switch_from */
	s->pc[s->npc++] = pc;
	while (s->npc < DEPTH && fp >= lo && fp + 16 <= hi && !(fp & 7)) {
		uintptr_t next = ((const uintptr_t *)fp)[0];
		pc = ((const uintptr_t *)fp)[1];
		if (pc < 4096)
			break;
		s->pc[s->npc++] = pc;
		if (next <= fp)
			break;
		fp = next;
	}
}

/* Runs under the actor's slot lock (pid.c): copy, never print. */
static void take(struct smarm__actor *a, void *arg)
{
	struct snap *s = arg;
	struct smarm__actor *me = smarm__self();

	memset(s, 0, sizeof *s);
	s->pid = a->pid;
	memcpy(s->name, a->name, sizeof s->name);
	s->name[sizeof s->name - 1] = 0;
	s->state = atomic_load(&a->state);
	s->carrier = -1;
	s->deadline = -1;
	s->fd = -1;
	if (a->fate) {
		s->parent = a->fate->parent;
		s->is_sup = a->fate->sup != NULL;
	}
	if (a == me || (s->state == SMARM__RUNNING && atomic_load(&a->on_cpu))) {
		struct smarm__carrier *c = __atomic_load_n(&a->carrier, __ATOMIC_RELAXED);
		s->state = SMARM__RUNNING;
		s->carrier = c ? c->id : -1;
		return; /* its registers are live: no walk */
	}
	if (s->state == SMARM__WAITING) {
		s->what = __atomic_load_n(&a->wait_what, __ATOMIC_RELAXED);
		s->obj = __atomic_load_n(&a->wait_obj, __ATOMIC_RELAXED);
		s->since = a->wait_since;
		if (a->timer.idx)
			s->deadline = a->timer.when;
		/* The object is read only while a still waits on it. */
		if (s->obj && atomic_load(&a->state) == SMARM__WAITING && a->wait_obj == s->obj) {
			if (is(s->what, "mutex"))
				s->other = smarm__mutex_owner_of(s->obj, &s->foreign);
			else if (is(s->what, "join"))
				s->other = smarm__pid_of_slot(s->obj);
			else if (is(s->what, "fd read") || is(s->what, "fd write"))
				s->fd = smarm__io_fd_of(s->obj);
			else if (is(s->what, "blocking call"))
				s->job_fn = (uintptr_t)((const struct smarm__pool_job *)s->obj)->fn;
		}
	}
	if (!atomic_load(&a->on_cpu))
		walk(a, s);
}

/* ---- printing ------------------------------------------------------------------ */

static const char *state_str(int st)
{
	switch (st) {
	case SMARM__RUNNING: return "running";
	case SMARM__RUNNABLE: return "runnable";
	case SMARM__WAITING: return "parked";
	default: return "ending";
	}
}

static void pidstr(smarm_pid_t pid, char *buf)
{
	smarm_pid_format(pid, buf, 24);
}

/* Name of a pid (looked up under its own slot lock), "" if it is gone. */
static void name_of(smarm_pid_t pid, char *buf)
{
	buf[0] = 0;
	if (pid && smarm__pid_name(pid, buf, 16) < 0)
		buf[0] = 0;
}

/* Who supervises actor `pid`: its parent (SMARM_SPAWN_CHILD) if it has
 * one, else the linked supervisor that lists it among its children
 * (supervisor.c links its children rather than parenting them).  Takes one
 * slot lock at a time.  0: nobody. */
static smarm_pid_t supervisor_of(smarm_pid_t pid, char *name)
{
	smarm_pid_t links[16], parent = 0, kids[64];
	struct smarm__slot *slot;
	struct smarm__actor *a = smarm__pid_lock(pid, &slot);
	int nl = 0;

	if (!a)
		return 0;
	if (a->fate) {
		parent = a->fate->parent;
		for (struct smarm__link *l = a->fate->links; l && nl < 16; l = l->next)
			links[nl++] = l->pid;
	}
	smarm__pid_unlock(slot);
	if (parent) {
		name_of(parent, name);
		return parent;
	}
	for (int i = 0; i < nl; i++) {
		int n = smarm_sup_children(links[i], kids, 64);
		for (int k = 0; k < n && k < 64; k++) {
			if (kids[k] == pid) {
				name_of(links[i], name);
				return links[i];
			}
		}
	}
	return 0;
}

/* The supervisor chain above s (nearest first): pids and names. */
static int sup_chain(const struct snap *s, smarm_pid_t *pids, char (*names)[16])
{
	smarm_pid_t p = s->pid;
	int n = 0;

	while (n < SUP_DEPTH && (p = supervisor_of(p, names[n])))
		pids[n++] = p;
	return n;
}

#define symbolise(pc, y) ((void)smarm__symbolise(pc, y))

/* The first frame shown: the runtime's own frames at the top of a parked
 * stack (the switch, park, the wait queue) are skipped down to the entry
 * the program called (smarm_chan_recv, pthread_mutex_lock), when a frame
 * of the program's follows. */
static int first_frame(const struct snap *s)
{
	int k = 0;

	while (k + 1 < s->npc && in_runtime(s->pc[k]) && in_runtime(s->pc[k + 1]))
		k++;
	if (k + 1 >= s->npc)
		return 0; /* all runtime: show everything */
	return k;
}

/* One past the last frame shown: the runtime's frames at the bottom (the
 * actor trampoline) are dropped below the program's last frame. */
static int last_frame(const struct snap *s, int first)
{
	int n = s->npc;
	bool mine = false;

	for (int k = 0; k < n && !mine; k++)
		mine = !in_runtime(s->pc[k]);
	if (!mine)
		return n; /* all runtime (a supervisor): show everything */

	while (n > first + 1 && in_runtime(s->pc[n - 1]))
		n--;
	return n;
}

static void wait_text(struct out *o, const struct snap *s, int64_t now)
{
	char p[24], nm[16];

	out_f(o, "%s", s->what ? s->what : "?");
	if (is(s->what, "mutex") && s->obj) {
		out_f(o, " %p", s->obj);
		struct smarm__sym d;
		if (smarm__symbolise_data(s->obj, &d) && d.off == 0)
			out_f(o, " (%s)", d.name);
		else if (d.name)
			out_f(o, " (%s+0x%lx)", d.name, (unsigned long)d.off);
		if (s->foreign) {
			out_f(o, " held by a thread outside the runtime");
		} else if (s->other) {
			pidstr(s->other, p);
			name_of(s->other, nm);
			out_f(o, " held by %s ", p);
			out_tname(o, nm);
		} else {
			out_f(o, " (free: being handed over)");
		}
	} else if (is(s->what, "join") && s->other) {
		pidstr(s->other, p);
		name_of(s->other, nm);
		out_f(o, " %s ", p);
		out_tname(o, nm);
	} else if (s->fd >= 0) {
		out_f(o, " fd %d", s->fd);
	} else if (s->job_fn) {
		struct smarm__sym y;
		symbolise(s->job_fn + 1, &y);
		out_f(o, " %s", y.name ? y.name : "?");
	} else if (s->obj) {
		struct smarm__sym d;
		out_f(o, " %p", s->obj);
		if (smarm__symbolise_data(s->obj, &d) && d.off == 0)
			out_f(o, " (%s)", d.name); /* a global condition, channel ... */
	}
	if (s->since > 0 && now >= s->since)
		out_f(o, ", for %ld.%03lds", (long)((now - s->since) / 1000000000),
		      (long)((now - s->since) / 1000000 % 1000));
	if (s->deadline >= 0) {
		int64_t left = s->deadline > now ? s->deadline - now : 0;
		out_f(o, ", timer %ld.%03lds left", (long)(left / 1000000000),
		      (long)(left / 1000000 % 1000));
	}
}

static void print_text(struct out *o, const struct snap *s, int64_t now)
{
	char p[24];
	smarm_pid_t sp[SUP_DEPTH];
	char sn[SUP_DEPTH][16];
	int nsup = sup_chain(s, sp, sn);

	pidstr(s->pid, p);
	out_f(o, "\ngreen thread %s ", p);
	out_tname(o, s->name);
	out_f(o, "%s [", s->is_sup ? " (supervisor)" : "");
	if (s->state == SMARM__RUNNING && s->carrier >= 0) {
		out_f(o, "running on carrier %d", s->carrier);
	} else if (s->state == SMARM__WAITING) {
		out_f(o, "parked: ");
		wait_text(o, s, now);
	} else {
		out_f(o, "%s", state_str(s->state));
	}
	out_f(o, "]\n");
	if (nsup) {
		out_f(o, "  supervised by");
		for (int i = 0; i < nsup; i++) {
			pidstr(sp[i], p);
			out_f(o, "%s %s ", i ? " <" : "", p);
			out_tname(o, sn[i]);
		}
		out_f(o, "\n");
	}
	for (int k = first_frame(s), end = last_frame(s, k); k < end; k++) {
		struct smarm__sym y;
		symbolise(s->pc[k], &y);
		if (y.name)
			out_f(o, "  %s+0x%lx (%s)\n", y.name, (unsigned long)y.off, y.obj);
		else if (y.obj)
			out_f(o, "  0x%lx (%s+0x%lx)\n", (unsigned long)s->pc[k], y.obj,
			      (unsigned long)y.off);
		else
			out_f(o, "  0x%lx\n", (unsigned long)s->pc[k]);
	}
}

static void print_json(struct out *o, const struct snap *s, int64_t now, bool first)
{
	char p[24], nm[16];
	smarm_pid_t sp[SUP_DEPTH];
	char sn[SUP_DEPTH][16];
	int nsup = sup_chain(s, sp, sn);

	pidstr(s->pid, p);
	out_f(o, "%s\n{\"pid\":\"%s\",\"name\":", first ? "" : ",", p);
	out_jstr(o, s->name);
	out_f(o, ",\"state\":\"%s\",\"carrier\":", state_str(s->state));
	if (s->state == SMARM__RUNNING && s->carrier >= 0)
		out_f(o, "%d", s->carrier);
	else
		out_f(o, "null");
	out_f(o, ",\"supervisor\":%s,\"wait\":", s->is_sup ? "true" : "false");
	if (s->state != SMARM__WAITING) {
		out_f(o, "null");
	} else {
		out_f(o, "{\"what\":");
		out_jstr(o, s->what ? s->what : "?");
		out_f(o, ",\"object\":\"%p\"", s->obj);
		struct smarm__sym d;
		if (s->obj && smarm__symbolise_data(s->obj, &d) && d.off == 0) {
			out_f(o, ",\"object_symbol\":");
			out_jstr(o, d.name);
		}
		if (is(s->what, "mutex")) {
			if (s->foreign || !s->other) {
				out_f(o, ",\"owner\":null,\"owner_outside\":%s",
				      s->foreign ? "true" : "false");
			} else {
				pidstr(s->other, p);
				name_of(s->other, nm);
				out_f(o, ",\"owner\":\"%s\",\"owner_name\":", p);
				out_jstr(o, nm);
			}
		} else if (is(s->what, "join") && s->other) {
			pidstr(s->other, p);
			name_of(s->other, nm);
			out_f(o, ",\"target\":\"%s\",\"target_name\":", p);
			out_jstr(o, nm);
		} else if (s->fd >= 0) {
			out_f(o, ",\"fd\":%d", s->fd);
		} else if (s->job_fn) {
			struct smarm__sym y;
			symbolise(s->job_fn + 1, &y);
			out_f(o, ",\"call\":");
			out_jstr(o, y.name ? y.name : "?");
		}
		if (s->since > 0 && now >= s->since)
			out_f(o, ",\"waited_ms\":%ld", (long)((now - s->since) / 1000000));
		if (s->deadline >= 0)
			out_f(o, ",\"timer_left_ms\":%ld",
			      (long)(s->deadline > now ? (s->deadline - now) / 1000000 : 0));
		out_f(o, "}");
	}
	out_f(o, ",\"supervisors\":[");
	for (int i = 0; i < nsup; i++) {
		pidstr(sp[i], p);
		out_f(o, "%s{\"pid\":\"%s\",\"name\":", i ? "," : "", p);
		out_jstr(o, sn[i]);
		out_f(o, "}");
	}
	out_f(o, "],\"backtrace\":[");
	for (int k = first_frame(s), i = 0, end = last_frame(s, k); k < end; k++, i++) {
		struct smarm__sym y;
		symbolise(s->pc[k], &y);
		out_f(o, "%s{\"pc\":\"0x%lx\",\"symbol\":", i ? "," : "",
		      (unsigned long)s->pc[k]);
		if (y.name)
			out_jstr(o, y.name);
		else
			out_f(o, "null");
		out_f(o, ",\"offset\":%lu,\"object\":", (unsigned long)y.off);
		if (y.obj)
			out_jstr(o, y.obj);
		else
			out_f(o, "null");
		out_f(o, "}");
	}
	out_f(o, "]}");
}

int smarm__dump_write(int fd, bool json)
{
	struct out *o = NULL;
	struct snap *s = NULL;
	uint32_t n = smarm__pid_slots();
	int64_t now = smarm_now(); /* never behind a park's recorded start */
	long count = 0;
	int e = errno, r;

	/* Off the caller's stack (an actor's may be small), without malloc
	 * (a dump may be taken while the allocator is in an odd state). */
	void *mem = mmap(NULL, sizeof *o + sizeof *s, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		errno = e;
		return -ENOMEM;
	}
	o = mem;
	s = (struct snap *)((char *)mem + sizeof *o);
	o->fd = fd;
	o->json = json;
	if (json)
		out_f(o, "{\"carriers\":%d,\"threads\":[", smarm__rt.ncarriers);
	else
		out_f(o, "smarm: dump of %ld green threads on %d carriers\n",
		      smarm__alive_count(), smarm__rt.ncarriers);
	for (uint32_t i = 0; i < n && !o->err; i++) {
		if (!smarm__pid_visit(i, take, s))
			continue;
		if (json)
			print_json(o, s, now, count == 0);
		else
			print_text(o, s, now);
		count++;
	}
	if (json)
		out_f(o, "\n],\"count\":%ld}\n", count);
	else
		out_f(o, "\nsmarm: end of dump (%ld green threads)\n", count);
	out_flush(o);
	r = o->err;
	munmap(mem, sizeof *o + sizeof *s);
	errno = e;
	return r;
}

int smarm_dump(int fd)
{
	if (fd < 0)
		return -EBADF;
	if (!atomic_load(&smarm__rt.running))
		return -EPERM;
	return smarm__dump_write(fd, smarm__dump_json);
}

/* ---- SIGQUIT ----------------------------------------------------------------- */

/* Async-signal-safe: one write to a pipe; the dump thread does the rest. */
static void on_quit(int sig)
{
	int e = errno;
	char b = 1;

	(void)sig;
	if (write(pipe_w, &b, 1) < 0) {
		/* EAGAIN: a dump is already due. */
	}
	errno = e;
}

static void *dump_main(void *p)
{
	int rfd = (int)(intptr_t)p;
	char b[16];

	atomic_store(&dump_tid, (int)syscall(SYS_gettid));
	for (;;) {
		ssize_t k = read(rfd, b, sizeof b);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		if (atomic_load(&smarm__rt.running)) {
			smarm__dump_write(2, smarm__dump_json);
		} else {
			/* No runtime (smarm_run has returned): SIGQUIT does what
			 * it would without us.  kill, not raise: this thread
			 * blocks every signal. */
			signal(SIGQUIT, SIG_DFL);
			kill(getpid(), SIGQUIT);
		}
	}
}

bool smarm__dump_owns_quit(void *handler)
{
	return handler == (void *)on_quit;
}

int smarm__dump_tid(void)
{
	return atomic_load(&dump_tid);
}

static void stats_at_exit(void)
{
	smarm__stats_print(2);
}

static void quit_install(void)
{
	struct sigaction sa, old;
	pthread_attr_t attr;
	sigset_t all, prev;
	pthread_t t;
	int fds[2], err;

	/* A program that chose its own SIGQUIT disposition keeps it. */
	if (sigaction(SIGQUIT, NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	fds[0] = smarm__fd_high(fds[0]);
	fds[1] = smarm__fd_high(fds[1]);
	/* The reader blocks: only the writer's end is non-blocking. */
	fcntl(fds[0], F_SETFL, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &prev);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)256 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, dump_main, (void *)(intptr_t)fds[0]);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	if (err) {
		smarm__fd_close(fds[0]);
		smarm__fd_close(fds[1]);
		smarm__msg("cannot start the dump thread: SIGQUIT keeps its default");
		return;
	}
	pthread_setname_np(t, "smarm-dump");
	pipe_w = fds[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_quit;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGQUIT, &sa, NULL);
}

void smarm__inside_init(void)
{
	static bool done;
	const char *v;

	smarm__deadlock_init();
	if (done)
		return;
	done = true;
	v = getenv("SMARM_DUMP");
	smarm__dump_on = !(v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0));
	v = getenv("SMARM_DUMP_FORMAT");
	smarm__dump_json = v && strcmp(v, "json") == 0;
	if (v && !smarm__dump_json && strcmp(v, "text") != 0)
		smarm__msg("SMARM_DUMP_FORMAT=%s: expected text or json; using text", v);
	v = getenv("SMARM_STATS");
	smarm__stats_on = v && strcmp(v, "1") == 0;
	if (smarm__stats_on)
		atexit(stats_at_exit);
	if (smarm__dump_on)
		quit_install();
}
