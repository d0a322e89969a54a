/* [databases] and [users] lines: `name = key=value key='quoted value' ...`, in the style of a
 * libpq connection string (single quotes, '' for a quote inside them). */
#include "config_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNSTR_VALUE_MAX 4096

/* Next `key=value` pair at *pp. Returns 1 with key/val filled, 0 at the end, -1 with reason. */
static int next_pair(const char **pp, char *key, size_t klen, char *val, size_t vlen, char *reason,
                     size_t rlen)
{
	const char *p = *pp + strspn(*pp, " \t");
	size_t n = 0;

	if (*p == '\0')
		return 0;
	while (*p && *p != '=' && *p != ' ' && *p != '\t') {
		if (n + 1 >= klen) {
			cfg_errf(reason, rlen, "parameter name too long");
			return -1;
		}
		key[n++] = *p++;
	}
	key[n] = '\0';
	if (n == 0) {
		cfg_errf(reason, rlen, "missing parameter name before \"=\"");
		return -1;
	}
	p += strspn(p, " \t");
	if (*p != '=') {
		cfg_errf(reason, rlen, "missing \"=\" after \"%s\"", key);
		return -1;
	}
	p++;
	p += strspn(p, " \t");
	n = 0;
	if (*p == '\'') {
		for (p++;; p++) {
			if (*p == '\0') {
				cfg_errf(reason, rlen, "%s: unterminated quoted value", key);
				return -1;
			}
			if (*p == '\'' && *++p != '\'')
				break; /* closing quote; '' stands for one quote */
			if (n + 1 >= vlen)
				goto too_long;
			val[n++] = *p;
		}
		if (*p && *p != ' ' && *p != '\t') {
			cfg_errf(reason, rlen, "%s: unexpected text after quoted value", key);
			return -1;
		}
	} else {
		for (; *p && *p != ' ' && *p != '\t'; p++) {
			if (n + 1 >= vlen)
				goto too_long;
			val[n++] = *p;
		}
	}
	val[n] = '\0';
	*pp = p;
	return 1;
too_long:
	cfg_errf(reason, rlen, "%s: value too long", key);
	return -1;
}

/* F_HOSTS / F_PORTS: libpq's comma lists, stored into struct db_entry's hosts[] (only valid in
 * db_fields). */
enum field_type { F_STR, F_INT, F_MODE, F_HOSTS, F_PORTS, F_TSA };

struct field_def {
	const char *name;
	enum field_type type;
	size_t off, size;
};

#define FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define DB(f)          FIELD(struct db_entry, f)
#define USR(f)         FIELD(struct user_entry, f)

static const struct field_def db_fields[] = {
    {"host", F_HOSTS, DB(hosts)},
    {"port", F_PORTS, DB(hosts)},
    {"target_session_attrs", F_TSA, DB(target_session_attrs)},
    {"dbname", F_STR, DB(dbname)},
    {"user", F_STR, DB(user)},
    {"password", F_STR, DB(password)},
    {"auth_user", F_STR, DB(auth_user)},
    {"pool_size", F_INT, DB(pool_size)},
    {"min_pool_size", F_INT, DB(min_pool_size)},
    {"reserve_pool", F_INT, DB(reserve_pool)},
    {"reserve_pool_size", F_INT, DB(reserve_pool)},
    {"max_db_connections", F_INT, DB(max_db_connections)},
    {"pool_mode", F_MODE, DB(pool_mode)},
    {"connect_query", F_STR, DB(connect_query)},
    {"client_encoding", F_STR, DB(client_encoding)},
    {"datestyle", F_STR, DB(datestyle)},
    {"timezone", F_STR, DB(timezone)},
    {"application_name", F_STR, DB(application_name)},
    {NULL, F_STR, 0, 0},
};

static const struct field_def user_fields[] = {
    {"pool_mode", F_MODE, USR(pool_mode)},
    {"max_user_connections", F_INT, USR(max_user_connections)},
    {NULL, F_STR, 0, 0},
};

static const char *const tsa_names[] = {"any", "read-write", "primary", "standby",
                                        "prefer-standby"};

const char *config_tsa_name(int tsa)
{
	return tsa >= 0 && tsa <= TSA_PREFER_STANDBY ? tsa_names[tsa] : "?";
}

int config_tsa_parse(const char *s)
{
	for (int i = 0; i <= TSA_PREFER_STANDBY; i++)
		if (strcasecmp(s, tsa_names[i]) == 0)
			return i;
	return -1;
}

/* Next element of a comma list at *pp, blanks around it trimmed, into out (size outsz).
 * Returns its length, or -1 when it does not fit. */
static int next_elem(const char **pp, char *out, size_t outsz)
{
	const char *p = *pp + strspn(*pp, " \t");
	const char *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);

	*pp = end ? end + 1 : NULL;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return (int)n;
}

/* host=a,b,c: one element per host; a single empty value keeps the default unix socket. */
static int set_hosts(struct db_entry *db, const char *val, char *reason, size_t rlen)
{
	const char *p = val;
	int n = 0;

	while (p) {
		if (n == CFG_MAX_HOSTS) {
			cfg_errf(reason, rlen, "host: more than %d hosts", CFG_MAX_HOSTS);
			return -1;
		}
		int len = next_elem(&p, db->hosts[n].host, sizeof(db->hosts[n].host));
		if (len < 0) {
			cfg_errf(reason, rlen, "host: host name %d too long (max %d bytes)", n + 1,
			         CFG_HOST_MAX - 1);
			return -1;
		}
		if (len == 0 && (n > 0 || p)) {
			cfg_errf(reason, rlen, "host: empty host name in the list \"%s\"", val);
			return -1;
		}
		n++;
	}
	db->n_hosts = n;
	return 0;
}

/* port=5432 or port=5432,5433,...: ports are matched with hosts in cfg_db_parse. */
static int set_ports(struct db_entry *db, const char *val, char *reason, size_t rlen)
{
	const char *p = val;
	char one[16];
	int n = 0;

	while (p) {
		long long iv;
		if (n == CFG_MAX_HOSTS) {
			cfg_errf(reason, rlen, "port: more than %d ports", CFG_MAX_HOSTS);
			return -1;
		}
		if (next_elem(&p, one, sizeof(one)) <= 0 || config_parse_int(one, &iv) < 0) {
			cfg_errf(reason, rlen, "port: invalid port \"%s\" in \"%s\"", one, val);
			return -1;
		}
		if (iv < 1 || iv > 65535) {
			cfg_errf(reason, rlen, "port: value %s out of range 1..65535", one);
			return -1;
		}
		db->hosts[n++].port = (int)iv;
	}
	db->n_ports = n;
	return 0;
}

/* Store one value; -1 with reason (after "name: "). */
static int set_field(const struct field_def *f, void *rec, const char *val, char *reason,
                     size_t rlen)
{
	void *slot = (char *)rec + f->off;
	long long iv, lo = 0, hi = INT_MAX;

	switch (f->type) {
	case F_STR:
		if (strlen(val) >= f->size) {
			cfg_errf(reason, rlen, "%s: value too long (max %zu bytes)", f->name,
			         f->size - 1);
			return -1;
		}
		strcpy(slot, val);
		return 0;
	case F_INT:
		if (config_parse_int(val, &iv) < 0) {
			cfg_errf(reason, rlen, "%s: invalid integer \"%s\"", f->name, val);
			return -1;
		}
		if (iv < lo || iv > hi) {
			cfg_errf(reason, rlen, "%s: value %s out of range %lld..%lld", f->name, val,
			         lo, hi);
			return -1;
		}
		*(int *)slot = (int)iv;
		return 0;
	case F_MODE:
		*(int *)slot = config_pool_mode_parse(val);
		if (*(int *)slot < 0) {
			cfg_errf(reason, rlen,
			         "%s: invalid value \"%s\" (expected one of: session, transaction, "
			         "statement)",
			         f->name, val);
			return -1;
		}
		return 0;
	case F_HOSTS:
		return set_hosts(rec, val, reason, rlen);
	case F_PORTS:
		return set_ports(rec, val, reason, rlen);
	case F_TSA:
		*(int *)slot = config_tsa_parse(val);
		if (*(int *)slot < 0) {
			cfg_errf(
			    reason, rlen,
			    "%s: invalid value \"%s\" (expected one of: any, read-write, primary, "
			    "standby, prefer-standby)",
			    f->name, val);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Parse a whole `k=v k=v` value into rec; reason gets "name: ..." on error. */
static int parse_fields(const struct field_def *fields, void *rec, const char *name,
                        const char *value, const char *what, char *reason, size_t rlen)
{
	char key[CFG_NAME_MAX], why[512];
	char *val;
	const char *p = value;
	int rc = -1, got;

	if (name[0] == '\0') {
		cfg_errf(reason, rlen, "empty %s name", what);
		return -1;
	}
	if (strlen(name) >= CFG_NAME_MAX) {
		cfg_errf(reason, rlen, "%s: %s name too long (max %d bytes)", name, what,
		         CFG_NAME_MAX - 1);
		return -1;
	}
	strcpy(rec, name); /* every record starts with its name */
	val = malloc(CONNSTR_VALUE_MAX);
	if (!val) {
		cfg_errf(reason, rlen, "%s: out of memory", name);
		return -1;
	}
	while ((got = next_pair(&p, key, sizeof(key), val, CONNSTR_VALUE_MAX, why, sizeof(why))) >
	       0) {
		const struct field_def *f = fields;
		while (f->name && strcasecmp(f->name, key) != 0)
			f++;
		if (!f->name) {
			cfg_errf(reason, rlen, "%s: unknown parameter \"%s\"", name, key);
			goto out;
		}
		if (set_field(f, rec, val, why, sizeof(why)) < 0) {
			got = -1;
			break;
		}
	}
	if (got < 0)
		cfg_errf(reason, rlen, "%s: %s", name, why);
	else
		rc = 0;
out:
	explicit_bzero(val, CONNSTR_VALUE_MAX); /* may have held a password */
	free(val);
	return rc;
}

int cfg_db_parse(struct db_entry *db, const char *name, const char *value, char *reason,
                 size_t rlen)
{
	memset(db, 0, sizeof(*db));
	db->port = 5432;
	db->pool_size = db->min_pool_size = db->reserve_pool = db->max_db_connections = -1;
	db->pool_mode = POOL_MODE_UNSET;
	db->target_session_attrs = TSA_ANY;
	if (parse_fields(db_fields, db, name, value, "database", reason, rlen) < 0)
		return -1;
	if (db->n_hosts == 0)
		db->n_hosts = 1; /* hosts[0].host stays empty: the default unix socket */
	if (db->n_ports > 1 && db->n_ports != db->n_hosts) {
		cfg_errf(reason, rlen,
		         "%s: port: %d ports for %d hosts (give one port for all hosts, or one per "
		         "host)",
		         name, db->n_ports, db->n_hosts);
		return -1;
	}
	/* a single port (or none: 5432) applies to every host, as in libpq */
	for (int i = 0; i < db->n_hosts; i++)
		if (db->n_ports <= 1)
			db->hosts[i].port = db->n_ports ? db->hosts[0].port : 5432;
	memcpy(db->host, db->hosts[0].host, sizeof(db->host));
	db->port = db->hosts[0].port;
	return 0;
}

int cfg_user_parse(struct user_entry *u, const char *name, const char *value, char *reason,
                   size_t rlen)
{
	memset(u, 0, sizeof(*u));
	u->pool_mode = POOL_MODE_UNSET;
	u->max_user_connections = -1;
	return parse_fields(user_fields, u, name, value, "user", reason, rlen);
}
