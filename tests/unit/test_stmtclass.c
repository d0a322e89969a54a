/* Unit tests for SQL statement classification (src/stmtclass.c). */
#include <criterion/criterion.h>

#include "stmtclass.h"

#include <string.h>

static struct stmt_info cls(const char *sql)
{
	struct stmt_info si;
	stmt_classify(sql, strlen(sql), &si);
	return si;
}

static int single(const char *sql, enum stmt_kind k)
{
	struct stmt_info si = cls(sql);
	return stmt_is_single(&si, k);
}

static void value_eq(const struct stmt_item *it, const char *v)
{
	cr_assert_eq(it->value_len, strlen(v), "value length %zu for %s", it->value_len, v);
	cr_assert(!strncmp(it->value, v, it->value_len));
}

Test(stmtclass, set_forms)
{
	struct stmt_info si = cls("SET SESSION lock_timeout = '15s'");
	cr_assert(stmt_is_single(&si, SK_SET));
	cr_assert_str_eq(si.item[0].name, "lock_timeout");
	value_eq(&si.item[0], "'15s'");
	si = cls("  /* c */ set search_path TO public, \"My Schema\" ;");
	cr_assert(stmt_is_single(&si, SK_SET));
	cr_assert_str_eq(si.item[0].name, "search_path");
	value_eq(&si.item[0], "public, \"My Schema\"");
	si = cls("SET myapp.tenant_id = 42");
	cr_assert_str_eq(si.item[0].name, "myapp.tenant_id");
	si = cls("SET TIME ZONE 'UTC'");
	cr_assert_str_eq(si.item[0].name, "timezone");
	si = cls("SET ROLE admin");
	cr_assert_str_eq(si.item[0].name, "role");
	value_eq(&si.item[0], "admin");
	si = cls("SET SCHEMA 'x'");
	cr_assert_str_eq(si.item[0].name, "search_path");
	si = cls("set session characteristics as transaction read only");
	cr_assert_str_eq(si.item[0].name, "session_characteristics");
	value_eq(&si.item[0], "read only");
	si = cls("SET lock_timeout TO DEFAULT");
	cr_assert(stmt_is_single(&si, SK_RESET));
	cr_assert(single("SET LOCAL lock_timeout = 1", SK_SET_LOCAL));
	cr_assert(single("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", SK_SET_LOCAL));
	cr_assert_eq(cls("SETTLE x").item[0].kind, SK_OTHER);
	cr_assert_eq(cls("SELECT 'SET x = 1'").item[0].kind, SK_OTHER);
}

Test(stmtclass, reset_discard_deallocate)
{
	struct stmt_info si = cls("RESET ALL");
	cr_assert(stmt_is_single(&si, SK_RESET_ALL));
	si = cls("reset Lock_Timeout");
	cr_assert(stmt_is_single(&si, SK_RESET));
	cr_assert_str_eq(si.item[0].name, "lock_timeout");
	cr_assert(single("DISCARD ALL", SK_DISCARD_ALL));
	cr_assert(single("discard temporary", SK_DISCARD_TEMP));
	cr_assert_eq(cls("DISCARD PLANS").item[0].kind, SK_OTHER);
	si = cls("DEALLOCATE PREPARE \"_pg3_0\"");
	cr_assert(stmt_is_single(&si, SK_DEALLOCATE));
	cr_assert_str_eq(si.item[0].name, "_pg3_0");
	cr_assert(single("deallocate all", SK_DEALLOCATE_ALL));
}

Test(stmtclass, pins)
{
	struct stmt_info si = cls("SELECT pg_advisory_lock(1), pg_try_advisory_lock (2)");
	cr_assert_eq(si.advisory_lock, 2);
	si = cls("SELECT pg_advisory_xact_lock(1)");
	cr_assert_eq(si.advisory_lock, 0);
	si = cls("select pg_advisory_unlock(1); select PG_ADVISORY_UNLOCK_ALL()");
	cr_assert_eq(si.advisory_unlock, 1);
	cr_assert_eq(si.advisory_unlock_all, 1);
	si = cls("SELECT 'pg_advisory_lock(1)'");
	cr_assert_eq(si.advisory_lock, 0);
	cr_assert(single("CREATE TEMP TABLE t (a int)", SK_CREATE_TEMP));
	cr_assert(single("create local temporary view v as select 1", SK_CREATE_TEMP));
	cr_assert_eq(cls("CREATE TEMP TABLE t (a int) ON COMMIT DROP").item[0].kind, SK_OTHER);
	cr_assert_eq(cls("CREATE TABLE t (a int)").item[0].kind, SK_OTHER);
	si = cls("DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT 1");
	cr_assert(stmt_is_single(&si, SK_DECLARE_HOLD));
	cr_assert_str_eq(si.item[0].name, "c");
	cr_assert_eq(cls("DECLARE c CURSOR FOR SELECT 'with hold'").item[0].kind, SK_OTHER);
	cr_assert_eq(cls("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1").item[0].kind, SK_OTHER);
	si = cls("PREPARE q (int) AS SELECT $1");
	cr_assert(stmt_is_single(&si, SK_PREPARE));
	cr_assert_str_eq(si.item[0].name, "q");
	cr_assert_eq(cls("PREPARE TRANSACTION 'x'").item[0].kind, SK_OTHER);
	cr_assert(single("CLOSE ALL", SK_CLOSE_ALL));
	cr_assert(single("close c", SK_CLOSE));
}

Test(stmtclass, databases_and_listen)
{
	struct stmt_info si = cls("DROP DATABASE IF EXISTS \"tenant_a\" WITH (FORCE)");
	cr_assert(stmt_is_single(&si, SK_DROP_DATABASE));
	cr_assert_str_eq(si.item[0].name, "tenant_a");
	si = cls("CREATE DATABASE \"copy\" ENCODING 'unicode' LC_COLLATE 'C' TEMPLATE \"orig\"");
	cr_assert(stmt_is_single(&si, SK_CREATE_DATABASE));
	cr_assert_str_eq(si.item[0].name, "orig");
	si = cls("create database x template = y");
	cr_assert_str_eq(si.item[0].name, "y");
	si = cls("ALTER DATABASE a RENAME TO b");
	cr_assert(stmt_is_single(&si, SK_ALTER_DATABASE));
	cr_assert_str_eq(si.item[0].name, "a");
	si = cls("LISTEN cron_trigger");
	cr_assert(stmt_is_single(&si, SK_LISTEN));
	cr_assert_str_eq(si.item[0].name, "cron_trigger");
	cr_assert(single("UNLISTEN *", SK_UNLISTEN_ALL));
	cr_assert(single("ROLLBACK", SK_ROLLBACK));
	cr_assert(single("abort work", SK_ROLLBACK));
	cr_assert(single("ROLLBACK AND CHAIN", SK_ROLLBACK));
	cr_assert(!single("ROLLBACK TO SAVEPOINT a", SK_ROLLBACK));
	cr_assert(!single("ROLLBACK PREPARED 'x'", SK_ROLLBACK));
}

Test(stmtclass, splitting)
{
	struct stmt_info si =
	    cls("SET a = 'x;y'; SELECT $q$ ; SET b=1 $q$; -- ;\n RESET c; /* ; */");
	cr_assert_eq(si.n, 3);
	cr_assert_eq(si.item[0].kind, SK_SET);
	value_eq(&si.item[0], "'x;y'");
	cr_assert_eq(si.item[1].kind, SK_OTHER);
	cr_assert_eq(si.item[2].kind, SK_RESET);
	cr_assert_eq(cls("").n, 0);
	cr_assert_eq(cls(";;  ;").n, 0);
	si = cls("SELECT E'\\';SET x=1'");
	cr_assert_eq(si.n, 1);
	si = cls("select 1;select 2;select 3;select 4;select 5;select 6;select 7;select 8;"
	         "select pg_advisory_lock(9)");
	cr_assert_eq(si.n, STMT_MAX_ITEMS);
	cr_assert(si.more);
	cr_assert_eq(si.advisory_lock, 1);
	/* Unterminated input never reads past the end. */
	const char *t = "SET x = 'abc";
	stmt_classify(t, 5, &si);
	cr_assert_eq(si.n, 1);
	stmt_classify("/* open", 7, &si);
	stmt_classify("$a$ open", 8, &si);
	stmt_classify("\"open", 5, &si);
}

Test(stmtclass, replay_sql)
{
	char b[128];
	cr_assert_gt(stmt_set_sql("lock_timeout", "'15s'", b, sizeof(b)), 0);
	cr_assert_str_eq(b, "SET \"lock_timeout\" TO '15s'");
	stmt_set_sql("role", "admin", b, sizeof(b));
	cr_assert_str_eq(b, "SET ROLE admin");
	stmt_reset_sql("search_path", b, sizeof(b));
	cr_assert_str_eq(b, "RESET \"search_path\"");
	cr_assert_eq(stmt_set_sql("x", "0123456789", b, 10), -1);
}
