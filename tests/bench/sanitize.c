/*
 * sanitize: the cost of text_sanitize, which every client line goes
 * through, in nanoseconds per input byte over three kinds of text: plain
 * ASCII chat, mixed UTF-8 (accents, CJK, emoji, Hebrew and Arabic with
 * their marks), and hostile input (escapes, control bytes, broken and
 * overlong sequences, bidi overrides, telnet commands).  It prints, never
 * judges: the minimum of several rounds, so that a busy machine shows as
 * noise above the floor, not as a different floor.
 *
 * Usage: sanitize [LINE_BYTES [MEGABYTES_PER_ROUND]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

#define ROUNDS	7

struct corpus {
	const char	*name;
	const char	*const *pieces;	/* concatenated, cycled */
};

static const char *const ascii_pieces[] = {
	"hello everyone, ", "did the build pass? ", "yes: 42 tests, ",
	"see https://example.org/x?y=1 ", "ok :) ", "brb. ", NULL,
};
static const char *const mixed_pieces[] = {
	"caf\xc3\xa9 ", "na\xc3\xafve ", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa"
	"\x9e ", "\xf0\x9f\x98\x80 ", "ok ",
	"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f ",	/* Hebrew, RLM */
	"\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85\xd8\x9c ",		/* Arabic, ALM */
	"\xe2\x9c\x93 done ", NULL,
};
static const char *const hostile_pieces[] = {
	"\x1b[31m", "\x1b]0;pwned\x07", "\x80\xbf", "\xc0\xaf",
	"\xed\xa0\x80", "\xe2\x80\xae" "txt.exe", "\xe2\x81\xa6",
	"\xe2\x80\xa8", "\xff\xfb\x01", "\x01\x7f", "\xc2\x9b", "\xf5",
	"x", NULL,
};

static const struct corpus corpora[] = {
	{ "ascii", ascii_pieces },
	{ "mixed utf-8", mixed_pieces },
	{ "hostile", hostile_pieces },
};

/* One line of len bytes made of the corpus's pieces, cut at len. */
static void
fill(char *line, size_t len, const char *const *pieces)
{
	size_t	o = 0, n, i = 0;

	while (o < len) {
		if (pieces[i] == NULL)
			i = 0;
		n = strlen(pieces[i]);
		if (n > len - o)
			n = len - o;
		memcpy(line + o, pieces[i++], n);
		o += n;
	}
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	size_t		 len = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
	size_t		 megabytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	size_t		 i, r, k, lines, total;
	char		*line, *out;
	double		 t, best;
	volatile size_t	 sink = 0;

	if (len == 0 || megabytes == 0) {
		fprintf(stderr, "usage: sanitize [LINE_BYTES [MEGABYTES]]\n");
		return 1;
	}
	line = malloc(len);
	out = malloc(TEXT_SANITIZE_MAX(len));
	if (line == NULL || out == NULL)
		return 1;
	lines = megabytes * 1024 * 1024 / len + 1;
	printf("%-12s %10s %10s %10s\n", "input", "line B", "ns/byte",
	    "out/in");
	for (k = 0; k < sizeof corpora / sizeof corpora[0]; k++) {
		fill(line, len, corpora[k].pieces);
		best = 0;
		total = 0;
		for (r = 0; r < ROUNDS; r++) {
			t = now();
			for (i = 0; i < lines; i++)
				total = text_sanitize(line, len, out);
			t = now() - t;
			sink += out[0] + total;
			if (r == 0 || t < best)
				best = t;
		}
		printf("%-12s %10zu %10.3f %10.2f\n", corpora[k].name, len,
		    best / ((double)lines * (double)len),
		    (double)total / (double)len);
	}
	free(line);
	free(out);
	(void)sink;
	return 0;
}
