/* sluicectl: command-line client for sluice's admin socket (admin_socket). It sends admin
 * commands, one per line, and prints the JSON-lines answers as tables (or raw with --json).
 *
 *   sluicectl [-s SOCKET] [--json] show tenants
 *   sluicectl set tenant acme max_server_conn=5
 *   sluicectl drain [--wait] [--timeout S]
 *
 * Exit status: 0 ok, 1 a command failed (or drain --wait timed out), 2 usage or connection
 * error. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/sluice/admin.sock"
#define MAX_CMDS       32

/* ---- a small JSON reader for the answers (objects, arrays, strings, numbers, literals) ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	char *s; /* J_STR text, J_NUM/J_BOOL as written */
	struct jval *items;
	char **keys; /* J_OBJ */
	int n;
};

static const char *jp;

static void skip_ws(void)
{
	while (isspace((unsigned char)*jp))
		jp++;
}

static int parse_value(struct jval *v);

static void jfree(struct jval *v)
{
	for (int i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static char *parse_string(void)
{
	size_t cap = 64, n = 0;
	char *out = malloc(cap);
	if (!out || *jp != '"')
		return free(out), NULL;
	jp++;
	while (*jp && *jp != '"') {
		char c = *jp++;
		if (c == '\\') {
			c = *jp++;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c == 'u') {
				unsigned x = 0;
				if (sscanf(jp, "%4x", &x) != 1)
					return free(out), NULL;
				jp += 4;
				c = x < 0x80 ? (char)x : '?';
			} else if (!c)
				return free(out), NULL;
		}
		if (n + 2 > cap) {
			char *nb = realloc(out, cap *= 2);
			if (!nb)
				return free(out), NULL;
			out = nb;
		}
		out[n++] = c;
	}
	if (*jp != '"')
		return free(out), NULL;
	jp++;
	out[n] = '\0';
	return out;
}

static int push(struct jval *v, struct jval *item, char *key)
{
	struct jval *ni = realloc(v->items, (size_t)(v->n + 1) * sizeof(*ni));
	if (!ni)
		return -1;
	v->items = ni;
	if (v->t == J_OBJ) {
		char **nk = realloc(v->keys, (size_t)(v->n + 1) * sizeof(*nk));
		if (!nk)
			return -1;
		v->keys = nk;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = *item;
	return 0;
}

static int parse_value(struct jval *v)
{
	memset(v, 0, sizeof(*v));
	skip_ws();
	if (*jp == '"') {
		v->t = J_STR;
		return (v->s = parse_string()) ? 0 : -1;
	}
	if (*jp == '{' || *jp == '[') {
		char close = *jp == '{' ? '}' : ']';
		v->t = *jp == '{' ? J_OBJ : J_ARR;
		jp++;
		skip_ws();
		if (*jp == close) {
			jp++;
			return 0;
		}
		for (;;) {
			char *key = NULL;
			struct jval item;
			skip_ws();
			if (v->t == J_OBJ) {
				if (!(key = parse_string()))
					return -1;
				skip_ws();
				if (*jp++ != ':') {
					free(key);
					return -1;
				}
			}
			if (parse_value(&item) < 0 || push(v, &item, key) < 0) {
				jfree(&item);
				free(key);
				return -1;
			}
			skip_ws();
			if (*jp == ',') {
				jp++;
				continue;
			}
			if (*jp++ != close)
				return -1;
			return 0;
		}
	}
	const char *start = jp;
	while (*jp && (isalnum((unsigned char)*jp) || strchr("+-.", *jp)))
		jp++;
	if (jp == start)
		return -1;
	v->s = strndup(start, (size_t)(jp - start));
	v->t = !strcmp(v->s, "null")                               ? J_NULL
	       : (!strcmp(v->s, "true") || !strcmp(v->s, "false")) ? J_BOOL
	                                                           : J_NUM;
	return 0;
}

static const struct jval *jget(const struct jval *o, const char *key)
{
	for (int i = 0; o && o->t == J_OBJ && i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->items[i];
	return NULL;
}

static const char *jtext(const struct jval *v)
{
	return !v || v->t == J_NULL ? "" : v->s ? v->s : "";
}

/* ---- output ---- */

static void print_table(const struct jval *cols, const struct jval *rows)
{
	int nc = cols->n;
	int *width = calloc((size_t)nc, sizeof(int));
	if (!width)
		return;
	for (int c = 0; c < nc; c++) {
		width[c] = (int)strlen(jtext(&cols->items[c]));
		for (int r = 0; r < rows->n; r++) {
			int l = (int)strlen(jtext(jget(&rows->items[r], cols->items[c].s)));
			if (l > width[c])
				width[c] = l;
		}
	}
	for (int c = 0; c < nc; c++)
		printf("%s%-*s", c ? " | " : "", width[c], jtext(&cols->items[c]));
	printf("\n");
	for (int c = 0; c < nc; c++) {
		printf("%s", c ? "-+-" : "");
		for (int k = 0; k < width[c]; k++)
			putchar('-');
	}
	printf("\n");
	for (int r = 0; r < rows->n; r++) {
		for (int c = 0; c < nc; c++)
			printf("%s%-*s", c ? " | " : "", width[c],
			       jtext(jget(&rows->items[r], cols->items[c].s)));
		printf("\n");
	}
	printf("(%d row%s)\n", rows->n, rows->n == 1 ? "" : "s");
	free(width);
}

static int print_parsed(const struct jval *vp, const char *line, int json);

/* Print one answer; returns 0 for ok, 1 for an error answer, 2 for garbage. */
static int print_answer(const char *line, int json)
{
	struct jval v;
	jp = line;
	if (parse_value(&v) < 0 || v.t != J_OBJ) {
		fprintf(stderr, "sluicectl: unreadable answer: %s\n", line);
		jfree(&v);
		return 2;
	}
	int rc = print_parsed(&v, line, json);
	jfree(&v);
	return rc;
}

static int print_parsed(const struct jval *vp, const char *line, int json)
{
	const struct jval v = *vp;
	const struct jval *ok = jget(&v, "ok");
	int good = ok && ok->t == J_BOOL && !strcmp(ok->s, "true");
	if (json) {
		printf("%s\n", line);
		return good ? 0 : 1;
	}
	if (!good) {
		fprintf(stderr, "ERROR: %s (SQLSTATE %s)\n", jtext(jget(&v, "error")),
		        jtext(jget(&v, "sqlstate")));
		return 1;
	}
	const struct jval *notice = jget(&v, "notice"), *cols = jget(&v, "columns"),
	                  *rows = jget(&v, "rows");
	if (notice)
		printf("%s\n", jtext(notice));
	if (cols && rows && cols->t == J_ARR && rows->t == J_ARR)
		print_table(cols, rows);
	else if (!notice)
		printf("%s\n", jtext(jget(&v, "tag")));
	return 0;
}

/* ---- commands ---- */

static void usage(FILE *out)
{
	fprintf(out,
	        "sluicectl: control a running sluice through its admin socket.\n\n"
	        "Usage: sluicectl [-s SOCKET] [--json] COMMAND...\n\n"
	        "  show VIEW [NAME]                 pools, stats, clients, servers, hosts, tenants,\n"
	        "                                   classes, tenant NAME, class NAME, config, ...\n"
	        "  set KEY=VALUE                    a reloadable setting\n"
	        "  set tenant NAME KEY=VALUE...     a tenant's governor limit (runtime)\n"
	        "  set class NAME KEY=VALUE...      a class's governor setting (runtime)\n"
	        "  reset tenant|class NAME [KEY]    back to the file's values\n"
	        "  pause|resume [DB], reload, reconnect [DB], resolve [HOST], kill DB, kill_client "
	        "ID, ...\n"
	        "  drain [--wait] [--timeout S]     stop accepting; exit when clients have left\n"
	        "  raw 'ANY ADMIN COMMAND'          send a command line as is\n\n"
	        "The socket is -s, else $SLUICE_ADMIN_SOCKET, else %s.\n",
	        DEFAULT_SOCKET);
}

static int split_kv(const char *arg, char *key, size_t kl, char *val, size_t vl)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) >= kl)
		return -1;
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	/* Quote the value so spaces and quotes survive the command language. */
	size_t o = 0;
	val[o++] = '\'';
	for (const char *p = eq + 1; *p && o + 3 < vl; p++) {
		if (*p == '\'')
			val[o++] = '\'';
		val[o++] = *p;
	}
	val[o++] = '\'';
	val[o] = '\0';
	return 0;
}

static int build(int argc, char **argv, char cmds[MAX_CMDS][1024], int *n)
{
	char key[256], val[512];
	*n = 0;
	if (!strcasecmp(argv[0], "set") && argc >= 2 &&
	    (!strcasecmp(argv[1], "tenant") || !strcasecmp(argv[1], "class"))) {
		if (argc < 4)
			return -1;
		for (int i = 3; i < argc && *n < MAX_CMDS; i++) {
			if (split_kv(argv[i], key, sizeof(key), val, sizeof(val)) < 0)
				return -1;
			snprintf(cmds[(*n)++], 1024, "SET %s \"%s\" %s = %s", argv[1], argv[2], key,
			         val);
		}
		return 0;
	}
	if (!strcasecmp(argv[0], "set")) {
		for (int i = 1; i < argc && *n < MAX_CMDS; i++) {
			if (split_kv(argv[i], key, sizeof(key), val, sizeof(val)) < 0)
				return -1;
			snprintf(cmds[(*n)++], 1024, "SET %s = %s", key, val);
		}
		return *n ? 0 : -1;
	}
	if (!strcasecmp(argv[0], "raw")) {
		if (argc != 2)
			return -1;
		snprintf(cmds[(*n)++], 1024, "%s", argv[1]);
		return 0;
	}
	size_t o = 0;
	for (int i = 0; i < argc; i++) {
		int k = snprintf(cmds[0] + o, 1024 - o, "%s%s", i ? " " : "", argv[i]);
		if (k < 0 || (size_t)k >= 1024 - o)
			return -1;
		o += (size_t)k;
	}
	*n = 1;
	return 0;
}

static int connect_sock(const char *path)
{
	struct sockaddr_un un = {0};
	un.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(un.sun_path)) {
		fprintf(stderr, "sluicectl: socket path too long\n");
		return -1;
	}
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		fprintf(stderr, "sluicectl: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read one line (the answer) into a growing buffer; NULL on EOF or error. */
static char *read_line(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		char *nl = *len ? memchr(*buf, '\n', *len) : NULL;
		if (nl) {
			size_t l = (size_t)(nl - *buf);
			char *line = strndup(*buf, l);
			memmove(*buf, nl + 1, *len - l - 1);
			*len -= l + 1;
			return line;
		}
		if (*len + 4096 > *cap) {
			size_t nc = *cap ? *cap * 2 : 65536;
			char *nb = realloc(*buf, nc);
			if (!nb)
				return NULL;
			*buf = nb;
			*cap = nc;
		}
		ssize_t n = read(fd, *buf + *len, *cap - *len);
		if (n <= 0)
			return NULL;
		*len += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	const char *path = getenv("SLUICE_ADMIN_SOCKET");
	int json = 0, wait = 0, i = 1;
	double timeout = 0;
	if (!path || !*path)
		path = DEFAULT_SOCKET;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	static char cmds[MAX_CMDS][1024];
	int n = 0;
	if (!strcasecmp(argv[i], "drain")) {
		for (int k = i + 1; k < argc; k++) {
			if (!strcmp(argv[k], "--wait"))
				wait = 1;
			else if (!strcmp(argv[k], "--timeout") && k + 1 < argc)
				timeout = atof(argv[++k]);
			else {
				usage(stderr);
				return 2;
			}
		}
		snprintf(cmds[0], sizeof(cmds[0]), "SHUTDOWN WAIT_FOR_CLIENTS");
		n = 1;
	} else if (build(argc - i, argv + i, cmds, &n) < 0) {
		usage(stderr);
		return 2;
	}
	int fd = connect_sock(path);
	if (fd < 0)
		return 2;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (int k = 0; k < n; k++) {
		char line[1100];
		int l = snprintf(line, sizeof(line), "%s\n", cmds[k]);
		if (write(fd, line, (size_t)l) != l) {
			fprintf(stderr, "sluicectl: write failed: %s\n", strerror(errno));
			return 2;
		}
		char *answer = read_line(fd, &buf, &len, &cap);
		if (!answer) {
			fprintf(stderr, "sluicectl: connection closed without an answer\n");
			return 2;
		}
		int r = print_answer(answer, json);
		free(answer);
		if (r > rc)
			rc = r;
	}
	if (wait && rc == 0) {
		/* sluice closes the socket when it exits: wait for that. */
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct timespec t1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			double left = timeout > 0
			                  ? timeout - ((double)(t1.tv_sec - t0.tv_sec) +
			                               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9)
			                  : 1e9;
			if (left <= 0) {
				fprintf(stderr, "sluicectl: clients still connected after %g s\n",
				        timeout);
				rc = 1;
				break;
			}
			struct pollfd pfd = {fd, POLLIN, 0};
			int pr = poll(&pfd, 1, left > 1000 ? 1000000 : (int)(left * 1000) + 1);
			if (pr > 0) {
				char tmp[512];
				if (read(fd, tmp, sizeof(tmp)) <= 0)
					break;
			}
		}
	}
	free(buf);
	close(fd);
	return rc;
}
