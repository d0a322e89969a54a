/* libFuzzer target: md5 secrets and responses (md5auth.c) with hostile secret, user and password
 * strings. Input: three NUL-separated strings and a 4-byte salt. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md5auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4 || size > 4096)
		return 0;
	char *buf = malloc(size + 3);
	if (!buf)
		return 0;
	memcpy(buf, data + 4, size - 4);
	buf[size - 4] = buf[size - 3] = buf[size - 2] = '\0';
	const char *secret = buf;
	const char *user = secret + strlen(secret) + 1;
	const char *pw = user + strlen(user) + 1;
	char out[36];
	md5_is_secret(secret);
	md5_make_secret(pw, user, out);
	md5_client_response(secret, user, data, out);
	md5_verify(secret, user, data, pw);
	free(buf);
	return 0;
}
