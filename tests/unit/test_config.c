/* Unit tests for the configuration loader (src/config*.c, src/userlist.c). */
#include <criterion/criterion.h>

#include "config.h"
#include "governor.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif
#define CFG_DIR TEST_DATA_DIR "/config"

/* ---- helpers ---- */

struct warnings {
	int n;
	char msg[16][512];
};

static void collect_warning(void *arg, const char *msg)
{
	struct warnings *w = arg;

	if (w->n < 16)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static struct sluice_config *load_ok(const char *path, struct warnings *w)
{
	struct sluice_config *cfg = NULL;
	char err[1024] = "";

	int rc = config_load(path, &cfg, err, sizeof(err), w ? collect_warning : NULL, w);
	cr_assert_eq(rc, 0, "loading %s failed: %s", path, err);
	cr_assert_not_null(cfg);
	return cfg;
}

/* A scratch directory per test, removed afterwards. */
static char tmpdir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-test-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write content to tmpdir/name; returns the full path in a static buffer. */
static const char *write_tmp(const char *name, const char *content)
{
	static char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	fputs(content, f);
	fclose(f);
	return path;
}

/* Load content written to tmpdir/t.ini, expecting failure with message expected, in which
 * "DIR" stands for the scratch directory. */
static void expect_error(const char *content, const char *expected)
{
	struct sluice_config *cfg = NULL;
	char err[1024] = "", shown[1024] = "";
	const char *path = write_tmp("t.ini", content), *p = err, *at;

	int rc = config_load(path, &cfg, err, sizeof(err), NULL, NULL);
	cr_assert_eq(rc, -1, "expected failure for:\n%s", content);
	cr_assert_null(cfg);
	while ((at = strstr(p, tmpdir))) {
		strncat(shown, p, (size_t)(at - p));
		strcat(shown, "DIR");
		p = at + strlen(tmpdir);
	}
	strcat(shown, p);
	cr_expect_str_eq(shown, expected, "for:\n%s", content);
}

static char *value_of(const struct sluice_config *cfg, const char *key)
{
	static char buf[1024];

	cr_assert_eq(config_key_value(cfg, key, buf, sizeof(buf)), 0, "no key %s", key);
	return buf;
}

/* ---- defaults and the key table ---- */

Test(config, defaults_match_table)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/minimal.ini", NULL);
	const char *name, *def, *doc;
	int reload, i;

	for (i = 0; config_key_at(i, &name, &def, &doc, &reload) == 0; i++) {
		cr_expect_str_eq(value_of(cfg, name), def, "default of %s", name);
		cr_expect(doc && *doc, "%s has no doc", name);
		cr_expect_eq(config_key_reloadable(name), reload);
	}
	cr_expect_geq(i, 40, "only %d keys in the table", i);
	cr_expect_eq(config_key_at(i, &name, &def, &doc, &reload), -1);
	cr_expect_eq(config_key_at(-1, &name, &def, &doc, &reload), -1);

	/* the PgBouncer defaults, as seen through the struct */
	cr_expect_str_eq(cfg->listen_addr, "");
	cr_expect_eq(cfg->listen_port, 6432);
	cr_expect_str_eq(cfg->unix_socket_dir, "/tmp");
	cr_expect_eq(cfg->unix_socket_mode, 0777);
	cr_expect_eq(cfg->auth_type, AUTH_TYPE_MD5);
	cr_expect_str_eq(cfg->auth_file, "");
	cr_expect_eq(cfg->pool_mode, POOL_SESSION);
	cr_expect_eq(cfg->max_client_conn, 100);
	cr_expect_eq(cfg->default_pool_size, 20);
	cr_expect_eq(cfg->min_pool_size, 0);
	cr_expect_eq(cfg->reserve_pool_size, 0);
	cr_expect_eq(cfg->reserve_pool_timeout, 5.0);
	cr_expect_eq(cfg->max_db_connections, 0);
	cr_expect_eq(cfg->max_user_connections, 0);
	cr_expect_str_eq(cfg->server_reset_query, "DISCARD ALL");
	cr_expect_eq(cfg->server_reset_query_always, 0);
	cr_expect_eq(cfg->server_check_delay, 30.0);
	cr_expect_str_eq(cfg->server_check_query, "select 1");
	cr_expect_eq(cfg->server_lifetime, 3600.0);
	cr_expect_eq(cfg->server_idle_timeout, 600.0);
	cr_expect_eq(cfg->server_connect_timeout, 15.0);
	cr_expect_eq(cfg->server_login_retry, 15.0);
	cr_expect_eq(cfg->client_login_timeout, 60.0);
	cr_expect_eq(cfg->query_wait_timeout, 120.0);
	cr_expect_eq(cfg->client_idle_timeout, 0.0);
	cr_expect_eq(cfg->idle_transaction_timeout, 0.0);
	cr_expect_eq(cfg->query_timeout, 0.0);
	cr_expect_str_eq(cfg->ignore_startup_parameters, "");
	cr_expect_eq(cfg->max_packet_size, 2147483647);
	cr_expect_eq(cfg->pkt_buf, 4096);
	cr_expect_eq(cfg->listen_backlog, 128);
	cr_expect_eq(cfg->tcp_keepalive, 1);
	cr_expect_str_eq(cfg->logfile, "");
	cr_expect_str_eq(cfg->pidfile, "");
	cr_expect_str_eq(cfg->admin_users, "");
	cr_expect_str_eq(cfg->stats_users, "");
	cr_expect_eq(cfg->verbose, 0);
	cr_expect_eq(cfg->log_connections, 1);
	cr_expect_eq(cfg->log_disconnections, 1);
	cr_expect_eq(cfg->log_pooler_errors, 1);
	cr_expect_eq(cfg->workers, 1);
	cr_expect_eq(cfg->n_dbs, 0);
	cr_expect_eq(cfg->n_users, 0);
	cr_expect_eq(cfg->n_userlist, 0);
	cr_expect_eq(cfg->n_extra, 0);
	cr_expect_eq(cfg->path[0], '/', "path is stored absolute: %s", cfg->path);
	config_free(cfg);
}

Test(config, reloadable_flags)
{
	cr_expect_eq(config_key_reloadable("listen_port"), 0);
	cr_expect_eq(config_key_reloadable("LISTEN_ADDR"), 0);
	cr_expect_eq(config_key_reloadable("workers"), 0);
	cr_expect_eq(config_key_reloadable("pool_mode"), 1);
	cr_expect_eq(config_key_reloadable("auth_file"), 1);
	cr_expect_eq(config_key_reloadable("stats_period"), 1);
	cr_expect_eq(config_key_reloadable("log_stats"), -1);
	cr_expect_eq(config_key_reloadable("http_listen"), 0);
	cr_expect_eq(config_key_reloadable("admin_socket"), 0);
	cr_expect_eq(config_key_reloadable("nope"), -1);
	cr_expect_eq(config_key_value(NULL, "listen_port", NULL, 0), -1);
}

Test(config, enum_names)
{
	cr_expect_str_eq(pool_mode_name(POOL_SESSION), "session");
	cr_expect_str_eq(pool_mode_name(POOL_TRANSACTION), "transaction");
	cr_expect_str_eq(pool_mode_name(POOL_STATEMENT), "statement");
	cr_expect_str_eq(pool_mode_name(POOL_MODE_UNSET), "unset");
	cr_expect_str_eq(auth_type_name(AUTH_TYPE_TRUST), "trust");
	cr_expect_str_eq(auth_type_name(AUTH_TYPE_ANY), "any");
	cr_expect_str_eq(auth_type_name(AUTH_TYPE_PLAIN), "plain");
	cr_expect_str_eq(auth_type_name(AUTH_TYPE_MD5), "md5");
	cr_expect_str_eq(auth_type_name(AUTH_TYPE_SCRAM), "scram-sha-256");
}

/* ---- value parsers ---- */

Test(config, parse_duration)
{
	static const struct {
		const char *in;
		double secs;
	} ok[] = {{"0", 0},       {"15", 15},       {"0.5", 0.5},      {".25", 0.25},
	          {"500ms", 0.5}, {"2500 ms", 2.5}, {"250us", 250e-6}, {"30s", 30},
	          {"10min", 600}, {"1.5min", 90},   {"2h", 7200},      {"1d", 86400},
	          {"1MS", 0.001}, {"-1", -1}};
	static const char *const bad[] = {"",    "abc", "5x", "5m",  "ms", "0x10",
	                                  "inf", "nan", "1e", "5 5", "s5"};
	double d;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_expect_eq(config_parse_duration(ok[i].in, &d), 0, "%s", ok[i].in);
		cr_expect_float_eq(d, ok[i].secs, 1e-12, "%s", ok[i].in);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_duration(bad[i], &d), -1, "\"%s\" accepted", bad[i]);
}

Test(config, parse_bool)
{
	static const char *const yes[] = {"1", "yes", "on", "true", "TRUE", "On"};
	static const char *const no[] = {"0", "no", "off", "false", "No", "OFF"};
	int b;

	for (size_t i = 0; i < 6; i++) {
		cr_expect_eq(config_parse_bool(yes[i], &b), 0);
		cr_expect_eq(b, 1, "%s", yes[i]);
		cr_expect_eq(config_parse_bool(no[i], &b), 0);
		cr_expect_eq(b, 0, "%s", no[i]);
	}
	cr_expect_eq(config_parse_bool("2", &b), -1);
	cr_expect_eq(config_parse_bool("", &b), -1);
	cr_expect_eq(config_parse_bool("yess", &b), -1);
}

Test(config, parse_size_and_int)
{
	static const struct {
		const char *in;
		long long v;
	} ok[] = {{"0", 0},           {"4096", 4096},         {"8k", 8192},
	          {"8kB", 8192},      {"8 KB", 8192},         {"1M", 1048576},
	          {"64MB", 67108864}, {"2G", 2147483648LL},   {"1gb", 1073741824},
	          {"100b", 100},      {"2147483647", INT_MAX}};
	static const char *const bad[] = {"", "k", "-1", "1.5k", "8x", "8 kk", "0x10"};
	long long v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_expect_eq(config_parse_size(ok[i].in, &v), 0, "%s", ok[i].in);
		cr_expect_eq(v, ok[i].v, "%s", ok[i].in);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(config_parse_size(bad[i], &v), -1, "\"%s\" accepted", bad[i]);

	cr_expect_eq(config_parse_int("-42", &v), 0);
	cr_expect_eq(v, -42);
	cr_expect_eq(config_parse_int("+7", &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(config_parse_int("7 ", &v), -1);
	cr_expect_eq(config_parse_int("0x7", &v), -1);
	cr_expect_eq(config_parse_int("", &v), -1);
	cr_expect_eq(config_parse_int("99999999999999999999", &v), -1);
}

/* ---- good files ---- */

Test(config, full_file_every_type)
{
	struct warnings w = {0};
	struct sluice_config *cfg = load_ok(CFG_DIR "/full.ini", &w);
	char dir[PATH_MAX], expect[PATH_MAX * 2];

	cr_expect_eq(w.n, 0, "unexpected warning: %s", w.msg[0]);
	cr_assert_not_null(realpath(CFG_DIR, dir));

	cr_expect_str_eq(cfg->listen_addr, "0.0.0.0");
	cr_expect_eq(cfg->listen_port, 7432, "keys are case-insensitive");
	cr_expect_str_eq(cfg->unix_socket_dir, "");
	cr_expect_eq(cfg->unix_socket_mode, 0700);
	cr_expect_str_eq(value_of(cfg, "unix_socket_mode"), "0700");
	cr_expect_eq(cfg->listen_backlog, 256);
	cr_expect_eq(cfg->tcp_keepalive, 0);
	cr_expect_eq(cfg->workers, 4, "workers > 1 is left to the caller to refuse");
	cr_expect_eq(cfg->auth_type, AUTH_TYPE_SCRAM, "enum values are case-insensitive");
	snprintf(expect, sizeof(expect), "%s/userlist_ok.txt", dir);
	cr_expect_str_eq(cfg->auth_file, expect);
	cr_expect_str_eq(cfg->admin_users, "admin, root");
	cr_expect_str_eq(cfg->stats_users, "stats");
	cr_expect_eq(cfg->pool_mode, POOL_TRANSACTION);
	cr_expect_str_eq(value_of(cfg, "pool_mode"), "transaction");
	cr_expect_eq(cfg->max_client_conn, 5000);
	cr_expect_eq(cfg->default_pool_size, 30);
	cr_expect_eq(cfg->min_pool_size, 2);
	cr_expect_eq(cfg->reserve_pool_size, 3);
	cr_expect_eq(cfg->reserve_pool_timeout, 0.5);
	cr_expect_str_eq(value_of(cfg, "reserve_pool_timeout"), "0.5");
	cr_expect_eq(cfg->max_db_connections, 50);
	cr_expect_eq(cfg->max_user_connections, 40);
	cr_expect_str_eq(cfg->server_reset_query, "DISCARD ALL; SELECT 1");
	cr_expect_eq(cfg->server_reset_query_always, 1);
	cr_expect_float_eq(cfg->server_check_delay, 0.5, 1e-12);
	cr_expect_str_eq(cfg->server_check_query, "");
	cr_expect_eq(cfg->server_lifetime, 3600.0);
	cr_expect_eq(cfg->server_idle_timeout, 600.0);
	cr_expect_float_eq(cfg->server_connect_timeout, 2.5, 1e-12);
	cr_expect_float_eq(cfg->server_login_retry, 250e-6, 1e-15);
	cr_expect_eq(cfg->client_login_timeout, 86400.0);
	cr_expect_eq(cfg->query_wait_timeout, 30.0);
	cr_expect_eq(cfg->client_idle_timeout, 0.0);
	cr_expect_eq(cfg->idle_transaction_timeout, 90.0);
	cr_expect_eq(cfg->query_timeout, 90.0);
	cr_expect_str_eq(cfg->ignore_startup_parameters, "extra_float_digits, search_path");
	cr_expect_eq(cfg->max_packet_size, 64 << 20);
	cr_expect_str_eq(value_of(cfg, "max_packet_size"), "67108864");
	cr_expect_eq(cfg->pkt_buf, 8192);
	snprintf(expect, sizeof(expect), "%s/logs/sluice.log", dir);
	cr_expect_str_eq(cfg->logfile, expect, "relative logfile resolves against the file's dir");
	cr_expect_str_eq(cfg->pidfile, "/run/sluice.pid");
	cr_expect_eq(cfg->verbose, 2);
	cr_expect_eq(cfg->log_connections, 0);
	cr_expect_eq(cfg->log_disconnections, 0);
	cr_expect_eq(cfg->log_pooler_errors, 1);
	cr_expect_str_eq(value_of(cfg, "log_pooler_errors"), "1");
	cr_expect_eq(cfg->n_userlist, 6);
	config_free(cfg);
}

Test(config, databases_section)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/full.ini", NULL);
	const struct db_entry *db;

	cr_expect_eq(cfg->n_dbs, 5);
	db = config_find_db(cfg, "appdb");
	cr_assert_not_null(db);
	cr_expect_str_eq(db->host, "10.0.0.5");
	cr_expect_eq(db->port, 6543);
	cr_expect_str_eq(db->dbname, "app_production");
	cr_expect_str_eq(db->user, "app");
	cr_expect_str_eq(db->password, "it's secret", "'' inside quotes is one quote");
	cr_expect_eq(db->pool_size, 40);
	cr_expect_eq(db->min_pool_size, 1);
	cr_expect_eq(db->reserve_pool, 2);
	cr_expect_eq(db->max_db_connections, 60);
	cr_expect_eq(db->pool_mode, POOL_STATEMENT);

	db = config_find_db(cfg, "Mixed Case");
	cr_assert_not_null(db, "double-quoted database name");
	cr_expect_str_eq(db->host, "/var/run/postgresql");
	cr_expect_eq(db->port, 5432);
	cr_expect_str_eq(db->connect_query, "SET search_path = 'app', public");
	cr_expect_str_eq(db->client_encoding, "UTF8");
	cr_expect_str_eq(db->datestyle, "ISO, MDY");
	cr_expect_str_eq(db->timezone, "UTC");
	cr_expect_str_eq(db->application_name, "sluice");
	cr_expect_eq(db->pool_size, -1);
	cr_expect_eq(db->pool_mode, POOL_MODE_UNSET);
	cr_expect_null(config_find_db(cfg, "mixed case"), "names are case-sensitive");

	db = config_find_db(cfg, "sized");
	cr_assert_not_null(db);
	cr_expect_eq(db->reserve_pool, 7, "reserve_pool_size is an alias");
	cr_expect_str_eq(db->auth_user, "lookup");

	db = config_find_db(cfg, "empty");
	cr_assert_not_null(db);
	cr_expect_str_eq(db->host, "");
	cr_expect_eq(db->port, 5432);
	cr_expect_str_eq(db->dbname, "");
	cr_expect_eq(db->pool_size, -1);
	cr_expect_eq(db->min_pool_size, -1);
	cr_expect_eq(db->reserve_pool, -1);
	cr_expect_eq(db->max_db_connections, -1);

	db = config_find_db(cfg, "*");
	cr_assert_not_null(db, "fallback entry");
	cr_expect_str_eq(db->host, "127.0.0.1");
	cr_expect_null(config_find_db(cfg, "other"), "fallback is the caller's decision");

	for (int i = 1; i < cfg->n_dbs; i++)
		cr_expect_lt(strcmp(cfg->dbs[i - 1].name, cfg->dbs[i].name), 0, "sorted");
	config_free(cfg);
}

Test(config, users_section)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/full.ini", NULL);
	const struct user_entry *u;

	cr_expect_eq(cfg->n_users, 2);
	u = config_find_user(cfg, "reporting");
	cr_assert_not_null(u);
	cr_expect_eq(u->pool_mode, POOL_SESSION);
	cr_expect_eq(u->max_user_connections, 5);
	u = config_find_user(cfg, "bulk");
	cr_assert_not_null(u);
	cr_expect_eq(u->pool_mode, POOL_MODE_UNSET);
	cr_expect_eq(u->max_user_connections, 1);
	cr_expect_null(config_find_user(cfg, "nobody"));
	config_free(cfg);
}

Test(config, userlist_formats)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/full.ini", NULL);

	cr_expect_str_eq(config_find_secret(cfg, "alice"), "s3cret");
	cr_expect_str_eq(config_find_secret(cfg, "bob"), "md53175bce1d3201d16594cebf9d7eb3f9d");
	cr_expect_str_eq(config_find_secret(cfg, "carol"),
	                 "SCRAM-SHA-256$4096:c2FsdHNhbHQ=$c3RvcmVka2V5c3RvcmVka2V5c3RvcmVka2V5c3Q="
	                 ":c2VydmVya2V5c2VydmVya2V5c2VydmVya2V5c2U=");
	cr_expect_str_eq(config_find_secret(cfg, "quo\"ted"), "pa\"ss");
	cr_expect_str_eq(config_find_secret(cfg, "dup"), "second", "the later line wins");
	cr_expect_str_eq(config_find_secret(cfg, "empty"), "");
	cr_expect_null(config_find_secret(cfg, "mallory"));
	cr_expect_null(config_find_secret(cfg, "Alice"));
	config_free(cfg);
}

Test(config, userlist_parse_direct)
{
	struct userlist_entry *ul = NULL;
	char err[512];

	int n = userlist_parse(CFG_DIR "/userlist_ok.txt", &ul, err, sizeof(err));
	cr_assert_eq(n, 6, "%s", err);
	cr_expect_str_eq(ul[0].name, "alice");
	cr_expect_str_eq(ul[n - 1].name, "quo\"ted");
	free(ul);

	cr_expect_eq(userlist_parse(CFG_DIR "/nonexistent.txt", &ul, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "cannot open " CFG_DIR "/nonexistent.txt: No such file or directory");
	cr_expect_null(ul);
}

Test(config, userlist_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	static const struct {
		const char *content, *err;
	} cases[] = {
	    {"\"a\" \"b\"\n\"c\" \"unterminated\n", "2: unterminated quoted string"},
	    {"\"a\" \"b\n", "1: unterminated quoted string"},
	    {"alice secret\n", "1: expected \"user\" \"secret\""},
	    {"\"alice\"\n", "1: expected \"user\" \"secret\""},
	    {"\"\" \"x\"\n", "1: empty user name"},
	    {"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" \"x\"\n",
	     "1: user name too long (max 63 bytes)"},
	};
	struct userlist_entry *ul;
	char err[512], expect[PATH_MAX * 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_tmp("ul.txt", cases[i].content);
		cr_expect_eq(userlist_parse(path, &ul, err, sizeof(err)), -1, "case %zu", i);
		snprintf(expect, sizeof(expect), "%s:%s", path, cases[i].err);
		cr_expect_str_eq(err, expect, "case %zu", i);
	}
	/* an empty file is fine */
	cr_expect_eq(userlist_parse(write_tmp("ul.txt", "; nothing\n\n"), &ul, err, sizeof(err)),
	             0);
	free(ul);
}

Test(config, pgbouncer_section_name)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/pgbouncer.ini", NULL);

	cr_expect_eq(cfg->listen_port, 6000);
	cr_expect_eq(cfg->auth_type, AUTH_TYPE_TRUST);
	cr_expect_eq(cfg->n_dbs, 1);
	cr_expect_str_eq(cfg->dbs[0].name, "*");
	cr_expect_str_eq(cfg->dbs[0].host, "db.internal");
	cr_expect_eq(cfg->dbs[0].port, 5433);
	config_free(cfg);
}

Test(config, include_relative_to_including_file)
{
	struct sluice_config *cfg = load_ok(CFG_DIR "/include_main.ini", NULL);

	cr_expect_eq(cfg->listen_port, 2222, "the included file's later value wins");
	cr_expect_eq(cfg->default_pool_size, 7, "nested include, relative to sub/");
	cr_expect_not_null(config_find_db(cfg, "fromb"));
	cr_expect_not_null(config_find_db(cfg, "tail"), "section carries out of the include");
	config_free(cfg);
}

Test(config, include_falls_back_to_cwd, .init = tmp_setup, .fini = tmp_teardown)
{
	const char *path = write_tmp("main.ini", "[sluice]\n%include cwd_only/leaf.ini\n");
	struct sluice_config *cfg;

	cr_assert_eq(chdir(CFG_DIR), 0);
	cfg = load_ok(path, NULL);
	cr_expect_eq(cfg->listen_port, 3333);
	config_free(cfg);
}

Test(config, include_absolute_and_quoted, .init = tmp_setup, .fini = tmp_teardown)
{
	char content[PATH_MAX * 2];
	struct sluice_config *cfg;

	write_tmp("inc 1.ini", "listen_port = 4444\n");
	snprintf(content, sizeof(content), "[sluice]\n%%include \"%s/inc 1.ini\"\n", tmpdir);
	cfg = load_ok(write_tmp("main.ini", content), NULL);
	cr_expect_eq(cfg->listen_port, 4444);
	config_free(cfg);
}

Test(config, include_loop)
{
	struct sluice_config *cfg = NULL;
	char err[1024];

	cr_expect_eq(config_load(CFG_DIR "/loop_a.ini", &cfg, err, sizeof(err), NULL, NULL), -1);
	cr_expect_null(cfg);
	cr_expect_str_eq(err, CFG_DIR "/loop_b.ini:2: %include: include loop: " CFG_DIR
	                              "/loop_a.ini is already being read");
}

Test(config, include_depth_limit, .init = tmp_setup, .fini = tmp_teardown)
{
	char name[32], content[64], expect[PATH_MAX * 2];
	struct sluice_config *cfg = NULL;
	char err[1024];

	/* f0 includes f1 ... f10: eleven files, one too many */
	for (int i = 0; i <= 10; i++) {
		snprintf(name, sizeof(name), "f%d.ini", i);
		if (i < 10)
			snprintf(content, sizeof(content), "%s%%include f%d.ini\n",
			         i ? "" : "[sluice]\n", i + 1);
		else
			snprintf(content, sizeof(content), "listen_port = 1\n");
		write_tmp(name, content);
	}
	snprintf(expect, sizeof(expect), "%s/f0.ini", tmpdir);
	cr_expect_eq(config_load(expect, &cfg, err, sizeof(err), NULL, NULL), -1);
	snprintf(expect, sizeof(expect),
	         "%s/f9.ini:1: %%include: nesting too deep (more than 10 levels)", tmpdir);
	cr_expect_str_eq(err, expect);

	/* ten levels are fine */
	write_tmp("f9.ini", "listen_port = 9\n");
	snprintf(expect, sizeof(expect), "%s/f0.ini", tmpdir);
	cfg = load_ok(expect, NULL);
	cr_expect_eq(cfg->listen_port, 9);
	config_free(cfg);
}

Test(config, extra_sections_kept_raw)
{
	struct warnings w = {0};
	struct sluice_config *cfg = load_ok(CFG_DIR "/sections.ini", &w);
	const struct cfg_section *sec;
	const struct cfg_kv *kv;

	cr_expect_eq(cfg->listen_port, 6002, "repeated main section: later wins");
	cr_expect_eq(cfg->pool_mode, POOL_STATEMENT, "section names are case-insensitive");
	cr_expect_eq(cfg->n_extra, 4);
	cr_expect_str_eq(cfg->extra_sections[0].name, "tenant_defaults");
	cr_expect_str_eq(cfg->extra_sections[1].name, "tenant.acme");
	cr_expect_str_eq(cfg->extra_sections[2].name, "class.gold");
	cr_expect_str_eq(cfg->extra_sections[3].name, "foo");

	sec = config_find_section(cfg, "tenant.acme");
	cr_assert_not_null(sec);
	cr_expect_eq(sec->n_kv, 3, "repeated sections are merged");
	cr_expect_eq(sec->line, 6);
	cr_expect_str_eq(cfg_section_get(sec, "weight", NULL), "2");
	cr_expect_str_eq(cfg_section_get(sec, "xact_rate", &kv), "6", "the later value wins");
	cr_assert_not_null(kv);
	cr_expect_eq(kv->line, 16);
	cr_expect_str_eq(kv->key, "XACT_RATE");
	cr_expect(strstr(kv->file, "sections.ini") != NULL);
	cr_expect_null(cfg_section_get(sec, "missing", &kv));
	cr_expect_null(kv);
	cr_expect_str_eq(cfg_section_get(config_find_section(cfg, "class.gold"), "match", NULL),
	                 "user:gold");
	cr_assert_not_null(cfg->gov, "governance sections are parsed at load");
	cr_expect_eq(cfg->gov->n_tenants, 1);
	cr_expect_null(config_find_section(cfg, "tenant.other"));
	cr_expect_null(cfg_section_get(NULL, "x", NULL));

	cr_expect_eq(w.n, 1, "only [foo] warns; got %d", w.n);
	cr_expect_str_eq(w.msg[0], CFG_DIR "/sections.ini:11: [foo]: unknown section, ignored");
	config_free(cfg);
}

Test(config, unknown_key_warnings)
{
	struct warnings w = {0};
	struct sluice_config *cfg = load_ok(CFG_DIR "/unknown_keys.ini", &w);

	cr_assert_eq(w.n, 7, "got %d warnings", w.n);
	cr_expect_str_eq(w.msg[0], CFG_DIR "/unknown_keys.ini:2: no_such_key: unknown parameter, "
	                                   "ignored");
	cr_expect_str_eq(w.msg[1], CFG_DIR "/unknown_keys.ini:3: log_stats: not supported by "
	                                   "sluice yet, ignored");
	cr_expect_str_eq(w.msg[2], CFG_DIR "/unknown_keys.ini:4: server_tls13_ciphers: not "
	                                   "supported by sluice yet, ignored");
	cr_expect_str_eq(w.msg[3], CFG_DIR "/unknown_keys.ini:5: tcp_keepidle: not supported by "
	                                   "sluice yet, ignored");
	cr_expect_str_eq(w.msg[4], CFG_DIR "/unknown_keys.ini:6: auth_ident_file: not supported "
	                                   "by sluice yet, ignored");
	cr_expect_str_eq(w.msg[5], CFG_DIR "/unknown_keys.ini:7: admin_foo: not supported by "
	                                   "sluice yet, ignored");
	/* the default auth_type md5 without auth_file */
	cr_expect_str_eq(w.msg[6], CFG_DIR "/unknown_keys.ini: auth_type md5 checks passwords but "
	                                   "no auth_file is set");
	config_free(cfg);

	/* a NULL warning callback is allowed */
	cfg = load_ok(CFG_DIR "/unknown_keys.ini", NULL);
	config_free(cfg);
}

Test(config, no_auth_warning_with_db_password, .init = tmp_setup, .fini = tmp_teardown)
{
	struct warnings w = {0};
	struct sluice_config *cfg =
	    load_ok(write_tmp("t.ini", "[databases]\nx = user=u password=p\n[sluice]\n"), &w);

	cr_expect_eq(w.n, 0, "%s", w.msg[0]);
	config_free(cfg);
}

Test(config, later_definitions_override, .init = tmp_setup, .fini = tmp_teardown)
{
	struct sluice_config *cfg = load_ok(write_tmp("t.ini", "[sluice]\n"
	                                                       "auth_type = trust\n"
	                                                       "listen_port = 1\n"
	                                                       "[databases]\n"
	                                                       "a = host=one\n"
	                                                       "b = host=bee\n"
	                                                       "[users]\n"
	                                                       "u = max_user_connections=1\n"
	                                                       "[sluice]\n"
	                                                       "listen_port = 2\n"
	                                                       "[databases]\n"
	                                                       "a = port=7\n"
	                                                       "[users]\n"
	                                                       "u = pool_mode=statement\n"),
	                                    NULL);

	cr_expect_eq(cfg->listen_port, 2);
	cr_expect_eq(cfg->n_dbs, 2);
	cr_expect_str_eq(config_find_db(cfg, "a")->host, "", "the whole entry is replaced");
	cr_expect_eq(config_find_db(cfg, "a")->port, 7);
	cr_expect_str_eq(config_find_db(cfg, "b")->host, "bee");
	cr_expect_eq(cfg->n_users, 1);
	cr_expect_eq(config_find_user(cfg, "u")->max_user_connections, -1);
	cr_expect_eq(config_find_user(cfg, "u")->pool_mode, POOL_STATEMENT);
	config_free(cfg);
}

Test(config, crlf_and_whitespace, .init = tmp_setup, .fini = tmp_teardown)
{
	struct sluice_config *cfg =
	    load_ok(write_tmp("t.ini", "\r\n  [ sluice ]  ; comment\r\n"
	                               "\tlisten_port\t=\t5555\t\r\n"
	                               "   # indented comment\r\n"
	                               "auth_type=trust\r\n"
	                               "server_check_query = select 2 \r\n"),
	            NULL);

	cr_expect_eq(cfg->listen_port, 5555);
	cr_expect_str_eq(cfg->server_check_query, "select 2");
	config_free(cfg);
}

Test(config, write_doc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *name;

	cr_assert_not_null(f);
	config_write_doc(f);
	fclose(f);
	cr_expect(strstr(buf, "generated by `sluice --config-doc`") != NULL);
	for (int i = 0; config_key_at(i, &name, NULL, NULL, NULL) == 0; i++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "| `%s` |", name);
		cr_expect(strstr(buf, needle) != NULL, "%s missing from the doc", name);
	}
	cr_expect(strstr(buf, "## [databases]") != NULL);
	cr_expect(strstr(buf, "`stats_period`") != NULL);
	free(buf);
}

Test(config, example_config_loads)
{
	struct warnings w = {0};
	struct sluice_config *cfg = load_ok(TEST_DATA_DIR "/../../../conf/sluice.ini", &w);

	cr_expect_eq(w.n, 0, "%s", w.msg[0]);
	cr_expect_str_eq(cfg->listen_addr, "127.0.0.1");
	cr_expect_eq(cfg->auth_type, AUTH_TYPE_SCRAM);
	cr_expect_eq(cfg->pool_mode, POOL_TRANSACTION);
	cr_expect_eq(cfg->max_client_conn, 10000);
	cr_expect_str_eq(config_find_secret(cfg, "odoo"), "odoo");
	cr_expect_not_null(config_find_db(cfg, "*"));
	cr_expect(strstr(cfg->auth_file, "/conf/userlist.txt") != NULL);
	config_free(cfg);
}

/* ---- bad files: "file:line: key: reason" ---- */

Test(config, missing_file)
{
	struct sluice_config *cfg = NULL;
	char err[512];

	cr_expect_eq(config_load(CFG_DIR "/nope.ini", &cfg, err, sizeof(err), NULL, NULL), -1);
	cr_expect_str_eq(err, CFG_DIR "/nope.ini: cannot open: No such file or directory");
	cr_expect_null(cfg);
}

Test(config, main_section_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	expect_error("[sluice]\nlisten_port = 99999\n",
	             "DIR/t.ini:2: listen_port: value 99999 out of range 1..65535");
	expect_error("[sluice]\nlisten_port = 0\n",
	             "DIR/t.ini:2: listen_port: value 0 out of range 1..65535");
	expect_error("[sluice]\nlisten_port = 64x\n",
	             "DIR/t.ini:2: listen_port: invalid integer \"64x\"");
	expect_error("[sluice]\n\nmax_client_conn =\n",
	             "DIR/t.ini:3: max_client_conn: invalid integer \"\"");
	expect_error("[sluice]\nworkers = 65\n",
	             "DIR/t.ini:2: workers: value 65 out of range 1..64");
	expect_error("[sluice]\ntcp_keepalive = maybe\n",
	             "DIR/t.ini:2: tcp_keepalive: invalid boolean \"maybe\" (use 0/1, yes/no, "
	             "on/off or true/false)");
	expect_error("[sluice]\nserver_lifetime = 5x\n",
	             "DIR/t.ini:2: server_lifetime: invalid duration \"5x\" (seconds, or a number "
	             "with unit us, ms, s, min, h or d)");
	expect_error("[sluice]\nquery_timeout = -1\n",
	             "DIR/t.ini:2: query_timeout: value -1 out of range 0..2147483647 seconds");
	expect_error("[sluice]\npkt_buf = 512\n",
	             "DIR/t.ini:2: pkt_buf: value 512 out of range 1024..16777216 bytes");
	expect_error("[sluice]\nmax_packet_size = 2G\n",
	             "DIR/t.ini:2: max_packet_size: value 2G out of range 1024..2147483647 bytes");
	expect_error("[sluice]\nmax_packet_size = lots\n",
	             "DIR/t.ini:2: max_packet_size: invalid size \"lots\" (bytes, optionally with "
	             "suffix k, kB, M, MB, G or GB)");
	expect_error("[sluice]\npool_mode = sometimes\n",
	             "DIR/t.ini:2: pool_mode: invalid value \"sometimes\" (expected one of: "
	             "session, transaction, statement)");
	expect_error(
	    "[sluice]\nauth_type = peer\n",
	    "DIR/t.ini:2: auth_type: \"peer\" is not supported yet (supported: trust, any, "
	    "plain, md5, scram-sha-256, cert, hba)");
	expect_error("[sluice]\nauth_type = pam\n",
	             "DIR/t.ini:2: auth_type: \"pam\" is not supported yet (supported: trust, "
	             "any, plain, md5, scram-sha-256, cert, hba)");
	expect_error("[sluice]\nauth_type = password\n",
	             "DIR/t.ini:2: auth_type: invalid value \"password\" (expected one of: trust, "
	             "any, plain, md5, scram-sha-256, cert, hba)");
	expect_error("[sluice]\nclient_tls_sslmode = sometimes\n",
	             "DIR/t.ini:2: client_tls_sslmode: invalid value \"sometimes\" (expected one "
	             "of: disable, allow, prefer, require, verify-ca, verify-full)");
	expect_error("[sluice]\nunix_socket_mode = 0999\n",
	             "DIR/t.ini:2: unix_socket_mode: invalid file mode \"0999\" (use octal, e.g. "
	             "0770)");
	expect_error("[sluice]\nunix_socket_mode = 01777\n",
	             "DIR/t.ini:2: unix_socket_mode: value 01777 out of range 0..0777");
	expect_error("[sluice]\nverbose = 3\n", "DIR/t.ini:2: verbose: value 3 out of range 0..2");
}

Test(config, multi_host_databases, .init = tmp_setup, .fini = tmp_teardown)
{
	struct warnings w = {0};
	struct sluice_config *cfg =
	    load_ok(write_tmp("t.ini", "[databases]\n"
	                               "acme = host=pg-0.pg,pg-1.pg,pg-2.pg port=5432 dbname=acme "
	                               "target_session_attrs=read-write\n"
	                               "each = host='10.0.0.1, 10.0.0.2' port='6432,6433'\n"
	                               "one = host=10.0.0.9\n"
	                               "sb = host=a,b target_session_attrs=PREFER-STANDBY\n"
	                               "[sluice]\n"),
	            &w);
	const struct db_entry *db = config_find_db(cfg, "acme");

	cr_assert_not_null(db);
	cr_expect_eq(db->n_hosts, 3);
	cr_expect_str_eq(db->hosts[0].host, "pg-0.pg");
	cr_expect_str_eq(db->hosts[2].host, "pg-2.pg");
	for (int i = 0; i < 3; i++)
		cr_expect_eq(db->hosts[i].port, 5432, "one port applies to every host");
	cr_expect_eq(db->target_session_attrs, TSA_READ_WRITE);
	cr_expect_str_eq(db->host, "pg-0.pg", "host/port are the first host");
	cr_expect_eq(db->port, 5432);

	db = config_find_db(cfg, "each");
	cr_assert_not_null(db);
	cr_expect_eq(db->n_hosts, 2);
	cr_expect_str_eq(db->hosts[1].host, "10.0.0.2", "blanks around a list element are trimmed");
	cr_expect_eq(db->hosts[0].port, 6432);
	cr_expect_eq(db->hosts[1].port, 6433, "one port per host");
	cr_expect_eq(db->target_session_attrs, TSA_ANY, "default any");

	db = config_find_db(cfg, "one");
	cr_assert_not_null(db);
	cr_expect_eq(db->n_hosts, 1);
	cr_expect_eq(db->hosts[0].port, 5432);
	cr_expect_str_eq(db->host, "10.0.0.9");

	db = config_find_db(cfg, "sb");
	cr_assert_not_null(db);
	cr_expect_eq(db->target_session_attrs, TSA_PREFER_STANDBY, "values are case-insensitive");
	cr_expect_str_eq(config_tsa_name(db->target_session_attrs), "prefer-standby");

	db = config_find_db(cfg, "*");
	cr_expect_null(db);
	/* host selection is built: multi-host entries load without a warning */
	for (int i = 0; i < w.n && i < 16; i++)
		cr_expect(strstr(w.msg[i], "host(s)") == NULL, "unexpected warning: %s", w.msg[i]);
	config_free(cfg);
}

Test(config, multi_host_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	expect_error("[databases]\nmydb = host=a,b,c port=1,2\n",
	             "DIR/t.ini:2: mydb: port: 2 ports for 3 hosts (give one port for all hosts, "
	             "or one per host)");
	expect_error("[databases]\nmydb = host=a,,c\n",
	             "DIR/t.ini:2: mydb: host: empty host name in the list \"a,,c\"");
	expect_error("[databases]\nmydb = host=a, port=5432\n",
	             "DIR/t.ini:2: mydb: host: empty host name in the list \"a,\"");
	expect_error("[databases]\nmydb = host=a,b port=5432,x\n",
	             "DIR/t.ini:2: mydb: port: invalid port \"x\" in \"5432,x\"");
	expect_error("[databases]\nmydb = host=a,b port=5432,70000\n",
	             "DIR/t.ini:2: mydb: port: value 70000 out of range 1..65535");
	expect_error("[databases]\nmydb = host=a,b target_session_attrs=read-only\n",
	             "DIR/t.ini:2: mydb: target_session_attrs: invalid value \"read-only\" "
	             "(expected one of: any, read-write, primary, standby, prefer-standby)");
	expect_error("[databases]\nmydb = host=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
	             "DIR/t.ini:2: mydb: host: more than 16 hosts");
}

Test(config, syntax_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	expect_error("listen_port = 1\n", "DIR/t.ini:1: listen_port: parameter outside of any "
	                                  "section");
	expect_error("[sluice]\nlisten_port 1\n",
	             "DIR/t.ini:2: syntax error: expected \"key = value\"");
	expect_error("[sluice]\n= 1\n", "DIR/t.ini:2: syntax error: missing name before \"=\"");
	expect_error("[sluice\n", "DIR/t.ini:1: syntax error: missing \"]\"");
	expect_error("[ ]\n", "DIR/t.ini:1: syntax error: empty section name");
	expect_error("[sluice] x\n", "DIR/t.ini:1: syntax error: unexpected text after section "
	                             "header");
	expect_error("[databases]\n\"open = host=x\n",
	             "DIR/t.ini:2: syntax error: unterminated quoted name");
	expect_error("[databases]\n\"name\" host=x\n",
	             "DIR/t.ini:2: syntax error: expected \"key = value\"");
	expect_error("[sluice]\n%define x\n", "DIR/t.ini:2: unknown directive \"%define\"");
	expect_error("[sluice]\n%include\n", "DIR/t.ini:2: %include: missing file name");
	expect_error("[sluice]\n%include missing.ini\n",
	             "DIR/t.ini:2: %include: cannot open missing.ini: No such file or directory");
}

Test(config, database_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	expect_error("[databases]\nmydb = host=x foo=bar\n",
	             "DIR/t.ini:2: mydb: unknown parameter \"foo\"");
	expect_error("[databases]\nmydb = port=0\n",
	             "DIR/t.ini:2: mydb: port: value 0 out of range 1..65535");
	expect_error("[databases]\nmydb = pool_size=ten\n",
	             "DIR/t.ini:2: mydb: pool_size: invalid integer \"ten\"");
	expect_error("[databases]\nmydb = pool_size=-1\n",
	             "DIR/t.ini:2: mydb: pool_size: value -1 out of range 0..2147483647");
	expect_error("[databases]\nmydb = pool_mode=sometimes\n",
	             "DIR/t.ini:2: mydb: pool_mode: invalid value \"sometimes\" (expected one of: "
	             "session, transaction, statement)");
	expect_error("[databases]\nmydb = dbname='unterminated\n",
	             "DIR/t.ini:2: mydb: dbname: unterminated quoted value");
	expect_error("[databases]\nmydb = dbname='a'b\n",
	             "DIR/t.ini:2: mydb: dbname: unexpected text after quoted value");
	expect_error("[databases]\nmydb = host\n",
	             "DIR/t.ini:2: mydb: missing \"=\" after \"host\"");
	expect_error("[databases]\nmydb = host=x =y\n",
	             "DIR/t.ini:2: mydb: missing parameter name before \"=\"");
	expect_error(
	    "[databases]\nmydb = dbname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa\n",
	    "DIR/t.ini:2: mydb: dbname: value too long (max 63 bytes)");
	expect_error(
	    "[databases]\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = "
	    "host=x\n",
	    "DIR/t.ini:2: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: "
	    "database name too long (max 63 bytes)");
	expect_error("[databases]\n\"\" = host=x\n", "DIR/t.ini:2: empty database name");
	expect_error("[users]\nbob = pool_size=3\n", "DIR/t.ini:2: bob: unknown parameter "
	                                             "\"pool_size\"");
	expect_error("[users]\nbob = max_user_connections=x\n",
	             "DIR/t.ini:2: bob: max_user_connections: invalid integer \"x\"");
}

Test(config, validation_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	expect_error("[sluice]\nunix_socket_dir =\n",
	             "DIR/t.ini: no listener configured (listen_addr and unix_socket_dir are both "
	             "empty)");
	expect_error("[sluice]\nauth_file = nope.txt\n",
	             "DIR/t.ini:2: auth_file: cannot open DIR/nope.txt: No such file or directory");
	write_tmp("ul.txt", "\"a\" \"b\"\n\"broken\n");
	expect_error("[sluice]\n\nauth_file = ul.txt\n",
	             "DIR/t.ini:3: auth_file: DIR/ul.txt:2: unterminated quoted string");
}
