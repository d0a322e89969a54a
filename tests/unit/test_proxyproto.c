/* Unit tests for the PROXY protocol header parser (src/proxyproto.c). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

/* Parse from an exact-size heap copy so that ASan flags any read past the end. */
static int parse(const void *p, size_t n, struct proxy_result *r, const char **why)
{
	uint8_t *d = malloc(n ? n : 1);
	cr_assert_not_null(d);
	memcpy(d, p, n);
	int rc = proxy_parse(d, n, r, why);
	free(d);
	return rc;
}

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

Test(proxy, v1_tcp4)
{
	const char h[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 6432\r\nstartup...";
	struct proxy_result r;
	int n = parse(h, sizeof(h) - 1, &r, NULL);
	cr_assert_eq(n, (int)strlen("PROXY TCP4 192.0.2.1 198.51.100.2 56324 6432\r\n"));
	cr_assert_eq(r.have_addr, 1);
	cr_assert_eq(r.version, 1);
	struct sockaddr_in *in = (struct sockaddr_in *)&r.src;
	cr_assert_eq(in->sin_family, AF_INET);
	cr_assert_eq(ntohs(in->sin_port), 56324);
	cr_assert_eq(ntohl(in->sin_addr.s_addr), 0xc0000201u);
}

Test(proxy, v1_tcp6_and_unknown)
{
	const char h6[] = "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n";
	struct proxy_result r;
	cr_assert_eq(parse(h6, sizeof(h6) - 1, &r, NULL), (int)sizeof(h6) - 1);
	cr_assert_eq(r.src.ss_family, AF_INET6);
	const char hu[] = "PROXY UNKNOWN whatever follows\r\n";
	cr_assert_eq(parse(hu, sizeof(hu) - 1, &r, NULL), (int)sizeof(hu) - 1);
	cr_assert_eq(r.have_addr, 0);
}

Test(proxy, v1_incomplete_then_too_long)
{
	const char h[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 6432";
	struct proxy_result r;
	for (size_t i = 0; i < sizeof(h) - 1; i++)
		cr_assert_eq(parse(h, i, &r, NULL), 0, "prefix %zu", i);
	char big[200];
	memset(big, 'A', sizeof(big));
	memcpy(big, "PROXY ", 6);
	const char *why = NULL;
	cr_assert_eq(parse(big, sizeof(big), &r, &why), -1);
	cr_assert_not_null(why);
}

Test(proxy, v1_malformed)
{
	static const char *const bad[] = {
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",     "PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n",
	    "PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
	    "PROXY TCP4 ::1 ::1 1 2\r\n",           "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
	    "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",  "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "GET / HTTP/1.1\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proxy_result r;
		cr_assert_eq(parse(bad[i], strlen(bad[i]), &r, NULL), -1, "accepted %s", bad[i]);
	}
	const char nul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	struct proxy_result r;
	cr_assert_eq(parse(nul, sizeof(nul) - 1, &r, NULL), -1);
}

static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, uint16_t len)
{
	memcpy(out, sig, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	memcpy(out + 16, body, len);
	return 16u + len;
}

Test(proxy, v2_inet_with_tlvs)
{
	uint8_t body[12 + 7] = {10,
	                        0,
	                        0,
	                        1,
	                        10,
	                        0,
	                        0,
	                        2,
	                        0x15,
	                        0xb3,
	                        0x19,
	                        0x28,
	                        /* a TLV, ignored */ 0x04,
	                        0x00,
	                        0x04,
	                        'a',
	                        'b',
	                        'c',
	                        'd'};
	uint8_t buf[64];
	size_t n = v2(buf, 0x21, 0x11, body, sizeof(body));
	struct proxy_result r;
	cr_assert_eq(parse(buf, n, &r, NULL), (int)n);
	struct sockaddr_in *in = (struct sockaddr_in *)&r.src;
	cr_assert_eq(r.version, 2);
	cr_assert_eq(ntohs(in->sin_port), 0x15b3);
	cr_assert_eq(ntohl(in->sin_addr.s_addr), 0x0a000001u);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(parse(buf, i, &r, NULL), 0, "prefix %zu", i);
}

Test(proxy, v2_inet6_local_and_errors)
{
	uint8_t body[36] = {0};
	body[15] = 1;
	body[33] = 80;
	uint8_t buf[64];
	struct proxy_result r;
	size_t n = v2(buf, 0x21, 0x21, body, 36);
	cr_assert_eq(parse(buf, n, &r, NULL), (int)n);
	cr_assert_eq(r.src.ss_family, AF_INET6);
	n = v2(buf, 0x20, 0x00, body, 0); /* LOCAL: keep the socket's address */
	cr_assert_eq(parse(buf, n, &r, NULL), 16);
	cr_assert_eq(r.have_addr, 0);
	n = v2(buf, 0x21, 0x21, body, 20); /* address block too short for IPv6 */
	cr_assert_eq(parse(buf, n, &r, NULL), -1);
	n = v2(buf, 0x31, 0x11, body, 12); /* version 3 */
	cr_assert_eq(parse(buf, n, &r, NULL), -1);
	n = v2(buf, 0x22, 0x11, body, 12); /* command 2 */
	cr_assert_eq(parse(buf, n, &r, NULL), -1);
	n = v2(buf, 0x21, 0x12, body, 12); /* UDP */
	cr_assert_eq(parse(buf, n, &r, NULL), -1);
	uint8_t huge[16];
	memcpy(huge, sig, 12);
	huge[12] = 0x21;
	huge[13] = 0x11;
	huge[14] = 0xff;
	huge[15] = 0xff; /* 65535 bytes announced: refused before waiting for them */
	cr_assert_eq(parse(huge, sizeof(huge), &r, NULL), -1);
}

Test(proxy, not_a_header)
{
	struct proxy_result r;
	const uint8_t startup[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
	cr_assert_eq(parse(startup, sizeof(startup), &r, NULL), -1);
	cr_assert_eq(parse("PRO", 3, &r, NULL), 0);
	cr_assert_eq(parse(sig, 5, &r, NULL), 0);
}
