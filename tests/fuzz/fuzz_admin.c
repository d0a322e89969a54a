/* libFuzzer target: the admin command parser shared by the console and the admin socket. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The console and the socket hand the parser one NUL-terminated command. */
	char *sql = malloc(size + 1);
	if (!sql)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	struct admin_cmd cmd;
	char err[256];
	if (admin_parse(sql, &cmd, err, sizeof(err)) == 0) {
		(void)admin_cmd_readonly(&cmd);
		/* Every field the parser filled must be a terminated string within its buffer. */
		if (strnlen(cmd.arg, sizeof(cmd.arg)) == sizeof(cmd.arg) ||
		    strnlen(cmd.arg2, sizeof(cmd.arg2)) == sizeof(cmd.arg2) ||
		    strnlen(cmd.key, sizeof(cmd.key)) == sizeof(cmd.key) ||
		    strnlen(cmd.value, sizeof(cmd.value)) == sizeof(cmd.value))
			abort();
	} else if (strnlen(err, sizeof(err)) == sizeof(err)) {
		abort();
	}
	free(sql);
	return 0;
}
