/* libFuzzer target: the startup packet body parser (startup_parse) and the checks the client
 * side applies to what it returns (parameter names, tracked variables). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"
#include "proto.h"

static int on_param(void *arg, const char *name, const char *value)
{
	size_t *total = arg;
	*total += strlen(name) + strlen(value);
	return track_var_index(name) == 0 && value[0] == '\x01'; /* sometimes stop early */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	/* Same shape as the client handler: 4-byte length, 4-byte code, then the body. */
	if (size >= 8 && pg_get_u32(data) == size)
		startup_parse(data + 8, size - 8, on_param, &total);
	startup_parse(data, size, on_param, &total);
	return 0;
}
