/* chatctl's two ways of printing answers: text for people, JSON for scripts. */
#ifndef CHATD_CHATCTL_H
#define CHATD_CHATCTL_H

#include <jansson.h>

#include "ctl-proto.h"

struct chatctl_output {
	void	(*result)(enum ctl_verb, json_t *);
	void	(*event)(json_t *);
	void	(*progress)(enum ctl_verb, json_t *);
};

extern const struct chatctl_output chatctl_text;
extern const struct chatctl_output chatctl_json;

#endif
