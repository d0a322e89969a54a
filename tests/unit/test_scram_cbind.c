/* Unit tests for SCRAM-SHA-256-PLUS on the client side (tls-server-end-point channel binding). */
#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <string.h>

#include "scram.h"

Test(scram_cbind, header_and_final_message)
{
	struct scram_client st;
	unsigned char cb[32];
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	memset(cb, 0xab, sizeof(cb));
	cr_assert_eq(scram_client_init(&st, NULL, "fyko+d2lbbFgONRv9qkxdawL"), 0);
	cr_assert_eq(scram_client_channel_binding(&st, cb, sizeof(cb)), 0);
	cr_assert_gt(scram_client_first(&st, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "p=tls-server-end-point,,n=,r=fyko+d2lbbFgONRv9qkxdawL");
	const char sf[] = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
	int n = scram_client_final(&st, sf, sizeof(sf) - 1, "pencil", NULL, NULL, out, sizeof(out),
	                           &err);
	cr_assert_gt(n, 0, "%s", err ? err : "");
	/* c= is base64(gs2 header + binding data) */
	unsigned char expect[24 + 32], b64[128];
	memcpy(expect, "p=tls-server-end-point,,", 24);
	memcpy(expect + 24, cb, 32);
	int bl = EVP_EncodeBlock(b64, expect, sizeof(expect));
	cr_assert(!strncmp(out, "c=", 2));
	cr_assert(!strncmp(out + 2, (const char *)b64, (size_t)bl), "%s", out);
}

Test(scram_cbind, refused_after_first_or_too_long)
{
	struct scram_client st;
	unsigned char cb[100] = {0};
	char out[SCRAM_MAX_MSG + 1];
	cr_assert_eq(scram_client_init(&st, NULL, NULL), 0);
	cr_assert_eq(scram_client_channel_binding(&st, cb, sizeof(cb)), -1, "too long");
	cr_assert_eq(scram_client_channel_binding(&st, cb, 0), -1, "empty");
	cr_assert_gt(scram_client_first(&st, out, sizeof(out)), 0);
	cr_assert_eq(scram_client_channel_binding(&st, cb, 32), -1, "after the first message");
}

/* sluice's client against sluice's server, both binding to the same certificate hash. */
static int exchange(const unsigned char *client_cb, const unsigned char *server_cb, int client_y)
{
	struct scram_client cl;
	struct scram_server sv;
	struct scram_secret sec;
	char m1[SCRAM_MAX_MSG + 1], m2[SCRAM_MAX_MSG + 1], m3[SCRAM_MAX_MSG + 1],
	    m4[SCRAM_MAX_MSG + 1];
	unsigned char ck[SCRAM_KEY_LEN];
	const char *err = NULL;
	cr_assert_eq(scram_secret_from_password("pencil", NULL, 0, 4096, &sec), 0);
	cr_assert_eq(scram_client_init(&cl, NULL, NULL), 0);
	if (client_cb)
		cr_assert_eq(scram_client_channel_binding(&cl, client_cb, 32), 0);
	int n = scram_client_first(&cl, m1, sizeof(m1));
	cr_assert_gt(n, 0);
	if (client_y)
		m1[0] = 'y';
	cr_assert_eq(scram_server_init(&sv, &sec, NULL), 0);
	if (server_cb)
		cr_assert_eq(scram_server_channel_binding(&sv, server_cb, 32), 0);
	int k = scram_server_first(&sv, m1, (size_t)n, m2, sizeof(m2), &err);
	if (k < 0)
		return -1;
	n = scram_client_final(&cl, m2, (size_t)k, "pencil", NULL, NULL, m3, sizeof(m3), &err);
	cr_assert_gt(n, 0, "%s", err ? err : "");
	k = scram_server_final(&sv, m3, (size_t)n, m4, sizeof(m4), ck, &err);
	if (k < 0)
		return -1;
	return scram_client_verify_final(&cl, m4, (size_t)k, &err);
}

Test(scram_cbind, server_side_plus)
{
	unsigned char a[32], b[32];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	cr_assert_eq(exchange(a, a, 0), 0, "matching binding");
	cr_assert_eq(exchange(a, b, 0), -1, "another certificate (man in the middle)");
	cr_assert_eq(exchange(a, NULL, 0), -1, "binding to a server that did not offer it");
	cr_assert_eq(exchange(NULL, a, 0), 0, "plain SCRAM while PLUS is offered");
	cr_assert_eq(exchange(NULL, a, 1), -1, "'y' while PLUS is offered: downgrade");
}
