/* audit_log: one JSON object per line for every login, accepted or refused (user, database,
 * tenant, class, real client address, TLS version, SQLSTATE and reason). The file is opened with
 * O_APPEND and mode 0600, and reopened on every reload (SIGHUP), so log rotation only has to move
 * the old file away. Secrets never reach it: only names, addresses and the refusal text. */
#ifndef SLUICE_AUDIT_H
#define SLUICE_AUDIT_H

struct worker;
struct client;

/* (Re)open cfg->audit_log into *fd (closing the previous one). -1 when unset or on error
 * (logged). */
int audit_open(const char *path, int *fd);
/* Record a login outcome. ok: 1 accepted, 0 refused (sqlstate and reason say why). */
void audit_login(struct client *cl, const char *user, const char *db, int ok, const char *sqlstate,
                 const char *reason);

#endif
