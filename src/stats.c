/* The one instance of the daemon-wide counters. */
#include "stats.h"

struct stats stats;
