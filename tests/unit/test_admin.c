/* The admin command language: parsing (every verb, quoting, errors), the result table and its
 * JSON rendering, and the single-key governor setters behind SET TENANT / SET CLASS. */
#include <criterion/criterion.h>
#include <string.h>

#include "admin.h"
#include "admin_sock.h"
#include "governor.h"

static struct admin_cmd parse_ok(const char *sql)
{
	struct admin_cmd c;
	char err[256] = "";
	int rc = admin_parse(sql, &c, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", sql, err);
	return c;
}

static void parse_fail(const char *sql, const char *want)
{
	struct admin_cmd c;
	char err[256] = "";
	cr_assert_eq(admin_parse(sql, &c, err, sizeof(err)), -1, "accepted: %s", sql);
	cr_assert(strstr(err, want), "%s: error \"%s\" lacks \"%s\"", sql, err, want);
}

Test(admin_parse, show_views_case_and_semicolon)
{
	struct admin_cmd c = parse_ok("show pools");
	cr_assert_eq(c.verb, AV_SHOW);
	cr_assert_str_eq(c.arg, "POOLS");
	c = parse_ok("  SHOW   stats_totals ;  ");
	cr_assert_str_eq(c.arg, "STATS_TOTALS");
	c = parse_ok("SHOW TENANT acme");
	cr_assert_str_eq(c.arg, "TENANT");
	cr_assert_str_eq(c.arg2, "acme");
	c = parse_ok("show class \"Mixed Case\"");
	cr_assert_str_eq(c.arg2, "Mixed Case");
	cr_assert(admin_cmd_readonly(&c));
}

Test(admin_parse, invalid_commands_use_pgbouncer_wording)
{
	parse_fail("SHOW", "invalid command 'SHOW', use SHOW HELP;");
	parse_fail("foo bar", "invalid command 'foo bar'");
	parse_fail("SELECT 1", "invalid command");
	parse_fail("show pools; show lists", "invalid command");
	parse_fail("SHOW POOLS extra", "invalid command");
	parse_fail("", "invalid command");
	parse_fail("SHOW TENANT", "needs a name");
	parse_fail("SHOW 'unterminated", "invalid command");
}

Test(admin_parse, set_forms)
{
	struct admin_cmd c = parse_ok("SET default_pool_size = 30");
	cr_assert_eq(c.verb, AV_SET);
	cr_assert_str_eq(c.key, "default_pool_size");
	cr_assert_str_eq(c.value, "30");
	c = parse_ok("set default_pool_size=30");
	cr_assert_str_eq(c.value, "30");
	c = parse_ok("SET server_reset_query = 'DISCARD ALL'");
	cr_assert_str_eq(c.value, "DISCARD ALL");
	c = parse_ok("SET server_check_query = 'it''s'");
	cr_assert_str_eq(c.value, "it's");
	c = parse_ok("SET ignore_startup_parameters =");
	cr_assert_str_eq(c.value, "");
	c = parse_ok("SET TENANT acme max_server_conn = 5");
	cr_assert_eq(c.verb, AV_SET_TENANT);
	cr_assert_str_eq(c.arg, "acme");
	cr_assert_str_eq(c.key, "max_server_conn");
	cr_assert_str_eq(c.value, "5");
	c = parse_ok("set class reporting max=30%");
	cr_assert_eq(c.verb, AV_SET_CLASS);
	cr_assert_str_eq(c.value, "30%");
	cr_assert_not(admin_cmd_readonly(&c));
	parse_fail("SET TENANT acme max_server_conn", "usage: SET TENANT");
	parse_fail("SET x", "usage: SET key = value");
	parse_fail("SET a = b = c", "usage");
}

Test(admin_parse, reset_and_db_commands)
{
	struct admin_cmd c = parse_ok("RESET TENANT acme");
	cr_assert_eq(c.verb, AV_RESET_TENANT);
	cr_assert_str_eq(c.key, "");
	c = parse_ok("reset class checkout priority");
	cr_assert_eq(c.verb, AV_RESET_CLASS);
	cr_assert_str_eq(c.key, "priority");
	parse_fail("RESET acme", "usage: RESET TENANT");
	c = parse_ok("PAUSE");
	cr_assert_eq(c.verb, AV_PAUSE);
	cr_assert_str_eq(c.arg, "");
	c = parse_ok("pause \"My Db\"");
	cr_assert_str_eq(c.arg, "My Db");
	c = parse_ok("RESUME appdb");
	cr_assert_eq(c.verb, AV_RESUME);
	parse_fail("DISABLE", "a database is required");
	parse_fail("KILL", "a database is required");
	c = parse_ok("KILL appdb");
	cr_assert_eq(c.verb, AV_KILL);
	c = parse_ok("kill_client 42");
	cr_assert_eq(c.verb, AV_KILL_CLIENT);
	cr_assert_str_eq(c.arg, "42");
	parse_fail("KILL_CLIENT", "a client id is required");
	parse_fail("KILL_CLIENT abc", "invalid client id");
	parse_fail("RELOAD now", "invalid command");
	parse_fail("SUSPEND x", "invalid command");
	c = parse_ok("WAIT_CLOSE");
	cr_assert_eq(c.verb, AV_WAIT_CLOSE);
	c = parse_ok("reconnect appdb");
	cr_assert_eq(c.verb, AV_RECONNECT);
}

Test(admin_parse, shutdown_modes)
{
	struct admin_cmd c = parse_ok("SHUTDOWN");
	cr_assert_eq(c.verb, AV_SHUTDOWN);
	cr_assert_str_eq(c.arg2, "");
	c = parse_ok("shutdown wait_for_clients");
	cr_assert_str_eq(c.arg2, "WAIT_FOR_CLIENTS");
	c = parse_ok("SHUTDOWN WAIT_FOR_SERVERS;");
	cr_assert_str_eq(c.arg2, "WAIT_FOR_SERVERS");
	parse_fail("SHUTDOWN NOW", "invalid command");
}

Test(admin_parse, hostile_input)
{
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_fail(big, "command too long");
	char longtok[600] = "SHOW ";
	memset(longtok + 5, 'x', 500);
	longtok[505] = '\0';
	parse_fail(longtok, "invalid command");
	parse_fail("a b c d e f g h i j", "invalid command");
	parse_fail("SHOW \"", "invalid command");
}

Test(admin_res, table_and_json)
{
	struct admin_res r;
	struct wbuf b = {0};
	memset(&r, 0, sizeof(r));
	admin_res_cols(&r, "name:t,count:i,avg:n");
	cr_assert_eq(r.ncols, 3);
	cr_assert_eq(r.coltype[1], AT_INT);
	for (int i = 0; i < 40; i++) { /* grows past the first allocation */
		admin_row(&r);
		admin_cellf(&r, "db\"%d\\", i);
		admin_cell_int(&r, i);
		admin_cell(&r, i % 2 ? NULL : "1.5");
	}
	cr_assert_eq(r.nrows, 40);
	cr_assert_str_eq(admin_res_cell(&r, 39, 1), "39");
	cr_assert_null(admin_res_cell(&r, 39, 2));
	admin_res_json(&r, NULL, &b);
	wb_put(&b, "", 1);
	const char *j = (const char *)b.data;
	cr_assert(strncmp(j,
	                  "{\"ok\":true,\"tag\":\"SHOW\",\"columns\":[\"name\",\"count\",\"avg\"]",
	                  55) == 0,
	          "%s", j);
	cr_assert(strstr(j, "{\"name\":\"db\\\"0\\\\\",\"count\":0,\"avg\":1.5}"), "%s", j);
	cr_assert(strstr(j, "\"avg\":null}"), "%s", j);
	cr_assert_eq(j[strlen(j) - 1], '\n');
	cr_assert_eq(strchr(j, '\n'), j + strlen(j) - 1, "one line per answer");
	wb_free(&b);
	admin_res_error(&r, "42601", "bad %s", "thing");
	cr_assert_eq(r.nrows, 0);
	admin_res_json(&r, NULL, &b);
	wb_put(&b, "", 1);
	cr_assert_str_eq((const char *)b.data,
	                 "{\"ok\":false,\"sqlstate\":\"42601\",\"error\":\"bad thing\"}\n");
	wb_free(&b);
	admin_res_free(&r);
}

Test(admin_res, control_characters_escaped)
{
	struct admin_res r;
	struct wbuf b = {0};
	memset(&r, 0, sizeof(r));
	snprintf(r.tag, sizeof(r.tag), "SHOW");
	snprintf(r.notice, sizeof(r.notice), "line1\n\tline2");
	admin_res_json(&r, NULL, &b);
	wb_put(&b, "", 1);
	cr_assert(strstr((const char *)b.data, "\"notice\":\"line1\\u000a\\u0009line2\""), "%s",
	          (const char *)b.data);
	wb_free(&b);
}

Test(governor_set, tenant_keys)
{
	struct gov_tenant_conf t;
	char err[256];
	memset(&t, 0, sizeof(t));
	t.max_server_conn = 10;
	cr_assert_eq(governor_tenant_set(&t, "max_server_conn", "5", err, sizeof(err)), 0);
	cr_assert_eq(t.max_server_conn, 5);
	cr_assert_eq(governor_tenant_set(&t, "XACT_RATE", "2.5", err, sizeof(err)), 0);
	cr_assert_float_eq(t.xact_rate, 2.5, 1e-9);
	cr_assert_eq(governor_tenant_set(&t, "max_server_conn", "-1", err, sizeof(err)), -1);
	cr_assert(strstr(err, "out of range"), "%s", err);
	cr_assert_eq(t.max_server_conn, 5, "unchanged after a bad value");
	cr_assert_eq(governor_tenant_set(&t, "weight", "0", err, sizeof(err)), -1);
	cr_assert_eq(governor_tenant_set(&t, "databases", "x", err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot be changed at runtime"), "%s", err);
	cr_assert_eq(governor_tenant_set(&t, "nope", "1", err, sizeof(err)), -1);
	char buf[64];
	cr_assert_eq(governor_tenant_key_value(&t, "max_server_conn", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "5");
}

Test(governor_set, class_keys)
{
	struct gov_class_conf c;
	char err[256];
	memset(&c, 0, sizeof(c));
	c.max = 100;
	c.max_pct = 1;
	cr_assert_eq(governor_class_set(&c, "reserve", "20%", err, sizeof(err)), 0);
	cr_assert_eq(governor_class_set(&c, "max", "10%", err, sizeof(err)), -1);
	cr_assert(strstr(err, "below reserve"), "%s", err);
	cr_assert_float_eq(c.max, 100, 1e-9);
	cr_assert_eq(governor_class_set(&c, "max", "0", err, sizeof(err)), -1);
	cr_assert_eq(governor_class_set(&c, "queue_timeout", "250ms", err, sizeof(err)), 0);
	cr_assert_float_eq(c.queue_timeout, 0.25, 1e-9);
	cr_assert_eq(governor_class_set(&c, "overload_sqlstate", "40001", err, sizeof(err)), 0);
	cr_assert_str_eq(c.overload_sqlstate, "40001");
	cr_assert_eq(governor_class_set(&c, "overload_sqlstate", "4001", err, sizeof(err)), -1);
	cr_assert_eq(governor_class_set(&c, "match", "app=x", err, sizeof(err)), -1);
	cr_assert_eq(governor_class_set(&c, "priority", "7", err, sizeof(err)), 0);
	cr_assert_eq(c.priority, 7);
}
