/* Unit tests for the first-keyword helpers (src/sqlword.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "sqlword.h"

static int sw(const char *q, const char *const *words)
{
	return sql_starts_with(q, strlen(q), words);
}

Test(sqlword, skips_blanks_and_comments)
{
	const char *q = "  /* sluice:class=x */ -- note\n\tCOMMIT";
	cr_assert_eq(sql_skip_blank(q, strlen(q)), strlen(q) - 6);
	cr_assert_eq(sql_skip_blank("/* open", 7), 7, "an unterminated comment is all blank");
	cr_assert_eq(sql_skip_blank("", 0), 0);
}

Test(sqlword, word_boundaries_and_case)
{
	static const char *const w[] = {"COMMIT", "END", "SET SESSION AUTHORIZATION", NULL};
	cr_assert(sw("commit", w));
	cr_assert(sw("Commit;", w));
	cr_assert(sw("/* x */ end", w));
	cr_assert(sw("set session authorization default", w));
	cr_assert_not(sw("COMMITTED", w), "a longer word does not match");
	cr_assert_not(sw("ENDLESS", w));
	cr_assert_not(sw("SELECT 1", w));
	cr_assert_not(sw("COMM", w), "shorter than the word");
}

static int ro(const char *q)
{
	return sql_begins_read_only(q, strlen(q));
}

Test(sqlword, read_only_begin_as_drivers_write_it)
{
	cr_assert(ro("BEGIN READ ONLY"));
	cr_assert(ro("begin read only;"));
	cr_assert(ro("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), "psycopg2's form");
	cr_assert(ro("BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"));
	cr_assert(ro("start transaction read only"));
	cr_assert(ro("START TRANSACTION ISOLATION LEVEL READ COMMITTED READ ONLY NOT DEFERRABLE"));
	cr_assert(ro("  /* odoo */ BEGIN WORK\n READ  ONLY ; SELECT 1"),
	          "comments, blanks and a following statement");
	cr_assert(ro("BEGIN READ WRITE, READ ONLY"), "the last access mode wins");
}

Test(sqlword, not_read_only)
{
	cr_assert_not(ro("BEGIN"));
	cr_assert_not(ro("BEGIN;"));
	cr_assert_not(ro("BEGIN ISOLATION LEVEL REPEATABLE READ"));
	cr_assert_not(ro("BEGIN READ ONLY, READ WRITE"));
	cr_assert_not(ro("START READ ONLY"), "START needs TRANSACTION");
	cr_assert_not(ro("SELECT 'BEGIN READ ONLY'"));
	cr_assert_not(ro("BEGINNING READ ONLY"));
	cr_assert_not(ro("BEGIN ISOLATION LEVEL READ ONLY"), "not an isolation level");
	cr_assert_not(ro("BEGIN READ"), "cut short");
	cr_assert_not(ro("BEGIN READ ONLY GARBAGE"), "an unknown mode: not recognised");
	cr_assert_not(ro(""));
	cr_assert_not(ro("SET TRANSACTION READ ONLY"));
}
