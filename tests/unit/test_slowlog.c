/* Unit tests for the slow-query text normalizer (src/slowlog.c). */
#include <criterion/criterion.h>

#include <string.h>

#include "slowlog.h"

static const char *norm(const char *sql, size_t outlen)
{
	static char out[512];
	cr_assert(outlen <= sizeof(out));
	slowlog_normalize(sql, strlen(sql), out, outlen);
	return out;
}

Test(slowlog, literals_replaced)
{
	cr_assert_str_eq(norm("SELECT * FROM t WHERE a = 'x''y' AND b = 42", 512),
	                 "SELECT * FROM t WHERE a = ? AND b = ?");
	cr_assert_str_eq(norm("select e'a\\'b', 1.5e3, x1, $1, \"t2\".c3", 512),
	                 "select ?, ?, x1, $1, \"t2\".c3");
	cr_assert_str_eq(norm("ALTER ROLE u PASSWORD 'secret'", 512), "ALTER ROLE u PASSWORD ?");
	cr_assert_str_eq(norm("select\n1", 512), "select ?");
}

Test(slowlog, bounded)
{
	cr_assert_str_eq(norm("SELECT 'unterminated", 512), "SELECT ?");
	cr_assert_str_eq(norm("SELECT abcdef", 7), "SELECT");
	cr_assert_str_eq(norm("x", 1), "");
}
