/* auth_user + auth_query: the secret of a user missing from auth_file is fetched from the server
 * with PgBouncer's query (by default `SELECT usename, passwd FROM pg_shadow WHERE usename=$1`),
 * over a libpq connection driven asynchronously from the worker's loop (PQconnectStartParams /
 * PQconnectPoll / PQsendQueryParams on ev_io watchers), so a slow server never blocks the loop.
 * Answers, found or not, are cached per (database, user) for auth_cache_ttl. */
#ifndef SLUICE_AUTHQUERY_H
#define SLUICE_AUTHQUERY_H

#include <stddef.h>

struct authq;
struct client;
struct worker;

/* The auth_user to run the query as for cl's database ("" when auth_query is not in use). */
const char *authquery_user(const struct client *cl);
/* Look the user up for cl. Returns 0 with the answer in secret ("" = no such user or no
 * password) when cached, 1 when a lookup started (client_auth_resume() is called later, with the
 * client still open), or -1 when it could not start (client refused with 08006). */
int authquery_lookup(struct client *cl, char *secret, size_t secretlen);
/* The client is going away: drop its pending lookup. */
void authquery_cancel(struct client *cl);
/* Cached secret of user for server logins, ignoring the TTL (NULL if none). */
const char *authquery_cached_secret(struct worker *w, const char *user);
/* Free every lookup and the cache. */
void authquery_free(struct authq *aq);

#endif
