/* Who may connect, and how: the worker's security state (TLS contexts, HBA rules, trusted PROXY
 * networks, per-address connection rate, auth_query cache) and the client-side hooks that use it
 * before and during login. client.c calls three hooks; everything else lives here. */
#ifndef SLUICE_ACCESS_H
#define SLUICE_ACCESS_H

#include <stdint.h>

#include "conn.h"
#include "hba.h"
#include "tls.h"

struct worker;
struct client;
struct authq;

#define PROXY_TRUSTED_MAX 32
#define CONN_RATE_SLOTS   4096 /* addresses tracked by client_conn_rate at once */

struct rate_slot {
	char addr[46];
	double window; /* start of the current one-second window */
	int count;
};

/* Built from one config snapshot; rebuilt on reload (the old one is kept if the new files fail
 * to load, with an error in the log). */
struct access_state {
	struct tls_ctxs tls;
	struct hba_rules hba;
	int n_trusted;
	struct {
		int family;
		uint8_t addr[16], mask[16];
	} trusted[PROXY_TRUSTED_MAX];
	struct rate_slot *rate; /* CONN_RATE_SLOTS, allocated on first use */
	struct authq *aq;       /* auth_query lookups and cache (authquery.c) */
	int audit_fd;           /* audit_log, -1 when off (audit.c) */
};

/* Build the worker's state from w->cfg. initial: failures are fatal (-1, logged); on reload a
 * failure keeps the previous state and logs why. Also warns about a world-readable auth_file. */
int access_apply(struct worker *w, int initial);
/* Free everything (worker exit). */
void access_free(struct worker *w);

/* Hook at the top of the startup-packet handler: PROXY header, direct TLS (ClientHello instead
 * of a startup packet) and SSLRequest. Returns 1 when it dealt with the bytes (*act is what the
 * handler must return), 0 when the normal startup handling goes on. avail: bytes at p. */
int access_pre_startup(struct client *cl, const uint8_t *p, uint32_t total, uint32_t avail,
                       enum pkt_action *act);
/* Hook after the startup packet: client_conn_rate. 0 ok, -1 refused (client closed, 53300). */
int access_rate_check(struct client *cl);
/* Hook before authentication: TLS requirement, tenant isolation, HBA rule, certificate. *method
 * comes in as auth_type and leaves as the method to run. 0 ok, -1 refused (client closed with
 * 28000 and a reason naming the rule). */
int access_login(struct client *cl, const char *db, const char *user, int *method);

#endif
