/* The one instance of the daemon-wide counters, and the memory figures. */
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "stats.h"

struct stats stats;

/* Resident memory in bytes, from /proc; 0 if it cannot be read. */
uint64_t
stats_resident_bytes(void)
{
	FILE		*f = fopen("/proc/self/statm", "r");
	unsigned long	 size, resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* What malloc has handed out and not had back. */
uint64_t
stats_heap_bytes(void)
{
	return mallinfo2().uordblks;
}
