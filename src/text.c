/*
 * Client text, made safe before anything parses or relays it.  The result is
 * valid UTF-8 with no C0 or C1 control characters and no DEL, so an ANSI or
 * OSC escape typed by one user can never reach another user's terminal, and
 * with no bidirectional embedding, override or isolate and no line or
 * paragraph separator, so one user's text cannot reorder the rest of a line
 * (a nick, or text after it) or start a line of its own in a client:
 * - telnet IAC sequences are removed (they are the client's, not the user's),
 * - TAB becomes a space,
 * - every other control character, U+2028 to U+202E, U+2066 to U+2069, and
 *   every byte that is not part of a well-formed, shortest-form UTF-8
 *   sequence, becomes U+FFFD,
 * so damage stays visible instead of silently vanishing.  The marks U+200E,
 * U+200F and U+061C stay: they are what right-to-left text needs, and they
 * change the direction of nothing but the neutral characters around them.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

#define TELNET_IAC	0xff
#define TELNET_SB	0xfa
#define TELNET_SE	0xf0
#define TELNET_WILL	0xfb
#define TELNET_DONT	0xfe

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/* Length of the telnet command starting at in[0] == IAC. */
static size_t
telnet_command_length(const unsigned char *in, size_t len)
{
	size_t	i;

	if (len < 2)
		return len;
	if (in[1] >= TELNET_WILL && in[1] <= TELNET_DONT)
		return len < 3 ? len : 3;
	if (in[1] != TELNET_SB)
		return 2;
	for (i = 2; i + 1 < len; i++) {
		if (in[i] == TELNET_IAC && in[i + 1] == TELNET_SE)
			return i + 2;
	}
	return len;	/* unterminated subnegotiation: drop the rest */
}

/*
 * Length of the well-formed UTF-8 sequence at s[0] (a byte >= 0x80) within
 * len bytes, its code point in *cp; 0 if there is none.  The ranges are
 * those of RFC 3629's table, which excludes overlong forms, surrogates and
 * code points above U+10FFFF.  name.c checks room names with it too, so
 * that what is valid text and what is a valid name agree.
 */
size_t
text_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char	*in = (const unsigned char *)s;
	unsigned char		 lo = 0x80, hi = 0xbf;
	size_t			 n, i;

	if (in[0] >= 0xc2 && in[0] <= 0xdf)
		n = 2;
	else if (in[0] >= 0xe0 && in[0] <= 0xef) {
		n = 3;
		if (in[0] == 0xe0)
			lo = 0xa0;
		else if (in[0] == 0xed)
			hi = 0x9f;
	} else if (in[0] >= 0xf0 && in[0] <= 0xf4) {
		n = 4;
		if (in[0] == 0xf0)
			lo = 0x90;
		else if (in[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || in[1] < lo || in[1] > hi)
		return 0;
	*cp = in[0] & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((in[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (in[i] & 0x3f);
	}
	return n;
}

/*
 * Is cp a separator or format character replaced like a control?  U+2028
 * and U+2029 break lines in some clients; U+202A to U+202E and U+2066 to
 * U+2069 reorder what follows them.  Unsigned wrap-around makes each range
 * one comparison; only text outside ASCII gets here.
 */
static int
text_spoofs(uint32_t cp)
{
	return cp - 0x2028 <= 0x202e - 0x2028 || cp - 0x2066 <= 0x2069 - 0x2066;
}

/* Sanitize len bytes of in into out (TEXT_SANITIZE_MAX(len) bytes). */
size_t
text_sanitize(const char *in, size_t len, char *out)
{
	return text_sanitize_keeping(in, len, out, 0);
}

/*
 * The same, but the C0 controls whose bits are set in keep (bit n for
 * byte n) pass unchanged: a protocol that gives them meaning (IRC's CTCP
 * and formatting codes) must interpret or remove them before relaying.
 */
size_t
text_sanitize_keeping(const char *in_, size_t len, char *out, uint32_t keep)
{
	const unsigned char	*in = (const unsigned char *)in_;
	size_t			 i = 0, o = 0, n;
	uint32_t		 cp;

	while (i < len) {
		if (in[i] == TELNET_IAC) {
			i += telnet_command_length(in + i, len - i);
			continue;
		}
		if (in[i] == '\t') {
			out[o++] = ' ';
			i++;
			continue;
		}
		if ((in[i] >= 0x20 && in[i] < 0x7f) ||
		    (in[i] < 0x20 && (keep >> in[i] & 1))) {
			out[o++] = (char)in[i++];
			continue;
		}
		n = in[i] >= 0x80 ?
		    text_utf8_decode(in_ + i, len - i, &cp) : 0;
		/* C0, DEL, C1, malformed, or bidi and separators. */
		if (n == 0 || cp <= 0x9f || text_spoofs(cp)) {
			memcpy(out + o, replacement, 3);
			o += 3;
			i += n == 0 ? 1 : n;
			continue;
		}
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	}
	return o;
}

int
text_is_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ')
			return 0;
	}
	return 1;
}

/*
 * printf into buf as one protocol line: cut (at a character) so that it
 * fits size with its CRLF, which is added; returns the length.
 */
size_t
text_format_line(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	size_t	len;

	va_start(ap, fmt);
	n = vsnprintf(buf, size - 2, fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : (size_t)n;
	/*
	 * vsnprintf may have cut a character: truncating to less than it
	 * wrote makes text_utf8_truncate judge the last one.
	 */
	if (len >= size - 2)
		len = text_utf8_truncate(buf, strlen(buf), size - 4);
	memcpy(buf + len, "\r\n", 3);
	return len + 2;
}

/* Longest prefix of valid UTF-8 s[0..len) that fits max bytes. */
size_t
text_utf8_truncate(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}
