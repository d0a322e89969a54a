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
