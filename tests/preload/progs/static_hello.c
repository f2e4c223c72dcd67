/* static_hello.c — built with -static (Makefile): smarm-run must refuse it
 * in one line rather than run it natively without a word. */
#include <stdio.h>

int main(void)
{
	puts("ran");
	return 0;
}
