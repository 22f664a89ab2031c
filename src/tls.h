/* TLS contexts for the TLS listeners: load, reload, describe. */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

struct config;

struct tls_context {
	SSL_CTX		*ctx;
	char		 subject[256];	/* of the certificate */
	char		 expires[32];	/* its expiry, ISO 8601 UTC */
};

struct tls_context	*tls_context_load(const struct config *, char **cause);
void			 tls_context_free(struct tls_context *);
int			 tls_configured(const struct config *);

#endif
