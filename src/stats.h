/*
 * Daemon-wide counters and the process's memory figures, reported by the
 * control socket (chatctl stats, status) and by the metrics listener.
 */
#ifndef CHATD_STATS_H
#define CHATD_STATS_H

#include <stdint.h>

#include "protocol.h"

struct stats {
	uint64_t	accepted;
	uint64_t	accepted_by[PROTOCOL_NSLOTS];	/* listener's slot */
	uint64_t	refused_full;		/* max-clients */
	uint64_t	refused_per_ip;		/* max-per-ip */
	uint64_t	refused_banned;		/* ban list */
	uint64_t	refused_connect_rate;	/* connect-rate-per-ip */
	uint64_t	refused_memory;		/* max-memory(-per-ip) */
	uint64_t	closed;
	uint64_t	closed_slow;		/* send queue limits */
	uint64_t	skipped_messages;	/* lost by skipping clients */
	uint64_t	skip_gaps;		/* ...in this many gaps */
	uint64_t	closed_idle;
	uint64_t	closed_registration;	/* IRC: not registered in time */
	uint64_t	closed_ping;		/* IRC: no answer to PING */
	uint64_t	pings_sent;		/* IRC: to silent clients */
	uint64_t	closed_kicked;		/* chatctl kick */
	uint64_t	closed_banned;		/* chatctl ban add */
	uint64_t	lines_in;
	uint64_t	messages;		/* said in rooms or privately */
	uint64_t	delivered;		/* events queued to clients */
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	flood_pauses;
	uint64_t	scrollback_refused;	/* over a memory budget */
	uint64_t	history_dropped;	/* the history queue was full */
	uint64_t	gate_closed;		/* bursts paced to the readers */
	uint64_t	gate_timeouts;		/* ...that waited the longest */
	uint64_t	errors_sent;
	uint64_t	peak_clients;
	uint64_t	control_requests;
	uint64_t	control_refused;	/* peer credentials, busy */
	uint64_t	metrics_scrapes;	/* pages served */
	uint64_t	metrics_not_found;	/* not /metrics */
	uint64_t	metrics_bad_method;	/* not GET or HEAD */
	uint64_t	metrics_busy;		/* over the connection cap */
};

extern struct stats stats;

uint64_t	stats_resident_bytes(void);
uint64_t	stats_heap_bytes(void);

#endif
