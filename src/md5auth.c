/* PostgreSQL md5 password authentication (see md5auth.h). */
#include "md5auth.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* hex(md5(a || b)) into out[33]; b may be binary (blen bytes). Returns 0 or -1. */
static int md5_hex2(const void *a, size_t alen, const void *b, size_t blen, char out[33])
{
	static const char hexdig[] = "0123456789abcdef";
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int diglen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	         EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	         EVP_DigestFinal_ex(ctx, dig, &diglen) == 1 && diglen == 16;

	EVP_MD_CTX_free(ctx);
	if (!ok) {
		out[0] = '\0';
		return -1;
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hexdig[dig[i] >> 4];
		out[2 * i + 1] = hexdig[dig[i] & 0xf];
	}
	out[32] = '\0';
	OPENSSL_cleanse(dig, sizeof(dig));
	return 0;
}

int md5_is_secret(const char *s)
{
	if (!s || strncmp(s, "md5", 3) != 0)
		return 0;
	for (int i = 3; i < MD5_SECRET_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[MD5_SECRET_LEN] == '\0';
}

void md5_make_secret(const char *password, const char *user, char out[36])
{
	char hex[33];

	out[0] = '\0';
	if (!password || !user)
		return;
	if (md5_hex2(password, strlen(password), user, strlen(user), hex) != 0)
		return;
	memcpy(out, "md5", 3);
	memcpy(out + 3, hex, 33);
	OPENSSL_cleanse(hex, sizeof(hex));
}

int md5_client_response(const char *secret, const char *user, const unsigned char salt[4],
                        char out[36])
{
	char stored[36];
	char hex[33];
	int rc;

	out[0] = '\0';
	if (!secret || !user || !salt)
		return -1;
	if (md5_is_secret(secret))
		memcpy(stored, secret, sizeof(stored));
	else
		md5_make_secret(secret, user, stored);
	if (stored[0] == '\0')
		return -1;
	rc = md5_hex2(stored + 3, 32, salt, 4, hex);
	if (rc == 0) {
		memcpy(out, "md5", 3);
		memcpy(out + 3, hex, 33);
	}
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int md5_verify(const char *secret, const char *user, const unsigned char salt[4],
               const char *response)
{
	char expect[36];
	int ok;

	if (!secret || !*secret || !user || !salt || !response)
		return 0;
	/* The length of a well-formed response is public; only its content must not leak. */
	if (strnlen(response, MD5_SECRET_LEN + 1) != MD5_SECRET_LEN)
		return 0;
	if (md5_client_response(secret, user, salt, expect) != 0)
		return 0;
	ok = CRYPTO_memcmp(expect, response, MD5_SECRET_LEN) == 0;
	OPENSSL_cleanse(expect, sizeof(expect));
	return ok;
}
