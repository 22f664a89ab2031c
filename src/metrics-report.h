/* What chatd reports to Prometheus: every family, from the live figures. */
#ifndef CHATD_METRICS_REPORT_H
#define CHATD_METRICS_REPORT_H

struct config;
struct metrics_out;

void	metrics_report(struct metrics_out *, const struct config *);

#endif
