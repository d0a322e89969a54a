/* libFuzzer target: both SCRAM-SHA-256 exchanges fed hostile peer messages.
 * Input: a selector byte, then two messages separated by the first NUL byte.
 *   selector even: sluice as server (client-first, client-final); PLUS offered when sel & 2
 *   selector odd:  sluice as client (server-first, server-final), with a password or, when
 *                  selector & 2, with a ClientKey + stored secret (pass-through mode)
 * The secret is derived once; nonces are fixed so the fuzzer can reach the proof checks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scram.h"

static struct scram_secret secret;
static unsigned char client_key[SCRAM_KEY_LEN];
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		static const unsigned char salt[16] = "sluice-fuzz-salt";
		scram_secret_from_password("pencil", salt, sizeof(salt), 4096, &secret);
		memset(client_key, 0x5a, sizeof(client_key));
		ready = 1;
	}
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *m1 = (const char *)data + 1;
	size_t rest = size - 1;
	const char *nul = memchr(m1, '\0', rest);
	size_t l1 = nul ? (size_t)(nul - m1) : rest;
	const char *m2 = nul ? nul + 1 : m1 + rest;
	size_t l2 = nul ? rest - l1 - 1 : 0;
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	if (!(sel & 1)) {
		struct scram_server st;
		unsigned char ck[SCRAM_KEY_LEN];
		if (scram_server_init(&st, &secret, "3rfcNHYJY1ZVvWVs7j") < 0)
			return 0;
		if (sel & 2) { /* SCRAM-SHA-256-PLUS offered (TLS client) */
			static const unsigned char cb[32] = {9, 8, 7};
			scram_server_channel_binding(&st, cb, sizeof(cb));
		}
		if (scram_server_first(&st, m1, l1, out, sizeof(out), &err) < 0)
			return 0;
		scram_server_final(&st, m2, l2, out, sizeof(out), ck, &err);
		return 0;
	}
	struct scram_client cl;
	if (scram_client_init(&cl, (sel & 4) ? "user,=x" : NULL, "rOprNGfwEbeRWgbNEkqO") < 0)
		return 0;
	if (sel & 8) {
		static const unsigned char cb[32] = {1, 2, 3};
		scram_client_channel_binding(&cl, cb, sizeof(cb));
	}
	if (scram_client_first(&cl, out, sizeof(out)) < 0)
		return 0;
	int n =
	    (sel & 2)
	        ? scram_client_final(&cl, m1, l1, NULL, client_key, &secret, out, sizeof(out), &err)
	        : scram_client_final(&cl, m1, l1, "pencil", NULL, NULL, out, sizeof(out), &err);
	if (n >= 0)
		scram_client_verify_final(&cl, m2, l2, &err);
	return 0;
}
