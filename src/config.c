/* Configuration loader: reads the ini file (with %include), dispatches the main section to the
 * key table (config_keys.c), parses [databases] and [users] lines, keeps any other section
 * raw, then loads auth_file (userlist.c) and validates the result. */
#include "config_int.h"
#include "governor.h"
#include "peers.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define INCLUDE_DEPTH_MAX 10

enum section_kind { SEC_NONE, SEC_MAIN, SEC_DATABASES, SEC_USERS, SEC_EXTRA };

/* One file being read; the stack of them detects %include loops. */
struct frame {
	const char *path; /* as opened, used in messages */
	char *real;       /* realpath, for loop detection */
	char *absdir;     /* absolute directory, for relative paths inside the file */
};

struct loader {
	struct sluice_config *cfg;
	enum section_kind sec;
	int extra_idx; /* current section in cfg->extra_sections when sec == SEC_EXTRA */
	int dbs_cap, users_cap, extra_cap;
	struct frame stack[INCLUDE_DEPTH_MAX];
	int depth;
	char *err;
	size_t errlen;
	config_warn_fn warn;
	void *warn_arg;
	char *auth_file_src; /* where auth_file was last set, for its load errors */
	int auth_file_line;
};

void cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void warnf(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct loader *ld, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ld->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->warn(ld->warn_arg, msg);
}

/* ---- sorted name arrays ---- */

struct sort_item {
	const char *name;
	int idx;
};

static int cmp_sort_item(const void *a, const void *b)
{
	const struct sort_item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int cfg_sort_dedupe(void *arr, int n, size_t sz)
{
	struct sort_item *items;
	char *tmp, *base = arr;
	int out = 0;

	if (n <= 1)
		return n;
	items = malloc((size_t)n * sizeof(*items));
	tmp = malloc((size_t)n * sz);
	if (!items || !tmp) {
		free(items);
		free(tmp);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		items[i].name = base + (size_t)i * sz;
		items[i].idx = i;
	}
	qsort(items, (size_t)n, sizeof(*items), cmp_sort_item);
	for (int i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(items[i].name, items[i + 1].name) == 0)
			continue; /* a later record of the same name follows */
		memcpy(tmp + (size_t)out * sz, base + (size_t)items[i].idx * sz, sz);
		out++;
	}
	memcpy(base, tmp, (size_t)out * sz);
	explicit_bzero(tmp, (size_t)n * sz); /* records may hold secrets */
	free(tmp);
	free(items);
	return out;
}

static int cmp_name_key(const void *key, const void *elem)
{
	return strcmp(key, elem); /* every record starts with its name */
}

/* ---- small string helpers ---- */

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Unquote a double-quoted token in place starting at s ("" escapes a quote); returns the
 * position after the closing quote, or NULL when it is not closed. */
static char *unquote_double(char *s)
{
	char *r = s + 1, *w = s;

	for (;;) {
		if (*r == '\0')
			return NULL;
		if (*r == '"') {
			if (r[1] != '"')
				break;
			r++;
		}
		*w++ = *r++;
	}
	*w = '\0';
	return r + 1;
}

static int grow(void **arr, int *cap, int n, size_t sz)
{
	if (n < *cap)
		return 0;
	int ncap = *cap ? *cap * 2 : 8;
	void *na = realloc(*arr, (size_t)ncap * sz);
	if (!na)
		return -1;
	memset((char *)na + (size_t)*cap * sz, 0, (size_t)(ncap - *cap) * sz);
	*arr = na;
	*cap = ncap;
	return 0;
}

/* ---- [databases] and [users] (line syntax in config_dbs.c) ---- */

static int add_db(struct loader *ld, const char *name, const char *value, const char *file,
                  int line)
{
	struct sluice_config *cfg = ld->cfg;
	char why[1024];

	if (grow((void **)&cfg->dbs, &ld->dbs_cap, cfg->n_dbs, sizeof(*cfg->dbs)) < 0) {
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s: out of memory", file, line, name);
		return -1;
	}
	if (cfg_db_parse(&cfg->dbs[cfg->n_dbs], name, value, why, sizeof(why)) < 0) {
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s", file, line, why);
		return -1;
	}
	cfg->n_dbs++; /* a repeated name is resolved (last one wins) after loading */
	return 0;
}

static int add_user(struct loader *ld, const char *name, const char *value, const char *file,
                    int line)
{
	struct sluice_config *cfg = ld->cfg;
	char why[1024];

	if (grow((void **)&cfg->users, &ld->users_cap, cfg->n_users, sizeof(*cfg->users)) < 0) {
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s: out of memory", file, line, name);
		return -1;
	}
	if (cfg_user_parse(&cfg->users[cfg->n_users], name, value, why, sizeof(why)) < 0) {
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s", file, line, why);
		return -1;
	}
	cfg->n_users++;
	return 0;
}

/* ---- sections ---- */

static int known_extra_section(const char *name)
{
	return strcasecmp(name, "peers") == 0 || strcasecmp(name, "tenant_defaults") == 0 ||
	       strncasecmp(name, "tenant.", 7) == 0 || strncasecmp(name, "class.", 6) == 0;
}

static int enter_section(struct loader *ld, const char *name, const char *file, int line)
{
	struct sluice_config *cfg = ld->cfg;
	struct cfg_section *sec;

	if (strcasecmp(name, "sluice") == 0 || strcasecmp(name, "pgbouncer") == 0) {
		ld->sec = SEC_MAIN;
		return 0;
	}
	if (strcasecmp(name, "databases") == 0) {
		ld->sec = SEC_DATABASES;
		return 0;
	}
	if (strcasecmp(name, "users") == 0) {
		ld->sec = SEC_USERS;
		return 0;
	}
	if (!known_extra_section(name))
		warnf(ld, "%s:%d: [%s]: unknown section, ignored", file, line, name);
	ld->sec = SEC_EXTRA;
	for (int i = 0; i < cfg->n_extra; i++) {
		if (strcmp(cfg->extra_sections[i].name, name) == 0) {
			ld->extra_idx = i;
			return 0;
		}
	}
	if (grow((void **)&cfg->extra_sections, &ld->extra_cap, cfg->n_extra,
	         sizeof(*cfg->extra_sections)) < 0)
		goto oom;
	sec = &cfg->extra_sections[cfg->n_extra];
	sec->name = strdup(name);
	sec->file = strdup(file);
	sec->line = line;
	cfg->n_extra++; /* counted now so that config_free releases partial allocations */
	if (!sec->name || !sec->file)
		goto oom;
	ld->extra_idx = cfg->n_extra - 1;
	return 0;
oom:
	cfg_errf(ld->err, ld->errlen, "%s:%d: out of memory", file, line);
	return -1;
}

static int add_extra_kv(struct loader *ld, const char *key, const char *value, const char *file,
                        int line)
{
	struct cfg_section *sec = &ld->cfg->extra_sections[ld->extra_idx];
	struct cfg_kv *kv;

	if (sec->n_kv % 16 == 0) {
		struct cfg_kv *na = realloc(sec->kv, (size_t)(sec->n_kv + 16) * sizeof(*na));
		if (!na)
			goto oom;
		sec->kv = na;
	}
	kv = &sec->kv[sec->n_kv];
	kv->key = strdup(key);
	kv->value = strdup(value);
	kv->file = strdup(file);
	kv->line = line;
	sec->n_kv++;
	if (!kv->key || !kv->value || !kv->file)
		goto oom;
	return 0;
oom:
	cfg_errf(ld->err, ld->errlen, "%s:%d: out of memory", file, line);
	return -1;
}

static int main_kv(struct loader *ld, const char *key, const char *value, const char *file,
                   int line)
{
	char why[512];
	const char *basedir = ld->stack[ld->depth - 1].absdir;

	switch (config_key_set(ld->cfg, key, value, basedir, why, sizeof(why))) {
	case CFG_SET_ERROR:
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s: %s", file, line, key, why);
		return -1;
	case CFG_SET_UNKNOWN:
		warnf(ld, "%s:%d: %s: unknown parameter, ignored", file, line, key);
		return 0;
	case CFG_SET_UNSUPPORTED:
		warnf(ld, "%s:%d: %s: not supported by sluice yet, ignored", file, line, key);
		return 0;
	default:
		break;
	}
	if (strcasecmp(key, "auth_file") == 0) {
		char *src = strdup(file);
		if (!src) {
			cfg_errf(ld->err, ld->errlen, "%s:%d: out of memory", file, line);
			return -1;
		}
		free(ld->auth_file_src);
		ld->auth_file_src = src;
		ld->auth_file_line = line;
	}
	return 0;
}

/* ---- the ini reader ---- */

static int read_file(struct loader *ld, const char *path, const char *from, int from_line);

static int do_include(struct loader *ld, char *arg, const char *file, int line)
{
	char *name = trim(arg), *cand = NULL;
	int rc;

	if (*name == '"') {
		char *rest = unquote_double(name);
		if (!rest || *trim(rest)) {
			cfg_errf(ld->err, ld->errlen, "%s:%d: %%include: bad quoted file name",
			         file, line);
			return -1;
		}
	}
	if (*name == '\0') {
		cfg_errf(ld->err, ld->errlen, "%s:%d: %%include: missing file name", file, line);
		return -1;
	}
	if (name[0] != '/') {
		/* relative: the including file's directory first, then the current directory */
		if (asprintf(&cand, "%s/%s", ld->stack[ld->depth - 1].absdir, name) < 0) {
			cfg_errf(ld->err, ld->errlen, "%s:%d: out of memory", file, line);
			return -1;
		}
		if (access(cand, F_OK) != 0) {
			free(cand);
			cand = NULL;
		}
	}
	rc = read_file(ld, cand ? cand : name, file, line);
	free(cand);
	return rc;
}

static int parse_line(struct loader *ld, char *raw, const char *file, int line)
{
	char *s = trim(raw), *key, *value, *eq;

	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end) {
			cfg_errf(ld->err, ld->errlen, "%s:%d: syntax error: missing \"]\"", file,
			         line);
			return -1;
		}
		*end = '\0';
		char *after = trim(end + 1);
		if (*after && *after != ';' && *after != '#') {
			cfg_errf(ld->err, ld->errlen,
			         "%s:%d: syntax error: unexpected text after section header", file,
			         line);
			return -1;
		}
		char *name = trim(s + 1);
		if (*name == '\0') {
			cfg_errf(ld->err, ld->errlen, "%s:%d: syntax error: empty section name",
			         file, line);
			return -1;
		}
		return enter_section(ld, name, file, line);
	}
	if (*s == '%') {
		size_t n = strcspn(s, " \t");
		if (n == 8 && strncasecmp(s, "%include", 8) == 0)
			return do_include(ld, s + 8, file, line);
		cfg_errf(ld->err, ld->errlen, "%s:%d: unknown directive \"%.*s\"", file, line,
		         (int)n, s);
		return -1;
	}
	if (*s == '"') {
		/* quoted name, e.g. a database name with spaces or "=" */
		char *rest = unquote_double(s);
		if (!rest) {
			cfg_errf(ld->err, ld->errlen,
			         "%s:%d: syntax error: unterminated quoted name", file, line);
			return -1;
		}
		key = s;
		eq = rest + strspn(rest, " \t");
		if (*eq != '=')
			goto syntax;
	} else {
		eq = strchr(s, '=');
		if (!eq)
			goto syntax;
		*eq = '\0';
		key = trim(s);
		if (*key == '\0') {
			cfg_errf(ld->err, ld->errlen,
			         "%s:%d: syntax error: missing name before \"=\"", file, line);
			return -1;
		}
	}
	value = trim(eq + 1);

	switch (ld->sec) {
	case SEC_NONE:
		cfg_errf(ld->err, ld->errlen, "%s:%d: %s: parameter outside of any section", file,
		         line, key);
		return -1;
	case SEC_MAIN:
		return main_kv(ld, key, value, file, line);
	case SEC_DATABASES:
		return add_db(ld, key, value, file, line);
	case SEC_USERS:
		return add_user(ld, key, value, file, line);
	case SEC_EXTRA:
		return add_extra_kv(ld, key, value, file, line);
	}
	return 0;
syntax:
	cfg_errf(ld->err, ld->errlen, "%s:%d: syntax error: expected \"key = value\"", file, line);
	return -1;
}

/* Read one file; from/from_line locate the %include that asked for it (NULL at the top). */
static int read_file(struct loader *ld, const char *path, const char *from, int from_line)
{
	struct frame *fr;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = -1;
	FILE *f;

	if (ld->depth >= INCLUDE_DEPTH_MAX) {
		cfg_errf(ld->err, ld->errlen,
		         "%s:%d: %%include: nesting too deep (more than %d levels)", from,
		         from_line, INCLUDE_DEPTH_MAX);
		return -1;
	}
	f = fopen(path, "r");
	if (!f) {
		if (from)
			cfg_errf(ld->err, ld->errlen, "%s:%d: %%include: cannot open %s: %s", from,
			         from_line, path, strerror(errno));
		else
			cfg_errf(ld->err, ld->errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	fr = &ld->stack[ld->depth];
	memset(fr, 0, sizeof(*fr));
	fr->path = path;
	fr->real = realpath(path, NULL);
	if (!fr->real) {
		cfg_errf(ld->err, ld->errlen, "%s: cannot resolve path: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	for (int i = 0; i < ld->depth; i++) {
		if (strcmp(ld->stack[i].real, fr->real) == 0) {
			cfg_errf(ld->err, ld->errlen,
			         "%s:%d: %%include: include loop: %s is already being read", from,
			         from_line, path);
			free(fr->real);
			fclose(f);
			return -1;
		}
	}
	char *dircopy = strdup(fr->real);
	fr->absdir = dircopy ? strdup(dirname(dircopy)) : NULL;
	free(dircopy);
	if (!fr->absdir) {
		cfg_errf(ld->err, ld->errlen, "%s: out of memory", path);
		free(fr->real);
		fclose(f);
		return -1;
	}
	ld->depth++;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		if (parse_line(ld, line, path, lineno) < 0)
			goto out;
	}
	if (ferror(f)) {
		cfg_errf(ld->err, ld->errlen, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	ld->depth--;
	free(fr->real);
	free(fr->absdir);
	free(line);
	fclose(f);
	return rc;
}

/* ---- load / free ---- */

static int finish(struct loader *ld, const char *path)
{
	struct sluice_config *cfg = ld->cfg;
	char why[1024];
	int n;

	/* sorted for bsearch; a name defined twice keeps its later definition */
	n = cfg_sort_dedupe(cfg->dbs, cfg->n_dbs, sizeof(*cfg->dbs));
	if (n < 0)
		goto oom;
	cfg->n_dbs = n;
	n = cfg_sort_dedupe(cfg->users, cfg->n_users, sizeof(*cfg->users));
	if (n < 0)
		goto oom;
	cfg->n_users = n;

	if (cfg->auth_file[0]) {
		n = userlist_parse(cfg->auth_file, &cfg->userlist, why, sizeof(why));
		if (n < 0) {
			cfg_errf(ld->err, ld->errlen, "%s:%d: auth_file: %s", ld->auth_file_src,
			         ld->auth_file_line, why);
			return -1;
		}
		cfg->n_userlist = n;
	}

	if (!cfg->listen_addr[0] && !cfg->unix_socket_dir[0]) {
		cfg_errf(ld->err, ld->errlen,
		         "%s: no listener configured (listen_addr and unix_socket_dir are both "
		         "empty)",
		         path);
		return -1;
	}
	if ((cfg->auth_type == AUTH_TYPE_PLAIN || cfg->auth_type == AUTH_TYPE_MD5 ||
	     cfg->auth_type == AUTH_TYPE_SCRAM) &&
	    !cfg->auth_file[0]) {
		int any_password = 0;
		for (int i = 0; i < cfg->n_dbs; i++)
			any_password |= cfg->dbs[i].password[0] != '\0';
		if (!any_password)
			warnf(ld, "%s: auth_type %s checks passwords but no auth_file is set", path,
			      auth_type_name(cfg->auth_type));
	}

	cfg->path = realpath(path, NULL);
	if (!cfg->path) {
		cfg_errf(ld->err, ld->errlen, "%s: cannot resolve path: %s", path, strerror(errno));
		return -1;
	}
	return 0;
oom:
	cfg_errf(ld->err, ld->errlen, "%s: out of memory", path);
	return -1;
}

int config_load(const char *path, struct sluice_config **out, char *err, size_t errlen,
                config_warn_fn warn, void *warn_arg)
{
	struct loader ld;
	struct sluice_config *cfg;
	char why[256];
	int rc = -1;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		cfg_errf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	ld.err = err;
	ld.errlen = errlen;
	ld.warn = warn;
	ld.warn_arg = warn_arg;
	if (config_keys_defaults(cfg, why, sizeof(why)) < 0) {
		cfg_errf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (read_file(&ld, path, NULL, 0) < 0 || finish(&ld, path) < 0)
		goto out;
	if (peers_load(cfg, err, errlen) < 0)
		goto out;
	int governed = 0;
	for (int i = 0; i < cfg->n_extra; i++)
		governed |= known_extra_section(cfg->extra_sections[i].name) &&
		            strcasecmp(cfg->extra_sections[i].name, "peers");
	if (governed) {
		cfg->gov = calloc(1, sizeof(*cfg->gov));
		if (!cfg->gov) {
			cfg_errf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		if (governor_conf_load(cfg, cfg->gov, err, errlen) < 0)
			goto out;
	}
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	free(ld.auth_file_src);
	config_free(cfg);
	return rc;
}

void config_free(struct sluice_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->gov) {
		governor_conf_free(cfg->gov);
		free(cfg->gov);
	}
	free(cfg->path);
	config_keys_free(cfg);
	if (cfg->dbs)
		explicit_bzero(cfg->dbs, (size_t)cfg->n_dbs * sizeof(*cfg->dbs));
	free(cfg->dbs);
	free(cfg->users);
	if (cfg->userlist)
		explicit_bzero(cfg->userlist, (size_t)cfg->n_userlist * sizeof(*cfg->userlist));
	free(cfg->userlist);
	for (int i = 0; i < cfg->n_extra; i++) {
		struct cfg_section *sec = &cfg->extra_sections[i];
		for (int j = 0; j < sec->n_kv; j++) {
			free(sec->kv[j].key);
			free(sec->kv[j].value);
			free(sec->kv[j].file);
		}
		free(sec->kv);
		free(sec->name);
		free(sec->file);
	}
	free(cfg->extra_sections);
	free(cfg->peers);
	free(cfg);
}

/* ---- lookups ---- */

const struct db_entry *config_find_db(const struct sluice_config *cfg, const char *name)
{
	if (!cfg || !cfg->n_dbs)
		return NULL;
	return bsearch(name, cfg->dbs, (size_t)cfg->n_dbs, sizeof(*cfg->dbs), cmp_name_key);
}

int config_list_has(const char *list, const char *name, int nocase)
{
	size_t n = strlen(name);
	if (!list)
		return 0;
	for (const char *p = list; *p;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		const char *e = p;
		while (*e && *e != ',' && !isspace((unsigned char)*e))
			e++;
		if ((size_t)(e - p) == n &&
		    !(nocase ? strncasecmp(p, name, n) : strncmp(p, name, n)))
			return 1;
		p = e;
	}
	return 0;
}

const struct user_entry *config_find_user(const struct sluice_config *cfg, const char *name)
{
	if (!cfg || !cfg->n_users)
		return NULL;
	return bsearch(name, cfg->users, (size_t)cfg->n_users, sizeof(*cfg->users), cmp_name_key);
}

const char *config_find_secret(const struct sluice_config *cfg, const char *user)
{
	const struct userlist_entry *e;

	if (!cfg || !cfg->n_userlist)
		return NULL;
	e = bsearch(user, cfg->userlist, (size_t)cfg->n_userlist, sizeof(*cfg->userlist),
	            cmp_name_key);
	return e ? e->secret : NULL;
}

const struct cfg_section *config_find_section(const struct sluice_config *cfg, const char *name)
{
	for (int i = 0; cfg && i < cfg->n_extra; i++)
		if (strcmp(cfg->extra_sections[i].name, name) == 0)
			return &cfg->extra_sections[i];
	return NULL;
}

const char *cfg_section_get(const struct cfg_section *sec, const char *key,
                            const struct cfg_kv **kv_out)
{
	for (int i = sec ? sec->n_kv - 1 : -1; i >= 0; i--) {
		if (strcasecmp(sec->kv[i].key, key) == 0) {
			if (kv_out)
				*kv_out = &sec->kv[i];
			return sec->kv[i].value;
		}
	}
	if (kv_out)
		*kv_out = NULL;
	return NULL;
}
