/* Unit tests for sluice-bench's scenario files (bench/sluice-bench/scenario.c, read through
 * sluice's config_load) and transaction scripts (script.c). */
#include <criterion/criterion.h>

#include "scenario.h"
#include "script.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sluice-bench-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static struct scenario *load(const char *ini, char *err, size_t errlen)
{
	char path[256];
	put("s.ini", ini);
	snprintf(path, sizeof(path), "%s/s.ini", dir);
	return scenario_load(path, err, errlen);
}

TestSuite(bench_scenario, .init = setup, .fini = teardown);

Test(bench_scenario, the_issue_example)
{
	char err[512] = "";

	put("checkout.sql", "\\set id random(1, 10)\nSELECT :id;\n");
	struct scenario *sc =
	    load("[scenario]\nduration = 60s\nwarmup = 5s\nseed = 1\n"
	         "[workload.checkout]\n"
	         "database = acme              ; the tenant's database\n"
	         "application_name = pos-checkout\n"
	         "clients = 20\n"
	         "rate = 200                   ; open loop: transactions per second (Poisson); or\n"
	         "; think_time = 100ms         ; closed loop with a pause\n"
	         "protocol = simple            ; or extended\n"
	         "retry = 40001, 40P01, 55P03  ; retried with backoff like Odoo\n"
	         "script = checkout.sql        ; path relative to the scenario file\n",
	         err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
	cr_assert_float_eq(sc->duration, 60, 1e-9);
	cr_assert_float_eq(sc->warmup, 5, 1e-9);
	cr_assert_eq(sc->seed, 1);
	cr_assert_eq(sc->scale, 1);
	cr_assert_eq(sc->n_w, 1);
	const struct workload *w = &sc->w[0];
	cr_assert_str_eq(w->name, "checkout");
	cr_assert_str_eq(w->database, "acme");
	cr_assert_str_eq(w->application_name, "pos-checkout");
	cr_assert_eq(w->clients, 20);
	cr_assert_float_eq(w->rate, 200, 1e-9);
	cr_assert_float_eq(w->think_time, 0, 1e-9);
	cr_assert_eq(w->extended, 0);
	cr_assert_eq(w->n_retry, 3);
	cr_assert_str_eq(w->retry[0], "40001");
	cr_assert_str_eq(w->retry[1], "40P01");
	cr_assert_str_eq(w->retry[2], "55P03");
	cr_assert_eq(w->retry_max, 5, "Odoo's default number of retries");
	cr_assert_not_null(strstr(w->script_path, dir), "relative to the scenario's directory");
	cr_assert_eq(w->script->n_sql, 1);
	cr_assert_str_eq(sc->name, "s");
	scenario_free(sc);
}

Test(bench_scenario, all_keys_and_workload_order)
{
	char err[512] = "";

	put("a.sql", "SELECT 1;\n");
	put("init.sql", "SELECT :scale;\n");
	struct scenario *sc = load("[scenario]\nname = peak\nduration = 2min\nwarmup = 0\n"
	                           "ramp = 500ms\nscale = 3\nthreads = 1\nhost = 10.0.0.1\n"
	                           "port = 6432\nuser = odoo\ninit = init.sql\n"
	                           "max_p99_ratio = 1.2\nmin_tps_ratio = 0.95\n"
	                           "max_error_rate = 0.001\ndrain_timeout = 3s\n"
	                           "[workload.zeta]\ndatabase = z\nscript = a.sql\n"
	                           "think_time = 100ms\nprotocol = extended\nretry_max = 2\n"
	                           "retry_backoff = 10ms\nreconnect = yes\nslo_p99 = 250ms\n"
	                           "[workload.alpha]\ndatabase = a\nscript = a.sql\nledger = on\n",
	                           err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
	cr_assert_str_eq(sc->name, "peak");
	cr_assert_float_eq(sc->duration, 120, 1e-9);
	cr_assert_float_eq(sc->ramp, 0.5, 1e-9);
	cr_assert_eq(sc->scale, 3);
	cr_assert_eq(sc->threads, 1);
	cr_assert_str_eq(sc->host, "10.0.0.1");
	cr_assert_eq(sc->port, 6432);
	cr_assert_str_eq(sc->user, "odoo");
	cr_assert_float_eq(sc->max_p99_ratio, 1.2, 1e-9);
	cr_assert_float_eq(sc->min_tps_ratio, 0.95, 1e-9);
	cr_assert_float_eq(sc->max_error_rate, 0.001, 1e-12);
	cr_assert_float_eq(sc->drain_timeout, 3, 1e-9);
	cr_assert_eq(sc->n_w, 2);
	cr_assert_str_eq(sc->w[0].name, "zeta", "file order is kept");
	cr_assert_float_eq(sc->w[0].think_time, 0.1, 1e-9);
	cr_assert_eq(sc->w[0].extended, 1);
	cr_assert_eq(sc->w[0].retry_max, 2);
	cr_assert_float_eq(sc->w[0].retry_backoff, 0.01, 1e-9);
	cr_assert_eq(sc->w[0].reconnect, 1);
	cr_assert_float_eq(sc->w[0].slo_p99, 0.25, 1e-9);
	cr_assert_eq(sc->w[1].ledger, 1);
	cr_assert_eq(sc->w[1].clients, 1);
	scenario_free(sc);
}

static void expect_error(const char *ini, const char *needle)
{
	char err[512] = "";
	struct scenario *sc = load(ini, err, sizeof(err));
	cr_assert_null(sc, "accepted: %s", ini);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

Test(bench_scenario, errors_name_file_line_and_key)
{
	put("a.sql", "SELECT 1;\n");
	expect_error("[scenario]\nduration = 1s\n[workload.w]\ndatabase = d\nscript = a.sql\n"
	             "clinets = 3\n",
	             "s.ini:6: clinets: unknown key");
	expect_error("[scenario]\nduration = soon\n[workload.w]\ndatabase = d\nscript = a.sql\n",
	             "s.ini:2: duration: expected a positive duration");
	expect_error("[scenario]\n[workload.w]\ndatabase = d\nscript = a.sql\nrate = 5\n"
	             "think_time = 1s\n",
	             "exclude each other");
	expect_error("[scenario]\n[workload.w]\ndatabase = d\nscript = a.sql\nretry = 4001\n",
	             "s.ini:5: retry: expected a list of SQLSTATEs");
	expect_error("[scenario]\n[workload.w]\nscript = a.sql\n", "database is required");
	expect_error("[scenario]\n[workload.w]\ndatabase = d\n", "script is required");
	expect_error("[scenario]\n[workload.w]\ndatabase = d\nscript = missing.sql\n",
	             "missing.sql: cannot read");
	expect_error("[scenario]\n[workload.w]\ndatabase = d\nscript = a.sql\nprotocol = fast\n",
	             "expected simple or extended");
	expect_error("[scenario]\nduration = 1s\n", "at least one [workload.NAME]");
	expect_error("[workload.w]\ndatabase = d\nscript = a.sql\n", "needs a [scenario] section");
	expect_error("[scenario]\n[workload.a b]\ndatabase = d\nscript = a.sql\n",
	             "workload names are");
}

Test(bench_scenario, keep_only_some_workloads)
{
	char err[512] = "";

	put("a.sql", "SELECT 1;\n");
	struct scenario *sc = load("[scenario]\n[workload.a]\ndatabase = d\nscript = a.sql\n"
	                           "[workload.b]\ndatabase = d\nscript = a.sql\n"
	                           "[workload.c]\ndatabase = e\nscript = a.sql\n",
	                           err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
	cr_assert_eq(scenario_keep_only(sc, "zzz", err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "no workload named zzz"), "%s", err);
	cr_assert_eq(sc->n_w, 3, "a failed selection changes nothing");
	cr_assert_eq(scenario_keep_only(sc, "c, a", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sc->n_w, 2);
	cr_assert_str_eq(sc->w[0].name, "a", "the file's order is kept");
	cr_assert_str_eq(sc->w[1].name, "c");
	cr_assert_str_eq(sc->w[1].database, "e");
	scenario_free(sc);
}

Test(bench_scenario, strip_comment_and_codes)
{
	char v[] = "40001, 40P01 ; retried", w[] = "a;b # c", codes[8][6];

	scenario_strip_comment(v);
	cr_assert_str_eq(v, "40001, 40P01");
	scenario_strip_comment(w);
	cr_assert_str_eq(w, "a;b", "a ';' inside a value stays");
	cr_assert_eq(scenario_parse_codes("40001,40P01 55P03", codes, 8), 3);
	cr_assert_str_eq(codes[2], "55P03");
	cr_assert_eq(scenario_parse_codes("", codes, 8), 0);
	cr_assert_eq(scenario_parse_codes("40001x", codes, 8), -1);
	cr_assert_eq(scenario_parse_codes("4000a", codes, 8), -1, "SQLSTATEs are upper case");
}

/* ---- scripts ---- */

static struct script *parse(const char *text, char *err, size_t errlen)
{
	return script_parse("t.sql", text, err, errlen);
}

Test(bench_script, statements_variables_and_protocols)
{
	char err[256] = "", code[6], msg[128], *buf = NULL;
	size_t cap = 0;
	struct rng r;
	int64_t vars[SCRIPT_MAX_VARS] = {0};
	struct script *s = parse("-- a comment before anything\n"
	                         "\\set aid random(1, 100 * :scale)\n"
	                         "\\set delta (:aid % 7) - 3\n"
	                         "BEGIN ISOLATION LEVEL REPEATABLE READ;\n"
	                         "UPDATE t SET v = v + :delta,\n"
	                         "   w = ':nope'::text\n"
	                         " WHERE id = :aid AND k = :aid::int;\n"
	                         "\n"
	                         "SELECT :client_id, :ledger_id;\n"
	                         "COMMIT",
	                         err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->n_sql, 4);
	cr_assert_eq(s->n_steps, 6);
	const struct script_step *up = &s->steps[3];
	cr_assert_eq(up->line, 5, "a statement starts where its first line is");
	cr_assert_str_eq(up->ext,
	                 "UPDATE t SET v = v + $1,\n   w = ':nope'::text\n WHERE id = $2 "
	                 "AND k = $2::int",
	                 "repeated variables share one parameter; unknown names stay");
	cr_assert_eq(up->n_params, 2);

	rng_seed(&r, 1, 1);
	vars[SCRIPT_VAR_SCALE] = 2;
	vars[SCRIPT_VAR_CLIENT] = 5;
	vars[SCRIPT_VAR_LEDGER] = 77;
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(script_eval_sets(s, vars, &r, code, msg, sizeof(msg)), 0);
		int64_t aid = vars[up->params[1]], delta = vars[up->params[0]];
		cr_assert(aid >= 1 && aid <= 200, "aid %lld", (long long)aid);
		cr_assert_eq(delta, aid % 7 - 3);
	}
	cr_assert_eq(script_render(up, vars, &buf, &cap), 0);
	char want[256];
	snprintf(want, sizeof(want),
	         "UPDATE t SET v = v + %lld,\n   w = ':nope'::text\n WHERE id = %lld AND k = "
	         "%lld::int",
	         (long long)vars[up->params[0]], (long long)vars[up->params[1]],
	         (long long)vars[up->params[1]]);
	cr_assert_str_eq(buf, want);
	cr_assert_eq(script_render(&s->steps[4], vars, &buf, &cap), 0);
	cr_assert_str_eq(buf, "SELECT 5, 77");
	cr_assert_str_eq(s->steps[5].sql, "COMMIT", "the last statement needs no ';'");
	free(buf);
	script_free(s);
}

Test(bench_script, functions_and_eval_errors)
{
	char err[256] = "", code[6], msg[128];
	struct rng r;
	int64_t vars[SCRIPT_MAX_VARS] = {0};
	struct script *s = parse("\\set e random_exponential(1, 1000, 5.0)\n"
	                         "\\set g random_gaussian(1, 10, 2.5)\n"
	                         "\\set m least(greatest(-4, abs(-9)), 8) * -2 + 20 / 3\n"
	                         "SELECT :e, :g, :m;\n",
	                         err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	rng_seed(&r, 4, 4);
	long low = 0;
	for (int i = 0; i < 10000; i++) {
		cr_assert_eq(script_eval_sets(s, vars, &r, code, msg, sizeof(msg)), 0);
		cr_assert(vars[3] >= 1 && vars[3] <= 1000);
		cr_assert(vars[4] >= 1 && vars[4] <= 10);
		cr_assert_eq(vars[5], -16 + 6);
		low += vars[3] <= 200;
	}
	/* P(x < 0.2) for the exponential cut at 1 with parameter 5: (1 - e^-1) / (1 - e^-5) */
	cr_assert(fabs(low / 10000.0 - (1 - exp(-1)) / (1 - exp(-5))) < 0.02,
	          "exponential with parameter 5 favours the low end (%ld of 10000)", low);
	script_free(s);

	s = parse("\\set z 0\n\\set q 5 / :z\nSELECT :q;\n", err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(script_eval_sets(s, vars, &r, code, msg, sizeof(msg)), -1);
	cr_assert_str_eq(code, "22012");
	script_free(s);
	s = parse("\\set q random(5, 1)\nSELECT :q;\n", err, sizeof(err));
	cr_assert_eq(script_eval_sets(s, vars, &r, code, msg, sizeof(msg)), -1);
	cr_assert_str_eq(code, "22023");
	script_free(s);
}

static void script_error(const char *text, const char *needle)
{
	char err[256] = "";
	struct script *s = parse(text, err, sizeof(err));
	cr_assert_null(s, "accepted: %s", text);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

Test(bench_script, parse_errors)
{
	script_error("\\set x :y + 1\nSELECT 1;\n", "t.sql:1: unknown variable :y");
	script_error("SELECT 1;\n\\set x random(1)\n", "t.sql:2: random takes 2 arguments");
	script_error("\\set x nope(1)\nSELECT 1;\n", "unknown function nope");
	script_error("\\set x 1 +\nSELECT 1;\n", "syntax error in expression");
	script_error("\\set x 1.5\nSELECT 1;\n", "decimal numbers are only allowed");
	script_error("\\sleep 1\nSELECT 1;\n", "unknown meta-command");
	script_error("\\set scale 3\nSELECT 1;\n", "built-in variable");
	script_error("\\set x 1 2\nSELECT 1;\n", "unexpected text");
	script_error("-- nothing\n\n", "no SQL statement");
}

Test(bench_script, init_scale_substitution)
{
	char *s = script_subst_scale("SELECT :scale, :scaled, x::scale, ':scale'", 12);
	cr_assert_str_eq(s, "SELECT 12, :scaled, x::scale, '12'");
	free(s);
}
