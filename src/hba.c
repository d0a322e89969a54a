/* pg_hba.conf subset: tokenizer, rule parser and first-match evaluation. */
#include "hba.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#define HBA_FILE_MAX (1 << 20) /* a pg_hba.conf larger than 1 MiB is a mistake */
#define FIELDS_MAX   8

/* One whitespace-separated field, split into its comma-separated items. quoted[i] says whether
 * item i was written in double quotes (then keywords like "all" are plain names). */
struct field {
	int n;
	char *item[HBA_NAMES_MAX];
	uint8_t quoted[HBA_NAMES_MAX];
};

static void errf(char *err, size_t errlen, const char *file, int line, const char *fmt,
                 const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	snprintf(err, errlen, "%s:%d: %s", file ? file : "hba", line, msg);
}

/* Split one line (NUL-terminated, modified in place) into fields. -1 with err on bad quoting or
 * too many items. */
static int tokenize(char *s, struct field *f, int *nf, const char *file, int line, char *err,
                    size_t errlen)
{
	*nf = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			return 0;
		if (*nf == FIELDS_MAX) {
			errf(err, errlen, file, line, "too many fields%s", NULL);
			return -1;
		}
		struct field *cur = &f[(*nf)++];
		cur->n = 0;
		for (;;) { /* items of this field */
			if (cur->n == HBA_NAMES_MAX) {
				errf(err, errlen, file, line, "more than 64 names in one list%s",
				     NULL);
				return -1;
			}
			char *out = s, *start = s;
			int quoted = 0;
			while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != ',' &&
			       *s != '#') {
				if (*s == '"') {
					quoted = 1;
					s++;
					while (*s && *s != '"')
						*out++ = *s++;
					if (*s != '"') {
						errf(err, errlen, file, line,
						     "unterminated quoted name%s", NULL);
						return -1;
					}
					s++;
					continue;
				}
				*out++ = *s++;
			}
			char stop = *s;
			*out = '\0';
			if (out == start && !quoted) {
				errf(err, errlen, file, line, "empty name in a list%s", NULL);
				return -1;
			}
			cur->item[cur->n] = start;
			cur->quoted[cur->n] = (uint8_t)quoted;
			cur->n++;
			if (stop == ',') {
				s++;
				continue;
			}
			if (stop == '#') {
				*s = '\0';
				return 0;
			}
			if (stop)
				s++;
			break;
		}
	}
}

int hba_parse_cidr(const char *s, int *family, uint8_t addr[16], uint8_t mask[16])
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(addr, 0, 16);
	memset(mask, 0, 16);
	int bytes;
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		bytes = 4;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		bytes = 16;
	} else {
		return -1;
	}
	long bits = bytes * 8;
	if (slash) {
		char *end;
		errno = 0;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (errno || *end || bits < 0 || bits > bytes * 8)
			return -1;
	}
	for (int i = 0; i < bytes; i++) {
		int b = bits >= 8 ? 8 : (int)(bits > 0 ? bits : 0);
		mask[i] = (uint8_t)(b ? 0xff << (8 - b) : 0);
		bits -= b;
		addr[i] &= mask[i];
	}
	return 0;
}

int hba_addr_in(const struct sockaddr *sa, int family, const uint8_t addr[16],
                const uint8_t mask[16])
{
	const uint8_t *a;
	int bytes;
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		bytes = 4;
	} else if (sa->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		bytes = 16;
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (family == AF_INET && !memcmp(a, v4mapped, 12)) {
			a += 12;
			bytes = 4;
		}
	} else {
		return 0;
	}
	if ((bytes == 4) != (family == AF_INET))
		return 0;
	for (int i = 0; i < bytes; i++)
		if ((a[i] & mask[i]) != addr[i])
			return 0;
	return 1;
}

/* Netmask written as an address ("255.255.255.0"): must be contiguous ones. */
static int parse_mask(const char *s, int family, uint8_t mask[16])
{
	uint8_t m[16] = {0};
	if (inet_pton(family, s, m) != 1)
		return -1;
	int bytes = family == AF_INET ? 4 : 16, zero = 0;
	for (int i = 0; i < bytes; i++)
		for (int b = 7; b >= 0; b--) {
			int one = (m[i] >> b) & 1;
			if (one && zero)
				return -1;
			if (!one)
				zero = 1;
		}
	memcpy(mask, m, 16);
	return 0;
}

static char **copy_names(const struct field *f)
{
	char **v = calloc((size_t)f->n, sizeof(*v));
	if (!v)
		return NULL;
	for (int i = 0; i < f->n; i++) {
		v[i] = strdup(f->item[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void free_rule(struct hba_rule *r)
{
	for (int i = 0; i < r->n_dbs; i++)
		free(r->dbs[i]);
	for (int i = 0; i < r->n_users; i++)
		free(r->users[i]);
	free(r->dbs);
	free(r->users);
}

static int parse_method(const char *s)
{
	static const struct {
		const char *name;
		int method;
	} m[] = {{"trust", AUTH_TYPE_TRUST},
	         {"reject", HBA_REJECT},
	         {"md5", AUTH_TYPE_MD5},
	         {"password", AUTH_TYPE_PLAIN},
	         {"scram-sha-256", AUTH_TYPE_SCRAM},
	         {"cert", AUTH_TYPE_CERT}};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(s, m[i].name))
			return m[i].method;
	return -1;
}

/* One rule from the fields of a line. */
static int parse_rule(struct field *f, int nf, struct hba_rule *r, const char *file, int line,
                      char *err, size_t errlen)
{
	static const char *const types[] = {"local", "host", "hostssl", "hostnossl"};
	memset(r, 0, sizeof(*r));
	r->line = line;
	r->type = -1;
	if (f[0].n != 1)
		goto bad_type;
	for (int i = 0; i < 4; i++)
		if (!strcmp(f[0].item[0], types[i]))
			r->type = i;
	if (r->type < 0)
		goto bad_type;
	int need = r->type == HBA_LOCAL ? 4 : 5;
	if (nf < need) {
		errf(err, errlen, file, line, "missing fields (expected %s)",
		     r->type == HBA_LOCAL ? "local DATABASE USER METHOD"
		                          : "TYPE DATABASE USER ADDRESS METHOD");
		return -1;
	}
	for (int i = 0; i < f[1].n; i++) {
		const char *d = f[1].item[i];
		if (!f[1].quoted[i] && (d[0] == '@' || !strcmp(d, "replication") ||
		                        !strcmp(d, "samerole") || !strcmp(d, "samegroup"))) {
			errf(err, errlen, file, line, "database \"%s\" is not supported", d);
			return -1;
		}
		if (!f[1].quoted[i] && !strcmp(d, "all"))
			r->db_all = 1;
		else if (!f[1].quoted[i] && !strcmp(d, "sameuser"))
			r->db_sameuser = 1;
	}
	for (int i = 0; i < f[2].n; i++) {
		const char *u = f[2].item[i];
		if (!f[2].quoted[i] && (u[0] == '@' || u[0] == '+')) {
			errf(err, errlen, file, line,
			     "user \"%s\": groups and files are not supported", u);
			return -1;
		}
		if (!f[2].quoted[i] && !strcmp(u, "all"))
			r->user_all = 1;
	}
	int mi = 3;
	if (r->type != HBA_LOCAL) {
		if (f[3].n != 1) {
			errf(err, errlen, file, line, "one address expected%s", NULL);
			return -1;
		}
		const char *a = f[3].item[0];
		if (!strcmp(a, "all")) {
			r->addr_all = 1;
			mi = 4;
		} else if (hba_parse_cidr(a, &r->family, r->addr, r->mask) < 0) {
			errf(err, errlen, file, line,
			     "invalid address \"%s\" (IP address with /bits, or all; host names, "
			     "samehost and samenet are not supported)",
			     a);
			return -1;
		} else if (!strchr(a, '/')) {
			/* Bare address: the next field must be its netmask. */
			if (nf < 6 || f[4].n != 1 ||
			    parse_mask(f[4].item[0], r->family, r->mask) < 0) {
				errf(err, errlen, file, line,
				     "address \"%s\" needs /bits or a valid netmask field", a);
				return -1;
			}
			for (int i = 0; i < 16; i++)
				r->addr[i] &= r->mask[i];
			mi = 5;
		} else {
			mi = 4;
		}
	}
	if (f[mi].n != 1 || (r->method = parse_method(f[mi].item[0])) < 0) {
		errf(
		    err, errlen, file, line,
		    "unsupported method \"%s\" (trust, reject, md5, password, scram-sha-256, cert)",
		    f[mi].item[0]);
		return -1;
	}
	if (r->method == AUTH_TYPE_CERT && r->type == HBA_LOCAL) {
		errf(err, errlen, file, line, "cert needs a TLS connection (not local)%s", NULL);
		return -1;
	}
	if (!r->db_all) {
		r->dbs = copy_names(&f[1]);
		r->n_dbs = f[1].n;
	}
	if (!r->user_all) {
		r->users = copy_names(&f[2]);
		r->n_users = f[2].n;
	}
	if ((r->n_dbs && !r->dbs) || (r->n_users && !r->users)) {
		free_rule(r);
		errf(err, errlen, file, line, "out of memory%s", NULL);
		return -1;
	}
	return 0;
bad_type:
	errf(err, errlen, file, line,
	     "invalid connection type \"%s\" (local, host, hostssl or hostnossl)", f[0].item[0]);
	return -1;
}

int hba_parse(const char *text, size_t len, const char *file, struct hba_rules *out, char *err,
              size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char *buf = malloc(len + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	int line = 0, cap = 0;
	char *s = buf;
	while (s && s <= buf + len) {
		char *nl = memchr(s, '\n', (size_t)(buf + len - s));
		if (nl)
			*nl = '\0';
		line++;
		if (strlen(s) != (size_t)((nl ? nl : buf + len) - s)) {
			errf(err, errlen, file, line, "NUL byte in line%s", NULL);
			goto fail;
		}
		struct field f[FIELDS_MAX];
		int nf;
		if (tokenize(s, f, &nf, file, line, err, errlen) < 0)
			goto fail;
		if (nf) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 16;
				struct hba_rule *nv = realloc(out->v, (size_t)cap * sizeof(*nv));
				if (!nv) {
					errf(err, errlen, file, line, "out of memory%s", NULL);
					goto fail;
				}
				out->v = nv;
			}
			if (parse_rule(f, nf, &out->v[out->n], file, line, err, errlen) < 0)
				goto fail;
			out->n++;
		}
		s = nl ? nl + 1 : NULL;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	hba_free(out);
	return -1;
}

int hba_load(const char *path, struct hba_rules *out, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		snprintf(err, errlen, "auth_hba_file %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(HBA_FILE_MAX);
	size_t n = text ? fread(text, 1, HBA_FILE_MAX, fp) : 0;
	int too_big = text && n == HBA_FILE_MAX;
	int rerr = ferror(fp);
	fclose(fp);
	if (!text || too_big || rerr) {
		snprintf(err, errlen, "auth_hba_file %s: %s", path,
		         !text     ? "out of memory"
		         : too_big ? "larger than 1 MiB"
		                   : "read error");
		free(text);
		return -1;
	}
	int rc = hba_parse(text, n, path, out, err, errlen);
	free(text);
	return rc;
}

void hba_free(struct hba_rules *r)
{
	for (int i = 0; i < r->n; i++)
		free_rule(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int in_list(char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

int hba_match(const struct hba_rules *r, int is_unix, int tls, const char *db, const char *user,
              const struct sockaddr *sa, int *line)
{
	for (int i = 0; i < r->n; i++) {
		const struct hba_rule *h = &r->v[i];
		if (is_unix != (h->type == HBA_LOCAL))
			continue;
		if ((h->type == HBA_HOSTSSL && !tls) || (h->type == HBA_HOSTNOSSL && tls))
			continue;
		if (!h->db_all && !(h->db_sameuser && !strcmp(db, user)) &&
		    !in_list(h->dbs, h->n_dbs, db))
			continue;
		if (!h->user_all && !in_list(h->users, h->n_users, user))
			continue;
		if (h->type != HBA_LOCAL && !h->addr_all &&
		    !hba_addr_in(sa, h->family, h->addr, h->mask))
			continue;
		if (line)
			*line = h->line;
		return h->method;
	}
	return -1;
}
