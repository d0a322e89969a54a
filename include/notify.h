/* Service-manager notifications (systemd's sd_notify protocol) for conf/sluice.service's
 * Type=notify: READY=1 once the listeners are open, RELOADING=1 ... READY=1 around a SIGHUP or
 * RELOAD, STOPPING=1 when a drain or shutdown starts. Built with libsystemd when CMake finds it
 * (option SLUICE_SYSTEMD, defines SLUICE_HAVE_SYSTEMD); otherwise every call does nothing, and
 * the unit should use Type=simple. Without $NOTIFY_SOCKET (not started by systemd, containers)
 * the calls do nothing either. Only the control-plane thread calls these. */
#ifndef SLUICE_NOTIFY_H
#define SLUICE_NOTIFY_H

/* The listeners are open and the worker runs: systemd may start units ordered after sluice. */
void notify_ready(void);
/* A configuration reload starts; notify_reloaded() ends it, whether it succeeded or not. */
void notify_reloading(void);
/* The reload is over (sends READY=1 again, with a STATUS line saying how it went). */
void notify_reloaded(int ok);
/* A drain or shutdown has started; systemd waits TimeoutStopSec for the process to end. */
void notify_stopping(void);

#endif
