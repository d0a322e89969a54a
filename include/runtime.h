/* The one runtime object: the control plane (signals, reload, shutdown) on the
 * main thread and the data-plane worker it feeds with config snapshots. */
#ifndef SLUICE_RUNTIME_H
#define SLUICE_RUNTIME_H

#include <ev.h>

#include "config.h"
#include "worker.h"

struct runtime {
	struct ev_loop *loop; /* main thread's loop */
	char *config_path;
	struct sluice_config *cfg; /* the control plane's own snapshot */
	struct worker worker;
	ev_signal sig_hup, sig_int, sig_term;
	ev_async worker_exited;
	int shutdown_requested;
	ev_async admin_reload;     /* the worker asks for a RELOAD (admin console/socket) */
	struct health *health;     /* the health checker of multi-host entries (health.h) */
	uint32_t admin_reload_gen; /* highest generation asked (atomic) */
	int exit_code;
};

/* Build the runtime from a loaded config (ownership of cfg moves in); opens listeners. */
int runtime_init(struct runtime *rt, const char *path, struct sluice_config *cfg);
/* Run until shutdown; returns the process exit code. */
int runtime_run(struct runtime *rt);
/* Re-read the config file and hand a new snapshot to the workers (SIGHUP, RELOAD). */
int runtime_reload(struct runtime *rt);
/* Apply logging settings of a snapshot (verbosity, logfile). */
void runtime_apply_logging(const struct sluice_config *cfg, int extra_verbose);
/* Ask the control plane to reload (any thread); the worker learns the outcome through a
 * WMSG_RELOAD or WMSG_RELOAD_FAILED message carrying gen. */
void runtime_request_reload(struct runtime *rt, uint32_t gen);
/* Called by a worker thread when it ends. */
void runtime_worker_exited(struct runtime *rt);

#endif
