#ifndef SLUICE_DNS_H
#define SLUICE_DNS_H
/* Asynchronous host name resolution (c-ares on the worker's libev loop) with a per-worker cache.
 * Nothing here blocks: a lookup that is not answered from the cache queues its waiter and calls
 * it back from the loop. Entries live as long as the worker (one per host name in use). */
#include <ev.h>
#include <stdint.h>
#include <sys/socket.h>

#include "list.h"

#define DNS_MAX_ADDRS 8
#define DNS_NAME_MAX  256

enum dns_status { DNS_NONE, DNS_OK, DNS_PENDING, DNS_FAIL };

struct dns_entry;
/* Embedded in whoever waits (a server connection); done() gets the finished entry. */
struct dns_waiter {
	struct list node;
	void (*done)(struct dns_waiter *wt, const struct dns_entry *e);
};

struct dns_entry {
	struct list node; /* in dns_cache.entries */
	char name[DNS_NAME_MAX];
	int n; /* addresses, in the resolver's order, port 0 */
	struct sockaddr_storage addrs[DNS_MAX_ADDRS];
	socklen_t lens[DNS_MAX_ADDRS];
	double expires;  /* loop time after which the next use resolves again */
	double resolved; /* loop time of the last answer (0: never) */
	int ttl;         /* the TTL used for the current answer, seconds */
	int status;      /* enum dns_status of the last lookup */
	int querying;    /* a c-ares query is in flight */
	int stale;       /* the last lookup failed; addrs are the ones from before */
	uint32_t gen;    /* bumped when the address set changes */
	char err[160];   /* why the last lookup failed */
	struct list waiters;
	struct dns_cache *dc;
};

struct dns_cache {
	struct worker *w;
	void *channel; /* ares_channel */
	struct list entries;
	struct list socks; /* struct dns_sock: one ev_io per c-ares socket */
	ev_timer timer;    /* c-ares' next timeout */
	long queries;      /* lookups started, for SHOW LISTS */
};

/* Create w's resolver (c-ares channel, per-try timeout from dns_timeout). */
int dns_init(struct dns_cache *dc, struct worker *w);
/* Cancel every lookup (waiters are not called) and free the cache. */
void dns_free(struct dns_cache *dc);
/* Addresses of name: DNS_OK (*out valid now), DNS_PENDING (wt->done is called later; cancel
 * with dns_cancel), or DNS_FAIL ((*out)->err says why). */
int dns_lookup(struct dns_cache *dc, const char *name, struct dns_waiter *wt,
               const struct dns_entry **out);
/* Stop waiting (the waiter's connection closes). Safe when not waiting. */
void dns_cancel(struct dns_waiter *wt);
/* Resolve name again now (NULL: every name); returns how many lookups were started. */
int dns_refresh(struct dns_cache *dc, const char *name);
/* 1 when addr (port ignored) is one of e's current addresses. */
int dns_has_addr(const struct dns_entry *e, const struct sockaddr_storage *addr);
/* Format one address without port into buf ("127.0.0.1", "::1"). */
void dns_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* Format e's addresses, comma-separated, into buf. */
void dns_addrs_str(const struct dns_entry *e, char *buf, size_t len);
/* Number of lookups in flight. */
int dns_pending(struct dns_cache *dc);

#endif
