/* Making client text safe to relay: UTF-8 validation and control stripping. */
#ifndef CHATD_TEXT_H
#define CHATD_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Worst-case growth of text_sanitize: every byte may become U+FFFD. */
#define TEXT_SANITIZE_MAX(len)	((len) * 3)

size_t	text_sanitize(const char *in, size_t len, char *out);
size_t	text_sanitize_keeping(const char *in, size_t len, char *out,
	    uint32_t keep);
size_t	text_format_line(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	text_is_blank(const char *, size_t);
size_t	text_utf8_truncate(const char *, size_t len, size_t max);
size_t	text_utf8_decode(const char *, size_t len, uint32_t *);

#endif
