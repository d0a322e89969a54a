/* Runtime overrides: values an operator set with SET key = value, SET TENANT name key = value or
 * SET CLASS name key = value. The worker keeps them as a layer over its config snapshot: each
 * new snapshot (RELOAD) gets the layer applied again, except for keys whose value in the file
 * changed since the override was made (the file wins then, and the override is dropped with a
 * log line). Tenant overrides live in private copies of the tenant's settings (so one auto
 * tenant can differ from the [tenant_defaults] it shares); class and main-section overrides are
 * written into the worker's own snapshot, which no other thread reads. */
#ifndef SLUICE_GOV_OVERRIDE_H
#define SLUICE_GOV_OVERRIDE_H

#include <stddef.h>

struct worker;
struct gov_tenant_conf;

enum ovr_scope { OVR_MAIN, OVR_TENANT, OVR_CLASS };

/* Allocate / free the worker's layer (w->admin->ovr). */
int ovr_init(struct worker *w);
void ovr_free(struct worker *w);
/* Set one override and apply it at once (pools and governor re-resolved). 0, or -1 with the
 * reason in err (unknown tenant/class/key, invalid value, key not changeable at runtime). */
int ovr_set(struct worker *w, enum ovr_scope scope, const char *name, const char *key,
            const char *value, char *err, size_t errlen);
/* Drop the overrides of a tenant or class (key NULL: all of them) and go back to the file's
 * values. Returns how many were dropped, or -1 with err for an unknown name. */
int ovr_reset(struct worker *w, enum ovr_scope scope, const char *name, const char *key, char *err,
              size_t errlen);
/* Bring the layer onto the worker's current snapshot if it is a new one (after a RELOAD):
 * called before the pools and the governor read it. Cheap when nothing changed. */
void ovr_sync(struct worker *w);
/* The settings tenant name runs with: base, or its private copy with overrides. */
const struct gov_tenant_conf *ovr_tenant_conf(struct worker *w, const char *name,
                                              const struct gov_tenant_conf *base);
/* Runtime value i (0-based, in the order they were first set): 0 with the fields filled, or -1
 * past the last one. */
int ovr_get(struct worker *w, int i, enum ovr_scope *scope, const char **name, const char **key,
            const char **value, const char **file_value);
/* 1 if (scope, name, key) holds a runtime value. */
int ovr_is_set(struct worker *w, enum ovr_scope scope, const char *name, const char *key);
/* "key=value,key=value" of the overrides of (scope, name) into buf ("" if none); count. */
int ovr_list(struct worker *w, enum ovr_scope scope, const char *name, char *buf, size_t len);

#endif
