/*
 * fanout-buffer.c -- should chatd's fan-out COPY a formatted message into
 * each recipient's output evbuffer (evbuffer_add), or ADD A REFERENCE to one
 * shared refcounted block (evbuffer_add_reference + cleanup callback)?
 *
 * For each message size, queue depth (messages queued per recipient before
 * the buffers are drained) and strategy, on NRECIP plain evbuffers (no
 * sockets, so no kernel send cost; see LIBEVENT-NOTES.md "Fan-out cost"):
 *   add   ns per evbuffer add (message m goes to every recipient, then m+1)
 *   mem   heap bytes per queued message: mallinfo2() in-use delta / adds
 *         (the ref strategy's shared block is amortized over NRECIP)
 *   drain ns per queued message for evbuffer_drain() of every buffer
 * Each figure is the median of NRUNS runs after one warm-up run; the two
 * strategies alternate order inside each run so drift hits both equally.
 * It measures and prints; it never asserts.
 *
 * Heap policy (glibc): automatic trimming is off (mallopt), because with
 * glibc's moving default thresholds results depended on run order.
 *   default  warm heap: freed chains are reused; steady-state CPU cost.
 *   -c       cold heap: malloc_trim(0) after every drain (untimed) returns
 *            free pages to the kernel, so every run also pays first-touch
 *            page faults on every byte it queues.
 *
 * Build: cc -O2 -Wall -Wextra -Werror tests/bench/fanout-buffer.c \
 *          $(pkg-config --cflags --libs libevent) -o /tmp/fb && /tmp/fb [-c]
 */
#define _GNU_SOURCE
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <event2/event.h>
#include <event2/buffer.h>

#define NRECIP 10000
#define NRUNS 5
#define MAXSIZE 8192
#define TIME_TOL 0.10           /* closer than 10% in time: a tie */
#define MEM_TOL 0.02            /* closer than 2% in bytes: a tie */
static const size_t sizes[] = {64, 128, 256, 512, 1024, 2048, 4096, 8192};
static const int depths[] = {1, 10};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NDEPTHS (sizeof depths / sizeof depths[0])

enum { COPY, REF };
struct result { double add_ns, bytes, drain_ns; };

/* REF strategy: one formatted message shared by all recipients. */
struct shared { int refcnt; size_t len; char data[]; };
static long live_shared;        /* shared blocks not yet freed (leak check) */

/* Cleanup callback: libevent calls it once per reference when those bytes
 * are drained (or the evbuffer is freed); the last reference frees. */
static void unref(const void *data, size_t len, void *arg)
{
	struct shared *s = arg;
	(void)data; (void)len;
	if (--s->refcnt == 0) {
		free(s);
		live_shared--;
	}
}

static struct evbuffer *bufs[NRECIP];
static int cold;                /* -c: release free heap after each run */
static char scratch[MAXSIZE];   /* COPY strategy: format buffer, reused */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Heap in use: arena chunks (uordblks) plus mmap'ed chunks (hblkhd). */
static double heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)mi.uordblks + (double)mi.hblkhd;
}

/* "Format" message m of len bytes into dst (same cost for both). */
static void format_msg(char *dst, size_t len, int m)
{
	memset(dst, 'a' + m % 26, len - 1);
	dst[len - 1] = '\n';
}

/* One run: queue `depth` messages of `size` bytes to every buffer, then
 * drain them all. Buffers start and end empty. */
static struct result run_once(int mode, size_t size, int depth)
{
	double heap0 = heap_used(), t0 = now_ns();
	for (int m = 0; m < depth; m++) {
		if (mode == COPY) {
			format_msg(scratch, size, m);
			for (int i = 0; i < NRECIP; i++)
				evbuffer_add(bufs[i], scratch, size);
			continue;
		}
		struct shared *s = malloc(sizeof *s + size);
		if (!s) { perror("malloc"); exit(1); }
		s->refcnt = 1;          /* the sender's reference during fan-out */
		s->len = size;
		format_msg(s->data, size, m);
		live_shared++;
		for (int i = 0; i < NRECIP; i++) {
			s->refcnt++;
			/* on failure libevent does NOT call the cleanup: undo */
			if (evbuffer_add_reference(bufs[i], s->data, s->len,
			    unref, s) != 0)
				s->refcnt--;
		}
		unref(s->data, s->len, s);      /* drop the sender's reference */
	}
	double t1 = now_ns(), heap1 = heap_used();
	for (int i = 0; i < NRECIP; i++)        /* the "/dev/null" sink */
		evbuffer_drain(bufs[i], evbuffer_get_length(bufs[i]));
	double t2 = now_ns(), n = (double)NRECIP * depth;
	if (cold)
		malloc_trim(0);
	return (struct result){ (t1 - t0) / n, (heap1 - heap0) / n,
	    (t2 - t1) / n };
}

static int cmp_double(const void *a, const void *b)
{
	return (*(const double *)a > *(const double *)b) -
	    (*(const double *)a < *(const double *)b);
}

static double median(double *v)
{
	qsort(v, NRUNS, sizeof *v, cmp_double);
	return v[NRUNS / 2];
}

/* +1 if ref's x beats copy's y by more than tol (relative), -1 if it loses
 * by more than tol, 0 for a tie. */
static int ref_vs_copy(double x, double y, double tol)
{
	return x < y * (1 - tol) ? 1 : x > y * (1 + tol) ? -1 : 0;
}

static void print_machine(void)
{
	struct utsname u;
	char line[256], cpu[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name\t: ", 13) == 0) {
			snprintf(cpu, sizeof cpu, "%s", line + 13);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	if (f) fclose(f);
	uname(&u);
	printf("Machine: `%s`, CPU: %s, libevent %s; %d recipients, median of "
	    "%d runs, %s heap\n\n", u.nodename, cpu, event_get_version(),
	    NRECIP, NRUNS, cold ? "cold (-c)" : "warm");
}

int main(int argc, char **argv)
{
	size_t first = 0, stable = 0;   /* depth-10 threshold bookkeeping */
	cold = argc > 1 && strcmp(argv[1], "-c") == 0;
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);  /* glibc's initial default */
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	for (int i = 0; i < NRECIP; i++)
		if (!(bufs[i] = evbuffer_new())) { perror("evbuffer_new"); return 1; }
	print_machine();
	printf("| size | depth | copy ns/add | ref ns/add | copy bytes/msg | ref "
	    "bytes/msg | copy drain ns/msg | ref drain ns/msg | winner |\n"
	    "|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (size_t s = 0; s < NSIZES; s++)
	for (size_t d = 0; d < NDEPTHS; d++) {
		double v[3][2][NRUNS];          /* metric, strategy, run */
		struct result med[2];
		run_once(COPY, sizes[s], depths[d]);    /* warm-up */
		run_once(REF, sizes[s], depths[d]);
		for (int k = 0; k < NRUNS; k++)
			for (int j = 0; j < 2; j++) {
				int m = (k & 1) ? 1 - j : j;    /* alternate order */
				struct result r = run_once(m, sizes[s], depths[d]);
				v[0][m][k] = r.add_ns;
				v[1][m][k] = r.bytes;
				v[2][m][k] = r.drain_ns;
			}
		for (int m = 0; m < 2; m++)
			med[m] = (struct result){ median(v[0][m]),
			    median(v[1][m]), median(v[2][m]) };
		/* winner: wins one of add time / memory and loses neither */
		int t = ref_vs_copy(med[REF].add_ns, med[COPY].add_ns, TIME_TOL);
		int b = ref_vs_copy(med[REF].bytes, med[COPY].bytes, MEM_TOL);
		const char *w = !t && !b ? "tie" : t >= 0 && b >= 0 ? "ref"
		    : t <= 0 && b <= 0 ? "copy" : t > 0
		    ? "split (ref faster, copy smaller)"
		    : "split (copy faster, ref smaller)";
		printf("| %zu | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n",
		    sizes[s], depths[d], med[COPY].add_ns, med[REF].add_ns,
		    med[COPY].bytes, med[REF].bytes, med[COPY].drain_ns,
		    med[REF].drain_ns, w);
		fflush(stdout);
		if (depths[d] == 10) {  /* ref must beat copy on BOTH */
			int win = t > 0 && b > 0;
			if (win && !first) first = sizes[s];
			stable = win ? (stable ? stable : sizes[s]) : 0;
		}
	}
	if (first)
		printf("\nthreshold (depth 10): %zu bytes%s\n", first, stable ==
		    first ? "" : " (but ref does not win at every larger size)");
	else
		printf("\nthreshold (depth 10): none up to %d bytes\n", MAXSIZE);
	if (live_shared)
		printf("warning: %ld shared blocks never freed\n", live_shared);
	for (int i = 0; i < NRECIP; i++)
		evbuffer_free(bufs[i]);
	return 0;
}
