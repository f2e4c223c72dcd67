/* How many seccomp filters the calling thread carries (0 natively and in
 * the default mode; strict mode's one on a carrier), and that a line of
 * output still goes out. */
#include <stdio.h>
#include <string.h>

int main(void)
{
	char line[256];
	FILE *f = fopen("/proc/thread-self/status", "r");
	int n = -1;

	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Seccomp_filters:", 16) == 0)
			sscanf(line + 16, "%d", &n);
	if (f)
		fclose(f);
	printf("seccomp filters on this thread: %d\n", n);
	return 0;
}
