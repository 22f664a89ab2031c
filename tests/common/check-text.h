/* Checks shared by the unit tests and the fuzzers (no daemon code). */
#ifndef CHATD_CHECK_TEXT_H
#define CHATD_CHECK_TEXT_H

#include <stddef.h>
#include <stdint.h>

int		check_text_safe(const unsigned char *, size_t, uint32_t *bad_cp);
uint64_t	check_rng(uint64_t *state);

#endif
