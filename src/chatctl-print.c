/*
 * How chatctl prints answers.  As JSON, each payload (result, event or
 * progress report) is one compact line.  As text, a result's members print
 * as aligned "name value" lines and its lists of objects as tables, one
 * column per member, with durations and sizes made readable; tail events
 * print as chat lines.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatctl.h"

#define TEXT_CELL_MAX	1024	/* bytes of one value as text */

/* Columns a UTF-8 string takes (one per code point). */
static size_t
text_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int
text_has_suffix(const char *key, const char *suffix)
{
	size_t	k = strlen(key), n = strlen(suffix);

	return k > n && strcmp(key + k - n, suffix) == 0;
}

/* A member name as a label: unit suffix dropped, words split. */
static void
text_label(const char *key, int header, char *buf, size_t len)
{
	size_t	i, n = strlen(key);

	if (text_has_suffix(key, "_seconds"))
		n -= strlen("_seconds");
	else if (text_has_suffix(key, "_bytes"))
		n -= strlen("_bytes");
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++) {
		buf[i] = key[i] == '_' ? (header ? '-' : ' ') : key[i];
		if (header && buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 'a' + 'A');
	}
	buf[n] = '\0';
}

static void
text_duration(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%llds", s);
}

static void
text_size(long long n, char *buf, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024 * 1024));
	else if (n >= 1024)
		snprintf(buf, len, "%.1f KiB", (double)n / 1024);
	else
		snprintf(buf, len, "%lld B", n);
}

/* The value of member key as text, into buf. */
static void
text_value(const char *key, json_t *v, char *buf, size_t len)
{
	size_t	 i, used = 0;
	char	*dump;

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v) && text_has_suffix(key, "_seconds"))
		text_duration(json_integer_value(v), buf, len);
	else if (json_is_integer(v) && text_has_suffix(key, "_bytes"))
		text_size(json_integer_value(v), buf, len);
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_array(v) && json_array_size(v) == 0)
		snprintf(buf, len, "none");
	else if (json_is_array(v) && json_is_string(json_array_get(v, 0))) {
		buf[0] = '\0';
		for (i = 0; i < json_array_size(v) && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    i > 0 ? "," : "",
			    json_string_value(json_array_get(v, i)));
	} else {
		dump = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", dump != NULL ? dump : "?");
		free(dump);
	}
}

static int
text_is_table(json_t *v)
{
	return json_is_array(v) && json_is_object(json_array_get(v, 0));
}

/* Row r of a table as text: the header for r 0, else rows[r - 1]. */
static void
text_cell(json_t *rows, const char *key, size_t r, char *buf, size_t len)
{
	if (r == 0)
		text_label(key, 1, buf, len);
	else
		text_value(key, json_object_get(json_array_get(rows, r - 1),
		    key), buf, len);
}

/*
 * Rows of objects, one column per member of the first row.  Two passes,
 * one for the widths and one to print, each cell made again in one
 * buffer: memory does not grow with the number of rows.
 */
static void
text_table(json_t *rows)
{
	json_t		*first = json_array_get(rows, 0), *v;
	size_t		 ncols = json_object_size(first), nrows, r, col, w;
	size_t		*width;
	const char	**keys, *key;
	char		 cell[TEXT_CELL_MAX];

	nrows = json_array_size(rows) + 1;	/* and the header */
	width = calloc(ncols, sizeof *width);
	keys = calloc(ncols, sizeof *keys);
	if (width == NULL || keys == NULL)
		err(1, "calloc");
	col = 0;
	json_object_foreach(first, key, v)
		keys[col++] = key;
	for (r = 0; r < nrows; r++) {
		for (col = 0; col < ncols; col++) {
			text_cell(rows, keys[col], r, cell, sizeof cell);
			if ((w = text_width(cell)) > width[col])
				width[col] = w;
		}
	}
	for (r = 0; r < nrows; r++) {
		for (col = 0; col < ncols; col++) {
			text_cell(rows, keys[col], r, cell, sizeof cell);
			if (col + 1 == ncols)
				printf("%s\n", cell);
			else
				printf("%s%*s", cell, (int)(width[col] + 2 -
				    text_width(cell)), "");
		}
	}
	free(keys);
	free(width);
}

static void
text_result(enum ctl_verb verb, json_t *result)
{
	const char	*key;
	json_t		*v;
	char		 label[64], value[TEXT_CELL_MAX];
	size_t		 width = 0;
	int		 printed = 0;

	json_object_foreach(result, key, v) {
		text_label(key, 0, label, sizeof label);
		if (!text_is_table(v) && strlen(label) > width)
			width = strlen(label);
	}
	json_object_foreach(result, key, v) {
		if (text_is_table(v))
			continue;
		text_label(key, 0, label, sizeof label);
		text_value(key, v, value, sizeof value);
		printf("%-*s  %s\n", (int)width, label, value);
		printed = 1;
	}
	json_object_foreach(result, key, v) {
		if (!text_is_table(v))
			continue;
		if (printed)
			printf("\n");
		text_table(v);
		printed = 1;
	}
}

static const char *
event_field(json_t *event, const char *name)
{
	const char	*s = json_string_value(json_object_get(event, name));

	return s != NULL ? s : "";
}

/* One tail event as a chat line: "14:03:12 #lobby <alice> hello". */
static void
text_event(json_t *event)
{
	const char	*kind = event_field(event, "kind");
	const char	*room = event_field(event, "room");
	const char	*from = event_field(event, "from");
	const char	*text = event_field(event, "text");
	const char	*time = event_field(event, "time");
	const char	*open = *text != '\0' ? " (" : "";
	const char	*close = *text != '\0' ? ")" : "";

	/* "2026-11-27T14:03:12Z": the time of day is enough here. */
	printf("%.8s ", strlen(time) >= 19 ? time + 11 : time);
	if (strcmp(kind, "say") == 0)
		printf("%s <%s> %s\n", room, from, text);
	else if (strcmp(kind, "action") == 0)
		printf("%s * %s %s\n", room, from, text);
	else if (strcmp(kind, "room-notice") == 0)
		printf("%s -%s- %s\n", room, from, text);
	else if (strcmp(kind, "join") == 0)
		printf("%s --> %s joined\n", room, from);
	else if (strcmp(kind, "part") == 0)
		printf("%s <-- %s left%s%s%s\n", room, from, open, text, close);
	else if (strcmp(kind, "quit") == 0)
		printf("<-- %s quit%s%s%s\n", from, open, text, close);
	else if (strcmp(kind, "nick") == 0)
		printf("--- %s is now %s\n", from, event_field(event, "to"));
	else if (strcmp(kind, "topic") == 0)
		printf("%s --- %s set the topic: %s\n", room, from, text);
	else if (strcmp(kind, "private") == 0 ||
	    strcmp(kind, "private-notice") == 0)
		printf("[%s -> %s] %s\n", from, event_field(event, "to"), text);
	else
		printf("[%s from %s] %s\n", kind, from, text);
}

static void
text_progress(enum ctl_verb verb, json_t *progress)
{
	json_t	*rooms = json_object_get(progress, "tailing");
	char	 value[TEXT_CELL_MAX];

	if (verb == CTL_TAIL && json_array_size(rooms) == 0)
		printf("tailing every room; interrupt to stop\n");
	else if (verb == CTL_TAIL) {
		text_value("tailing", rooms, value, sizeof value);
		printf("tailing %s; interrupt to stop\n", value);
	} else if (verb == CTL_DRAIN)
		printf("draining: %lld clients left, %lld s to go\n",
		    (long long)json_integer_value(json_object_get(progress,
		    "clients")), (long long)json_integer_value(
		    json_object_get(progress, "seconds_left")));
	else
		text_result(verb, progress);
}

static void
json_print(json_t *payload)
{
	if (json_dumpf(payload, stdout, JSON_COMPACT) == -1)
		errx(1, "cannot print the answer as JSON");
	putchar('\n');
}

static void
json_result(enum ctl_verb verb, json_t *payload)
{
	json_print(payload);
}

const struct chatctl_output chatctl_text = {
	text_result, text_event, text_progress
};

const struct chatctl_output chatctl_json = {
	json_result, json_print, json_result
};
