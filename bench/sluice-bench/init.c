/* `sluice-bench init`: create the scenario's tenant databases when missing and load each one
 * with the scenario's init script (and the init script of every workload using it), with :scale
 * replaced by the scale factor. Plain synchronous libpq: this is set-up, not measurement. */
#include "init.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *connect_db(const struct run_opts *o, const struct scenario *sc, const char *db)
{
	struct connspec cs;
	char err[512];
	PGconn *c;

	if (connspec_build(&cs, o, sc, db, "sluice-bench init", err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-bench: %s\n", err);
		return NULL;
	}
	c = PQconnectdbParams(cs.kw, cs.val, 0);
	connspec_free(&cs);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "sluice-bench: init: cannot connect to database %s: %s", db,
		        PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int ensure_database(const struct run_opts *o, const struct scenario *sc, const char *db)
{
	const char *maint = sc->maint_db ? sc->maint_db : "postgres";
	PGconn *c = connect_db(o, sc, maint);
	const char *params[1] = {db};
	int rc = -1;

	if (!c)
		return -1;
	PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
	                           params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "sluice-bench: init: %s", PQerrorMessage(c));
		goto out;
	}
	if (PQntuples(r) == 0) {
		char *ident = PQescapeIdentifier(c, db, strlen(db)), *sql = NULL;
		if (!ident || asprintf(&sql, "CREATE DATABASE %s", ident) < 0) {
			PQfreemem(ident);
			goto out;
		}
		PQfreemem(ident);
		PQclear(r);
		r = PQexec(c, sql);
		free(sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "sluice-bench: init: CREATE DATABASE %s: %s", db,
			        PQerrorMessage(c));
			goto out;
		}
		printf("init: %s: database created\n", db);
	}
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int run_file(PGconn *c, const char *db, const char *path, int64_t scale)
{
	char *text = script_read_file(path), *sql;
	double t = mono_now();
	int rc = -1;

	if (!text) {
		fprintf(stderr, "sluice-bench: init: %s: cannot read: %m\n", path);
		return -1;
	}
	sql = script_subst_scale(text, scale);
	free(text);
	if (!sql)
		return -1;
	/* one simple-protocol message: the file's statements run in order, as psql -c would */
	PGresult *r = PQexec(c, sql);
	free(sql);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR)
		fprintf(stderr, "sluice-bench: init: %s: %s: %s", db, path, PQerrorMessage(c));
	else {
		printf("init: %s: ran %s (%.1f s)\n", db, path, mono_now() - t);
		rc = 0;
	}
	PQclear(r);
	return rc;
}

static void no_notices(void *arg, const char *msg)
{
}

int bench_init(const struct scenario *sc, const struct run_opts *o)
{
	for (int i = 0; i < sc->n_w; i++) {
		const char *db = sc->w[i].database;
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= strcmp(sc->w[j].database, db) == 0;
		if (seen)
			continue;
		if (ensure_database(o, sc, db) < 0)
			return -1;
		PGconn *c = connect_db(o, sc, db);
		if (!c)
			return -1;
		int rc = 0;
		PQsetNoticeProcessor(c, no_notices, NULL); /* "... does not exist, skipping" */
		if (sc->init_path)
			rc = run_file(c, db, sc->init_path, sc->scale);
		for (int j = i; rc == 0 && j < sc->n_w; j++)
			if (sc->w[j].init_path && strcmp(sc->w[j].database, db) == 0)
				rc = run_file(c, db, sc->w[j].init_path, sc->scale);
		PQfinish(c);
		if (rc < 0)
			return -1;
	}
	return 0;
}
