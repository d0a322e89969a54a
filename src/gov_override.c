/* Runtime overrides layered over the config snapshot (see include/gov_override.h). */
#include "gov_override.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "config.h"
#include "gov.h"
#include "governor.h"
#include "log.h"
#include "pool.h"
#include "worker.h"

struct ovr_entry {
	enum ovr_scope scope;
	char name[CFG_NAME_MAX];
	char key[48];
	char value[ADMIN_ARG_MAX];
	char file_value[ADMIN_ARG_MAX]; /* what the file said when the override was made */
};

/* A tenant's private settings: the file's (named or defaults) plus its overrides. */
struct ovr_tenant {
	struct list node;
	char name[CFG_NAME_MAX];
	struct gov_tenant_conf conf;
};

struct gov_overrides {
	struct ovr_entry *e;
	int n, cap;
	struct list tenants; /* struct ovr_tenant */
	const struct sluice_config *based_on;
};

static const char *const scope_names[] = {"", "tenant", "class"};

int ovr_init(struct worker *w)
{
	struct gov_overrides *o = calloc(1, sizeof(*o));
	if (!o)
		return -1;
	list_init(&o->tenants);
	o->based_on = w->cfg;
	w->admin->ovr = o;
	return 0;
}

void ovr_free(struct worker *w)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	struct list *it, *n;
	if (!o)
		return;
	list_for_each_safe(it, n, &o->tenants)
	{
		free(list_entry(it, struct ovr_tenant, node));
	}
	free(o->e);
	free(o);
	w->admin->ovr = NULL;
}

/* The file's settings of tenant name in the current snapshot: its [tenant.NAME], else the
 * defaults every auto tenant (named after its database) runs with. */
static const struct gov_tenant_conf *tenant_base(const struct worker *w, const char *name)
{
	const struct governor_conf *gc = w->cfg->gov;
	if (!gc)
		return NULL;
	for (int i = 0; i < gc->n_tenants; i++)
		if (!strcmp(gc->tenants[i].name, name))
			return &gc->tenants[i];
	return &gc->defaults;
}

static struct gov_class_conf *class_of(const struct worker *w, const char *name)
{
	const struct governor_conf *gc = w->cfg->gov;
	int i = gc ? governor_class_index(gc, name) : -1;
	/* The worker owns its snapshot outright: writing a class's live values into it is the
	 * documented way overrides reach the scheduler. */
	return i >= 0 ? (struct gov_class_conf *)&gc->classes[i] : NULL;
}

/* A known tenant: named in the file, or one the worker has met (auto tenants). */
static int tenant_known(struct worker *w, const char *name)
{
	struct list *it;
	const struct governor_conf *gc = w->cfg->gov;
	for (int i = 0; gc && i < gc->n_tenants; i++)
		if (!strcmp(gc->tenants[i].name, name))
			return 1;
	list_for_each(it, &w->gov.tenants)
	{
		if (!strcmp(list_entry(it, struct gov_tenant, node)->name, name))
			return 1;
	}
	return 0;
}

/* Current value of a key as the file (or a default) gives it in the current snapshot, before
 * the override of that very key is applied. */
static int file_value(struct worker *w, const struct ovr_entry *e, char *buf, size_t len)
{
	if (e->scope == OVR_MAIN)
		return config_key_value(w->cfg, e->key, buf, len);
	if (e->scope == OVR_TENANT) {
		const struct gov_tenant_conf *b = tenant_base(w, e->name);
		return b ? governor_tenant_key_value(b, e->key, buf, len) : -1;
	}
	const struct gov_class_conf *c = class_of(w, e->name);
	return c ? governor_class_key_value(c, e->key, buf, len) : -1;
}

static struct ovr_tenant *tcopy_find(struct gov_overrides *o, const char *name)
{
	struct list *it;
	list_for_each(it, &o->tenants)
	{
		struct ovr_tenant *t = list_entry(it, struct ovr_tenant, node);
		if (!strcmp(t->name, name))
			return t;
	}
	return NULL;
}

/* Rebuild every tenant copy from its base plus its overrides; copies of tenants without
 * overrides go. Pointers to a copy stay valid while the copy exists (updated in place). */
static void build_tenants(struct worker *w)
{
	struct gov_overrides *o = w->admin->ovr;
	struct list *it, *n;
	list_for_each_safe(it, n, &o->tenants)
	{
		struct ovr_tenant *t = list_entry(it, struct ovr_tenant, node);
		int used = 0;
		for (int i = 0; i < o->n; i++)
			used |= o->e[i].scope == OVR_TENANT && !strcmp(o->e[i].name, t->name);
		if (!used) {
			list_del(&t->node);
			free(t);
		}
	}
	for (int i = 0; i < o->n; i++) {
		struct ovr_entry *e = &o->e[i];
		if (e->scope != OVR_TENANT)
			continue;
		const struct gov_tenant_conf *b = tenant_base(w, e->name);
		if (!b)
			continue;
		struct ovr_tenant *t = tcopy_find(o, e->name);
		if (!t) {
			t = calloc(1, sizeof(*t));
			if (!t)
				continue;
			snprintf(t->name, sizeof(t->name), "%s", e->name);
			list_append(&o->tenants, &t->node);
		}
		/* Copy from the base only once per rebuild: the first entry of this tenant. */
		int first = 1;
		for (int k = 0; k < i; k++)
			first &= !(o->e[k].scope == OVR_TENANT && !strcmp(o->e[k].name, e->name));
		if (first) {
			t->conf = *b;
			/* The copy never matches logins (the snapshot's tenants do): it holds no
			 * pointers into a snapshot that a reload will free. */
			memset(&t->conf.databases, 0, sizeof(t->conf.databases));
			memset(&t->conf.users, 0, sizeof(t->conf.users));
			t->conf.file = NULL;
			t->conf.line = 0;
		}
		char err[200];
		if (governor_tenant_set(&t->conf, e->key, e->value, err, sizeof(err)) < 0)
			log_warn("SET TENANT %s %s: %s", e->name, e->key, err);
	}
}

static int apply_entry(struct worker *w, const struct ovr_entry *e, char *err, size_t errlen)
{
	if (e->scope == OVR_MAIN)
		return config_set_key((struct sluice_config *)w->cfg, e->key, e->value, err,
		                      errlen);
	if (e->scope == OVR_CLASS) {
		struct gov_class_conf *c = class_of(w, e->name);
		if (!c) {
			snprintf(err, errlen, "no such class: %s", e->name);
			return -1;
		}
		return governor_class_set(c, e->key, e->value, err, errlen);
	}
	return 0; /* tenants: build_tenants */
}

/* Main-section keys that the worker reads outside the pools (logging). */
static void main_key_side_effects(struct worker *w, const char *key)
{
	if (!strcasecmp(key, "verbose")) {
		int lvl = LOG_LVL_LOG + w->cfg->verbose;
		log_threshold = lvl > LOG_LVL_NOISE ? LOG_LVL_NOISE : lvl;
	}
}

static void reapply(struct worker *w)
{
	build_tenants(w);
	pool_apply_config(w);
	gov_apply_config(w);
}

void ovr_sync(struct worker *w)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	if (!o || o->based_on == w->cfg)
		return;
	o->based_on = w->cfg;
	/* First decide on every entry against the untouched new snapshot, then apply. */
	int keep = 0;
	for (int i = 0; i < o->n; i++) {
		struct ovr_entry *e = &o->e[i];
		char now[ADMIN_ARG_MAX];
		if (file_value(w, e, now, sizeof(now)) < 0) {
			log_info("RELOAD: %s %s is gone from the file: runtime %s = %s dropped",
			         scope_names[e->scope], e->name, e->key, e->value);
			continue;
		}
		if (strcmp(now, e->file_value)) {
			log_info("RELOAD: the file changed %s%s%s %s (%s -> %s): runtime value %s "
			         "dropped",
			         scope_names[e->scope], *e->name ? " " : "", e->name, e->key,
			         e->file_value, now, e->value);
			continue;
		}
		o->e[keep++] = *e;
	}
	o->n = keep;
	for (int i = 0; i < o->n; i++) {
		char err[256];
		if (apply_entry(w, &o->e[i], err, sizeof(err)) < 0)
			log_warn("RELOAD: runtime %s %s %s = %s no longer applies: %s",
			         scope_names[o->e[i].scope], o->e[i].name, o->e[i].key,
			         o->e[i].value, err);
		else if (o->e[i].scope == OVR_MAIN)
			main_key_side_effects(w, o->e[i].key);
	}
	build_tenants(w);
}

int ovr_set(struct worker *w, enum ovr_scope scope, const char *name, const char *key,
            const char *value, char *err, size_t errlen)
{
	struct gov_overrides *o = w->admin->ovr;
	struct ovr_entry e = {0};
	e.scope = scope;
	snprintf(e.name, sizeof(e.name), "%s", scope == OVR_MAIN ? "" : name);
	snprintf(e.key, sizeof(e.key), "%s", key);
	snprintf(e.value, sizeof(e.value), "%s", value);
	for (char *p = e.key; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (scope != OVR_MAIN && !w->cfg->gov) {
		snprintf(err, errlen,
		         "the governor is off (no [tenant_defaults], [tenant.*] or [class.*] "
		         "section in the configuration)");
		return -1;
	}
	if (scope == OVR_TENANT && !tenant_known(w, name)) {
		snprintf(err, errlen, "no such tenant: %s", name);
		return -1;
	}
	if (scope == OVR_CLASS && !class_of(w, name)) {
		snprintf(err, errlen, "no such class: %s", name);
		return -1;
	}
	if (scope == OVR_MAIN && config_key_reloadable(e.key) < 0) {
		snprintf(err, errlen, "unknown configuration key: %s", key);
		return -1;
	}
	/* These act when the file is loaded (the auth_file is parsed then, the log file opened by
	 * the control plane): a runtime value would show in SHOW CONFIG and do nothing. */
	if (scope == OVR_MAIN && (!strcmp(e.key, "auth_file") || !strcmp(e.key, "logfile"))) {
		snprintf(err, errlen, "%s takes effect through the file only: edit it and RELOAD",
		         e.key);
		return -1;
	}
	/* Validate on a scratch copy first, so a bad value changes nothing. */
	if (scope == OVR_TENANT) {
		struct gov_tenant_conf tmp = *tenant_base(w, name);
		if (governor_tenant_set(&tmp, e.key, value, err, errlen) < 0)
			return -1;
	} else if (scope == OVR_CLASS) {
		struct gov_class_conf tmp = *class_of(w, name);
		if (governor_class_set(&tmp, e.key, value, err, errlen) < 0)
			return -1;
	}
	int idx = -1;
	for (int i = 0; i < o->n; i++)
		if (o->e[i].scope == scope && !strcmp(o->e[i].name, e.name) &&
		    !strcmp(o->e[i].key, e.key))
			idx = i;
	if (idx >= 0) {
		snprintf(e.file_value, sizeof(e.file_value), "%s", o->e[idx].file_value);
	} else if (file_value(w, &e, e.file_value, sizeof(e.file_value)) < 0) {
		snprintf(err, errlen, "unknown key: %s", key);
		return -1;
	}
	if (apply_entry(w, &e, err, errlen) < 0)
		return -1;
	if (idx < 0) {
		if (o->n == o->cap) {
			int cap = o->cap ? o->cap * 2 : 16;
			struct ovr_entry *ne = realloc(o->e, (size_t)cap * sizeof(*ne));
			if (!ne) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			o->e = ne;
			o->cap = cap;
		}
		idx = o->n++;
	}
	o->e[idx] = e;
	if (scope == OVR_MAIN)
		main_key_side_effects(w, e.key);
	log_info("runtime change: %s%s%s %s = %s (file: %s)", scope_names[scope],
	         scope == OVR_MAIN ? "" : " ", e.name, e.key, e.value, e.file_value);
	reapply(w);
	return 0;
}

int ovr_reset(struct worker *w, enum ovr_scope scope, const char *name, const char *key, char *err,
              size_t errlen)
{
	struct gov_overrides *o = w->admin->ovr;
	int keep = 0, dropped = 0;
	if (scope == OVR_TENANT && !tenant_known(w, name)) {
		snprintf(err, errlen, "no such tenant: %s", name);
		return -1;
	}
	if (scope == OVR_CLASS && !class_of(w, name)) {
		snprintf(err, errlen, "no such class: %s", name);
		return -1;
	}
	for (int i = 0; i < o->n; i++) {
		struct ovr_entry *e = &o->e[i];
		if (e->scope == scope && !strcmp(e->name, name) &&
		    (!key || !strcasecmp(e->key, key))) {
			/* Classes were written into the snapshot: put the file's value back. */
			if (scope == OVR_CLASS) {
				struct ovr_entry back = *e;
				snprintf(back.value, sizeof(back.value), "%s", e->file_value);
				apply_entry(w, &back, err, errlen);
			}
			dropped++;
			continue;
		}
		o->e[keep++] = *e;
	}
	o->n = keep;
	if (dropped) {
		log_info("runtime change: RESET %s %s (%d value%s back to the file's)",
		         scope_names[scope], name, dropped, dropped == 1 ? "" : "s");
		reapply(w);
	}
	return dropped;
}

const struct gov_tenant_conf *ovr_tenant_conf(struct worker *w, const char *name,
                                              const struct gov_tenant_conf *base)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	if (!o || !base || list_empty(&o->tenants))
		return base;
	struct ovr_tenant *t = tcopy_find(o, name);
	return t ? &t->conf : base;
}

int ovr_get(struct worker *w, int i, enum ovr_scope *scope, const char **name, const char **key,
            const char **value, const char **file_value)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	if (!o || i < 0 || i >= o->n)
		return -1;
	*scope = o->e[i].scope;
	*name = o->e[i].name;
	*key = o->e[i].key;
	*value = o->e[i].value;
	*file_value = o->e[i].file_value;
	return 0;
}

int ovr_is_set(struct worker *w, enum ovr_scope scope, const char *name, const char *key)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	for (int i = 0; o && i < o->n; i++)
		if (o->e[i].scope == scope &&
		    !strcmp(o->e[i].name, scope == OVR_MAIN ? "" : name) &&
		    !strcasecmp(o->e[i].key, key))
			return 1;
	return 0;
}

int ovr_list(struct worker *w, enum ovr_scope scope, const char *name, char *buf, size_t len)
{
	struct gov_overrides *o = w->admin ? w->admin->ovr : NULL;
	size_t used = 0;
	int count = 0;
	buf[0] = '\0';
	for (int i = 0; o && i < o->n; i++) {
		const struct ovr_entry *e = &o->e[i];
		if (e->scope != scope || strcmp(e->name, name))
			continue;
		int k =
		    snprintf(buf + used, len - used, "%s%s=%s", count ? "," : "", e->key, e->value);
		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
		count++;
	}
	return count;
}
