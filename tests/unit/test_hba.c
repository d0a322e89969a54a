/* Unit tests for the pg_hba.conf subset (src/hba.c) and *_tls_protocols parsing (src/tls.c). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "config.h"
#include "hba.h"
#include "tls.h"

static struct sockaddr_storage v4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	cr_assert_eq(inet_pton(AF_INET, a, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	in6->sin6_family = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, a, &in6->sin6_addr), 1);
	return ss;
}

static int parse(const char *text, struct hba_rules *r, char *err, size_t errlen)
{
	return hba_parse(text, strlen(text), "hba.conf", r, err, errlen);
}

static const char rules[] = "# comment line\n"
                            "\n"
                            "host all blocked 127.0.0.1/32 reject   # trailing comment\n"
                            "host \"all\" quoted 10.0.0.0/8 md5\n"
                            "hostssl db1,db2 u1,u2 192.168.0.0/16 cert\n"
                            "hostnossl sameuser all ::1/128 password\n"
                            "host all all 172.16.0.0 255.240.0.0 scram-sha-256\n"
                            "local all all trust\n"
                            "host all all all reject\n";

Test(hba, first_match_wins)
{
	struct hba_rules r;
	char err[256];
	cr_assert_eq(parse(rules, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.n, 7);
	struct sockaddr_storage lo = v4("127.0.0.1"), ten = v4("10.1.2.3"), lan = v4("192.168.5.5"),
	                        six = v6("::1"), mid = v4("172.20.1.1"), far = v4("8.8.8.8");
	int line = 0;
	cr_assert_eq(hba_match(&r, 0, 0, "x", "blocked", (struct sockaddr *)&lo, &line),
	             HBA_REJECT);
	cr_assert_eq(line, 3);
	/* "all" in quotes is a database name, not the keyword. */
	cr_assert_eq(hba_match(&r, 0, 0, "x", "quoted", (struct sockaddr *)&ten, NULL), HBA_REJECT);
	cr_assert_eq(hba_match(&r, 0, 0, "all", "quoted", (struct sockaddr *)&ten, NULL),
	             AUTH_TYPE_MD5);
	cr_assert_eq(hba_match(&r, 0, 1, "db2", "u1", (struct sockaddr *)&lan, NULL),
	             AUTH_TYPE_CERT);
	cr_assert_eq(hba_match(&r, 0, 0, "db2", "u1", (struct sockaddr *)&lan, NULL), HBA_REJECT,
	             "hostssl needs TLS");
	cr_assert_eq(hba_match(&r, 0, 0, "bob", "bob", (struct sockaddr *)&six, NULL),
	             AUTH_TYPE_PLAIN);
	cr_assert_eq(hba_match(&r, 0, 1, "bob", "bob", (struct sockaddr *)&six, NULL), HBA_REJECT,
	             "hostnossl refuses TLS");
	cr_assert_eq(hba_match(&r, 0, 0, "bob", "alice", (struct sockaddr *)&six, NULL), HBA_REJECT,
	             "sameuser");
	cr_assert_eq(hba_match(&r, 0, 0, "d", "u", (struct sockaddr *)&mid, NULL), AUTH_TYPE_SCRAM,
	             "netmask field");
	cr_assert_eq(hba_match(&r, 1, 0, "d", "u", NULL, NULL), AUTH_TYPE_TRUST, "local");
	cr_assert_eq(hba_match(&r, 0, 0, "d", "u", (struct sockaddr *)&far, NULL), HBA_REJECT);
	hba_free(&r);
}

Test(hba, no_match_is_minus_one)
{
	struct hba_rules r;
	char err[256];
	cr_assert_eq(parse("host db u 10.0.0.0/8 trust\n", &r, err, sizeof(err)), 0);
	struct sockaddr_storage a = v4("11.0.0.1");
	cr_assert_eq(hba_match(&r, 0, 0, "db", "u", (struct sockaddr *)&a, NULL), -1);
	cr_assert_eq(hba_match(&r, 1, 0, "db", "u", NULL, NULL), -1);
	hba_free(&r);
}

Test(hba, v4_mapped_v6_client_matches_v4_rule)
{
	struct hba_rules r;
	char err[256];
	cr_assert_eq(parse("host all all 10.0.0.0/8 trust\n", &r, err, sizeof(err)), 0);
	struct sockaddr_storage a = v6("::ffff:10.2.3.4");
	cr_assert_eq(hba_match(&r, 0, 0, "d", "u", (struct sockaddr *)&a, NULL), AUTH_TYPE_TRUST);
	hba_free(&r);
}

Test(hba, errors_name_file_and_line)
{
	static const char *const bad[] = {
	    "hosts all all 1.2.3.4/32 trust\n",
	    "host all all 1.2.3.4/33 trust\n",
	    "host all all 1.2.3.4/ trust\n",
	    "host all all 1.2.3.4 trust\n",
	    "host all all 1.2.3.4 255.0.255.0 trust\n",
	    "host all all myhost.example trust\n",
	    "host all all samenet trust\n",
	    "host all all 0.0.0.0/0 ldap\n",
	    "host @dbs all 0.0.0.0/0 trust\n",
	    "host all +group 0.0.0.0/0 trust\n",
	    "host all all 0.0.0.0/0\n",
	    "local all all cert\n",
	    "host \"unterminated all 0.0.0.0/0 trust\n",
	    "host a,,b all 0.0.0.0/0 trust\n",
	    "host replication all 0.0.0.0/0 trust\n",
	    "host all all 0.0.0.0/0 trust x y z w\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hba_rules r;
		char err[256] = "";
		char text[200];
		snprintf(text, sizeof(text), "# ok\n%s", bad[i]);
		cr_assert_eq(parse(text, &r, err, sizeof(err)), -1, "accepted: %s", bad[i]);
		cr_assert(strstr(err, "hba.conf:2:") != NULL, "error %s for %s", err, bad[i]);
		cr_assert_eq(r.n, 0);
	}
}

Test(hba, nul_byte_refused)
{
	struct hba_rules r;
	char err[256];
	const char text[] = "host all all 0.0.0.0/0 trust\0 x\n";
	cr_assert_eq(hba_parse(text, sizeof(text) - 1, "f", &r, err, sizeof(err)), -1);
}

Test(hba, cidr_parser)
{
	int fam;
	uint8_t a[16], m[16];
	cr_assert_eq(hba_parse_cidr("10.1.2.3/8", &fam, a, m), 0);
	cr_assert_eq(fam, AF_INET);
	cr_assert_eq(a[0], 10);
	cr_assert_eq(a[1], 0, "host bits cleared");
	cr_assert_eq(m[0], 0xff);
	cr_assert_eq(m[1], 0);
	cr_assert_eq(hba_parse_cidr("fe80::1/10", &fam, a, m), 0);
	cr_assert_eq(fam, AF_INET6);
	cr_assert_eq(m[1], 0xc0);
	cr_assert_eq(hba_parse_cidr("0.0.0.0/0", &fam, a, m), 0);
	cr_assert_eq(hba_parse_cidr("1.2.3.4/-1", &fam, a, m), -1);
	cr_assert_eq(hba_parse_cidr("1.2.3.4/+8", &fam, a, m), -1);
	cr_assert_eq(hba_parse_cidr("1.2.3.4/8x", &fam, a, m), -1);
	cr_assert_eq(hba_parse_cidr("/8", &fam, a, m), -1);
	cr_assert_eq(hba_parse_cidr("", &fam, a, m), -1);
}

Test(tls, protocols)
{
	int lo, hi;
	cr_assert_eq(tls_parse_protocols("secure", &lo, &hi), 0);
	cr_assert_eq(lo, TLS1_2_VERSION);
	cr_assert_eq(hi, TLS1_3_VERSION);
	cr_assert_eq(tls_parse_protocols("tlsv1.3", &lo, &hi), 0);
	cr_assert_eq(lo, TLS1_3_VERSION);
	cr_assert_eq(tls_parse_protocols("tlsv1.1, tlsv1.2", &lo, &hi), 0);
	cr_assert_eq(lo, TLS1_1_VERSION);
	cr_assert_eq(hi, TLS1_2_VERSION);
	cr_assert_eq(tls_parse_protocols("all", &lo, &hi), 0);
	cr_assert_eq(lo, TLS1_VERSION);
	cr_assert_eq(tls_parse_protocols("", &lo, &hi), 0);
	cr_assert_eq(lo, TLS1_2_VERSION);
	cr_assert_eq(tls_parse_protocols("sslv3", &lo, &hi), -1);
}
