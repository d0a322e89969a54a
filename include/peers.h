/* Cancel-request peering (PgBouncer's peer_id and [peers]): several sluice processes behind one
 * address (so_reuseport, an online restart) each put their peer_id in the cancel keys they hand
 * out, and a CancelRequest that reaches the wrong process is passed on to the right one. */
#ifndef SLUICE_PEERS_H
#define SLUICE_PEERS_H

#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

#define PEER_ID_MAX 16383

/* One [peers] entry: `id = host=HOST port=PORT` (HOST an address, a name resolved at load, or
 * a Unix socket directory). */
struct peer_entry {
	int id;
	char host[CFG_HOST_MAX];
	int port;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Parse cfg's [peers] section (kept as an extra section by the loader) into cfg->peers; checks
 * peer_id against it. 0, or -1 with the reason in err. Runs at load, on the control plane (a
 * host name is resolved here, blocking). */
int peers_load(struct sluice_config *cfg, char *err, size_t errlen);
/* The entry for id, or NULL. */
const struct peer_entry *peers_find(const struct sluice_config *cfg, int id);
/* The cancel "pid" for a new client: peer_id in bits 17..30 when peering is on (so any peer can
 * tell whose key it is; still positive), fully random otherwise. */
uint32_t peers_make_pid(int peer_id, uint32_t random);
/* The peer id a cancel pid carries (0 when peering is off). */
int peers_pid_owner(int peer_id, uint32_t pid);

#endif
