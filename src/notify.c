/* sd_notify for systemd's Type=notify (see notify.h); a no-op build without libsystemd. */
#include "notify.h"

#ifdef SLUICE_HAVE_SYSTEMD
#include <stdint.h>
#include <systemd/sd-daemon.h>
#include <time.h>

/* RELOADING=1 carries CLOCK_MONOTONIC in microseconds: systemd 253's Type=notify-reload
 * requires it, and older versions ignore it, so the same binary serves both unit types. */
static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void notify_ready(void)
{
	sd_notify(0, "READY=1\nSTATUS=accepting connections");
}

void notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading configuration",
	           (unsigned long long)monotonic_usec());
}

void notify_reloaded(int ok)
{
	sd_notify(0, ok ? "READY=1\nSTATUS=accepting connections (configuration reloaded)"
	                : "READY=1\nSTATUS=accepting connections (reload failed, previous "
	                  "configuration kept)");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=draining");
}

#else

void notify_ready(void)
{
}

void notify_reloading(void)
{
}

void notify_reloaded(int ok)
{
	(void)ok;
}

void notify_stopping(void)
{
}

#endif
