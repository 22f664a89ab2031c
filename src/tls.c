/*
 * TLS contexts (OpenSSL 3).  A context is built whole from the certificate
 * chain, the key and the protocol settings of one config, and only then
 * replaces the running one: a reload with a bad certificate keeps the old
 * context, and connections made before a reload keep the context they were
 * made with (each SSL holds a reference to its SSL_CTX).
 */
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tls.h"
#include "xmalloc.h"

/*
 * A config wants TLS if it has TLS listeners or names a certificate or a
 * key (systemd may pass a TLS socket without any listen-tls line).
 */
int
tls_configured(const struct config *c)
{
	return c->nlisten_tls > 0 || c->nlisten_irc_tls > 0 ||
	    c->tls_cert != NULL || c->tls_key != NULL;
}

/* The newest OpenSSL error as text, for a cause. */
static const char *
tls_error(void)
{
	static char	buf[256];
	unsigned long	e = ERR_peek_last_error();

	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static void
tls_describe(struct tls_context *t)
{
	X509		*cert = SSL_CTX_get0_certificate(t->ctx);
	struct tm	 tm;

	X509_NAME_oneline(X509_get_subject_name(cert), t->subject,
	    sizeof t->subject);
	memset(&tm, 0, sizeof tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(t->expires, sizeof t->expires, "%Y-%m-%dT%H:%M:%SZ",
		    &tm);
	else
		snprintf(t->expires, sizeof t->expires, "unknown");
}

struct tls_context *
tls_context_load(const struct config *c, char **cause)
{
	struct tls_context	*t;
	int			 min;

	if (c->tls_cert == NULL || c->tls_key == NULL) {
		xasprintf(cause, "TLS listeners need tls-cert and tls-key");
		return NULL;
	}
	min = strcmp(c->tls_min_version, "1.3") == 0 ? TLS1_3_VERSION :
	    TLS1_2_VERSION;
	t = xcalloc(1, sizeof *t);
	if ((t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(cause, "TLS: %s", tls_error());
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, min);
	/*
	 * A client that closes without close_notify is an ordinary EOF, not
	 * an error (LIBEVENT-NOTES: OpenSSL 3 reports it otherwise); no
	 * renegotiation, no compression, the server picks the cipher.
	 */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
	if (c->tls_ciphers != NULL &&
	    SSL_CTX_set_cipher_list(t->ctx, c->tls_ciphers) != 1) {
		xasprintf(cause, "tls-ciphers \"%s\": %s", c->tls_ciphers,
		    tls_error());
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(t->ctx, c->tls_cert) != 1) {
		xasprintf(cause, "tls-cert %s: %s", c->tls_cert, tls_error());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, c->tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		xasprintf(cause, "tls-key %s: %s", c->tls_key, tls_error());
		goto fail;
	}
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		xasprintf(cause, "tls-key %s does not match tls-cert %s",
		    c->tls_key, c->tls_cert);
		goto fail;
	}
	tls_describe(t);
	return t;

fail:
	ERR_clear_error();
	tls_context_free(t);
	return NULL;
}

void
tls_context_free(struct tls_context *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}
