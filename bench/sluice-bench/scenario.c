/* Scenario loader (see scenario.h). The file goes through config_load, which knows nothing of
 * [scenario] or [workload.*] and keeps them as raw sections; this file then reads those sections
 * key by key, strictly (an unknown key is an error, so a typo cannot silently change a run). */
#include "scenario.h"

#include "config.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct loadctx {
	char *err;
	size_t errlen;
};

/* config_load's warnings are about sluice's own settings (every section of a scenario is
 * "unknown" to it, and it misses an auth_file): none applies here. Unknown scenario sections are
 * reported by scenario_load itself. */
static void warn_cb(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

void scenario_strip_comment(char *v)
{
	for (char *p = v; *p; p++) {
		if ((*p == ';' || *p == '#') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
}

int scenario_parse_codes(const char *s, char codes[][6], int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		size_t len = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		if (len != 5 || n >= max)
			return -1;
		memcpy(codes[n], s, 5);
		codes[n][5] = '\0';
		n++;
		s += len;
		if (*s && *s != ',' && *s != ' ' && *s != '\t')
			return -1;
	}
	return n;
}

/* Resolve a path given in file (relative paths are relative to that file's directory). */
static char *rel_path(const char *file, const char *value)
{
	char *copy, *out = NULL;

	if (value[0] == '/')
		return strdup(value);
	copy = strdup(file);
	if (!copy)
		return NULL;
	if (asprintf(&out, "%s/%s", dirname(copy), value) < 0)
		out = NULL;
	free(copy);
	return out;
}

static int bad(struct loadctx *lc, const struct cfg_kv *kv, const char *why)
{
	snprintf(lc->err, lc->errlen, "%s:%d: %s: %s", kv->file, kv->line, kv->key, why);
	return -1;
}

static int get_duration(struct loadctx *lc, const struct cfg_kv *kv, const char *v, double *out,
                        int positive)
{
	if (config_parse_duration(v, out) < 0 || *out < 0 || (positive && *out <= 0))
		return bad(lc, kv,
		           positive ? "expected a positive duration (e.g. 60s, 500ms)"
		                    : "expected a duration (e.g. 60s, 500ms)");
	return 0;
}

static int get_int(struct loadctx *lc, const struct cfg_kv *kv, const char *v, long long lo,
                   long long hi, long long *out)
{
	char why[96];

	if (config_parse_int(v, out) < 0 || *out < lo || *out > hi) {
		snprintf(why, sizeof(why), "expected an integer from %lld to %lld", lo, hi);
		return bad(lc, kv, why);
	}
	return 0;
}

static int get_double(struct loadctx *lc, const struct cfg_kv *kv, const char *v, double *out)
{
	char *end;

	*out = strtod(v, &end);
	if (end == v || *end || !(*out >= 0))
		return bad(lc, kv, "expected a non-negative number");
	return 0;
}

static int get_str(struct loadctx *lc, const struct cfg_kv *kv, const char *v, char **out)
{
	free(*out);
	*out = strdup(v);
	if (!*out)
		return bad(lc, kv, "out of memory");
	return 0;
}

static int scenario_key(struct loadctx *lc, struct scenario *sc, const struct cfg_kv *kv,
                        const char *v)
{
	const char *k = kv->key;
	long long n;

	if (!strcasecmp(k, "duration"))
		return get_duration(lc, kv, v, &sc->duration, 1);
	if (!strcasecmp(k, "warmup"))
		return get_duration(lc, kv, v, &sc->warmup, 0);
	if (!strcasecmp(k, "ramp"))
		return get_duration(lc, kv, v, &sc->ramp, 0);
	if (!strcasecmp(k, "drain_timeout"))
		return get_duration(lc, kv, v, &sc->drain_timeout, 0);
	if (!strcasecmp(k, "seed")) {
		if (get_int(lc, kv, v, 0, INT64_MAX, &n) < 0)
			return -1;
		sc->seed = (uint64_t)n;
		return 0;
	}
	if (!strcasecmp(k, "scale")) {
		if (get_int(lc, kv, v, 1, 1000000, &n) < 0)
			return -1;
		sc->scale = n;
		return 0;
	}
	if (!strcasecmp(k, "threads")) {
		if (get_int(lc, kv, v, 0, 64, &n) < 0)
			return -1;
		sc->threads = (int)n;
		return 0;
	}
	if (!strcasecmp(k, "port")) {
		if (get_int(lc, kv, v, 1, 65535, &n) < 0)
			return -1;
		sc->port = (int)n;
		return 0;
	}
	if (!strcasecmp(k, "name"))
		return get_str(lc, kv, v, &sc->name);
	if (!strcasecmp(k, "description"))
		return 0; /* for the reader of the file */
	if (!strcasecmp(k, "host"))
		return get_str(lc, kv, v, &sc->host);
	if (!strcasecmp(k, "user"))
		return get_str(lc, kv, v, &sc->user);
	if (!strcasecmp(k, "maintenance_db"))
		return get_str(lc, kv, v, &sc->maint_db);
	if (!strcasecmp(k, "init")) {
		free(sc->init_path);
		sc->init_path = rel_path(kv->file, v);
		return sc->init_path ? 0 : bad(lc, kv, "out of memory");
	}
	if (!strcasecmp(k, "max_p99_ratio"))
		return get_double(lc, kv, v, &sc->max_p99_ratio);
	if (!strcasecmp(k, "min_tps_ratio"))
		return get_double(lc, kv, v, &sc->min_tps_ratio);
	if (!strcasecmp(k, "max_error_rate"))
		return get_double(lc, kv, v, &sc->max_error_rate);
	return bad(lc, kv, "unknown key in [scenario]");
}

static int workload_key(struct loadctx *lc, struct workload *w, const struct cfg_kv *kv,
                        const char *v)
{
	const char *k = kv->key;
	long long n;
	int b;

	if (!strcasecmp(k, "database"))
		return get_str(lc, kv, v, &w->database);
	if (!strcasecmp(k, "application_name"))
		return get_str(lc, kv, v, &w->application_name);
	if (!strcasecmp(k, "clients")) {
		if (get_int(lc, kv, v, 1, 100000, &n) < 0)
			return -1;
		w->clients = (int)n;
		return 0;
	}
	if (!strcasecmp(k, "rate"))
		return get_double(lc, kv, v, &w->rate);
	if (!strcasecmp(k, "think_time"))
		return get_duration(lc, kv, v, &w->think_time, 0);
	if (!strcasecmp(k, "protocol")) {
		if (strcasecmp(v, "simple") && strcasecmp(v, "extended"))
			return bad(lc, kv, "expected simple or extended");
		w->extended = !strcasecmp(v, "extended");
		return 0;
	}
	if (!strcasecmp(k, "retry")) {
		int c = scenario_parse_codes(v, w->retry, SCEN_MAX_RETRY_CODES);
		if (c < 0)
			return bad(lc, kv,
			           "expected a list of SQLSTATEs (5 characters each, at "
			           "most 8), e.g. 40001, 40P01, 55P03");
		w->n_retry = c;
		return 0;
	}
	if (!strcasecmp(k, "retry_max")) {
		if (get_int(lc, kv, v, 0, 100, &n) < 0)
			return -1;
		w->retry_max = (int)n;
		return 0;
	}
	if (!strcasecmp(k, "retry_backoff"))
		return get_duration(lc, kv, v, &w->retry_backoff, 0);
	if (!strcasecmp(k, "reconnect") || !strcasecmp(k, "ledger")) {
		if (config_parse_bool(v, &b) < 0)
			return bad(lc, kv, "expected yes or no");
		*(!strcasecmp(k, "ledger") ? &w->ledger : &w->reconnect) = b;
		return 0;
	}
	if (!strcasecmp(k, "slo_p99"))
		return get_duration(lc, kv, v, &w->slo_p99, 0);
	if (!strcasecmp(k, "script") || !strcasecmp(k, "init")) {
		char **dst = !strcasecmp(k, "script") ? &w->script_path : &w->init_path;
		free(*dst);
		*dst = rel_path(kv->file, v);
		return *dst ? 0 : bad(lc, kv, "out of memory");
	}
	return bad(lc, kv, "unknown key in a [workload.*] section");
}

/* Apply every pair of a section through fn (values without their trailing comments). */
static int each_kv(struct loadctx *lc, const struct cfg_section *sec, void *obj,
                   int (*fn)(struct loadctx *, void *, const struct cfg_kv *, const char *))
{
	for (int i = 0; i < sec->n_kv; i++) {
		char *v = strdup(sec->kv[i].value);
		if (!v)
			return bad(lc, &sec->kv[i], "out of memory");
		scenario_strip_comment(v);
		int rc = fn(lc, obj, &sec->kv[i], v);
		free(v);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int scen_fn(struct loadctx *lc, void *o, const struct cfg_kv *kv, const char *v)
{
	return scenario_key(lc, o, kv, v);
}

static int wl_fn(struct loadctx *lc, void *o, const struct cfg_kv *kv, const char *v)
{
	return workload_key(lc, o, kv, v);
}

static int finish_workload(struct loadctx *lc, const struct cfg_section *sec, struct workload *w)
{
	char why[1024];

	if (!w->name[0] || strlen(w->name) > 48 ||
	    strspn(w->name, "abcdefghijklmnopqrstuvwxyz"
	                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                    "0123456789_-") != strlen(w->name)) {
		snprintf(lc->err, lc->errlen,
		         "%s:%d: [%s]: workload names are 1 to 48 letters, digits, '_' or '-'",
		         sec->file, sec->line, sec->name);
		return -1;
	}
	if (!w->database) {
		snprintf(lc->err, lc->errlen, "%s:%d: [%s]: database is required", sec->file,
		         sec->line, sec->name);
		return -1;
	}
	if (!w->script_path) {
		snprintf(lc->err, lc->errlen, "%s:%d: [%s]: script is required", sec->file,
		         sec->line, sec->name);
		return -1;
	}
	if (w->rate > 0 && w->think_time > 0) {
		snprintf(lc->err, lc->errlen,
		         "%s:%d: [%s]: rate (open loop) and think_time (closed loop) exclude each "
		         "other",
		         sec->file, sec->line, sec->name);
		return -1;
	}
	w->script = script_load(w->script_path, why, sizeof(why));
	if (!w->script) {
		snprintf(lc->err, lc->errlen, "[%s]: %s", sec->name, why);
		return -1;
	}
	return 0;
}

struct scenario *scenario_load(const char *path, char *err, size_t errlen)
{
	struct loadctx lc = {err, errlen};
	struct sluice_config *cfg = NULL;
	struct scenario *sc = calloc(1, sizeof(*sc));
	int nw = 0, have_scenario = 0;

	if (!sc || !(sc->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	sc->duration = 60;
	sc->drain_timeout = 60;
	sc->seed = 1;
	sc->scale = 1;
	if (config_load(path, &cfg, err, errlen, warn_cb, NULL) < 0)
		goto fail;
	for (int i = 0; i < cfg->n_extra; i++)
		nw += !strncasecmp(cfg->extra_sections[i].name, "workload.", 9);
	sc->w = calloc((size_t)(nw ? nw : 1), sizeof(*sc->w));
	if (!sc->w) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (int i = 0; i < cfg->n_extra; i++) {
		const struct cfg_section *sec = &cfg->extra_sections[i];
		if (!strcasecmp(sec->name, "scenario")) {
			have_scenario = 1;
			if (each_kv(&lc, sec, sc, scen_fn) < 0)
				goto fail;
		} else if (!strncasecmp(sec->name, "workload.", 9)) {
			struct workload *w = &sc->w[sc->n_w++];
			w->clients = 1;
			w->retry_max = 5; /* Odoo's MAX_TRIES_ON_CONCURRENCY_FAILURE */
			w->retry_backoff = 1.0;
			if (!(w->name = strdup(sec->name + 9))) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			if (each_kv(&lc, sec, w, wl_fn) < 0 || finish_workload(&lc, sec, w) < 0)
				goto fail;
		} else {
			fprintf(stderr,
			        "sluice-bench: warning: %s:%d: [%s]: unknown section, ignored\n",
			        sec->file, sec->line, sec->name);
		}
	}
	if (!have_scenario || sc->n_w == 0) {
		snprintf(err, errlen,
		         "%s: a scenario needs a [scenario] section and at least one "
		         "[workload.NAME] section",
		         path);
		goto fail;
	}
	if (!sc->name) {
		char *copy = strdup(path), *base;
		if (!copy)
			goto fail;
		base = basename(copy);
		char *dot = strrchr(base, '.');
		if (dot && dot != base)
			*dot = '\0';
		sc->name = strdup(base);
		free(copy);
		if (!sc->name)
			goto fail;
	}
	config_free(cfg);
	return sc;
fail:
	config_free(cfg);
	scenario_free(sc);
	return NULL;
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (int i = 0; i < sc->n_w; i++) {
		struct workload *w = &sc->w[i];
		free(w->name);
		free(w->database);
		free(w->application_name);
		free(w->script_path);
		free(w->init_path);
		script_free(w->script);
	}
	free(sc->w);
	free(sc->path);
	free(sc->name);
	free(sc->host);
	free(sc->user);
	free(sc->maint_db);
	free(sc->init_path);
	free(sc);
}

int scenario_keep_only(struct scenario *sc, const char *names, char *err, size_t errlen)
{
	char *list = strdup(names), *save = NULL;
	int *keep = calloc((size_t)sc->n_w, sizeof(*keep)), n = 0, rc = -1;

	if (!list || !keep) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		int found = 0;
		for (int i = 0; i < sc->n_w; i++)
			if (strcmp(sc->w[i].name, t) == 0)
				found = keep[i] = 1;
		if (!found) {
			snprintf(err, errlen, "no workload named %s in %s", t, sc->path);
			goto out;
		}
	}
	for (int i = 0; i < sc->n_w; i++) {
		if (keep[i]) {
			sc->w[n++] = sc->w[i];
			continue;
		}
		struct workload *w = &sc->w[i];
		free(w->name);
		free(w->database);
		free(w->application_name);
		free(w->script_path);
		free(w->init_path);
		script_free(w->script);
	}
	if (n == 0) {
		snprintf(err, errlen, "no workload selected");
		sc->n_w = n;
		goto out;
	}
	sc->n_w = n;
	rc = 0;
out:
	free(list);
	free(keep);
	return rc;
}
