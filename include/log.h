/* Logging: PgBouncer-style lines "2026-11-29 17:00:00.123 UTC [pid] LOG message".
 * The macros check the level before any formatting happens, so a disabled
 * debug line on the relay path costs one comparison. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum log_level {
	LOG_LVL_FATAL = 0,
	LOG_LVL_ERROR,
	LOG_LVL_WARNING,
	LOG_LVL_LOG,
	LOG_LVL_DEBUG,
	LOG_LVL_NOISE
};

/* Current threshold; lines above it are skipped. Set once at startup and on reload. */
extern int log_threshold;

/* Direct output to stderr (always, unless quiet) and optionally to a file; path NULL closes the
 * file. */
int log_open_file(const char *path);
/* Suppress stderr output (-q). */
void log_set_quiet(int quiet);
/* Remember the process id for log lines (call at start and after daemonizing). */
void log_reset_pid(void);
/* Emit one line at level; prefer the macros below. */
void log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                                           \
	do {                                                                                       \
		if ((lvl) <= log_threshold)                                                        \
			log_emit((lvl), __VA_ARGS__);                                              \
	} while (0)
#define log_fatal(...) log_at(LOG_LVL_FATAL, __VA_ARGS__)
#define log_error(...) log_at(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_LOG, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_noise(...) log_at(LOG_LVL_NOISE, __VA_ARGS__)

#endif
