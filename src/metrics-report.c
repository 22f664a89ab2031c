/*
 * What chatd reports to Prometheus, family by family (chatd(8) METRICS).
 * Every figure is the one chatctl stats and status show, read from where
 * they read it: the counters in stats.h, the live counts of each module,
 * the memory figures; only the histograms are the registry's own.
 * Labels are small fixed sets (protocol, reason, code), never a room or
 * a user.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ban.h"
#include "config.h"
#include "conn.h"
#include "host.h"
#include "irc.h"
#include "line.h"
#include "metrics.h"
#include "metrics-report.h"
#include "msg.h"
#include "protocol.h"
#include "room.h"
#include "session.h"
#include "stats.h"
#include "version.h"

#define LABELS_MAX	128

/* Counters without labels: name (without "_total"), help, the count. */
static const struct {
	const char	*name;
	const char	*help;
	const uint64_t	*value;
} report_counters[] = {
	{ "chatd_connections_closed", "Client connections closed, for any "
	  "reason.", &stats.closed },
	{ "chatd_irc_pings_sent", "PINGs sent to silent IRC clients.",
	  &stats.pings_sent },
	{ "chatd_lines_received", "Lines received from clients.",
	  &stats.lines_in },
	{ "chatd_messages", "Messages said in rooms or privately.",
	  &stats.messages },
	{ "chatd_deliveries", "Events queued to clients (one per recipient).",
	  &stats.delivered },
	{ "chatd_received_bytes", "Bytes read from clients.",
	  &stats.bytes_in },
	{ "chatd_sent_bytes", "Bytes written to clients.", &stats.bytes_out },
	{ "chatd_flood_pauses", "Times a client's reading was paused by flood "
	  "control.", &stats.flood_pauses },
	{ "chatd_skipped_messages", "Room messages skipping slow clients "
	  "lost (slow-consumer = skip).", &stats.skipped_messages },
	{ "chatd_skip_gaps", "Gaps those messages made, each told to its "
	  "client.", &stats.skip_gaps },
	{ "chatd_scrollback_refused", "Messages kept out of scrollback by a "
	  "memory budget.", &stats.scrollback_refused },
	{ "chatd_output_gate_closed", "Bursts paced to the readers.",
	  &stats.gate_closed },
	{ "chatd_output_gate_timeouts", "Paced bursts that waited the longest "
	  "allowed.", &stats.gate_timeouts },
	{ "chatd_control_requests", "Requests on the control sockets.",
	  &stats.control_requests },
	{ "chatd_control_refused", "Control clients refused (credentials, "
	  "busy).", &stats.control_refused },
	{ "chatd_metrics_scrapes", "Metrics pages served.",
	  &stats.metrics_scrapes },
};

/* A labelled counter's samples: label value, count. */
struct report_label {
	const char	*value;
	const uint64_t	*count;
};

static const struct report_label report_refused[] = {
	{ "max_clients", &stats.refused_full },
	{ "max_per_ip", &stats.refused_per_ip },
	{ "banned", &stats.refused_banned },
	{ "connect_rate", &stats.refused_connect_rate },
	{ "max_memory", &stats.refused_memory },
};

static const struct report_label report_cut[] = {
	{ "slow_consumer", &stats.closed_slow },
	{ "idle", &stats.closed_idle },
	{ "registration_timeout", &stats.closed_registration },
	{ "ping_timeout", &stats.closed_ping },
	{ "kicked", &stats.closed_kicked },
	{ "banned", &stats.closed_banned },
};

static const struct report_label report_metrics_refused[] = {
	{ "not_found", &stats.metrics_not_found },
	{ "method_not_allowed", &stats.metrics_bad_method },
	{ "busy", &stats.metrics_busy },
};

static const struct protocol *const report_protocols[] = {
	&line_protocol, &irc_protocol,
};
#define NPROTOCOLS	(sizeof report_protocols / sizeof report_protocols[0])

static void
report_one(struct metrics_out *o, const char *name, enum metrics_type t,
    const char *help, uint64_t v)
{
	metrics_family(o, name, t, help);
	metrics_sample(o, name, t, "", v);
}

static void
report_labelled(struct metrics_out *o, const char *name, const char *help,
    const char *label, const struct report_label *l, size_t n)
{
	char	labels[LABELS_MAX];
	size_t	i;

	metrics_family(o, name, METRICS_COUNTER, help);
	for (i = 0; i < n; i++) {
		snprintf(labels, sizeof labels, "%s=\"%s\"", label, l[i].value);
		metrics_sample(o, name, METRICS_COUNTER, labels, *l[i].count);
	}
}

/* Connections by protocol: accepted since start, and open now. */
static void
report_protocols_figures(struct metrics_out *o)
{
	char	labels[NPROTOCOLS][LABELS_MAX];
	size_t	i;

	for (i = 0; i < NPROTOCOLS; i++)
		snprintf(labels[i], sizeof labels[i], "protocol=\"%s\"",
		    report_protocols[i]->name);
	metrics_family(o, "chatd_connections_accepted", METRICS_COUNTER,
	    "Client connections accepted, by protocol.");
	for (i = 0; i < NPROTOCOLS; i++)
		metrics_sample(o, "chatd_connections_accepted",
		    METRICS_COUNTER, labels[i],
		    stats.accepted_by[report_protocols[i]->slot]);
	metrics_family(o, "chatd_clients", METRICS_GAUGE,
	    "Client connections open now, by protocol.");
	for (i = 0; i < NPROTOCOLS; i++)
		metrics_sample(o, "chatd_clients", METRICS_GAUGE, labels[i],
		    conn_count_protocol(report_protocols[i]));
}

/* What is alive now: the figures of chatctl stats and status. */
static void
report_gauges(struct metrics_out *o, const struct config *c)
{
	report_one(o, "chatd_clients_peak", METRICS_GAUGE,
	    "Most client connections open at once since start.",
	    stats.peak_clients);
	report_one(o, "chatd_sessions", METRICS_GAUGE,
	    "Chatting identities (nicks) now.", session_count());
	report_one(o, "chatd_rooms", METRICS_GAUGE, "Rooms now.",
	    room_count());
	report_one(o, "chatd_hosts", METRICS_GAUGE,
	    "Client addresses (or IPv6 prefixes) with connections now.",
	    host_count());
	report_one(o, "chatd_bans", METRICS_GAUGE, "Entries in the ban list.",
	    ban_count());
	report_one(o, "chatd_messages_live", METRICS_GAUGE,
	    "Messages held in scrollback, queues or on their way.",
	    msg_live());
	report_one(o, "chatd_sendq_bytes", METRICS_GAUGE,
	    "Bytes queued to clients and not yet written.",
	    conn_sendq_total());
	report_one(o, "chatd_held_bytes", METRICS_GAUGE,
	    "Memory charged to clients against max-memory.", budget_held());
	report_one(o, "chatd_max_memory_bytes", METRICS_GAUGE,
	    "The max-memory budget.", c->max_memory);
	report_one(o, "chatd_heap_in_use_bytes", METRICS_GAUGE,
	    "Heap memory allocated and not freed.", stats_heap_bytes());
	report_one(o, "chatd_resident_memory_bytes", METRICS_GAUGE,
	    "Resident set size of the daemon.", stats_resident_bytes());
	metrics_family(o, "chatd_build_info", METRICS_GAUGE,
	    "Always 1: the version of chatd running.");
	metrics_sample(o, "chatd_build_info", METRICS_GAUGE,
	    "version=\"" CHATD_VERSION "\"", 1);
}

void
metrics_report(struct metrics_out *o, const struct config *c)
{
	size_t	i;

	report_protocols_figures(o);
	report_labelled(o, "chatd_connections_refused", "Client connections "
	    "refused at accept, by the limit that refused them.", "reason",
	    report_refused, sizeof report_refused / sizeof report_refused[0]);
	report_labelled(o, "chatd_connections_cut", "Client connections "
	    "closed by the daemon, by reason.", "reason", report_cut,
	    sizeof report_cut / sizeof report_cut[0]);
	for (i = 0; i < sizeof report_counters / sizeof report_counters[0];
	    i++)
		report_one(o, report_counters[i].name, METRICS_COUNTER,
		    report_counters[i].help, *report_counters[i].value);
	report_labelled(o, "chatd_metrics_refused", "Metrics requests not "
	    "served a page, by reason.", "reason", report_metrics_refused,
	    sizeof report_metrics_refused /
	    sizeof report_metrics_refused[0]);
	metrics_errors(o);
	report_gauges(o, c);
	metrics_histogram(o, "chatd_delivery_seconds", "Time from reading "
	    "the oldest line a flush carries output for to that output "
	    "written to the client's socket.", &metrics_delivery_seconds);
	metrics_histogram(o, "chatd_fanout_recipients", "Recipients per "
	    "message delivered.", &metrics_fanout_recipients);
	metrics_histogram(o, "chatd_sendq_flush_bytes", "Bytes queued to a "
	    "client when its output is flushed.", &metrics_sendq_flush_bytes);
	metrics_end(o);
}
