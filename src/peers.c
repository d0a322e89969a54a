/* [peers] parsing and the peer id in cancel keys (see include/peers.h). */
#include "peers.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

uint32_t peers_make_pid(int peer_id, uint32_t random)
{
	if (peer_id <= 0)
		return random & 0x7fffffff;
	return ((uint32_t)peer_id << 17) | (random & 0x1ffff);
}

int peers_pid_owner(int peer_id, uint32_t pid)
{
	return peer_id > 0 ? (int)((pid >> 17) & PEER_ID_MAX) : 0;
}

const struct peer_entry *peers_find(const struct sluice_config *cfg, int id)
{
	for (int i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].id == id)
			return &cfg->peers[i];
	return NULL;
}

/* The address of host:port: a Unix socket directory, a numeric address, or a name. */
static int peer_addr(struct peer_entry *p, char *why, size_t len)
{
	memset(&p->addr, 0, sizeof(p->addr));
	if (p->host[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&p->addr;
		un->sun_family = AF_UNIX;
		if ((size_t)snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%d", p->host,
		                     p->port) >= sizeof(un->sun_path)) {
			snprintf(why, len, "socket path too long");
			return -1;
		}
		p->addrlen = sizeof(*un);
		return 0;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", p->port);
	int rc = getaddrinfo(p->host, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(why, len, "cannot resolve \"%s\": %s", p->host, gai_strerror(rc));
		return -1;
	}
	memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
	p->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* "host=H port=P" (any order, spaces between; nothing else). */
static int parse_value(const char *v, struct peer_entry *p, char *why, size_t len)
{
	char buf[CFG_HOST_MAX + 64];
	snprintf(buf, sizeof(buf), "%s", v);
	p->port = 6432;
	int have_host = 0;
	for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			snprintf(why, len, "expected key=value, got \"%s\"", tok);
			return -1;
		}
		*eq = '\0';
		const char *val = eq + 1;
		if (!strcasecmp(tok, "host")) {
			if (!*val || strlen(val) >= sizeof(p->host)) {
				snprintf(why, len, "bad host");
				return -1;
			}
			snprintf(p->host, sizeof(p->host), "%s", val);
			have_host = 1;
		} else if (!strcasecmp(tok, "port")) {
			char *end;
			long n = strtol(val, &end, 10);
			if (*end || n < 1 || n > 65535) {
				snprintf(why, len, "bad port \"%s\"", val);
				return -1;
			}
			p->port = (int)n;
		} else if (!strcasecmp(tok, "pool_size")) {
			/* PgBouncer's: connections kept for forwarding. sluice opens one per
			 * cancel. */
		} else {
			snprintf(why, len, "unknown parameter \"%s\" (host, port, pool_size)", tok);
			return -1;
		}
	}
	if (!have_host) {
		snprintf(why, len, "host= is missing");
		return -1;
	}
	return 0;
}

int peers_load(struct sluice_config *cfg, char *err, size_t errlen)
{
	const struct cfg_section *sec = config_find_section(cfg, "peers");
	if (!sec)
		return 0;
	cfg->peers = calloc((size_t)sec->n_kv + 1, sizeof(*cfg->peers));
	if (!cfg->peers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < sec->n_kv; i++) {
		const struct cfg_kv *kv = &sec->kv[i];
		struct peer_entry *p = &cfg->peers[cfg->n_peers];
		char why[300], *end;
		long id = strtol(kv->key, &end, 10);
		if (*end || id < 1 || id > PEER_ID_MAX) {
			snprintf(err, errlen, "%s:%d: [peers] %s: the key is a peer id, 1..%d",
			         kv->file ? kv->file : sec->file, kv->line, kv->key, PEER_ID_MAX);
			return -1;
		}
		if (peers_find(cfg, (int)id)) {
			snprintf(err, errlen, "%s:%d: [peers] %ld: defined twice",
			         kv->file ? kv->file : sec->file, kv->line, id);
			return -1;
		}
		p->id = (int)id;
		if (parse_value(kv->value, p, why, sizeof(why)) < 0 ||
		    peer_addr(p, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: [peers] %ld: %s",
			         kv->file ? kv->file : sec->file, kv->line, id, why);
			return -1;
		}
		for (int j = 0; j < cfg->n_peers; j++)
			if (cfg->peers[j].addrlen == p->addrlen &&
			    !memcmp(&cfg->peers[j].addr, &p->addr, p->addrlen)) {
				/* one would pass cancels to itself, forever */
				snprintf(
				    err, errlen,
				    "%s:%d: [peers] %ld: same address as peer %d (%s:%d); each "
				    "process needs an address of its own",
				    kv->file ? kv->file : sec->file, kv->line, id, cfg->peers[j].id,
				    p->host, p->port);
				return -1;
			}
		cfg->n_peers++;
	}
	return 0;
}
