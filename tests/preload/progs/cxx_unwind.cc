// cxx_unwind.cc — C++ under cancellation and pthread_exit: destructors of
// the frames being left run innermost first, pthread_cleanup_push's C++
// form (a destructor) runs, and catch (abi::__forced_unwind&) sees the
// unwind and rethrows it; C compiled with exceptions behaves alike.
#include <cxxabi.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t ready;

struct Noisy {
	const char *name;
	explicit Noisy(const char *n) : name(n) {}
	~Noisy() { printf("  ~%s\n", name); }
};

static void handler(void *a)
{
	printf("  cleanup handler %s\n", static_cast<const char *>(a));
}

static void __attribute__((noinline)) deepest()
{
	Noisy d("deepest");
	sem_post(&ready);
	for (;;)
		sleep(100);
}

static void __attribute__((noinline)) deep()
{
	Noisy d("deep");
	deepest();
}

static void *cancelled(void *)
{
	Noisy outer("outer");
	pthread_cleanup_push(handler, const_cast<char *>("cancel"));
	try {
		Noisy inner("inner");
		deep();
	} catch (abi::__forced_unwind &) {
		printf("  caught the forced unwind, rethrowing\n");
		throw;
	}
	pthread_cleanup_pop(0);
	return nullptr;
}

static void *exits(void *)
{
	Noisy outer("exit-outer");
	pthread_cleanup_push(handler, const_cast<char *>("exit"));
	{
		Noisy inner("exit-inner");
		pthread_exit(reinterpret_cast<void *>(9));
	}
	pthread_cleanup_pop(0);
	return nullptr;
}

int main()
{
	pthread_t t;
	void *v;

	setvbuf(stdout, nullptr, _IOLBF, 0);
	sem_init(&ready, 0, 0);
	pthread_create(&t, nullptr, cancelled, nullptr);
	sem_wait(&ready);
	pthread_cancel(t);
	pthread_join(t, &v);
	printf("cancelled: %s\n", v == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "?");
	pthread_create(&t, nullptr, exits, nullptr);
	pthread_join(t, &v);
	printf("pthread_exit: %ld\n", reinterpret_cast<long>(v));
	return 0;
}
