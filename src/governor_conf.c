/* Governance configuration: [tenant_defaults], [tenant.NAME], [class.NAME] (see governor.h). */
#include "governor.h"
#include "errfmt.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INT_LIMIT 1000000000

/* ---- value parsers (reason in r on failure) ---- */

static int parse_int_range(const char *v, long long lo, long long hi, int *out, char *r, size_t rl)
{
	long long x;

	if (config_parse_int(v, &x) < 0) {
		errf(r, rl, "invalid integer \"%s\"", v);
		return -1;
	}
	if (x < lo || x > hi) {
		errf(r, rl, "value %s out of range %lld..%lld", v, lo, hi);
		return -1;
	}
	*out = (int)x;
	return 0;
}

/* Plain non-negative decimal number (no sign, hex, inf or exponent). */
static int parse_number(const char *v, double *out)
{
	const char *p = v;
	int digits = 0;

	while (isdigit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits++;
		}
	}
	if (!digits || *p)
		return -1;
	errno = 0;
	*out = strtod(v, NULL);
	return errno || !isfinite(*out) ? -1 : 0;
}

static int parse_rate(const char *v, double *out, char *r, size_t rl)
{
	if (parse_number(v, out) < 0 || *out > 1e9) {
		errf(r, rl, "invalid rate \"%s\" (a number >= 0, per second)", v);
		return -1;
	}
	return 0;
}

/* "30%" (percent, fractional allowed) or "5" (slots). */
static int parse_slots(const char *v, double *out, int *pct, char *r, size_t rl)
{
	char buf[64];
	size_t n = strlen(v);

	if (n && n < sizeof(buf) && v[n - 1] == '%') {
		memcpy(buf, v, n - 1);
		buf[n - 1] = '\0';
		while (n > 1 && isspace((unsigned char)buf[n - 2]))
			buf[--n - 1] = '\0';
		if (parse_number(buf, out) < 0 || *out > 100) {
			errf(r, rl, "invalid percentage \"%s\" (0%% to 100%%)", v);
			return -1;
		}
		*pct = 1;
		return 0;
	}
	long long x;
	if (config_parse_int(v, &x) < 0 || x < 0 || x > INT_LIMIT) {
		errf(r, rl, "invalid value \"%s\" (a percentage like 30%% or a number of slots)",
		     v);
		return -1;
	}
	*out = (double)x;
	*pct = 0;
	return 0;
}

static int parse_timeout(const char *v, double *out, char *r, size_t rl)
{
	if (config_parse_duration(v, out) < 0 || *out < 0) {
		errf(r, rl,
		     "invalid duration \"%s\" (seconds, or a number with unit us, ms, s, min, h "
		     "or d)",
		     v);
		return -1;
	}
	return 0;
}

static int parse_sqlstate(const char *v, char out[6], char *r, size_t rl)
{
	if (strlen(v) != 5) {
		errf(r, rl, "invalid SQLSTATE \"%s\" (5 characters 0-9 or A-Z)", v);
		return -1;
	}
	for (int i = 0; i < 5; i++) {
		if (!isdigit((unsigned char)v[i]) && !(v[i] >= 'A' && v[i] <= 'Z')) {
			errf(r, rl, "invalid SQLSTATE \"%s\" (5 characters 0-9 or A-Z)", v);
			return -1;
		}
	}
	memcpy(out, v, 6);
	return 0;
}

/* ---- glob lists ---- */

static void globs_free(struct gov_globs *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

static int globs_parse(const char *v, struct gov_globs *g, char *r, size_t rl)
{
	const char *p = v;

	globs_free(g);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len) {
			char **nv = realloc(g->v, (size_t)(g->n + 1) * sizeof(*nv));
			if (!nv || !(nv[g->n] = strndup(s, len))) {
				if (nv)
					g->v = nv;
				errf(r, rl, "out of memory");
				return -1;
			}
			g->v = nv;
			g->n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int globs_match(const struct gov_globs *g, const char *s)
{
	for (int i = 0; s && i < g->n; i++)
		if (fnmatch(g->v[i], s, 0) == 0)
			return 1;
	return 0;
}

static void globs_render(const struct gov_globs *g, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < g->n && o < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", g->v[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* ---- tenants ---- */

enum tkey_type { TK_INT, TK_RATE, TK_GLOBS };

static const struct tkey {
	const char *name;
	enum tkey_type type;
	size_t off;
	long long lo, hi;
	int named_only; /* only in [tenant.NAME] */
} tenant_keys[] = {
    {"databases", TK_GLOBS, offsetof(struct gov_tenant_conf, databases), 0, 0, 1},
    {"users", TK_GLOBS, offsetof(struct gov_tenant_conf, users), 0, 0, 1},
    {"max_server_conn", TK_INT, offsetof(struct gov_tenant_conf, max_server_conn), 0, INT_LIMIT, 0},
    {"max_client_conn", TK_INT, offsetof(struct gov_tenant_conf, max_client_conn), 0, INT_LIMIT, 0},
    {"xact_rate", TK_RATE, offsetof(struct gov_tenant_conf, xact_rate), 0, 0, 0},
    {"xact_burst", TK_RATE, offsetof(struct gov_tenant_conf, xact_burst), 0, 0, 0},
    {"query_rate", TK_RATE, offsetof(struct gov_tenant_conf, query_rate), 0, 0, 0},
    {"query_burst", TK_RATE, offsetof(struct gov_tenant_conf, query_burst), 0, 0, 0},
    {"weight", TK_INT, offsetof(struct gov_tenant_conf, weight), 1, 10000, 0},
    {"max_queue", TK_INT, offsetof(struct gov_tenant_conf, max_queue), 0, INT_LIMIT, 0},
};
#define N_TENANT_KEYS (sizeof(tenant_keys) / sizeof(tenant_keys[0]))

static void tenant_free(struct gov_tenant_conf *t)
{
	globs_free(&t->databases);
	globs_free(&t->users);
}

static void tenant_builtin_defaults(struct gov_tenant_conf *t)
{
	memset(t, 0, sizeof(*t));
	t->max_server_conn = 10;
	t->max_client_conn = 500;
	t->weight = 1;
	t->max_queue = 1000;
}

/* Fill t from base plus the pairs of sec. On error t may hold allocations (tenant_free it). */
static int tenant_parse(const struct cfg_section *sec, const struct gov_tenant_conf *base,
                        int named, struct gov_tenant_conf *t, char *err, size_t errlen)
{
	char reason[256];

	*t = *base;
	t->databases.v = t->users.v = NULL;
	t->databases.n = t->users.n = 0;
	t->file = sec->file;
	t->line = sec->line;
	for (int i = 0; i < sec->n_kv; i++) {
		const struct cfg_kv *kv = &sec->kv[i];
		const struct tkey *k = NULL;
		void *field;
		int rc;

		for (size_t j = 0; j < N_TENANT_KEYS; j++)
			if (strcasecmp(kv->key, tenant_keys[j].name) == 0)
				k = &tenant_keys[j];
		if (!k || (k->named_only && !named)) {
			errf(err, errlen, "%s:%d: %s: unknown key in [%s]", kv->file, kv->line,
			     kv->key, sec->name);
			return -1;
		}
		field = (char *)t + k->off;
		if (k->type == TK_INT)
			rc =
			    parse_int_range(kv->value, k->lo, k->hi, field, reason, sizeof(reason));
		else if (k->type == TK_RATE)
			rc = parse_rate(kv->value, field, reason, sizeof(reason));
		else
			rc = globs_parse(kv->value, field, reason, sizeof(reason));
		if (rc < 0) {
			errf(err, errlen, "%s:%d: %s: %s", kv->file, kv->line, kv->key, reason);
			return -1;
		}
	}
	if (named && !t->databases.n && !t->users.n) {
		/* A tenant with neither list stands for the database of its own name. */
		char *nm = strdup(t->name);
		char **v = malloc(sizeof(*v));
		if (!nm || !v) {
			free(nm);
			free(v);
			errf(err, errlen, "%s:%d: out of memory", sec->file, sec->line);
			return -1;
		}
		v[0] = nm;
		t->databases.v = v;
		t->databases.n = 1;
	}
	return 0;
}

/* ---- classes ---- */

static const char *const class_keys[] = {
    "match",         "priority",          "reserve",           "max",
    "queue_timeout", "statement_timeout", "overload_sqlstate", "route"};

const char *governor_route_name(int route)
{
	return route == ROUTE_REPLICA          ? "replica"
	       : route == ROUTE_PREFER_REPLICA ? "prefer-replica"
	                                       : "primary";
}

static int parse_route(const char *v, int *out, char *reason, size_t len)
{
	static const char *const names[] = {"primary", "replica", "prefer-replica"};
	for (int i = 0; i < 3; i++)
		if (!strcasecmp(v, names[i])) {
			*out = i;
			return 0;
		}
	errf(reason, len, "\"%s\": expected primary, replica or prefer-replica", v);
	return -1;
}

static void class_free(struct gov_class_conf *c)
{
	free(c->match_text);
	c->match_text = NULL;
	classify_ruleset_free(&c->match);
}

static void class_defaults(struct gov_class_conf *c, const char *name,
                           const struct sluice_config *cfg)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->max = 100;
	c->max_pct = 1;
	c->queue_timeout = cfg->query_wait_timeout;
	memcpy(c->overload_sqlstate, "53300", 6);
	c->file = cfg->path;
}

static int class_parse(const struct cfg_section *sec, struct gov_class_conf *c, char *err,
                       size_t errlen)
{
	char reason[512];
	int is_default = strcmp(c->name, "default") == 0;
	const struct cfg_kv *reserve_kv = NULL, *max_kv = NULL;

	c->file = sec->file;
	c->line = sec->line;
	for (int i = 0; i < sec->n_kv; i++) {
		const struct cfg_kv *kv = &sec->kv[i];
		const char *k = kv->key, *v = kv->value;
		int rc = 0, known = 0;

		for (size_t j = 0; j < sizeof(class_keys) / sizeof(class_keys[0]); j++)
			known |= strcasecmp(k, class_keys[j]) == 0;
		if (!known) {
			errf(err, errlen, "%s:%d: %s: unknown key in [%s]", kv->file, kv->line, k,
			     sec->name);
			return -1;
		}
		if (strcasecmp(k, "match") == 0) {
			if (is_default) {
				errf(
				    reason, sizeof(reason),
				    "[class.default] catches everything unmatched and may not have "
				    "match rules");
				rc = -1;
			} else {
				class_free(c);
				rc = classify_parse(v, &c->match, reason, sizeof(reason));
				if (rc == 0 && !(c->match_text = strdup(v))) {
					errf(reason, sizeof(reason), "out of memory");
					rc = -1;
				}
			}
		} else if (strcasecmp(k, "priority") == 0) {
			rc = parse_int_range(v, -1000000, 1000000, &c->priority, reason,
			                     sizeof(reason));
		} else if (strcasecmp(k, "reserve") == 0) {
			rc = parse_slots(v, &c->reserve, &c->reserve_pct, reason, sizeof(reason));
			reserve_kv = kv;
		} else if (strcasecmp(k, "max") == 0) {
			rc = parse_slots(v, &c->max, &c->max_pct, reason, sizeof(reason));
			if (rc == 0 && !(c->max > 0)) {
				errf(reason, sizeof(reason),
				     "must be at least 1 slot or a percentage above 0%%");
				rc = -1;
			}
			max_kv = kv;
		} else if (strcasecmp(k, "queue_timeout") == 0) {
			rc = parse_timeout(v, &c->queue_timeout, reason, sizeof(reason));
		} else if (strcasecmp(k, "statement_timeout") == 0) {
			rc = parse_timeout(v, &c->statement_timeout, reason, sizeof(reason));
		} else if (strcasecmp(k, "route") == 0) {
			rc = parse_route(v, &c->route, reason, sizeof(reason));
		} else {
			rc = parse_sqlstate(v, c->overload_sqlstate, reason, sizeof(reason));
		}
		if (rc < 0) {
			errf(err, errlen, "%s:%d: %s: %s", kv->file, kv->line, k, reason);
			return -1;
		}
	}
	if (!is_default && !c->match.n) {
		errf(err, errlen,
		     "%s:%d: [%s]: match: missing (a class other than default needs "
		     "match rules)",
		     sec->file, sec->line, sec->name);
		return -1;
	}
	if (c->reserve_pct == c->max_pct && c->max < c->reserve) {
		const struct cfg_kv *kv = max_kv ? max_kv : reserve_kv;
		errf(err, errlen, "%s:%d: %s: max (%g%s) is below reserve (%g%s)", kv->file,
		     kv->line, kv->key, c->max, c->max_pct ? "%" : "", c->reserve,
		     c->reserve_pct ? "%" : "");
		return -1;
	}
	return 0;
}

/* ---- load ---- */

void governor_conf_free(struct governor_conf *conf)
{
	tenant_free(&conf->defaults);
	for (int i = 0; i < conf->n_tenants; i++)
		tenant_free(&conf->tenants[i]);
	free(conf->tenants);
	for (int i = 0; i < conf->n_classes; i++)
		class_free(&conf->classes[i]);
	free(conf->classes);
	memset(conf, 0, sizeof(*conf));
}

static int section_is(const char *name, const char *prefix)
{
	return strncasecmp(name, prefix, strlen(prefix)) == 0;
}

static int add_tenant(const struct cfg_section *sec, struct governor_conf *out, char *err,
                      size_t errlen)
{
	const char *name = sec->name + 7;
	struct gov_tenant_conf *nt, base = out->defaults;

	if (!*name || strlen(name) >= CFG_NAME_MAX) {
		errf(err, errlen, "%s:%d: [%s]: tenant name must be 1 to %d characters", sec->file,
		     sec->line, sec->name, CFG_NAME_MAX - 1);
		return -1;
	}
	for (int i = 0; i < out->n_tenants; i++) {
		if (strcmp(out->tenants[i].name, name) == 0) {
			errf(err, errlen, "%s:%d: [%s]: duplicate tenant \"%s\"", sec->file,
			     sec->line, sec->name, name);
			return -1;
		}
	}
	nt = realloc(out->tenants, (size_t)(out->n_tenants + 1) * sizeof(*nt));
	if (!nt) {
		errf(err, errlen, "%s:%d: out of memory", sec->file, sec->line);
		return -1;
	}
	out->tenants = nt;
	nt = &out->tenants[out->n_tenants];
	snprintf(base.name, sizeof(base.name), "%s", name);
	if (tenant_parse(sec, &base, 1, nt, err, errlen) < 0) {
		tenant_free(nt);
		return -1;
	}
	out->n_tenants++;
	return 0;
}

static int add_class(const struct sluice_config *cfg, const struct cfg_section *sec,
                     const char *name, struct governor_conf *out, char *err, size_t errlen)
{
	struct gov_class_conf *c;

	if (!classify_valid_name(name)) {
		errf(err, errlen,
		     "%s:%d: [%s]: class name must be 1 to %d characters of A-Z a-z 0-9 _ - .",
		     sec->file, sec->line, sec->name, CLASSIFY_NAME_MAX - 1);
		return -1;
	}
	for (int i = 0; i < out->n_classes; i++) {
		if (strcmp(out->classes[i].name, name) == 0) {
			errf(err, errlen, "%s:%d: [%s]: duplicate class \"%s\"", sec->file,
			     sec->line, sec->name, name);
			return -1;
		}
	}
	if (out->n_classes >= SCHED_MAX_CLASSES) {
		errf(err, errlen, "%s:%d: [%s]: too many classes (at most %d, default included)",
		     sec->file, sec->line, sec->name, SCHED_MAX_CLASSES);
		return -1;
	}
	c = &out->classes[out->n_classes];
	class_defaults(c, name, cfg);
	out->n_classes++; /* counted now so that governor_conf_free releases partial state */
	return class_parse(sec, c, err, errlen);
}

int governor_conf_load(const struct sluice_config *cfg, struct governor_conf *out, char *err,
                       size_t errlen)
{
	const struct cfg_section *def_sec = NULL;
	double pct_sum = 0;

	memset(out, 0, sizeof(*out));
	tenant_builtin_defaults(&out->defaults);
	out->defaults.file = cfg->path;
	out->classes = calloc(SCHED_MAX_CLASSES, sizeof(*out->classes));
	if (!out->classes) {
		errf(err, errlen, "%s: out of memory", cfg->path);
		return -1;
	}
	for (int i = 0; i < cfg->n_extra; i++) {
		const struct cfg_section *sec = &cfg->extra_sections[i];
		if (strcasecmp(sec->name, "tenant_defaults") == 0) {
			struct gov_tenant_conf base = out->defaults;
			if (tenant_parse(sec, &base, 0, &out->defaults, err, errlen) < 0)
				goto fail;
		}
	}
	for (int i = 0; i < cfg->n_extra; i++) {
		const struct cfg_section *sec = &cfg->extra_sections[i];
		if (section_is(sec->name, "tenant.")) {
			if (add_tenant(sec, out, err, errlen) < 0)
				goto fail;
		} else if (section_is(sec->name, "class.")) {
			if (strcmp(sec->name + 6, "default") == 0)
				def_sec = sec;
			else if (add_class(cfg, sec, sec->name + 6, out, err, errlen) < 0)
				goto fail;
		}
	}
	if (def_sec) {
		if (add_class(cfg, def_sec, "default", out, err, errlen) < 0)
			goto fail;
	} else {
		if (out->n_classes >= SCHED_MAX_CLASSES) {
			errf(err, errlen, "%s: too many classes (at most %d, default included)",
			     cfg->path, SCHED_MAX_CLASSES);
			goto fail;
		}
		class_defaults(&out->classes[out->n_classes++], "default", cfg);
	}
	for (int i = 0; i < out->n_classes; i++) {
		const struct gov_class_conf *c = &out->classes[i];
		const struct cfg_kv *kv;
		const struct cfg_section *sec;
		char secname[CLASSIFY_NAME_MAX + 8];
		if (!c->reserve_pct)
			continue;
		pct_sum += c->reserve;
		if (pct_sum <= 100 + 1e-9)
			continue;
		snprintf(secname, sizeof(secname), "class.%s", c->name);
		sec = config_find_section(cfg, secname);
		cfg_section_get(sec, "reserve", &kv);
		errf(err, errlen,
		     "%s:%d: reserve: percentage reserves of all classes add up to %g%% (over "
		     "100%%)",
		     kv ? kv->file : c->file, kv ? kv->line : c->line, pct_sum);
		goto fail;
	}
	return 0;
fail:
	governor_conf_free(out);
	return -1;
}

/* ---- lookups ---- */

const struct gov_tenant_conf *governor_tenant_for(const struct governor_conf *conf,
                                                  const char *database, const char *user,
                                                  int *is_auto)
{
	for (int i = 0; i < conf->n_tenants; i++) {
		const struct gov_tenant_conf *t = &conf->tenants[i];
		if (t->databases.n && !globs_match(&t->databases, database))
			continue;
		if (t->users.n && !globs_match(&t->users, user))
			continue;
		if (is_auto)
			*is_auto = 0;
		return t;
	}
	if (is_auto)
		*is_auto = 1;
	return &conf->defaults;
}

int governor_class_for(const struct governor_conf *conf, const struct classify_facts *facts)
{
	for (int i = 0; i < conf->n_classes - 1; i++)
		if (classify_match(&conf->classes[i].match, facts))
			return i;
	return conf->n_classes - 1;
}

int governor_class_index(const struct governor_conf *conf, const char *name)
{
	for (int i = 0; i < conf->n_classes; i++)
		if (strcmp(conf->classes[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- rendering ---- */

int governor_tenant_field(const struct gov_tenant_conf *t, int i, const char **key, char *buf,
                          size_t len)
{
	const struct tkey *k;
	const void *field;

	if (i == 0) {
		*key = "name";
		snprintf(buf, len, "%s", t->name);
		return 0;
	}
	if (i < 0 || (size_t)i > N_TENANT_KEYS)
		return -1;
	k = &tenant_keys[i - 1];
	field = (const char *)t + k->off;
	*key = k->name;
	if (k->type == TK_INT)
		snprintf(buf, len, "%d", *(const int *)field);
	else if (k->type == TK_RATE)
		snprintf(buf, len, "%.15g", *(const double *)field);
	else
		globs_render(field, buf, len);
	return 0;
}

int governor_class_field(const struct gov_class_conf *c, int i, const char **key, char *buf,
                         size_t len)
{
	switch (i) {
	case 0:
		*key = "name";
		snprintf(buf, len, "%s", c->name);
		return 0;
	case 1:
		*key = "match";
		snprintf(buf, len, "%s", c->match_text ? c->match_text : "");
		return 0;
	case 2:
		*key = "priority";
		snprintf(buf, len, "%d", c->priority);
		return 0;
	case 3:
		*key = "reserve";
		snprintf(buf, len, "%.15g%s", c->reserve, c->reserve_pct ? "%" : "");
		return 0;
	case 4:
		*key = "max";
		snprintf(buf, len, "%.15g%s", c->max, c->max_pct ? "%" : "");
		return 0;
	case 5:
		*key = "queue_timeout";
		snprintf(buf, len, "%.15g", c->queue_timeout);
		return 0;
	case 6:
		*key = "statement_timeout";
		snprintf(buf, len, "%.15g", c->statement_timeout);
		return 0;
	case 7:
		*key = "overload_sqlstate";
		snprintf(buf, len, "%s", c->overload_sqlstate);
		return 0;
	case 8:
		*key = "route";
		snprintf(buf, len, "%s", governor_route_name(c->route));
		return 0;
	}
	return -1;
}

/* ---- single keys (runtime SET TENANT / SET CLASS) ---- */

int governor_tenant_set(struct gov_tenant_conf *t, const char *key, const char *value, char *err,
                        size_t errlen)
{
	const struct tkey *k = NULL;
	struct gov_tenant_conf tmp = *t;
	int rc;

	for (size_t j = 0; j < N_TENANT_KEYS; j++)
		if (strcasecmp(key, tenant_keys[j].name) == 0)
			k = &tenant_keys[j];
	if (!k) {
		errf(err, errlen, "unknown tenant key \"%s\"", key);
		return -1;
	}
	if (k->type == TK_GLOBS) {
		/* The mapping decides which pools belong to which tenant: it stays in the file. */
		errf(err, errlen, "%s cannot be changed at runtime (edit the file and RELOAD)",
		     k->name);
		return -1;
	}
	void *field = (char *)&tmp + k->off;
	if (k->type == TK_INT)
		rc = parse_int_range(value, k->lo, k->hi, field, err, errlen);
	else
		rc = parse_rate(value, field, err, errlen);
	if (rc < 0)
		return -1;
	*t = tmp;
	return 0;
}

int governor_class_set(struct gov_class_conf *c, const char *key, const char *value, char *err,
                       size_t errlen)
{
	struct gov_class_conf tmp = *c;
	int rc;

	if (strcasecmp(key, "priority") == 0) {
		rc = parse_int_range(value, -1000000, 1000000, &tmp.priority, err, errlen);
	} else if (strcasecmp(key, "reserve") == 0) {
		rc = parse_slots(value, &tmp.reserve, &tmp.reserve_pct, err, errlen);
	} else if (strcasecmp(key, "max") == 0) {
		rc = parse_slots(value, &tmp.max, &tmp.max_pct, err, errlen);
		if (rc == 0 && !(tmp.max > 0)) {
			errf(err, errlen, "must be at least 1 slot or a percentage above 0%%");
			rc = -1;
		}
	} else if (strcasecmp(key, "queue_timeout") == 0) {
		rc = parse_timeout(value, &tmp.queue_timeout, err, errlen);
	} else if (strcasecmp(key, "statement_timeout") == 0) {
		rc = parse_timeout(value, &tmp.statement_timeout, err, errlen);
	} else if (strcasecmp(key, "overload_sqlstate") == 0) {
		rc = parse_sqlstate(value, tmp.overload_sqlstate, err, errlen);
	} else if (strcasecmp(key, "route") == 0) {
		rc = parse_route(value, &tmp.route, err, errlen);
	} else if (strcasecmp(key, "match") == 0) {
		errf(err, errlen, "match cannot be changed at runtime (edit the file and RELOAD)");
		return -1;
	} else {
		errf(err, errlen, "unknown class key \"%s\"", key);
		return -1;
	}
	if (rc < 0)
		return -1;
	if (tmp.reserve_pct == tmp.max_pct && tmp.max < tmp.reserve) {
		errf(err, errlen, "max (%g%s) would be below reserve (%g%s)", tmp.max,
		     tmp.max_pct ? "%" : "", tmp.reserve, tmp.reserve_pct ? "%" : "");
		return -1;
	}
	*c = tmp;
	return 0;
}

int governor_tenant_key_value(const struct gov_tenant_conf *t, const char *key, char *buf,
                              size_t len)
{
	const char *k;
	for (int i = 0; governor_tenant_field(t, i, &k, buf, len) == 0; i++)
		if (strcasecmp(k, key) == 0)
			return 0;
	return -1;
}

int governor_class_key_value(const struct gov_class_conf *c, const char *key, char *buf, size_t len)
{
	const char *k;
	for (int i = 0; governor_class_field(c, i, &k, buf, len) == 0; i++)
		if (strcasecmp(k, key) == 0)
			return 0;
	return -1;
}
