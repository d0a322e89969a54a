/* Asynchronous DNS: c-ares driven by the worker's libev loop, plus a per-worker cache.
 *
 * c-ares tells us which sockets it wants watched (sock_state_cb); each gets an ev_io, and one
 * ev_timer follows ares_timeout() so retries and timeouts happen without blocking. A cache entry
 * keeps the last good answer for min(record TTL, dns_max_ttl); NXDOMAIN is remembered for
 * dns_nxdomain_ttl; any other failure (timeout, SERVFAIL) keeps the previous addresses, if any,
 * and the next use asks again, so a hung lookup never leaves a name stuck without addresses. */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "worker.h"

struct dns_sock {
	struct list node;
	ev_io io;
	struct dns_cache *dc;
};

static void arm_timer(struct dns_cache *dc)
{
	struct timeval tv, *t = ares_timeout(dc->channel, NULL, &tv);
	ev_timer_stop(dc->w->loop, &dc->timer);
	if (t) {
		ev_timer_set(&dc->timer, (double)t->tv_sec + (double)t->tv_usec / 1e6 + 0.001, 0);
		ev_timer_start(dc->w->loop, &dc->timer);
	}
}

static void sock_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct dns_sock *s = io->data;
	struct dns_cache *dc = s->dc;
	(void)loop;
	ares_socket_t fd = io->fd;
	ares_process_fd(dc->channel, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	arm_timer(dc);
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct dns_cache *dc = t->data;
	(void)loop;
	(void)revents;
	ares_process_fd(dc->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(dc);
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_cache *dc = data;
	struct dns_sock *s = NULL;
	struct list *it;
	list_for_each(it, &dc->socks)
	{
		struct dns_sock *x = list_entry(it, struct dns_sock, node);
		if (x->io.fd == fd) {
			s = x;
			break;
		}
	}
	if (s) {
		ev_io_stop(dc->w->loop, &s->io);
		if (!readable && !writable) {
			list_del(&s->node);
			free(s);
			return;
		}
	} else {
		if (!readable && !writable)
			return;
		s = calloc(1, sizeof(*s));
		if (!s) {
			log_error("DNS: out of memory watching a resolver socket");
			return;
		}
		s->dc = dc;
		s->io.data = s;
		list_append(&dc->socks, &s->node);
		ev_init(&s->io, sock_cb);
	}
	ev_io_set(&s->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	ev_io_start(dc->w->loop, &s->io);
}

int dns_init(struct dns_cache *dc, struct worker *w)
{
	memset(dc, 0, sizeof(*dc));
	dc->w = w;
	list_init(&dc->entries);
	list_init(&dc->socks);
	ev_timer_init(&dc->timer, timer_cb, 1, 0);
	dc->timer.data = dc;
	/* dns_timeout bounds one lookup: three tries, the first at a third of it (c-ares doubles
	 * the per-try timeout on later rounds, so the sum stays near dns_timeout). */
	double total = w->cfg->dns_timeout > 0 ? w->cfg->dns_timeout : 5;
	struct ares_options o = {0};
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = dc;
	o.timeout = (int)(total * 1000 / 7) > 1 ? (int)(total * 1000 / 7) : 1;
	o.tries = 3;
	ares_channel ch;
	int rc = ares_init_options(&ch, &o,
	                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		log_error("DNS: could not start the resolver: %s", ares_strerror(rc));
		return -1;
	}
	dc->channel = ch;
	if (w->cfg->dns_zone_check_period > 0)
		log_warn(
		    "dns_zone_check_period = %g: zone serial checks are not implemented; names "
		    "are resolved again when their TTL runs out (dns_max_ttl) and after a failed "
		    "connect",
		    w->cfg->dns_zone_check_period);
	return 0;
}

void dns_free(struct dns_cache *dc)
{
	if (!dc->channel)
		return;
	struct list *it, *n;
	list_for_each(it, &dc->entries) list_init(&list_entry(it, struct dns_entry, node)->waiters);
	ares_destroy(dc->channel); /* calls pending callbacks with ARES_EDESTRUCTION */
	dc->channel = NULL;
	ev_timer_stop(dc->w->loop, &dc->timer);
	list_for_each_safe(it, n, &dc->socks)
	{
		struct dns_sock *s = list_entry(it, struct dns_sock, node);
		ev_io_stop(dc->w->loop, &s->io);
		free(s);
	}
	list_for_each_safe(it, n, &dc->entries) free(list_entry(it, struct dns_entry, node));
	list_init(&dc->entries);
}

void dns_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET6
	                    ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
	                    : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (!inet_ntop(ss->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void dns_addrs_str(const struct dns_entry *e, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (int i = 0; i < e->n && off < len; i++) {
		char a[INET6_ADDRSTRLEN];
		dns_addr_str(&e->addrs[i], a, sizeof(a));
		int k = snprintf(buf + off, len - off, "%s%s", i ? "," : "", a);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		               &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr));
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		               &((const struct sockaddr_in6 *)b)->sin6_addr,
		               sizeof(struct in6_addr));
	return 0;
}

int dns_has_addr(const struct dns_entry *e, const struct sockaddr_storage *addr)
{
	for (int i = 0; i < e->n; i++)
		if (same_addr(&e->addrs[i], addr))
			return 1;
	return 0;
}

/* Hand the finished lookup to every waiter; each leaves the list before its callback runs, so a
 * callback may close its connection or wait again. */
static void wake_waiters(struct dns_entry *e)
{
	struct list todo;
	list_init(&todo);
	while (!list_empty(&e->waiters)) {
		struct list *nd = e->waiters.next;
		list_del(nd);
		list_append(&todo, nd);
	}
	while (!list_empty(&todo)) {
		struct dns_waiter *wt = list_entry(todo.next, struct dns_waiter, node);
		list_del(&wt->node);
		list_init(&wt->node);
		wt->done(wt, e);
	}
}

/* Replace e's addresses with the answer's, logging a change of address set. */
static void take_answer(struct dns_entry *e, const struct ares_addrinfo *ai)
{
	const struct sluice_config *cfg = e->dc->w->cfg;
	struct dns_entry old = *e;
	int ttl = -1;
	e->n = 0;
	for (const struct ares_addrinfo_node *nd = ai->nodes; nd && e->n < DNS_MAX_ADDRS;
	     nd = nd->ai_next) {
		if (nd->ai_family != AF_INET && nd->ai_family != AF_INET6)
			continue;
		memset(&e->addrs[e->n], 0, sizeof(e->addrs[0]));
		memcpy(&e->addrs[e->n], nd->ai_addr, nd->ai_addrlen);
		e->lens[e->n] = nd->ai_addrlen;
		if (ttl < 0 || nd->ai_ttl < ttl)
			ttl = nd->ai_ttl;
		e->n++;
	}
	double max = cfg->dns_max_ttl;
	e->ttl = (ttl < 0 || ttl > max) ? (int)max : ttl;
	double now = worker_now(e->dc->w);
	e->expires = now + e->ttl;
	e->resolved = now;
	int changed = old.n != e->n;
	for (int i = 0; !changed && i < e->n; i++)
		changed = !dns_has_addr(&old, &e->addrs[i]);
	if (changed) {
		char was[512], is[512];
		dns_addrs_str(&old, was, sizeof(was));
		dns_addrs_str(e, is, sizeof(is));
		e->gen++;
		if (old.n)
			log_info(
			    "DNS: host \"%s\" changed address: %s -> %s; new server connections go "
			    "to the new address",
			    e->name, was, is);
		else
			log_debug("DNS: host \"%s\" resolved to %s (ttl %d s)", e->name, is,
			          e->ttl);
	}
}

static void lookup_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_entry *e = arg;
	(void)timeouts;
	e->querying = 0;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		if (ai)
			ares_freeaddrinfo(ai);
		return;
	}
	const struct sluice_config *cfg = e->dc->w->cfg;
	double now = worker_now(e->dc->w);
	e->stale = 0;
	if (status == ARES_SUCCESS && ai && ai->nodes) {
		take_answer(e, ai);
		e->status = DNS_OK;
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA || (status == ARES_SUCCESS)) {
		snprintf(e->err, sizeof(e->err), "could not resolve host \"%s\": %s", e->name,
		         status == ARES_SUCCESS ? "no addresses" : ares_strerror(status));
		log_warn("DNS: %s; asking again in %g s (dns_nxdomain_ttl)", e->err,
		         cfg->dns_nxdomain_ttl);
		e->n = 0;
		e->gen++;
		e->status = DNS_FAIL;
		e->resolved = now;
		e->expires = now + cfg->dns_nxdomain_ttl;
	} else {
		/* Timeout, SERVFAIL, refused: keep what we had, ask again on the next use. */
		snprintf(e->err, sizeof(e->err), "could not resolve host \"%s\": %s", e->name,
		         ares_strerror(status));
		if (e->n) {
			/* Serve the addresses we have while the DNS server is in trouble, and ask
			 * it again in the background on the first use after a second (dns_lookup).
			 */
			e->expires = now + 1;
			e->stale = 1;
			log_warn("DNS: %s; still using the previous addresses", e->err);
			e->status = DNS_OK;
		} else {
			e->expires = now;
			log_warn("DNS: %s; asking again on the next connect", e->err);
			e->status = DNS_FAIL;
		}
	}
	if (ai)
		ares_freeaddrinfo(ai);
	wake_waiters(e);
}

static void start_query(struct dns_entry *e)
{
	if (e->querying)
		return;
	struct ares_addrinfo_hints h = {0};
	h.ai_family = AF_UNSPEC;
	h.ai_socktype = SOCK_STREAM;
	e->querying = 1;
	e->dc->queries++;
	ares_getaddrinfo(e->dc->channel, e->name, NULL, &h, lookup_cb, e);
	arm_timer(e->dc);
}

static struct dns_entry *find_entry(struct dns_cache *dc, const char *name)
{
	struct list *it;
	list_for_each(it, &dc->entries)
	{
		struct dns_entry *e = list_entry(it, struct dns_entry, node);
		if (!strcasecmp(e->name, name))
			return e;
	}
	return NULL;
}

int dns_lookup(struct dns_cache *dc, const char *name, struct dns_waiter *wt,
               const struct dns_entry **out)
{
	struct dns_entry *e = find_entry(dc, name);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return DNS_FAIL;
		snprintf(e->name, sizeof(e->name), "%s", name);
		snprintf(e->err, sizeof(e->err), "could not resolve host \"%s\"", name);
		list_init(&e->waiters);
		e->dc = dc;
		list_append(&dc->entries, &e->node);
	}
	*out = e;
	if (!e->querying && e->resolved && worker_now(dc->w) < e->expires)
		return e->status == DNS_OK ? DNS_OK : DNS_FAIL;
	if (e->stale && e->n > 0) { /* the last lookup failed: known addresses now, ask anew */
		start_query(e);
		return DNS_OK;
	}
	start_query(e);
	if (!e->querying) /* answered at once (/etc/hosts, a literal): no callback for wt */
		return e->status == DNS_OK ? DNS_OK : DNS_FAIL;
	list_append(&e->waiters, &wt->node);
	return DNS_PENDING;
}

void dns_cancel(struct dns_waiter *wt)
{
	if (wt->node.next && !list_empty(&wt->node)) {
		list_del(&wt->node);
		list_init(&wt->node);
	}
}

int dns_refresh(struct dns_cache *dc, const char *name)
{
	int n = 0;
	struct list *it;
	list_for_each(it, &dc->entries)
	{
		struct dns_entry *e = list_entry(it, struct dns_entry, node);
		if (name && strcasecmp(e->name, name))
			continue;
		e->expires = 0;
		start_query(e);
		n++;
	}
	return n;
}

int dns_pending(struct dns_cache *dc)
{
	int n = 0;
	struct list *it;
	list_for_each(it, &dc->entries) n += list_entry(it, struct dns_entry, node)->querying;
	return n;
}
