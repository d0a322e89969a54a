/* Unit tests for the governance sections parser (src/governor_conf.c). */
#include <criterion/criterion.h>

#include "governor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif
#define GOV_DIR TEST_DATA_DIR "/governor"

static struct sluice_config *load_cfg(const char *path)
{
	struct sluice_config *cfg = NULL;
	char err[1024] = "";

	cr_assert_eq(config_load(path, &cfg, err, sizeof(err), NULL, NULL), 0, "%s: %s", path, err);
	return cfg;
}

/* config_load itself parses the governance sections now: a governance error comes back from it,
 * verbatim. Returns the snapshot, or NULL with that error in err. */
static struct sluice_config *try_load(const char *path, char *err, size_t errlen)
{
	struct sluice_config *cfg = NULL;

	if (config_load(path, &cfg, err, errlen, NULL, NULL) < 0)
		return NULL;
	return cfg;
}

static void load_gov(const char *path, struct sluice_config **cfg, struct governor_conf *g)
{
	char err[1024] = "";

	*cfg = load_cfg(path);
	cr_assert_eq(governor_conf_load(*cfg, g, err, sizeof(err)), 0, "%s: %s", path, err);
}

static const char *tf(const struct gov_tenant_conf *t, const char *key)
{
	static char buf[512];
	const char *k;

	for (int i = 0; governor_tenant_field(t, i, &k, buf, sizeof(buf)) == 0; i++)
		if (strcmp(k, key) == 0)
			return buf;
	cr_assert_fail("no tenant field %s", key);
	return NULL;
}

static const char *cf(const struct gov_class_conf *c, const char *key)
{
	static char buf[512];
	const char *k;

	for (int i = 0; governor_class_field(c, i, &k, buf, sizeof(buf)) == 0; i++)
		if (strcmp(k, key) == 0)
			return buf;
	cr_assert_fail("no class field %s", key);
	return NULL;
}

Test(governor_conf, defaults_without_sections)
{
	struct sluice_config *cfg;
	struct governor_conf g;
	int is_auto = 0;

	load_gov(GOV_DIR "/empty.ini", &cfg, &g);
	cr_assert_eq(g.n_tenants, 0);
	cr_assert_eq(g.n_classes, 1);
	cr_assert_str_eq(g.classes[0].name, "default");
	cr_assert_float_eq(g.classes[0].queue_timeout, 120, 1e-9, "query_wait_timeout default");
	cr_assert_str_eq(cf(&g.classes[0], "max"), "100%");
	cr_assert_str_eq(cf(&g.classes[0], "reserve"), "0");
	cr_assert_str_eq(cf(&g.classes[0], "overload_sqlstate"), "53300");
	cr_assert_str_eq(cf(&g.classes[0], "statement_timeout"), "0");
	cr_assert_str_eq(cf(&g.classes[0], "priority"), "0");
	const struct gov_tenant_conf *t = governor_tenant_for(&g, "anything", "bob", &is_auto);
	cr_assert_eq(is_auto, 1);
	cr_assert_eq(t, &g.defaults);
	cr_assert_eq(t->max_server_conn, 10);
	cr_assert_eq(t->max_client_conn, 500);
	cr_assert_eq(t->xact_rate, 0);
	cr_assert_eq(t->xact_burst, 0);
	cr_assert_eq(t->query_rate, 0);
	cr_assert_eq(t->query_burst, 0);
	cr_assert_eq(t->weight, 1);
	cr_assert_eq(t->max_queue, 1000);
	struct classify_facts f = {.application_name = "x"};
	cr_assert_eq(governor_class_for(&g, &f), 0);
	governor_conf_free(&g);
	governor_conf_free(&g);
	config_free(cfg);
}

Test(governor_conf, full_file)
{
	struct sluice_config *cfg;
	struct governor_conf g;
	int is_auto;

	load_gov(GOV_DIR "/good.ini", &cfg, &g);

	/* tenant_defaults applies to named tenants too, wherever it appears in the file. */
	cr_assert_eq(g.defaults.max_server_conn, 8);
	cr_assert_eq(g.defaults.weight, 2);
	cr_assert_float_eq(g.defaults.xact_rate, 50, 1e-9);
	cr_assert_float_eq(g.defaults.xact_burst, 100, 1e-9);
	cr_assert_eq(g.defaults.max_client_conn, 500);
	cr_assert_eq(g.n_tenants, 4);
	const struct gov_tenant_conf *acme = &g.tenants[0], *bigco = &g.tenants[1];
	const struct gov_tenant_conf *solo = &g.tenants[2], *pair = &g.tenants[3];
	cr_assert_str_eq(acme->name, "acme");
	cr_assert_eq(acme->max_server_conn, 20);
	cr_assert_eq(acme->weight, 3);
	cr_assert_float_eq(acme->xact_rate, 50, 1e-9);
	cr_assert_eq(acme->users.n, 0, "users = (empty) means any user");
	cr_assert_str_eq(tf(acme, "databases"), "acme, acme_*");
	cr_assert_str_eq(tf(acme, "name"), "acme");
	cr_assert_str_eq(tf(acme, "max_server_conn"), "20");
	cr_assert_str_eq(tf(bigco, "query_rate"), "12.5");
	cr_assert_eq(bigco->max_queue, 0);
	cr_assert_eq(bigco->weight, 2);
	cr_assert_str_eq(tf(solo, "databases"), "solo", "no lists: the database of its name");
	cr_assert_eq(solo->max_client_conn, 50);

	/* Tenant resolution. */
	cr_assert_eq(governor_tenant_for(&g, "acme", "u", &is_auto), acme);
	cr_assert_eq(is_auto, 0);
	cr_assert_eq(governor_tenant_for(&g, "acme_test", "u", &is_auto), acme);
	cr_assert_eq(governor_tenant_for(&g, "other", "big_loader", &is_auto), bigco);
	cr_assert_eq(governor_tenant_for(&g, "solo", "u", &is_auto), solo);
	cr_assert_eq(governor_tenant_for(&g, "shop1", "ops_x", &is_auto), pair);
	cr_assert_eq(governor_tenant_for(&g, "shop1", "admin", &is_auto), pair);
	cr_assert_eq(governor_tenant_for(&g, "shop1", "guest", &is_auto), &g.defaults);
	cr_assert_eq(is_auto, 1, "both lists must match");
	cr_assert_eq(governor_tenant_for(&g, "acmeX", "u", &is_auto), &g.defaults);
	cr_assert_eq(is_auto, 1);
	cr_assert_eq(governor_tenant_for(&g, "acme", "big_1", &is_auto), acme, "first wins");

	/* Classes: file order, default last. */
	cr_assert_eq(g.n_classes, 4);
	cr_assert_str_eq(g.classes[0].name, "checkout");
	cr_assert_str_eq(g.classes[1].name, "reporting");
	cr_assert_str_eq(g.classes[2].name, "integration");
	cr_assert_str_eq(g.classes[3].name, "default");
	cr_assert_eq(governor_class_index(&g, "integration"), 2);
	cr_assert_eq(governor_class_index(&g, "nope"), -1);
	const struct gov_class_conf *co = &g.classes[0], *rep = &g.classes[1];
	const struct gov_class_conf *in = &g.classes[2], *def = &g.classes[3];
	cr_assert_eq(co->priority, 100);
	cr_assert_float_eq(co->reserve, 30, 1e-9);
	cr_assert(co->reserve_pct);
	cr_assert_float_eq(co->queue_timeout, 5, 1e-9);
	cr_assert_float_eq(co->statement_timeout, 30, 1e-9);
	cr_assert_str_eq(co->overload_sqlstate, "40001");
	cr_assert_str_eq(cf(co, "match"), "application_name:odoo-http*, application_name:pos-*");
	cr_assert_str_eq(cf(rep, "max"), "25%");
	cr_assert_float_eq(rep->statement_timeout, 600, 1e-9);
	cr_assert_float_eq(rep->queue_timeout, 60, 1e-9);
	cr_assert_str_eq(rep->overload_sqlstate, "53300");
	cr_assert_str_eq(cf(in, "reserve"), "2");
	cr_assert_str_eq(cf(in, "max"), "4");
	cr_assert_float_eq(in->queue_timeout, 90, 1e-9, "main section query_wait_timeout");
	cr_assert_eq(def->priority, 1);
	cr_assert_float_eq(def->queue_timeout, 120, 1e-9);
	cr_assert_str_eq(cf(def, "match"), "");

	/* Class resolution. */
	struct classify_facts f = {.application_name = "odoo-http", .user = "bi_x"};
	cr_assert_eq(governor_class_for(&g, &f), 0, "first match in file order");
	f.application_name = "odoo-cron";
	cr_assert_eq(governor_class_for(&g, &f), 1);
	f.user = "u";
	cr_assert_eq(governor_class_for(&g, &f), 3);
	f.comment_class = "reporting";
	cr_assert_eq(governor_class_for(&g, &f), 1);
	f.comment_class = NULL;
	f.option_class = "integration";
	cr_assert_eq(governor_class_for(&g, &f), 2);

	/* Field rendering covers every key. */
	const char *k;
	char buf[256];
	int n = 0;
	while (governor_tenant_field(acme, n, &k, buf, sizeof(buf)) == 0)
		n++;
	cr_assert_eq(n, 11);
	n = 0;
	while (governor_class_field(co, n, &k, buf, sizeof(buf)) == 0)
		n++;
	cr_assert_eq(n, 9);
	cr_assert_str_eq(cf(co, "route"), "primary", "route defaults to the primary");
	cr_assert_eq(governor_tenant_field(acme, -1, &k, buf, sizeof(buf)), -1);
	governor_conf_free(&g);
	config_free(cfg);
}

/* Write "[sluice]\n" + body to a temp file, load it, and expect governor_conf_load to fail
 * with "FILE:line: msg". */
static void expect_error(const char *body, int line, const char *msg)
{
	char path[] = "/tmp/sluice-test-gov-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct sluice_config *cfg;
	struct governor_conf g;
	char err[1024] = "", want[1024];

	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "[sluice]\n%s", body);
	fclose(f);
	cfg = try_load(path, err, sizeof(err));
	cr_assert_null(cfg, "loaded: %s", body);
	(void)g;
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	cr_assert(strstr(err, want) == err, "error \"%s\" is not \"%s...\"", err, want);
	unlink(path);
}

Test(governor_conf, tenant_errors)
{
	expect_error("[tenant_defaults]\nmax_server_con = 5\n", 3,
	             "max_server_con: unknown key in [tenant_defaults]");
	expect_error("[tenant_defaults]\ndatabases = a\n", 3,
	             "databases: unknown key in [tenant_defaults]");
	expect_error("[tenant.a]\nwieght = 5\n", 3, "wieght: unknown key in [tenant.a]");
	expect_error("[tenant.a]\nweight = 0\n", 3, "weight: value 0 out of range 1..10000");
	expect_error("[tenant.a]\nweight = 1.5\n", 3, "weight: invalid integer \"1.5\"");
	expect_error("[tenant.a]\nmax_server_conn = -1\n", 3, "max_server_conn: value -1 out");
	expect_error("[tenant.a]\nmax_client_conn = many\n", 3, "max_client_conn: invalid integer");
	expect_error("[tenant.a]\nmax_queue = -5\n", 3, "max_queue: value -5 out of range");
	expect_error("[tenant.a]\nxact_rate = -1\n", 3, "xact_rate: invalid rate \"-1\"");
	expect_error("[tenant.a]\nquery_burst = 1e3\n", 3, "query_burst: invalid rate");
	expect_error("[tenant.a]\nquery_rate = 5/s\n", 3, "query_rate: invalid rate");
	expect_error("[tenant.a]\n[tenant.A]\n[TENANT.a]\n", 4, "[TENANT.a]: duplicate tenant");
	expect_error("[tenant.]\n", 2, "[tenant.]: tenant name must be");
}

Test(governor_conf, class_errors)
{
	expect_error("[class.a]\npriority = 1\n", 2, "[class.a]: match: missing");
	expect_error("[class.a]\nmatch = user:x\nprio = 1\n", 4, "prio: unknown key in [class.a]");
	expect_error("[class.a]\nmatch = usr:x\n", 3, "match: \"usr\": unknown rule kind");
	expect_error("[class.a]\nmatch = addr:1.2.3.4/40\n", 3, "match: addr:1.2.3.4/40: prefix");
	expect_error("[class.default]\nmatch = user:x\n", 3,
	             "match: [class.default] catches everything");
	expect_error("[class.a]\nmatch = user:x\npriority = top\n", 4, "priority: invalid integer");
	expect_error("[class.a]\nmatch = user:x\nreserve = 120%\n", 4,
	             "reserve: invalid percentage \"120%\"");
	expect_error("[class.a]\nmatch = user:x\nreserve = -1\n", 4, "reserve: invalid value");
	expect_error("[class.a]\nmatch = user:x\nreserve = 1.5\n", 4, "reserve: invalid value");
	expect_error("[class.a]\nmatch = user:x\nmax = 0%\n", 4, "max: must be at least 1 slot");
	expect_error("[class.a]\nmatch = user:x\nmax = 0\n", 4, "max: must be at least 1 slot");
	expect_error("[class.a]\nmatch = user:x\nreserve = 40%\nmax = 30%\n", 5,
	             "max: max (30%) is below reserve (40%)");
	expect_error("[class.a]\nmatch = user:x\nmax = 3\nreserve = 5\n", 4,
	             "max: max (3) is below reserve (5)");
	expect_error("[class.a]\nmatch = user:x\nqueue_timeout = soon\n", 4,
	             "queue_timeout: invalid duration \"soon\"");
	expect_error("[class.a]\nmatch = user:x\nstatement_timeout = -5s\n", 4,
	             "statement_timeout: invalid duration");
	expect_error("[class.a]\nmatch = user:x\noverload_sqlstate = 4000\n", 4,
	             "overload_sqlstate: invalid SQLSTATE \"4000\"");
	expect_error("[class.a]\nmatch = user:x\noverload_sqlstate = 40p01\n", 4,
	             "overload_sqlstate: invalid SQLSTATE");
	expect_error("[class.a]\nmatch = user:x\nroute = standby\n", 4,
	             "route: \"standby\": expected primary, replica or prefer-replica");
	expect_error("[class.a]\nmatch = user:x\nreserve = 60%\n[class.b]\nmatch = user:y\n"
	             "reserve = 50%\n",
	             7, "reserve: percentage reserves of all classes add up to 110%");
	expect_error("[class.a b]\nmatch = user:x\n", 2, "[class.a b]: class name must be");
	expect_error("[class.a]\nmatch = user:x\n[CLASS.a]\nmatch = user:y\n", 4,
	             "[CLASS.a]: duplicate class");
}

/* Write "[sluice]\n" + n_classes named classes to a temp file and run governor_conf_load. */
static int load_n_classes(int n_classes, char *err, size_t errlen)
{
	char path[] = "/tmp/sluice-test-gov-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f = fdopen(fd, "w");
	struct sluice_config *cfg;
	struct governor_conf g;

	fprintf(f, "[sluice]\n");
	for (int i = 0; i < n_classes; i++)
		fprintf(f, "[class.c%d]\nmatch = user:u%d\n", i, i);
	fclose(f);
	cfg = try_load(path, err, errlen);
	rc = cfg ? governor_conf_load(cfg, &g, err, errlen) : -1;
	if (rc == 0) {
		cr_assert_eq(g.n_classes, n_classes + 1);
		cr_assert_eq(cfg->gov->n_classes, n_classes + 1, "config_load parsed them too");
		governor_conf_free(&g);
	}
	config_free(cfg);
	unlink(path);
	return rc;
}

Test(governor_conf, too_many_classes)
{
	char err[512] = "";

	cr_assert_eq(load_n_classes(SCHED_MAX_CLASSES - 1, err, sizeof(err)), 0, "%s", err);
	/* 16 named classes plus the implicit default: one too many. */
	cr_assert_eq(load_n_classes(SCHED_MAX_CLASSES, err, sizeof(err)), -1);
	cr_assert(strstr(err, "too many classes (at most 16, default included)"), "%s", err);
}

Test(governor_conf, error_in_included_file)
{
	char err[1024];

	cr_assert_null(try_load(GOV_DIR "/bad_include.ini", err, sizeof(err)));
	cr_assert(strstr(err, "bad_included.ini:4: priority: invalid integer \"high\""), "%s", err);
}

Test(governor_conf, route_key_and_runtime_set)
{
	struct gov_class_conf c;
	char err[256];
	memset(&c, 0, sizeof(c));
	cr_assert_eq(governor_class_set(&c, "route", "Prefer-Replica", err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(c.route, ROUTE_PREFER_REPLICA);
	cr_assert_str_eq(cf(&c, "route"), "prefer-replica");
	cr_assert_eq(governor_class_set(&c, "route", "replica", err, sizeof(err)), 0);
	cr_assert_str_eq(governor_route_name(c.route), "replica");
	cr_assert_eq(governor_class_set(&c, "route", "anywhere", err, sizeof(err)), -1);
	cr_assert(strstr(err, "expected primary, replica or prefer-replica"), "%s", err);
	cr_assert_eq(c.route, ROUTE_REPLICA, "a refused value changes nothing");
}
