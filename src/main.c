/* sluice entry point: PgBouncer's command line, then hand over to the runtime. */
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "runtime.h"

static void usage(FILE *out, const char *prog)
{
	fprintf(
	    out,
	    "sluice is a PostgreSQL connection pooler and traffic governor.\n\n"
	    "Usage:\n  %s [OPTION]... CONFIG_FILE\n\n"
	    "Options:\n"
	    "  -d, --daemon         run in the background (without it, stays in the foreground)\n"
	    "  -q, --quiet          run quietly (no log output on stderr)\n"
	    "  -u, --user=USERNAME  set user ID to USERNAME\n"
	    "  -v, --verbose        increase verbosity (repeatable)\n"
	    "  -V, --version        show version, then exit\n"
	    "  -h, --help           show this help, then exit\n"
	    "      --check          validate CONFIG_FILE and exit (0 when valid)\n"
	    "      --config-doc     print the configuration reference (Markdown) and exit\n",
	    prog);
}

static void warn_cb(void *arg, const char *msg)
{
	(void)arg;
	log_warn("%s", msg);
}

static void raise_fd_limit(int want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((rlim_t)want > rl.rlim_cur)
		log_warn("ulimit -n is %lu but max_client_conn and pools may need %d file "
		         "descriptors",
		         (unsigned long)rl.rlim_cur, want);
}

static int drop_privileges(const char *user, const char *admin_socket)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_fatal("could not find user '%s'", user);
		return -1;
	}
	/* The admin socket was created before the switch: it belongs to the user sluice runs as,
	 * so that user's sluicectl can reach it (its mode keeps everyone else out). */
	if (admin_socket && *admin_socket && chown(admin_socket, pw->pw_uid, pw->pw_gid) < 0)
		log_warn("could not give %s to user '%s': %s", admin_socket, user, strerror(errno));
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_fatal("could not switch to user '%s': %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		log_fatal("cannot write pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	ares_library_init(ARES_LIB_INIT_ALL); /* before any thread: c-ares' one global setup */
	int daemon = 0, quiet = 0, verbose = 0, check = 0;
	const char *user = NULL, *path = NULL;
	char err[1024];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("sluice %s\n", SLUICE_VERSION);
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(a, "--config-doc")) {
			config_write_doc(stdout);
			return 0;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--daemon")) {
			daemon = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (!strcmp(a, "--check")) {
			check = 1;
		} else if (!strcmp(a, "-u") || !strcmp(a, "--user")) {
			if (++i >= argc) {
				fprintf(stderr, "%s: option %s needs a user name\n", argv[0], a);
				return 1;
			}
			user = argv[i];
		} else if (!strncmp(a, "--user=", 7)) {
			user = a + 7;
		} else if (!strcmp(a, "-R") || !strcmp(a, "--reboot")) {
			fprintf(stderr, "%s: online restart (-R) is not supported\n", argv[0]);
			return 1;
		} else if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
			verbose += (int)strlen(a + 1);
		} else if (!strcmp(a, "--verbose")) {
			verbose++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
			usage(stderr, argv[0]);
			return 1;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "%s: too many arguments\n", argv[0]);
			return 1;
		}
	}
	if (!path) {
		fprintf(stderr, "%s: no config file given\n", argv[0]);
		usage(stderr, argv[0]);
		return 1;
	}
	struct sluice_config *cfg = NULL;
	if (config_load(path, &cfg, err, sizeof(err), warn_cb, NULL) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (cfg->workers > 1) {
		fprintf(stderr, "%s: workers = %d: only workers = 1 is supported in this version\n",
		        path, cfg->workers);
		config_free(cfg);
		return 1;
	}
	if (check) {
		printf("%s: configuration is valid\n", path);
		config_free(cfg);
		return 0;
	}
	log_set_quiet(quiet);
	runtime_apply_logging(cfg, verbose);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(cfg->max_client_conn + 2 * cfg->default_pool_size + 64);
	if (daemon && daemonize() < 0) {
		log_fatal("could not daemonize: %s", strerror(errno));
		return 1;
	}
	log_reset_pid();
	if (cfg->pidfile && *cfg->pidfile && write_pidfile(cfg->pidfile) < 0)
		return 1;
	static struct runtime rt; /* the one runtime object */
	char *pidfile = cfg->pidfile && *cfg->pidfile ? strdup(cfg->pidfile) : NULL;
	log_info("sluice %s starting, config %s", SLUICE_VERSION, path);
	if (runtime_init(&rt, path, cfg) < 0) {
		log_fatal("startup failed");
		return 1;
	}
	if (user && drop_privileges(user, rt.cfg->admin_socket) < 0)
		return 1;
	int rc = runtime_run(&rt);
	if (pidfile) {
		unlink(pidfile);
		free(pidfile);
	}
	return rc;
}
