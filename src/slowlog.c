/* Slow-transaction and slow-statement log (see slowlog.h). */
#include "slowlog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "ratelimit.h"
#include "server.h"
#include "worker.h"

#define TEXT_CAP 8192 /* hard cap on log_statement_max_length */

struct slow_state {
	double txn_start, linked_at, stmt_start, last_end;
	uint8_t in_txn, in_stmt;
	struct token_bucket lines; /* log_sample_rate */
	size_t text_len;
	char text[]; /* raw text of the last Query/Parse, up to the cap chosen at allocation */
};

size_t slowlog_normalize(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i = 0;
	int prev_ident = 0;
	while (i < len && o + 1 < outlen) {
		char ch = s[i];
		if (ch == '\'' ||
		    ((ch == 'E' || ch == 'e') && i + 1 < len && s[i + 1] == '\'' && !prev_ident)) {
			i += ch == '\'' ? 1 : 2;
			while (i < len) { /* '' inside a literal is a quote; backslash in E'' */
				if (s[i] == '\\' && ch != '\'' && i + 1 < len) {
					i += 2;
					continue;
				}
				if (s[i] == '\'') {
					if (i + 1 < len && s[i + 1] == '\'') {
						i += 2;
						continue;
					}
					i++;
					break;
				}
				i++;
			}
			out[o++] = '?';
			prev_ident = 0;
			continue;
		}
		if (isdigit((unsigned char)ch) && !prev_ident) {
			while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '.'))
				i++;
			out[o++] = '?';
			continue;
		}
		prev_ident = isalnum((unsigned char)ch) || ch == '_' || ch == '$' || ch == '"';
		out[o++] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
		i++;
	}
	out[o] = '\0';
	return o;
}

static struct slow_state *state(struct client *cl)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	if (cl->slow)
		return cl->slow;
	size_t cap = cfg->log_statement_max_length > TEXT_CAP
	                 ? TEXT_CAP
	                 : (size_t)cfg->log_statement_max_length;
	cl->slow = calloc(1, sizeof(*cl->slow) + cap + 1);
	if (cl->slow)
		tb_init(&cl->slow->lines, cfg->log_sample_rate, 0, worker_now(cl->c.w));
	return cl->slow;
}

void slowlog_client_msg(struct client *cl, uint8_t type, const uint8_t *p, uint32_t avail)
{
	struct slow_state *s = state(cl);
	double now = worker_now(cl->c.w);
	if (!s)
		return;
	if (!s->in_txn) {
		s->in_txn = 1;
		s->linked_at = now;
		/* Queued for this transaction (pool or governor queue) since wait_start? */
		s->txn_start =
		    cl->wait_start > s->last_end && cl->wait_start <= now ? cl->wait_start : now;
	}
	if (type == 'Q' || type == 'P') {
		const uint8_t *body = p + PKT_HDR_LEN;
		uint32_t n = avail > PKT_HDR_LEN ? avail - PKT_HDR_LEN : 0;
		if (type == 'P') { /* skip the statement name */
			const uint8_t *z = memchr(body, 0, n);
			n = z ? n - (uint32_t)(z + 1 - body) : 0;
			body = z ? z + 1 : body;
		}
		const uint8_t *z = memchr(body, 0, n);
		size_t len = z ? (size_t)(z - body) : n;
		size_t cap = (size_t)cl->c.w->cfg->log_statement_max_length;
		if (cap > TEXT_CAP)
			cap = TEXT_CAP;
		s->text_len = len < cap ? len : cap;
		memcpy(s->text, body, s->text_len);
		s->text[s->text_len] = '\0';
	}
	if ((type == 'Q' || type == 'E') && !s->in_stmt) {
		s->in_stmt = 1;
		s->stmt_start = now;
	}
}

static void emit(struct client *cl, struct slow_state *s, const struct server *srv,
                 const char *what, double total, double wait, double server_time)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	struct worker *w = cl->c.w;
	if (cfg->log_sample_rate > 0 && !tb_take(&s->lines, worker_now(w), 1))
		return;
	char text[TEXT_CAP + 1];
	if (cfg->log_parameters)
		snprintf(text, sizeof(text), "%s", s->text);
	else
		slowlog_normalize(s->text, s->text_len, text, sizeof(text));
	const struct db_entry *e = &srv->pool->db->entry;
	const char *tenant = cl->gov.tenant ? cl->gov.tenant->name : "";
	const char *cls =
	    cl->gov.cls >= 0 && cl->gov.cls < w->gov.n_classes ? w->gov.cls_names[cl->gov.cls] : "";
	log_info("slow %s: %.1f ms (queue wait %.1f ms, server %.1f ms) tenant=%s class=%s db=%s "
	         "user=%s application_name=%s server=%s:%d: %s",
	         what, total * 1000, wait * 1000, server_time * 1000, tenant, cls, e->name,
	         srv->pool->user->name, client_var(cl, VAR_APPLICATION_NAME),
	         e->host[0] ? e->host : "unix", e->port, text);
}

void slowlog_ready(struct client *cl, const struct server *srv)
{
	const struct sluice_config *cfg = cl->c.w->cfg;
	struct slow_state *s = cl->slow;
	double now = worker_now(cl->c.w);
	if (!s || !slowlog_enabled(cfg))
		return;
	if (s->in_stmt) {
		s->in_stmt = 0;
		double d = now - s->stmt_start;
		if (cfg->log_min_duration_statement > 0 && d >= cfg->log_min_duration_statement)
			emit(cl, s, srv, "statement", d, 0, d);
	}
	if (s->in_txn && srv->txn_status == 'I') {
		s->in_txn = 0;
		s->last_end = now;
		double d = now - s->txn_start;
		if (cfg->log_min_duration_transaction > 0 && d >= cfg->log_min_duration_transaction)
			emit(cl, s, srv, "transaction", d, s->linked_at - s->txn_start,
			     now - s->linked_at);
	}
}

void slowlog_free(struct client *cl)
{
	free(cl->slow);
	cl->slow = NULL;
}
