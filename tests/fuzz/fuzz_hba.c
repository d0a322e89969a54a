/* libFuzzer target: pg_hba.conf subset parser and first-match evaluation. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hba.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hba_rules r;
	char err[256];
	if (hba_parse((const char *)data, size, "fuzz", &r, err, sizeof(err)) < 0)
		return 0;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(0x7f000001);
	in6.sin6_family = AF_INET6;
	in6.sin6_addr.s6_addr[15] = 1;
	hba_match(&r, 0, 0, "appdb", "app", (struct sockaddr *)&in, NULL);
	hba_match(&r, 0, 1, "all", "all", (struct sockaddr *)&in6, NULL);
	hba_match(&r, 1, 0, "app", "app", NULL, NULL);
	hba_free(&r);
	return 0;
}
