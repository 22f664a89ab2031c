/*
 * The name rules, one for every protocol a client may speak, so that a
 * name taken through one front-end can be shown and found through another.
 *
 * A nick is 1 to NAME_NICK_MAX bytes of ASCII: a letter or one of IRC's
 * specials []\`_^{|} first, then also digits and '-'.  A nick never starts
 * with a digit or '-', so it cannot be read as an address, a number or an
 * option.
 *
 * A room is '#' and 1 to 50 bytes: ASCII letters, digits, '_', '.', '-'
 * and '+', and letters outside ASCII in well-formed UTF-8 (shortest form,
 * no surrogates, at most U+10FFFF).  Which code points are letters is
 * decided without Unicode tables and without the locale (the daemon never
 * calls setlocale(3), and must not depend on it): whole blocks that hold
 * no letter a name needs are excluded (name_ranges below), namely
 * - controls, spaces, the format characters (every code point of category
 *   Cf: zero-width characters, bidi controls, fillers) and the noncharacters,
 * - U+0080 to U+00BF, U+00D7 and U+00F7: C1 controls, Latin-1 punctuation
 *   and symbols,
 * - U+0300 to U+036F, the combining diacritical marks: with them "café"
 *   has a second spelling that looks the same, and marks stack without end;
 *   Latin, Greek and Cyrillic letters have precomposed forms,
 * - U+2000 to U+2BFF: punctuation, spaces and bidi controls, super- and
 *   subscripts, currency, letterlike symbols (the Kelvin sign looks like
 *   K), arrows, mathematics, technical symbols, box drawing, shapes,
 *   dingbats and braille (U+2800 looks like nothing),
 * - U+2E00 to U+303F: punctuation, CJK radicals and CJK symbols (U+3000
 *   is a space), U+3200 to U+33FF: enclosed and squared CJK symbols,
 * - U+FE00 to U+FE6F: variation selectors, vertical and small forms,
 *   U+FF00 to U+FF65: fullwidth ASCII (a second '#', ',' and 'a'),
 *   U+FFE0 to U+FFFF: fullwidth symbols, specials and U+FFFD, the mark the
 *   sanitizer leaves where bytes were damaged,
 * - the private use areas, U+1D000 to U+1D7FF (musical symbols and the
 *   mathematical alphanumerics, look-alikes of ASCII letters) and U+1F000
 *   to U+1FBFF (emoji, pictographs, game and legacy computing symbols).
 * What is left is the letters, marks and digits of every script, with the
 * punctuation kept inside some script blocks (U+060C ARABIC COMMA) and
 * look-alikes across scripts (Cyrillic а for Latin a): catching those
 * takes Unicode's tables, not ranges.
 *
 * Names compare with CASEMAPPING=ascii: A to Z fold to a to z and no other
 * byte folds, so '[' and '{' differ, and so do É and é.  Folding to lower
 * case, as strcasecmp(3) does in the C locale, keeps the order listings
 * have always had ('_' before 'a').
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "name.h"
#include "text.h"

#define NAME_NICK_SPECIAL	"[]\\`_^{|}"
#define NAME_ROOM_PUNCT		"_.-+"

/* Code points above ASCII that are no part of a room name, in order. */
static const struct name_range {
	uint32_t	lo, hi;
} name_ranges[] = {
	{ 0x0080, 0x00bf },	/* C1, Latin-1 punctuation and symbols */
	{ 0x00d7, 0x00d7 },	/* multiplication sign */
	{ 0x00f7, 0x00f7 },	/* division sign */
	{ 0x0300, 0x036f },	/* combining diacritics: a second spelling */
	{ 0x0600, 0x0605 },	/* Arabic number signs (format) */
	{ 0x061c, 0x061c },	/* Arabic letter mark (bidi) */
	{ 0x06dd, 0x06dd },	/* Arabic end of ayah (format) */
	{ 0x070f, 0x070f },	/* Syriac abbreviation mark (format) */
	{ 0x0890, 0x0891 },	/* Arabic pound and piastre marks (format) */
	{ 0x08e2, 0x08e2 },	/* Arabic disputed end of ayah (format) */
	{ 0x115f, 0x1160 },	/* Hangul fillers: invisible */
	{ 0x1680, 0x1680 },	/* Ogham space mark */
	{ 0x17b4, 0x17b5 },	/* Khmer inherent vowels: invisible */
	{ 0x180b, 0x180f },	/* Mongolian variation selectors */
	{ 0x2000, 0x2bff },	/* punctuation, spaces, bidi, symbols */
	{ 0x2e00, 0x303f },	/* punctuation, CJK radicals and symbols */
	{ 0x3164, 0x3164 },	/* Hangul filler */
	{ 0x3200, 0x33ff },	/* enclosed and squared CJK symbols */
	{ 0xd800, 0xdfff },	/* surrogates (the decoder refuses them) */
	{ 0xe000, 0xf8ff },	/* private use */
	{ 0xfdd0, 0xfdef },	/* noncharacters */
	{ 0xfe00, 0xfe6f },	/* variation selectors, vertical, small */
	{ 0xfeff, 0xfeff },	/* zero width no-break space (BOM) */
	{ 0xff00, 0xff65 },	/* fullwidth ASCII, halfwidth punctuation */
	{ 0xffa0, 0xffa0 },	/* halfwidth Hangul filler */
	{ 0xffe0, 0xffff },	/* fullwidth symbols, specials, U+FFFD */
	{ 0x110bd, 0x110bd },	/* Kaithi number sign (format) */
	{ 0x110cd, 0x110cd },	/* Kaithi number sign above (format) */
	{ 0x13430, 0x1345f },	/* Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 },	/* shorthand format controls */
	{ 0x1d000, 0x1d7ff },	/* musical symbols, math alphanumerics */
	{ 0x1f000, 0x1fbff },	/* emoji, pictographs, other symbols */
	{ 0xe0000, 0x10ffff },	/* tags, variation selectors, private use */
};

static int
name_letter(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
name_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* Whether cp (above ASCII) is kept out of room names. */
static int
name_excluded(uint32_t cp)
{
	size_t	i;

	if ((cp & 0xfffe) == 0xfffe)	/* U+nFFFE, U+nFFFF: noncharacters */
		return 1;
	for (i = 0; i < sizeof name_ranges / sizeof name_ranges[0]; i++) {
		if (cp < name_ranges[i].lo)
			return 0;
		if (cp <= name_ranges[i].hi)
			return 1;
	}
	return 0;
}

int
name_nick_valid(const char *nick)
{
	size_t	i;

	/* nick[i] is never NUL in the loop, so strchr cannot match one. */
	for (i = 0; nick[i] != '\0'; i++) {
		if (i == NAME_NICK_MAX)
			return 0;
		if (name_letter(nick[i]) ||
		    strchr(NAME_NICK_SPECIAL, nick[i]) != NULL)
			continue;
		if (i > 0 && (name_digit(nick[i]) || nick[i] == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

int
name_room_valid(const char *name)
{
	size_t		len, i, n;
	uint32_t	cp;

	if (name[0] != '#')
		return 0;
	len = strnlen(name, NAME_ROOM_MAX + 1);
	if (len < 2 || len > NAME_ROOM_MAX)
		return 0;
	for (i = 1; i < len; i += n) {
		if ((unsigned char)name[i] < 0x80) {
			if (!name_letter(name[i]) && !name_digit(name[i]) &&
			    strchr(NAME_ROOM_PUNCT, name[i]) == NULL)
				return 0;
			n = 1;
			continue;
		}
		/* Bounded by len: a sequence cut by the end is malformed. */
		n = text_utf8_decode(name + i, len - i, &cp);
		if (n == 0 || name_excluded(cp))
			return 0;
	}
	return 1;
}

/* A byte as CASEMAPPING=ascii compares it: A to Z fold, nothing else. */
int
name_fold(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* CASEMAPPING=ascii, in strcmp(3)'s sense of less, equal and greater. */
int
name_compare(const char *a, const char *b)
{
	const unsigned char	*ua = (const unsigned char *)a;
	const unsigned char	*ub = (const unsigned char *)b;
	int			 ca, cb;

	for (;; ua++, ub++) {
		ca = name_fold(*ua);
		cb = name_fold(*ub);
		if (ca != cb || ca == '\0')
			return ca - cb;
	}
}
