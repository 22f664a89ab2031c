/*
 * The terminal-safety invariant, checked independently of text.c: valid
 * UTF-8 per RFC 3629 (shortest forms, no surrogates, nothing above
 * U+10FFFF) with no C0 control, DEL or C1 control, and none of the code
 * points that reorder or break a line: the line and paragraph separators
 * U+2028 and U+2029, the bidirectional embeddings and overrides U+202A to
 * U+202E and the isolates U+2066 to U+2069 (the marks U+200E, U+200F and
 * U+061C are allowed).  And a small deterministic generator (xorshift64*)
 * for the randomized tests.
 */
#include "check-text.h"

/*
 * 1 if s[0..len) is safe; otherwise 0, and if the culprit was a control
 * character or one of the separators and bidirectional controls, and
 * bad_cp is not NULL, its code point in *bad_cp.
 */
int
check_text_safe(const unsigned char *s, size_t len, uint32_t *bad_cp)
{
	size_t		i = 0, n, k;
	uint32_t	cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			n = 1;
			cp = s[i];
			min = 0;
		} else if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			if (bad_cp != NULL)
				*bad_cp = cp;
			return 0;
		}
		i += n;
	}
	return 1;
}

uint64_t
check_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}
