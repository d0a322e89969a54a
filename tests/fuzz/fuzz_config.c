/* libFuzzer target: the ini reader and every value parser behind it (config_load), plus the
 * governance sections. The input is written to a private file in /dev/shm (config_load reads a
 * path); %include lines may name other files, which is allowed: reading is all they do. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/shm/sluice-fuzz-%d.ini", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct sluice_config *cfg = NULL;
	char err[512];
	if (config_load(path, &cfg, err, sizeof(err), NULL, NULL) == 0)
		config_free(cfg);
	unlink(path);
	return 0;
}
