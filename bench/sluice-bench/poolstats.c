/* Queue wait from the pooler's own counters (see poolstats.h). */
#include "poolstats.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

void poolstats_read(const struct bench *b, const struct run_opts *o, struct poolstats *s)
{
	struct connspec cs;
	char err[256];
	memset(s, 0, sizeof(*s));
	if (connspec_build(&cs, o, b->sc, "pgbouncer", "sluice-bench", err, sizeof(err)) < 0)
		return;
	connspec_set(&cs, "connect_timeout", "3");
	PGconn *c = PQconnectdbParams(cs.kw, cs.val, 0);
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "SHOW STATS");
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			int cdb = PQfnumber(r, "database"), cx = PQfnumber(r, "total_xact_count"),
			    cw = PQfnumber(r, "total_wait_time");
			if (cdb >= 0 && cx >= 0 && cw >= 0) {
				s->ok = 1;
				for (int i = 0; i < PQntuples(r) && s->n < POOLSTATS_MAX_DBS; i++) {
					struct poolstats_db *d = &s->db[s->n++];
					snprintf(d->name, sizeof(d->name), "%s",
					         PQgetvalue(r, i, cdb));
					d->xacts = strtoull(PQgetvalue(r, i, cx), NULL, 10);
					d->wait_us = strtoull(PQgetvalue(r, i, cw), NULL, 10);
				}
			}
		}
		PQclear(r);
	}
	PQfinish(c);
	connspec_free(&cs);
}

static const struct poolstats_db *find(const struct poolstats *s, const char *db)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->db[i].name, db))
			return &s->db[i];
	return NULL;
}

double poolstats_wait_ms(const struct poolstats *before, const struct poolstats *after,
                         const char *db, uint64_t *xacts)
{
	if (!before->ok || !after->ok)
		return -1;
	const struct poolstats_db *a = find(after, db), *z = find(before, db);
	if (!a)
		return -1;
	uint64_t x = a->xacts - (z ? z->xacts : 0), wt = a->wait_us - (z ? z->wait_us : 0);
	if (xacts)
		*xacts = x;
	if (!x)
		return -1;
	return (double)wt / (double)x / 1000.0;
}
