/* libFuzzer target: PROXY protocol v1/v2 header parser, fed every prefix length the network
 * could deliver (a complete header must never be needed to reject garbage). */
#include <stddef.h>
#include <stdint.h>

#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_result r;
	const char *why;
	int full = proxy_parse(data, size, &r, &why);
	if (full > 0 && (size_t)full > size)
		__builtin_trap(); /* consumed more than it was given */
	for (size_t n = 0; n < size && n < 64; n++) {
		int p = proxy_parse(data, n, &r, &why);
		if (p > 0 && (size_t)p > n)
			__builtin_trap();
	}
	return 0;
}
