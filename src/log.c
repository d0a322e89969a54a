/* Log sink: stderr and/or a logfile, one write per line so threads do not interleave. */
#include "log.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_threshold = LOG_LVL_LOG;

static FILE *log_file;
static int log_quiet;
static int log_pid; /* cached: no getpid() per line (log_reset_pid() after fork) */

static const char *const level_names[] = {"FATAL", "ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};

int log_open_file(const char *path)
{
	if (log_file) {
		fclose(log_file);
		log_file = NULL;
	}
	if (!path || !*path)
		return 0;
	log_file = fopen(path, "a");
	if (!log_file)
		return -1;
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void log_reset_pid(void)
{
	log_pid = (int)getpid();
}

void log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

void log_emit(int level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03d UTC [%d] %s ",
	                      (int)(tv.tv_usec / 1000), (int)getpid(),
	                      level_names[level < 0   ? 0
	                                  : level > 5 ? 5
	                                              : level]);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (!log_quiet)
		(void)!write(STDERR_FILENO, line, n);
	if (log_file)
		fwrite(line, 1, n, log_file);
}
