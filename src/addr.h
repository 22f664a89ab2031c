/* Parsing and formatting "ADDR:PORT" and "[ADDR6]:PORT". */
#ifndef CHATD_ADDR_H
#define CHATD_ADDR_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

int	addr_parse(const char *, struct sockaddr_storage *, int *);
void	addr_format(const struct sockaddr *, char *, size_t, char *ip,
	    size_t, uint16_t *port);

#endif
