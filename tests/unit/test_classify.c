/* Unit tests for class match rules and class tags (src/classify.c). */
#include <criterion/criterion.h>

#include "classify.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct classify_ruleset parse_ok(const char *v)
{
	struct classify_ruleset rs;
	char err[256] = "";

	cr_assert_eq(classify_parse(v, &rs, err, sizeof(err)), 0, "%s: %s", v, err);
	return rs;
}

static void parse_fails(const char *v, const char *needle)
{
	struct classify_ruleset rs;
	char err[256] = "";

	cr_assert_eq(classify_parse(v, &rs, err, sizeof(err)), -1, "%s parsed", v);
	cr_assert_null(rs.rules);
	cr_assert(strstr(err, needle), "%s: error \"%s\" lacks \"%s\"", v, err, needle);
}

static struct sockaddr_storage ss;

static const struct sockaddr *ip(const char *s)
{
	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, s, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, s, &a->sin_addr), 1);
	}
	return (const struct sockaddr *)&ss;
}

static int matches(const char *rules, const struct classify_facts *f)
{
	struct classify_ruleset rs = parse_ok(rules);
	int m = classify_match(&rs, f);

	classify_ruleset_free(&rs);
	return m;
}

Test(classify, parse_list)
{
	struct classify_ruleset rs = parse_ok(
	    " application_name:odoo-http* , user : bi_?, addr:10.0.0.0/8,comment:reporting");

	cr_assert_eq(rs.n, 4);
	cr_assert_eq(rs.rules[0].kind, CLASSIFY_APPLICATION_NAME);
	cr_assert_str_eq(rs.rules[0].pattern, "odoo-http*");
	cr_assert_eq(rs.rules[1].kind, CLASSIFY_USER);
	cr_assert_str_eq(rs.rules[1].pattern, "bi_?");
	cr_assert_eq(rs.rules[2].kind, CLASSIFY_ADDR);
	cr_assert_eq(rs.rules[2].prefix, 8);
	cr_assert_eq(rs.rules[3].kind, CLASSIFY_COMMENT);
	cr_assert_str_eq(classify_kind_name(rs.rules[3].kind), "comment");
	classify_ruleset_free(&rs);
	classify_ruleset_free(&rs);
}

Test(classify, parse_errors)
{
	parse_fails("", "empty rule");
	parse_fails("user:a,,user:b", "empty rule");
	parse_fails("user:a,", "empty rule");
	parse_fails("bogus:x", "unknown rule kind");
	parse_fails("odoo", "expected KIND:VALUE");
	parse_fails("user:", "empty value");
	parse_fails("addr:10.0.0.0/33", "prefix length over 32");
	parse_fails("addr:::1/129", "prefix length over 128");
	parse_fails("addr:10.0.0.0/x", "invalid prefix");
	parse_fails("addr:10.0.0.0/", "invalid prefix");
	parse_fails("addr:example.com", "not an IPv4 or IPv6");
	char long_rule[300];
	memset(long_rule, 'a', sizeof(long_rule));
	memcpy(long_rule, "user:", 5);
	long_rule[150] = '\0';
	parse_fails(long_rule, "longer than");
	long_rule[150] = 'a';
	long_rule[299] = '\0';
	parse_fails(long_rule, "too long");
}

Test(classify, string_rules)
{
	struct classify_facts f = {
	    .application_name = "odoo-http-worker", .user = "bi_reader", .database = "acme_prod"};

	cr_assert(matches("application_name:odoo-http*", &f));
	cr_assert_not(matches("application_name:pos-*", &f));
	cr_assert(matches("application_name:pos-*, application_name:*worker", &f));
	cr_assert(matches("user:bi_*", &f));
	cr_assert(matches("user:bi_reade?", &f));
	cr_assert_not(matches("user:bi_", &f));
	cr_assert(matches("database:acme_*", &f));
	cr_assert_not(matches("database:acme", &f));
	cr_assert(matches("APPLICATION_NAME:*http*", &f), "kind is case-insensitive");
	f.application_name = NULL;
	cr_assert_not(matches("application_name:*", &f), "missing fact never matches");
}

Test(classify, option_and_comment_rules)
{
	struct classify_facts f = {.option_class = "reporting"};

	cr_assert(matches("option:reporting", &f));
	cr_assert_not(matches("comment:reporting", &f));
	f.comment_class = "cron";
	cr_assert(matches("comment:cron", &f));
	cr_assert(matches("comment:cr*", &f));
	cr_assert_not(matches("option:cron", &f));
}

Test(classify, ipv4_cidr)
{
	struct classify_facts f = {.addr = ip("10.1.2.3")};

	cr_assert(matches("addr:10.0.0.0/8", &f));
	cr_assert(matches("addr:10.1.2.0/23", &f));
	cr_assert(matches("addr:10.1.2.3", &f));
	cr_assert(matches("addr:10.1.2.3/32", &f));
	cr_assert(matches("addr:0.0.0.0/0", &f));
	cr_assert_not(matches("addr:10.1.2.4", &f));
	cr_assert_not(matches("addr:10.1.4.0/23", &f));
	cr_assert_not(matches("addr:192.168.0.0/16", &f));
	cr_assert_not(matches("addr:::/0", &f), "IPv6 rule never matches a plain IPv4 client");
	f.addr = ip("::ffff:10.1.2.3");
	cr_assert(matches("addr:10.0.0.0/8", &f), "IPv4-mapped IPv6 matches IPv4 rules");
	f.addr = NULL;
	cr_assert_not(matches("addr:0.0.0.0/0", &f));
	struct sockaddr unix_sa = {.sa_family = AF_UNIX};
	f.addr = &unix_sa;
	cr_assert_not(matches("addr:0.0.0.0/0", &f));
}

Test(classify, ipv6_cidr)
{
	struct classify_facts f = {.addr = ip("2001:db8:abcd:12::1")};

	cr_assert(matches("addr:2001:db8::/32", &f));
	cr_assert(matches("addr:2001:db8:abcd:12::/64", &f));
	cr_assert(matches("addr:2001:db8:abcd:12::1", &f));
	cr_assert(matches("addr:2001:db8:abcd:10::/61", &f));
	cr_assert_not(matches("addr:2001:db8:abcd:18::/61", &f));
	cr_assert_not(matches("addr:2001:db9::/32", &f));
	cr_assert_not(matches("addr:2001:db8:abcd:12::2", &f));
	cr_assert_not(matches("addr:10.0.0.0/8", &f));
	f.addr = ip("::1");
	cr_assert(matches("addr:::1", &f));
	cr_assert(matches("addr:::/0", &f));
	cr_assert(matches("addr:fe80::/10, addr:::1/128", &f));
}

static int comment(const char *q, char *out, size_t outlen)
{
	return classify_comment(q, strlen(q), out, outlen);
}

Test(classify, comment_tag)
{
	char out[64];

	cr_assert(comment("/* sluice:class=reporting */ SELECT 1", out, sizeof(out)));
	cr_assert_str_eq(out, "reporting");
	cr_assert(comment(" \n\t/*sluice:class=cron_job-2*/SELECT", out, sizeof(out)));
	cr_assert_str_eq(out, "cron_job-2");
	cr_assert(comment("/*  SLUICE:CLASS=a.b  */", out, sizeof(out)));
	cr_assert_str_eq(out, "a.b");
	/* Not tags. */
	cr_assert_not(comment("SELECT 1", out, sizeof(out)), "no tag");
	cr_assert_not(comment("SELECT /* sluice:class=x */ 1", out, sizeof(out)), "not at start");
	cr_assert_not(comment("-- sluice:class=x\nSELECT 1", out, sizeof(out)), "line comment");
	cr_assert_not(comment("/* other */ /* sluice:class=x */", out, sizeof(out)));
	cr_assert_not(comment("/* sluice:class= */", out, sizeof(out)), "empty name");
	cr_assert_not(comment("/* sluice:class=a b */", out, sizeof(out)), "space in name");
	cr_assert_not(comment("/* sluice:class=x; */", out, sizeof(out)), "bad char");
	cr_assert_not(comment("", out, sizeof(out)));
	cr_assert_not(comment("/", out, sizeof(out)));
}

Test(classify, comment_truncated_and_bounded)
{
	const char *q = "/* sluice:class=reporting */";
	char out[64];

	/* Every truncation of a valid tag is rejected, with no NUL after the bytes given. */
	for (size_t n = 0; n < strlen(q); n++) {
		char *buf = malloc(n ? n : 1);
		memcpy(buf, q, n);
		cr_assert_not(classify_comment(buf, n, out, sizeof(out)), "truncated at %zu", n);
		free(buf);
	}
	char *buf = malloc(strlen(q));
	memcpy(buf, q, strlen(q));
	cr_assert(classify_comment(buf, strlen(q), out, sizeof(out)));
	free(buf);
	/* Only the first 256 bytes are looked at. */
	char big[600];
	memset(big, ' ', sizeof(big));
	memcpy(big + 200, q, strlen(q));
	cr_assert(classify_comment(big, sizeof(big), out, sizeof(out)));
	memset(big, ' ', sizeof(big));
	memcpy(big + 240, q, strlen(q));
	cr_assert_not(classify_comment(big, sizeof(big), out, sizeof(out)), "past 256 bytes");
}

Test(classify, comment_overlong_name)
{
	char q[200], out[64];
	int n;

	n = snprintf(q, sizeof(q), "/* sluice:class=");
	memset(q + n, 'x', 63);
	strcpy(q + n + 63, " */");
	cr_assert(comment(q, out, sizeof(out)), "63 characters fit");
	cr_assert_eq(strlen(out), 63);
	cr_assert_not(comment(q, out, 10), "does not fit the caller's buffer");
	memset(q + n, 'x', 64);
	strcpy(q + n + 64, " */");
	cr_assert_not(comment(q, out, sizeof(out)), "64 characters is too long");
}

static int strip(const char *opts, char *cls, char *rest)
{
	return classify_strip_option(opts, cls, 64, rest, 256);
}

Test(classify, strip_option)
{
	char cls[64], rest[256];

	cr_assert_eq(strip("-c sluice.class=reporting", cls, rest), 1);
	cr_assert_str_eq(cls, "reporting");
	cr_assert_str_eq(rest, "");
	cr_assert_eq(strip("-c search_path=a -c sluice.class=cron -c work_mem=64MB", cls, rest), 1);
	cr_assert_str_eq(cls, "cron");
	cr_assert_str_eq(rest, "-c search_path=a -c work_mem=64MB");
	cr_assert_eq(strip("--sluice.class=x  -csluice.class=y --geqo=off", cls, rest), 1);
	cr_assert_str_eq(cls, "y", "last one wins");
	cr_assert_str_eq(rest, "--geqo=off");
	cr_assert_eq(strip("-c application_name=a\\ b -c SLUICE.CLASS=z", cls, rest), 1);
	cr_assert_str_eq(cls, "z");
	cr_assert_str_eq(rest, "-c application_name=a\\ b", "escapes kept as written");
	/* Absent. */
	cr_assert_eq(strip("  -c geqo=off  ", cls, rest), 0);
	cr_assert_str_eq(cls, "");
	cr_assert_str_eq(rest, "-c geqo=off");
	cr_assert_eq(strip("", cls, rest), 0);
	cr_assert_eq(classify_strip_option(NULL, cls, 64, rest, 256), 0);
	cr_assert_eq(strip("-c", cls, rest), 0);
	cr_assert_str_eq(rest, "-c");
	cr_assert_eq(strip("-c sluice.classy=1", cls, rest), 0);
	cr_assert_str_eq(rest, "-c sluice.classy=1");
	/* Invalid names: removed, -1. */
	cr_assert_eq(strip("-c sluice.class= -c geqo=off", cls, rest), -1);
	cr_assert_str_eq(rest, "-c geqo=off");
	cr_assert_eq(strip("-c sluice.class=a;b", cls, rest), -1);
	cr_assert_eq(strip("-c sluice.class=a\\ b", cls, rest), -1);
	char longopt[200];
	snprintf(longopt, sizeof(longopt), "-c sluice.class=%070d", 0);
	cr_assert_eq(strip(longopt, cls, rest), -1);
	/* Output buffers too small. */
	cr_assert_eq(classify_strip_option("-c sluice.class=abcdef", cls, 4, rest, 256), -1);
	cr_assert_eq(classify_strip_option("-c geqo=off", cls, 64, rest, 5), -1);
	cr_assert_eq(classify_strip_option("-c geqo=off", cls, 64, rest, 12), 0);
	cr_assert_str_eq(rest, "-c geqo=off");
}

Test(classify, valid_name)
{
	cr_assert(classify_valid_name("checkout"));
	cr_assert(classify_valid_name("a-b_c.d9"));
	cr_assert_not(classify_valid_name(""));
	cr_assert_not(classify_valid_name("a b"));
	cr_assert_not(classify_valid_name("a/b"));
	char s[65];
	memset(s, 'a', 64);
	s[64] = '\0';
	cr_assert_not(classify_valid_name(s));
	s[63] = '\0';
	cr_assert(classify_valid_name(s));
}
