/* Control plane: signals, config reload, shutdown orchestration. It never touches
 * client bytes; it talks to the worker through its inbox. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "notify.h"

static void warn_cb(void *arg, const char *msg)
{
	(void)arg;
	log_warn("%s", msg);
}

void runtime_apply_logging(const struct sluice_config *cfg, int extra_verbose)
{
	int lvl = LOG_LVL_LOG + cfg->verbose + extra_verbose;
	log_threshold = lvl > LOG_LVL_NOISE ? LOG_LVL_NOISE : lvl;
	if (cfg->logfile && *cfg->logfile && log_open_file(cfg->logfile) < 0)
		log_warn("cannot open logfile %s", cfg->logfile);
}

static int reload_now(struct runtime *rt)
{
	char err[512];
	struct sluice_config *a = NULL, *b = NULL;
	log_info("RELOAD command issued");
	uint32_t gen = __atomic_load_n(&rt->admin_reload_gen, __ATOMIC_ACQUIRE);
	if (config_load(rt->config_path, &a, err, sizeof(err), warn_cb, NULL) < 0 ||
	    /* The worker gets its own snapshot: no sharing, no locks. */
	    config_load(rt->config_path, &b, err, sizeof(err), NULL, NULL) < 0) {
		config_free(a);
		log_error("reload failed, keeping the current configuration: %s", err);
		struct worker_msg *f = calloc(1, sizeof(*f));
		if (f) { /* an admin RELOAD waiting for the outcome gets the reason */
			f->type = WMSG_RELOAD_FAILED;
			f->gen = gen;
			snprintf(f->err, sizeof(f->err), "%s", err);
			worker_post(&rt->worker, f);
		}
		return -1;
	}
	if (a->workers != 1)
		log_warn("workers = %d: changing the number of workers needs a restart",
		         a->workers);
	if (a->listen_port != rt->cfg->listen_port ||
	    strcmp(a->listen_addr ? a->listen_addr : "",
	           rt->cfg->listen_addr ? rt->cfg->listen_addr : ""))
		log_warn("listen_addr/listen_port changes need a restart");
	config_free(rt->cfg);
	rt->cfg = a;
	runtime_apply_logging(a, 0);
	health_reconfigure(rt);
	struct worker_msg *m = calloc(1, sizeof(*m));
	if (!m) {
		config_free(b);
		return -1;
	}
	m->type = WMSG_RELOAD;
	m->cfg = b;
	m->gen = gen;
	worker_post(&rt->worker, m);
	return 0;
}

int runtime_reload(struct runtime *rt)
{
	notify_reloading();
	int rc = reload_now(rt);
	notify_reloaded(rc == 0);
	return rc;
}

static void post_simple(struct runtime *rt, enum worker_msg_type type)
{
	struct worker_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->type = type;
	worker_post(&rt->worker, m);
}

static void signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct runtime *rt = s->data;
	(void)loop;
	(void)revents;
	if (s->signum == SIGHUP) {
		log_info("got SIGHUP, re-reading config");
		runtime_reload(rt);
	} else if (s->signum == SIGINT && !rt->shutdown_requested) {
		log_info("got SIGINT, shutting down safely (again for immediate)");
		rt->shutdown_requested = 1;
		notify_stopping();
		post_simple(rt, WMSG_SHUTDOWN_SAFE);
	} else if (s->signum == SIGTERM && !rt->shutdown_requested) {
		/* Kubernetes and systemd send SIGTERM to stop a service: drain, do not drop. */
		log_info("got SIGTERM, draining (again for immediate)");
		rt->shutdown_requested = 1;
		notify_stopping();
		post_simple(rt, WMSG_DRAIN);
	} else {
		log_info("got %s again, shutting down now",
		         s->signum == SIGTERM ? "SIGTERM" : "SIGINT");
		rt->shutdown_requested = 2;
		post_simple(rt, WMSG_SHUTDOWN_FAST);
	}
}

static void admin_reload_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)revents;
	runtime_reload(a->data);
}

void runtime_request_reload(struct runtime *rt, uint32_t gen)
{
	__atomic_store_n(&rt->admin_reload_gen, gen, __ATOMIC_RELEASE);
	ev_async_send(rt->loop, &rt->admin_reload);
}

static void worker_exited_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)a;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

void runtime_worker_exited(struct runtime *rt)
{
	ev_async_send(rt->loop, &rt->worker_exited);
}

int runtime_init(struct runtime *rt, const char *path, struct sluice_config *cfg)
{
	char err[512];
	struct sluice_config *wcfg = NULL;
	memset(rt, 0, sizeof(*rt));
	rt->config_path = strdup(path);
	rt->cfg = cfg;
	rt->loop = ev_default_loop(EVFLAG_AUTO);
	if (!rt->loop || !rt->config_path)
		return -1;
	if (config_load(path, &wcfg, err, sizeof(err), NULL, NULL) < 0) {
		log_error("%s", err);
		return -1;
	}
	/* Signals are caught before the listeners open: a SIGHUP sent as soon as the port
	 * answers must not kill the process with the default action. The callbacks run only
	 * once the loop runs, after the worker exists. */
	ev_signal_init(&rt->sig_hup, signal_cb, SIGHUP);
	ev_signal_init(&rt->sig_int, signal_cb, SIGINT);
	ev_signal_init(&rt->sig_term, signal_cb, SIGTERM);
	rt->sig_hup.data = rt->sig_int.data = rt->sig_term.data = rt;
	ev_signal_start(rt->loop, &rt->sig_hup);
	ev_signal_start(rt->loop, &rt->sig_int);
	ev_signal_start(rt->loop, &rt->sig_term);
	if (worker_init(&rt->worker, rt, wcfg) < 0)
		return -1;
	ev_async_init(&rt->admin_reload, admin_reload_cb);
	rt->admin_reload.data = rt;
	ev_async_start(rt->loop, &rt->admin_reload);
	ev_async_init(&rt->worker_exited, worker_exited_cb);
	ev_async_start(rt->loop, &rt->worker_exited);
	if (health_init(rt) < 0)
		return -1;
	return 0;
}

int runtime_run(struct runtime *rt)
{
	if (worker_start(&rt->worker) < 0) {
		log_error("could not start worker thread");
		return 1;
	}
	notify_ready();
	ev_run(rt->loop, 0);
	notify_stopping(); /* also after an admin SHUTDOWN, which ends the loop from the worker */
	health_free(rt);
	worker_join(&rt->worker);
	config_free(rt->cfg);
	rt->cfg = NULL;
	free(rt->config_path);
	log_info("shutdown complete");
	return rt->exit_code;
}
