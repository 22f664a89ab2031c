/*
 * Unit tests for text.c: text_sanitize, text_is_blank, text_utf8_truncate.
 *
 * Besides fixed cases, a pseudo-random fuzz loop checks the output
 * invariants (valid UTF-8, no C0/C1/DEL, no bidirectional control or
 * line separator, TEXT_SANITIZE_MAX bound, no write
 * past the bound, idempotence) and compares text_sanitize with an
 * independent reference implementation written from the documented rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check-text.h"
#include "text.h"

#define FFFD	"\xef\xbf\xbd"

/* Sanitize in[0..inlen) and compare with expect[0..explen). */
static void
check_sanitize(const char *in, size_t inlen, const char *expect,
    size_t explen)
{
	char	*out = malloc(TEXT_SANITIZE_MAX(inlen) + 1);
	size_t	 n;

	assert_non_null(out);
	n = text_sanitize(in, inlen, out);
	if (n != explen || memcmp(out, expect, explen) != 0) {
		size_t	i;

		fprintf(stderr, "input:   ");
		for (i = 0; i < inlen; i++)
			fprintf(stderr, "%02x ", (unsigned char)in[i]);
		fprintf(stderr, "\nexpect:  ");
		for (i = 0; i < explen; i++)
			fprintf(stderr, "%02x ", (unsigned char)expect[i]);
		fprintf(stderr, "\nactual:  ");
		for (i = 0; i < n; i++)
			fprintf(stderr, "%02x ", (unsigned char)out[i]);
		fprintf(stderr, "\n");
	}
	assert_int_equal(n, explen);
	assert_memory_equal(out, expect, explen);
	free(out);
}

/* String literals, embedded NULs allowed. */
#define S(in, expect) \
	check_sanitize((in), sizeof(in) - 1, (expect), sizeof(expect) - 1)


/*
 * An independent reference of the documented rules: telnet commands
 * removed, TAB to space, controls, the separators U+2028 and U+2029, the
 * bidirectional controls U+202A..U+202E and U+2066..U+2069, and every byte
 * not part of a well-formed sequence to U+FFFD.  Returns the output length.
 */
static size_t
reference_sanitize(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t		i = 0, o = 0, n, k;
	uint32_t	cp, min;
	int		ok;

	while (i < len) {
		if (in[i] == 0xff) {			/* IAC */
			if (i + 1 >= len) {
				i = len;
			} else if (in[i + 1] >= 0xfb && in[i + 1] <= 0xfe) {
				i += 3;			/* WILL/WONT/DO/DONT x */
				if (i > len)
					i = len;
			} else if (in[i + 1] == 0xfa) {	/* SB ... IAC SE */
				for (k = i + 2; k + 1 < len; k++) {
					if (in[k] == 0xff && in[k + 1] == 0xf0)
						break;
				}
				i = k + 1 < len ? k + 2 : len;
			} else
				i += 2;
			continue;
		}
		if (in[i] == '\t') {
			out[o++] = ' ';
			i++;
			continue;
		}
		if (in[i] < 0x80) {
			if (in[i] < 0x20 || in[i] == 0x7f) {
				memcpy(out + o, FFFD, 3);
				o += 3;
			} else
				out[o++] = in[i];
			i++;
			continue;
		}
		ok = 1;
		if ((in[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = in[i] & 0x1f;
			min = 0x80;
		} else if ((in[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = in[i] & 0x0f;
			min = 0x800;
		} else if ((in[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = in[i] & 0x07;
			min = 0x10000;
		} else {
			n = 1;
			cp = 0;
			min = 0;
			ok = 0;
		}
		if (ok && i + n > len)
			ok = 0;
		for (k = 1; ok && k < n; k++) {
			if ((in[i + k] & 0xc0) != 0x80)
				ok = 0;
			else
				cp = (cp << 6) | (in[i + k] & 0x3f);
		}
		if (ok && (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)))
			ok = 0;
		if (!ok) {
			memcpy(out + o, FFFD, 3);
			o += 3;
			i++;
		} else if (cp <= 0x9f ||		/* C1 */
		    (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			memcpy(out + o, FFFD, 3);
			o += 3;
			i += n;
		} else {
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
		}
	}
	return o;
}

/* xorshift64*: deterministic, seedable. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
#define rng()	check_rng(&rng_state)
#define text_clean(s, len)	check_text_safe(s, len, NULL)


static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A random code point that text_sanitize must pass unchanged. */
static uint32_t
random_clean_code_point(void)
{
	uint32_t	cp;

	for (;;) {
		switch (rng() % 4) {
		case 0:
			cp = 0x20 + (uint32_t)(rng() % 0x5f);	/* ASCII */
			break;
		case 1:
			cp = 0xa0 + (uint32_t)(rng() % (0x800 - 0xa0));
			break;
		case 2:
			cp = 0x800 + (uint32_t)(rng() % (0x10000 - 0x800));
			break;
		default:
			cp = 0x10000 + (uint32_t)(rng() % 0x100000);
			break;
		}
		if ((cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			continue;
		return cp;
	}
}

/* ---- text_sanitize: fixed cases ---- */

static void
test_ascii_passes(void **state)
{
	char	in[0x7f - 0x20];
	int	c;

	(void)state;
	S("", "");
	S("hello, world!", "hello, world!");
	S(" leading and trailing ", " leading and trailing ");
	for (c = 0x20; c < 0x7f; c++)
		in[c - 0x20] = (char)c;
	check_sanitize(in, sizeof in, in, sizeof in);
}

static void
test_tab_becomes_space(void **state)
{
	(void)state;
	S("\t", " ");
	S("a\tb", "a b");
	S("\t\ta\t", "  a ");
}

static void
test_c0_del_nul_replaced(void **state)
{
	char	in[3];
	int	c;

	(void)state;
	for (c = 0x00; c < 0x20; c++) {
		if (c == '\t')
			continue;
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'b';
		check_sanitize(in, 3, "a" FFFD "b", 5);
		check_sanitize(in + 1, 1, FFFD, 3);
	}
	S("\x7f", FFFD);
	S("a\x7f" "b", "a" FFFD "b");
	S("\0", FFFD);
	S("a\0b\0", "a" FFFD "b" FFFD);
	S("\r\n", FFFD FFFD);
}

/* Kept controls pass as they are; every other byte is judged as before. */
static void
test_sanitize_keeping(void **state)
{
	const char	in[] = "\001ACTION \002x\002\001\003\x7f\x80";
	char		out[TEXT_SANITIZE_MAX(sizeof in)];
	size_t		n;

	(void)state;
	n = text_sanitize_keeping(in, sizeof in - 1, out, 1u << 1 | 1u << 2);
	assert_int_equal(n, 12 + 9);
	assert_memory_equal(out, "\001ACTION \002x\002\001" FFFD FFFD FFFD,
	    n);
	assert_int_equal(text_sanitize_keeping(in, sizeof in - 1, out, 0),
	    text_sanitize(in, sizeof in - 1, out));
}

/* A protocol line is cut at a character, and always ends in CRLF. */
static void
test_format_line(void **state)
{
	char	buf[16];
	size_t	n;

	(void)state;
	n = text_format_line(buf, sizeof buf, "BYE %s", "x");
	assert_int_equal(n, 7);
	assert_string_equal(buf, "BYE x\r\n");
	/* 13 bytes of text fit in 16 with CRLF and NUL; é is not split. */
	n = text_format_line(buf, sizeof buf, "BYE %s", "abcdefgh\xc3\xa9z");
	assert_string_equal(buf, "BYE abcdefgh\r\n");
	assert_int_equal(n, 14);
}

static void
test_c1_replaced(void **state)
{
	char	in[2];
	int	c;

	(void)state;
	for (c = 0x80; c <= 0x9f; c++) {
		in[0] = '\xc2';
		in[1] = (char)c;
		check_sanitize(in, 2, FFFD, 3);	/* one U+FFFD, not two */
	}
	S("x\xc2\x9by", "x" FFFD "y");		/* C1 CSI */
	S("\xc2\x80\xc2\x9f", FFFD FFFD);
	/* U+00A0, the first code point after C1, is kept. */
	S("\xc2\xa0", "\xc2\xa0");
	S("\xc2\xbf", "\xc2\xbf");
}

static void
test_ansi_and_osc_escapes(void **state)
{
	(void)state;
	S("\x1b[31mred\x1b[0m", FFFD "[31mred" FFFD "[0m");
	S("\x1b]0;x\x07", FFFD "]0;x" FFFD);
	S("\x1b]0;pwned\x1b\\", FFFD "]0;pwned" FFFD "\\");
	S("\x1b" "c", FFFD "c");		/* RIS */
	S("\xc2\x9b" "2J", FFFD "2J");		/* 8-bit CSI */
	S("\xc2\x9d" "0;x\xc2\x9c", FFFD "0;x" FFFD);	/* 8-bit OSC/ST */
}

static void
test_valid_utf8_unchanged(void **state)
{
	(void)state;
	S("\xc3\xa9", "\xc3\xa9");				/* é */
	S("caf\xc3\xa9", "caf\xc3\xa9");
	S("\xe2\x9c\x93", "\xe2\x9c\x93");			/* ✓ */
	S("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");	/* 日本 */
	S("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");		/* 😀 */
	S("a\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80z",
	    "a\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80z");
	/* Range boundaries. */
	S("\xdf\xbf", "\xdf\xbf");				/* U+07FF */
	S("\xe0\xa0\x80", "\xe0\xa0\x80");			/* U+0800 */
	S("\xed\x9f\xbf", "\xed\x9f\xbf");			/* U+D7FF */
	S("\xee\x80\x80", "\xee\x80\x80");			/* U+E000 */
	S("\xef\xbf\xbf", "\xef\xbf\xbf");			/* U+FFFF */
	S(FFFD, FFFD);						/* U+FFFD */
	S("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");		/* U+10000 */
	S("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");		/* U+10FFFF */
}

static void
test_invalid_lone_continuation(void **state)
{
	int	c;
	char	in[1];

	(void)state;
	for (c = 0x80; c <= 0xbf; c++) {
		in[0] = (char)c;
		check_sanitize(in, 1, FFFD, 3);
	}
	S("a\x80" "b", "a" FFFD "b");
	S("\xbf\xbf", FFFD FFFD);
	S("\xc3\xa9\xa9", "\xc3\xa9" FFFD);	/* one continuation too many */
}

static void
test_invalid_truncated(void **state)
{
	(void)state;
	/* At the end of the input. */
	S("\xc3", FFFD);
	S("a\xc3", "a" FFFD);
	S("\xe2\x9c", FFFD FFFD);
	S("\xe2", FFFD);
	S("\xf0\x9f\x98", FFFD FFFD FFFD);
	S("\xf0\x9f", FFFD FFFD);
	S("\xf0", FFFD);
	/* Cut short by another character. */
	S("\xc3" "a", FFFD "a");
	S("\xe2\x9c" "a", FFFD FFFD "a");
	S("\xf0\x9f\x98" "a", FFFD FFFD FFFD "a");
	S("\xe2\x9c\xc3\xa9", FFFD FFFD "\xc3\xa9");
	S("\xf0\x9f\x98\xf0\x9f\x98\x80", FFFD FFFD FFFD "\xf0\x9f\x98\x80");
}

static void
test_invalid_overlong(void **state)
{
	(void)state;
	S("\xc0\xaf", FFFD FFFD);			/* '/' in 2 bytes */
	S("\xc0\x80", FFFD FFFD);			/* NUL in 2 bytes */
	S("\xc1\xbf", FFFD FFFD);
	S("\xe0\x80\xaf", FFFD FFFD FFFD);		/* '/' in 3 bytes */
	S("\xe0\x9f\xbf", FFFD FFFD FFFD);		/* U+07FF in 3 bytes */
	S("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);	/* '/' in 4 bytes */
	S("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD);	/* U+FFFF in 4 */
	S("\xc0\x9b", FFFD FFFD);	/* overlong ESC must not come through */
}

static void
test_invalid_surrogates(void **state)
{
	(void)state;
	S("\xed\xa0\x80", FFFD FFFD FFFD);		/* U+D800 */
	S("\xed\xbf\xbf", FFFD FFFD FFFD);		/* U+DFFF */
	S("\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD);
}

static void
test_invalid_above_max(void **state)
{
	(void)state;
	S("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);	/* U+110000 */
	S("\xf4\xbf\xbf\xbf", FFFD FFFD FFFD FFFD);
	S("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
	S("\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD);
}

static void
test_invalid_high_bytes(void **state)
{
	char	in[3];
	int	c;

	(void)state;
	/* F5..FE (FF is telnet's IAC, see test_telnet). */
	for (c = 0xf5; c <= 0xfe; c++) {
		in[0] = 'a';
		in[1] = (char)c;
		in[2] = 'b';
		check_sanitize(in, 3, "a" FFFD "b", 5);
	}
	S("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD);	/* 5-byte */
	S("\xfc\x84\x80\x80\x80\x80",
	    FFFD FFFD FFFD FFFD FFFD FFFD);			/* 6-byte */
	S("\xfe\xfe", FFFD FFFD);
}

static void
test_telnet(void **state)
{
	(void)state;
	S("a\xff\xfb\x01" "b", "ab");			/* IAC WILL ECHO */
	S("a\xff\xfc\x01" "b", "ab");			/* IAC WONT */
	S("a\xff\xfd\x03" "b", "ab");			/* IAC DO SGA */
	S("a\xff\xfe\x22" "b", "ab");			/* IAC DONT */
	/* The option byte is taken even if it looks like text. */
	S("\xff\xfd" "xyz", "yz");
	/* IAC SB NAWS 0 80 0 24 IAC SE */
	S("a\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0" "b", "ab");
	S("\xff\xfa\x18\x00" "VT100\xff\xf0" "hi", "hi");
	S("a\xff\xf4" "b", "ab");			/* IAC IP */
	S("a\xff\xf1" "b", "ab");			/* IAC NOP */
	S("a\xff\xf3" "b", "ab");			/* IAC BRK */
	S("a\xff\xff" "b", "ab");			/* IAC IAC */
	/* At the end of the input. */
	S("ab\xff", "ab");
	S("\xff", "");
	S("ab\xff\xfb", "ab");
	S("ab\xff\xfa", "ab");
	S("ab\xff\xfa\x18" "abc", "ab");	/* unterminated SB */
	S("ab\xff\xfa\x18\xff", "ab");
	/* Several in a row, around text and UTF-8. */
	S("\xff\xfb\x01\xff\xfd\x03\xc3\xa9\xff\xf4!", "\xc3\xa9!");
	/* A control byte inside IAC SB never reaches the output. */
	S("\xff\xfa\x1b[31m\xff\xf0ok", "ok");
}

static void
test_mixed(void **state)
{
	(void)state;
	S("hi\tthere\x1b[1m\xc3\xa9\x80\xff\xfb\x01!",
	    "hi there" FFFD "[1m\xc3\xa9" FFFD "!");
	S("\x00\x01\xc2\x85\xe2\x80\xa8", FFFD FFFD FFFD FFFD);
}

/* The separators and bidirectional controls text.c replaces. */
static const uint32_t spoofing[] = {
	0x2028,			/* LINE SEPARATOR */
	0x2029,			/* PARAGRAPH SEPARATOR */
	0x202a, 0x202b,		/* LEFT-TO-RIGHT, RIGHT-TO-LEFT EMBEDDING */
	0x202c,			/* POP DIRECTIONAL FORMATTING */
	0x202d, 0x202e,		/* LEFT-TO-RIGHT, RIGHT-TO-LEFT OVERRIDE */
	0x2066, 0x2067, 0x2068,	/* LRI, RLI, FSI */
	0x2069,			/* POP DIRECTIONAL ISOLATE */
};

/* Their neighbours, and the marks right-to-left text needs: kept. */
static const uint32_t kept[] = {
	0x2027,			/* HYPHENATION POINT */
	0x202f,			/* NARROW NO-BREAK SPACE */
	0x2065,			/* unassigned */
	0x206a,			/* INHIBIT SYMMETRIC SWAPPING (deprecated) */
	0x200e, 0x200f,		/* LEFT-TO-RIGHT, RIGHT-TO-LEFT MARK */
	0x061c,			/* ARABIC LETTER MARK */
	0x061b, 0x061d,
	0x200d,			/* ZERO WIDTH JOINER, in emoji sequences */
	0x2060,			/* WORD JOINER */
};

static void
test_bidi_and_separators_replaced(void **state)
{
	char		in[8];
	size_t		i, n;
	uint32_t	bad;

	(void)state;
	for (i = 0; i < sizeof spoofing / sizeof spoofing[0]; i++) {
		n = utf8_encode(spoofing[i], in);
		assert_int_equal(n, 3);
		check_sanitize(in, n, FFFD, 3);
		/* One U+FFFD for the three bytes, between its neighbours. */
		memmove(in + 1, in, n);
		in[0] = 'a';
		in[n + 1] = 'b';
		check_sanitize(in, n + 2, "a" FFFD "b", 5);
		/* The shared checker refuses it and names it. */
		bad = 0;
		assert_false(check_text_safe((unsigned char *)in, n + 2, &bad));
		assert_int_equal(bad, spoofing[i]);
	}
	/* The spoof a user would send: a file name read backwards. */
	S("see \xe2\x80\xaegnp.exe", "see " FFFD "gnp.exe");
	/* Isolates and overrides that are never closed. */
	S("\xe2\x81\xa7\xe2\x81\xa7\xe2\x80\xae", FFFD FFFD FFFD);
	/* Cut short, they are malformed bytes like any other. */
	S("\xe2\x80", FFFD FFFD);
	S("\xe2\x80" "a", FFFD FFFD "a");
}

static void
test_neighbours_and_marks_kept(void **state)
{
	char		in[8], expect[16];
	size_t		i, n;

	(void)state;
	for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		n = utf8_encode(kept[i], in);
		check_sanitize(in, n, in, n);
		expect[0] = 'a';
		memcpy(expect + 1, in, n);
		expect[n + 1] = 'b';
		check_sanitize(expect, n + 2, expect, n + 2);
		assert_true(check_text_safe((unsigned char *)in, n, NULL));
	}
	/* Hebrew with a right-to-left mark, Arabic with its letter mark. */
	S("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f!",
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f!");
	S("\xd8\x9c" "1-2", "\xd8\x9c" "1-2");
}

static void
test_worst_case_growth(void **state)
{
	char	in[256], *out;
	size_t	n;

	(void)state;
	memset(in, 0x01, sizeof in);
	out = malloc(TEXT_SANITIZE_MAX(sizeof in));
	assert_non_null(out);
	n = text_sanitize(in, sizeof in, out);
	assert_int_equal(n, TEXT_SANITIZE_MAX(sizeof in));
	assert_true(text_clean((unsigned char *)out, n));
	memset(in, 0x80, sizeof in);
	n = text_sanitize(in, sizeof in, out);
	assert_int_equal(n, TEXT_SANITIZE_MAX(sizeof in));
	free(out);
}

/* ---- text_sanitize: fuzz ---- */

static const unsigned char interesting[] = {
	0x00, 0x01, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x20, 0x41, 0x5b,
	0x7e, 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
	0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5,
	0xf8, 0xfa, 0xfb, 0xfd, 0xfe, 0xff, 0xf0, 0x90, 0x8f, 0xa0, 0x80,
};

static void
test_fuzz_invariants(void **state)
{
	enum { ITERATIONS = 100000, MAXLEN = 96, CANARY = 16 };
	unsigned char	in[MAXLEN], out[TEXT_SANITIZE_MAX(MAXLEN) + CANARY];
	unsigned char	again[TEXT_SANITIZE_MAX(TEXT_SANITIZE_MAX(MAXLEN))];
	unsigned char	ref[TEXT_SANITIZE_MAX(MAXLEN)];
	size_t		len, n, n2, nref, i, k;
	int		iter;

	(void)state;
	for (iter = 0; iter < ITERATIONS; iter++) {
		len = rng() % (MAXLEN + 1);
		for (i = 0; i < len; i++) {
			switch (rng() % 4) {
			case 0:
				in[i] = (unsigned char)rng();
				break;
			case 1:
				in[i] = 0x80 | (rng() % 0x40);
				break;
			case 2:
				in[i] = 0x20 + rng() % 0x5f;
				break;
			default:
				in[i] = interesting[rng() %
				    sizeof interesting];
				break;
			}
		}
		/* Sometimes splice in a valid multibyte character. */
		if (len > 4 && rng() % 2) {
			char	enc[4];

			k = utf8_encode(random_clean_code_point(), enc);
			i = rng() % (len - k + 1);
			memcpy(in + i, enc, k);
		}
		memset(out, 0xa5, sizeof out);
		n = text_sanitize((char *)in, len, (char *)out);
		assert_true(n <= TEXT_SANITIZE_MAX(len));
		/* Nothing written past the documented bound. */
		for (k = TEXT_SANITIZE_MAX(len); k < sizeof out; k++)
			assert_int_equal(out[k], 0xa5);
		if (!text_clean(out, n)) {
			fprintf(stderr, "unclean output for input:");
			for (k = 0; k < len; k++)
				fprintf(stderr, " %02x", in[k]);
			fprintf(stderr, "\n");
			fail();
		}
		/* Same as the reference implementation. */
		nref = reference_sanitize(in, len, ref);
		if (nref != n || memcmp(ref, out, n) != 0) {
			fprintf(stderr, "differs from reference for:");
			for (k = 0; k < len; k++)
				fprintf(stderr, " %02x", in[k]);
			fprintf(stderr, "\n");
			fail();
		}
		/* Clean text is a fixed point. */
		n2 = text_sanitize((char *)out, n, (char *)again);
		assert_int_equal(n2, n);
		assert_memory_equal(again, out, n);
	}
}

static void
test_fuzz_clean_text_unchanged(void **state)
{
	enum { ITERATIONS = 20000 };
	char	in[64 * 4], out[TEXT_SANITIZE_MAX(sizeof in)];
	size_t	len, n, count, i;
	int	iter;

	(void)state;
	for (iter = 0; iter < ITERATIONS; iter++) {
		count = rng() % 64;
		for (len = 0, i = 0; i < count; i++)
			len += utf8_encode(random_clean_code_point(), in + len);
		n = text_sanitize(in, len, out);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
	}
}

/* ---- text_is_blank ---- */

static void
test_is_blank(void **state)
{
	(void)state;
	assert_true(text_is_blank("", 0));
	assert_true(text_is_blank(" ", 1));
	assert_true(text_is_blank("     ", 5));
	assert_false(text_is_blank("a", 1));
	assert_false(text_is_blank(" a ", 3));
	assert_false(text_is_blank("    x", 5));
	assert_false(text_is_blank("x    ", 5));
	/* Only spaces count: sanitized text has no TAB left. */
	assert_false(text_is_blank("\t", 1));
	assert_false(text_is_blank("\xc2\xa0", 2));
	/* Length-based, not NUL-based. */
	assert_true(text_is_blank("  x", 2));
	assert_false(text_is_blank(" \0 ", 3));
	assert_true(text_is_blank("xyz", 0));
}

/* ---- text_utf8_truncate ---- */

static void
test_truncate_fixed(void **state)
{
	const char	*e = "a\xc3\xa9" "b";		/* a é b: 4 bytes */
	const char	*emoji = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80";
	const char	*check = "\xe2\x9c\x93\xe2\x9c\x93";

	(void)state;
	/* Fits: unchanged. */
	assert_int_equal(text_utf8_truncate("abc", 3, 3), 3);
	assert_int_equal(text_utf8_truncate("abc", 3, 10), 3);
	assert_int_equal(text_utf8_truncate("", 0, 0), 0);
	/* ASCII cuts anywhere. */
	assert_int_equal(text_utf8_truncate("abcdef", 6, 4), 4);
	assert_int_equal(text_utf8_truncate("abcdef", 6, 0), 0);
	/* Never inside é. */
	assert_int_equal(text_utf8_truncate(e, 4, 3), 3);
	assert_int_equal(text_utf8_truncate(e, 4, 2), 1);
	assert_int_equal(text_utf8_truncate(e, 4, 1), 1);
	/* 3-byte characters. */
	assert_int_equal(text_utf8_truncate(check, 6, 5), 3);
	assert_int_equal(text_utf8_truncate(check, 6, 4), 3);
	assert_int_equal(text_utf8_truncate(check, 6, 3), 3);
	assert_int_equal(text_utf8_truncate(check, 6, 2), 0);
	/* 4-byte characters. */
	assert_int_equal(text_utf8_truncate(emoji, 8, 7), 4);
	assert_int_equal(text_utf8_truncate(emoji, 8, 4), 4);
	assert_int_equal(text_utf8_truncate(emoji, 8, 3), 0);
	assert_int_equal(text_utf8_truncate(emoji, 8, 1), 0);
	assert_int_equal(text_utf8_truncate(emoji, 8, 0), 0);
}

static int
is_continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

static void
test_truncate_fuzz(void **state)
{
	enum { ITERATIONS = 5000 };
	char	s[32 * 4];
	size_t	len, count, i, max, n, k;
	int	iter;

	(void)state;
	for (iter = 0; iter < ITERATIONS; iter++) {
		count = rng() % 32;
		for (len = 0, i = 0; i < count; i++)
			len += utf8_encode(random_clean_code_point(), s + len);
		for (max = 0; max <= len + 2; max++) {
			n = text_utf8_truncate(s, len, max);
			assert_true(n <= max);
			assert_true(n <= len);
			/* A character boundary. */
			assert_true(n == len || !is_continuation(s[n]));
			/* The longest one that fits. */
			for (k = n + 1; k <= max && k <= len; k++)
				assert_true(k < len && is_continuation(s[k]));
			/* The prefix is still clean UTF-8. */
			assert_true(text_clean((unsigned char *)s, n));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_passes),
		cmocka_unit_test(test_tab_becomes_space),
		cmocka_unit_test(test_c0_del_nul_replaced),
		cmocka_unit_test(test_c1_replaced),
		cmocka_unit_test(test_ansi_and_osc_escapes),
		cmocka_unit_test(test_valid_utf8_unchanged),
		cmocka_unit_test(test_invalid_lone_continuation),
		cmocka_unit_test(test_invalid_truncated),
		cmocka_unit_test(test_invalid_overlong),
		cmocka_unit_test(test_invalid_surrogates),
		cmocka_unit_test(test_invalid_above_max),
		cmocka_unit_test(test_invalid_high_bytes),
		cmocka_unit_test(test_telnet),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_bidi_and_separators_replaced),
		cmocka_unit_test(test_neighbours_and_marks_kept),
		cmocka_unit_test(test_worst_case_growth),
		cmocka_unit_test(test_fuzz_invariants),
		cmocka_unit_test(test_fuzz_clean_text_unchanged),
		cmocka_unit_test(test_is_blank),
		cmocka_unit_test(test_sanitize_keeping),
		cmocka_unit_test(test_format_line),
		cmocka_unit_test(test_truncate_fixed),
		cmocka_unit_test(test_truncate_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
