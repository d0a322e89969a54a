/* Protocol-level prepared statements in transaction pooling, and the per-server
 * request queue that keeps sluice's own answers in protocol order.
 *
 * A client's named Parse is recorded (ps_names) and prepared on the server under
 * "sluice_<id>" only if that server does not have it yet; otherwise sluice answers
 * ParseComplete itself. Bind/Describe of a named statement get their name rewritten,
 * and a server that lacks the statement gets a Parse injected just before (its
 * ParseComplete is swallowed). Every request sent while linked has an entry in the
 * server's queue; answers pop entries in order, so a made-up answer is written exactly
 * when everything before it has been answered. After an ErrorResponse the server skips
 * to Sync, and so does the queue: entries up to the Sync are dropped unanswered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "listen.h"
#include "log.h"
#include "server.h"
#include "txnpool.h"
#include "worker.h"

#define TXN_QUEUE_MAX 65536u /* requests awaiting answers on one server connection */

int txn_req_push(struct server *srv, uint8_t kind, enum txn_req_act act, enum txn_synth synth,
                 uint32_t id)
{
	struct txn_server *ts = srv->txn;
	if (ts->qlen == ts->qcap) {
		uint32_t ncap = ts->qcap ? ts->qcap * 2 : 16;
		if (ncap > TXN_QUEUE_MAX)
			return -1;
		struct txn_req *nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return -1;
		for (uint32_t i = 0; i < ts->qlen; i++)
			nq[i] = ts->q[(ts->qhead + i) % ts->qcap];
		free(ts->q);
		ts->q = nq;
		ts->qcap = ncap;
		ts->qhead = 0;
	}
	struct txn_req *r = &ts->q[(ts->qhead + ts->qlen) % ts->qcap];
	r->kind = kind;
	r->act = (uint8_t)act;
	r->synth = (uint8_t)synth;
	r->pad = 0;
	r->id = id;
	ts->qlen++;
	return 0;
}

static struct txn_req *head(struct txn_server *ts)
{
	return ts->qlen ? &ts->q[ts->qhead] : NULL;
}

static void pop(struct txn_server *ts)
{
	ts->qhead = (ts->qhead + 1) % ts->qcap;
	ts->qlen--;
}

void txn_send_synth(struct client *cl, enum txn_synth synth, char status)
{
	uint8_t b[64];
	size_t n = 0;
	const char *tag = NULL;
	switch (synth) {
	case SY_PARSE:
	case SY_CLOSE:
		b[n++] = synth == SY_PARSE ? '1' : '3';
		pg_put_u32(b + n, 4);
		n += 4;
		break;
	case SY_DEALLOCATE:
		tag = "DEALLOCATE";
		break;
	case SY_DEALLOCATE_ALL:
		tag = "DEALLOCATE ALL";
		break;
	case SY_DISCARD_ALL:
		tag = "DISCARD ALL";
		break;
	case SY_LISTEN:
		tag = "LISTEN";
		break;
	case SY_UNLISTEN:
		tag = "UNLISTEN";
		break;
	default:
		return;
	}
	if (tag) {
		size_t tl = strlen(tag) + 1;
		b[n++] = 'C';
		pg_put_u32(b + n, (uint32_t)(4 + tl));
		n += 4;
		memcpy(b + n, tag, tl);
		n += tl;
		b[n++] = 'Z';
		pg_put_u32(b + n, 5);
		n += 4;
		b[n++] = (uint8_t)status;
	}
	conn_send(&cl->c, b, n);
}

/* Write the made-up answers now at the head of the queue. */
static void flush_synth(struct server *srv)
{
	struct txn_server *ts = srv->txn;
	struct txn_req *h;
	while ((h = head(ts)) && h->act == RA_SYNTH) {
		enum txn_synth s = (enum txn_synth)h->synth;
		pop(ts);
		if (srv->client)
			txn_send_synth(srv->client, s, (char)srv->txn_status);
	}
}

void txn_synth_answer(struct server *srv, uint8_t kind, enum txn_synth synth)
{
	struct txn_server *ts = srv->txn;
	if (!ts->qlen) {
		txn_send_synth(srv->client, synth, (char)srv->txn_status);
		return;
	}
	if (txn_req_push(srv, kind, RA_SYNTH, synth, 0) < 0)
		client_fatal(srv->client, "54000",
		             "too many pipelined requests for sluice to track");
}

void txn_server_post(struct server *srv)
{
	if (srv->txn)
		flush_synth(srv);
	if (srv->client && srv->client->txn)
		listen_flush(srv->client); /* the client is between messages now */
}

/* The server skips everything up to Sync after an error: so does the queue. */
static void error_skip(struct server *srv)
{
	struct txn_server *ts = srv->txn;
	struct txn_req *h;
	while ((h = head(ts)) && h->kind != 'S') {
		if (h->kind == 'P' && h->id)
			ps_cache_del(&ts->cache, h->id); /* never prepared */
		else if (h->kind == 'C' && h->act == RA_SWALLOW)
			ts->dirty =
			    1; /* an eviction that did not happen: cache and server disagree */
		pop(ts);
	}
	if (!ts->qlen)
		ts->skipping = 1;
}

int ps_server_msg(struct server *srv, uint8_t type)
{
	struct txn_server *ts = srv->txn;
	struct txn_req *h = head(ts);
	int popit = 0;
	if (!h)
		return PKT_FORWARD;
	switch (type) {
	case '1':
		popit = h->kind == 'P';
		break;
	case '2':
		popit = h->kind == 'B';
		break;
	case '3':
		popit = h->kind == 'C';
		break;
	case 'T':
	case 'n':
		popit = h->kind == 'd' || h->kind == 'D';
		break;
	case 'C':
	case 'I':
	case 's':
		popit = h->kind == 'E';
		break;
	case 'Z':
		popit = h->kind == 'S' || h->kind == 'Q' || h->kind == 'F';
		break;
	case 'E':
		/* An error answers an extended-protocol request (even one sluice injected: the
		 * client must learn why its Bind failed) and the rest up to Sync is skipped. */
		if (strchr("PBDdEC", h->kind))
			error_skip(srv);
		return PKT_FORWARD;
	default:
		return PKT_FORWARD;
	}
	if (!popit)
		return PKT_FORWARD;
	int swallow = h->act == RA_SWALLOW;
	pop(ts);
	h = head(ts);
	if (h && h->act == RA_SYNTH) {
		if (!swallow)
			return PKT_FORWARD_POST; /* made-up answers follow this one */
		conn_flush_forward(&srv->c);
		flush_synth(srv);
	}
	return swallow ? PKT_SKIP : PKT_FORWARD;
}

/* "sluice_<id>" */
static int server_name(uint32_t id, char *out, size_t len)
{
	return snprintf(out, len, PS_SERVER_PREFIX "%u", id);
}

/* Prepare s on srv (closing the least recently used statement if the cache is full); the
 * Parse's answer is forwarded (act RA_FWD: the client's own Parse) or swallowed. */
static int server_prepare(struct server *srv, struct ps_stmt *s, enum txn_req_act act)
{
	struct txn_server *ts = srv->txn;
	struct worker *w = srv->c.w;
	uint8_t hdr[5 + 32];
	char nm[32];
	uint32_t ev = ps_cache_add(&ts->cache, s->id);
	if (ev) {
		int nl = server_name(ev, nm, sizeof(nm)) + 1;
		hdr[0] = 'C';
		pg_put_u32(hdr + 1, (uint32_t)(4 + 1 + nl));
		hdr[5] = 'S';
		memcpy(hdr + 6, nm, (size_t)nl);
		if (txn_req_push(srv, 'C', RA_SWALLOW, SY_NONE, ev) < 0 ||
		    conn_send(&srv->c, hdr, 6 + (size_t)nl) < 0)
			return -1;
		w->stats.ps_evictions++;
	}
	int nl = server_name(s->id, nm, sizeof(nm)) + 1;
	hdr[0] = 'P';
	pg_put_u32(hdr + 1, (uint32_t)(4 + nl + s->len));
	memcpy(hdr + 5, nm, (size_t)nl);
	if (txn_req_push(srv, 'P', act, SY_NONE, s->id) < 0 ||
	    conn_send(&srv->c, hdr, 5 + (size_t)nl) < 0 || conn_send(&srv->c, s->body, s->len) < 0)
		return -1;
	w->stats.ps_server_prepares++;
	return 0;
}

static int queue_full(struct client *cl)
{
	client_fatal(cl, "54000", "too many pipelined requests for sluice to track");
	return PKT_GONE;
}

/* A named Parse with its whole body at hand. */
int ps_parse_named(struct client *cl, const char *name, const uint8_t *body, uint32_t blen)
{
	struct server *srv = cl->server;
	struct worker *w = cl->c.w;
	struct txn_client *tc = txn_client_get(cl);
	struct ps_stmt *s = tc ? ps_reg_get(&w->ps_reg, body, blen) : NULL;
	if (!s || ps_names_set(&tc->names, &w->ps_reg, name, s) < 0) {
		client_fatal(cl, "53200", "out of memory");
		return PKT_GONE;
	}
	conn_flush_forward(&cl->c);
	srv->unsynced = 1;
	if (ps_cache_touch(&srv->txn->cache, s->id)) {
		w->stats.ps_local_parses++;
		txn_synth_answer(srv, 'P', SY_PARSE);
		return cl->c.closed ? PKT_GONE : PKT_HANDLED;
	}
	if (server_prepare(srv, s, RA_FWD) < 0)
		return queue_full(cl);
	return cl->c.closed ? PKT_GONE : PKT_HANDLED;
}

/* Replace the first old_len bytes of the message (type, length, leading fields) by
 * new_hdr, keeping the rest: the relay drops the old prefix and forwards the remainder. */
static int replace_prefix(struct client *cl, uint8_t *new_hdr, uint32_t new_len, uint32_t old_len,
                          uint32_t total)
{
	pg_put_u32(new_hdr + 1, total - old_len + new_len - 1);
	conn_flush_forward(&cl->c);
	if (conn_send(&cl->server->c, new_hdr, new_len) < 0)
		return PKT_GONE;
	cl->c.skip_prefix = old_len;
	return -1;
}

/* Ensure s is prepared on the linked server, then write hdr (type, length placeholder,
 * lead bytes) followed by s's server name. */
static int rename_stmt(struct client *cl, struct ps_stmt *s, uint8_t type, const char *lead,
                       size_t lead_len, uint32_t old_len, uint32_t total)
{
	struct server *srv = cl->server;
	uint8_t b[256 + 40];
	char nm[32];
	if (lead_len > 256)
		return 0; /* portal name too long to rewrite: forward as is (the server errors) */
	conn_flush_forward(&cl->c);
	if (!ps_cache_touch(&srv->txn->cache, s->id) && server_prepare(srv, s, RA_SWALLOW) < 0) {
		queue_full(cl);
		return PKT_GONE;
	}
	int nl = server_name(s->id, nm, sizeof(nm)) + 1;
	b[0] = type;
	memcpy(b + 5, lead, lead_len);
	memcpy(b + 5 + lead_len, nm, (size_t)nl);
	return replace_prefix(cl, b, (uint32_t)(5 + lead_len + (size_t)nl), old_len, total);
}

int ps_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t total, uint32_t avail)
{
	struct server *srv = cl->server;
	struct txn_client *tc = cl->txn;
	int enabled = cl->c.w->cfg->max_prepared_statements > 0;
	struct pkt_reader r;
	rd_init(&r, p + PKT_HDR_LEN, avail - PKT_HDR_LEN);
	switch (type) {
	case 'P': {
		const char *name = rd_cstr(&r);
		if (!name)
			goto need_more;
		if (!*name || !enabled) {
			if (txn_req_push(srv, 'P', RA_FWD, SY_NONE, 0) < 0)
				return queue_full(cl);
			return -1;
		}
		if (avail < total) {
			if (total <= cl->c.w->bufsize)
				return PKT_NEED_FULL;
			client_fatal(
			    cl, "54000",
			    "prepared statement too large for sluice to track (raise pkt_buf)");
			return PKT_GONE;
		}
		uint32_t off = (uint32_t)(PKT_HDR_LEN + strlen(name) + 1);
		return ps_parse_named(cl, name, p + off, total - off);
	}
	case 'B': {
		const char *portal = rd_cstr(&r), *stmt = portal ? rd_cstr(&r) : NULL;
		struct ps_stmt *s;
		if (!stmt)
			goto need_more;
		if (!*stmt || !enabled || !tc || !(s = ps_names_get(&tc->names, stmt))) {
			if (txn_req_push(srv, 'B', RA_FWD, SY_NONE, 0) < 0)
				return queue_full(cl);
			return -1;
		}
		size_t pl = strlen(portal) + 1;
		uint32_t old_len = (uint32_t)(PKT_HDR_LEN + pl + strlen(stmt) + 1);
		/* Any Parse injected by rename_stmt is queued before this Bind, as it is sent. */
		int a = rename_stmt(cl, s, 'B', portal, pl, old_len, total);
		if (a == PKT_GONE || cl->c.closed)
			return PKT_GONE;
		if (txn_req_push(srv, 'B', RA_FWD, SY_NONE, 0) < 0)
			return queue_full(cl);
		return -1;
	}
	case 'D':
	case 'C': {
		uint8_t what = rd_u8(&r);
		const char *name = rd_cstr(&r);
		struct ps_stmt *s = NULL;
		uint8_t kind = type == 'D' ? (what == 'S' ? 'd' : 'D') : 'C';
		if (!name)
			goto need_more;
		if (what == 'S' && *name && enabled && tc)
			s = ps_names_get(&tc->names, name);
		if (type == 'C' && what == 'S' && *name && enabled &&
		    (s || !tc || !tc->pins[PIN_PREPARE])) {
			/* Closing a statement only forgets the client's name for it; the server
			 * copy stays cached for whoever prepares the same query next. */
			if (s)
				ps_names_del(&tc->names, &cl->c.w->ps_reg, name);
			conn_flush_forward(&cl->c);
			srv->unsynced = 1;
			txn_synth_answer(srv, 'C', SY_CLOSE);
			return cl->c.closed ? PKT_GONE : PKT_HANDLED;
		}
		if (!s) {
			if (txn_req_push(srv, kind, RA_FWD, SY_NONE, 0) < 0)
				return queue_full(cl);
			return -1;
		}
		char lead = 'S';
		int a = rename_stmt(cl, s, 'D', &lead, 1,
		                    (uint32_t)(PKT_HDR_LEN + 1 + strlen(name) + 1), total);
		if (a == PKT_GONE || cl->c.closed)
			return PKT_GONE;
		if (txn_req_push(srv, kind, RA_FWD, SY_NONE, 0) < 0)
			return queue_full(cl);
		return -1;
	}
	case 'E':
		if (txn_req_push(srv, 'E', RA_FWD, SY_NONE, 0) < 0)
			return queue_full(cl);
		return -1;
	default:
		return -1;
	}
need_more:
	if (avail < total)
		return PKT_NEED_FULL;
	client_fatal(cl, "08P01", "invalid message: unterminated name");
	return PKT_GONE;
}

int ps_client_close_unlinked(struct client *cl, const uint8_t *p, uint32_t total, uint32_t avail)
{
	struct txn_client *tc = cl->txn;
	struct pkt_reader r;
	if (cl->c.w->cfg->max_prepared_statements <= 0)
		return -1;
	if (avail < total)
		return total <= cl->c.w->bufsize ? PKT_NEED_FULL : -1;
	rd_init(&r, p + PKT_HDR_LEN, total - PKT_HDR_LEN);
	uint8_t what = rd_u8(&r);
	const char *name = rd_cstr(&r);
	if (what != 'S' || !name || !*name || (tc && tc->pins[PIN_PREPARE]))
		return -1;
	if (tc)
		ps_names_del(&tc->names, &cl->c.w->ps_reg, name);
	txn_send_synth(cl, SY_CLOSE, 'I');
	return cl->c.closed ? PKT_GONE : PKT_HANDLED;
}

void ps_client_clear(struct client *cl)
{
	if (cl->txn)
		ps_names_clear(&cl->txn->names, &cl->c.w->ps_reg);
}
