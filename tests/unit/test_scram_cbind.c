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
