/* Traffic class match rules and class tags (see include/classify.h). */
#include "classify.h"
#include "errfmt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum classify_kind kind;
} kinds[] = {
    {"application_name", CLASSIFY_APPLICATION_NAME},
    {"user", CLASSIFY_USER},
    {"database", CLASSIFY_DATABASE},
    {"addr", CLASSIFY_ADDR},
    {"option", CLASSIFY_OPTION},
    {"comment", CLASSIFY_COMMENT},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const char *classify_kind_name(enum classify_kind k)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

static int name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

int classify_valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!name_char(s[n]))
			return 0;
	return n > 0 && n < CLASSIFY_NAME_MAX;
}

/* Parse "ADDR" or "ADDR/PREFIX" into r. */
static int parse_cidr(const char *s, struct classify_rule *r, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	int maxbits;

	if (strlen(s) >= sizeof(buf)) {
		errf(err, errlen, "addr:%s: address too long", s);
		return -1;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		maxbits = 128;
	} else {
		errf(err, errlen, "addr:%s: not an IPv4 or IPv6 address", s);
		return -1;
	}
	r->prefix = maxbits;
	if (slash) {
		const char *p = slash + 1;
		int bits = 0;
		if (!*p || strlen(p) > 3) {
			errf(err, errlen, "addr:%s: invalid prefix length", s);
			return -1;
		}
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p)) {
				errf(err, errlen, "addr:%s: invalid prefix length", s);
				return -1;
			}
			bits = bits * 10 + (*p - '0');
		}
		if (bits > maxbits) {
			errf(err, errlen, "addr:%s: prefix length over %d", s, maxbits);
			return -1;
		}
		r->prefix = bits;
	}
	return 0;
}

/* Parse one trimmed "kind:value" item. */
static int parse_rule(const char *item, struct classify_rule *r, char *err, size_t errlen)
{
	const char *colon = strchr(item, ':');
	const char *val;
	size_t klen;
	int found = 0;

	memset(r, 0, sizeof(*r));
	if (!colon) {
		errf(err, errlen,
		     "\"%s\": expected KIND:VALUE with KIND one of application_name, user, "
		     "database, addr, option, comment",
		     item);
		return -1;
	}
	klen = (size_t)(colon - item);
	while (klen && isspace((unsigned char)item[klen - 1]))
		klen--;
	for (size_t i = 0; i < N_KINDS; i++) {
		if (strlen(kinds[i].name) == klen && strncasecmp(item, kinds[i].name, klen) == 0) {
			r->kind = kinds[i].kind;
			found = 1;
		}
	}
	if (!found) {
		errf(err, errlen,
		     "\"%.*s\": unknown rule kind (application_name, user, database, addr, "
		     "option or comment)",
		     (int)klen, item);
		return -1;
	}
	val = colon + 1;
	while (isspace((unsigned char)*val))
		val++;
	if (!*val) {
		errf(err, errlen, "\"%s\": empty value", item);
		return -1;
	}
	if (r->kind == CLASSIFY_ADDR)
		return parse_cidr(val, r, err, errlen);
	if (strlen(val) >= sizeof(r->pattern)) {
		errf(err, errlen, "\"%s\": pattern longer than %d characters", item,
		     CLASSIFY_PATTERN_MAX - 1);
		return -1;
	}
	strcpy(r->pattern, val);
	return 0;
}

void classify_ruleset_free(struct classify_ruleset *rs)
{
	free(rs->rules);
	rs->rules = NULL;
	rs->n = 0;
}

int classify_parse(const char *value, struct classify_ruleset *out, char *err, size_t errlen)
{
	const char *p = value;
	int cap = 0;

	out->rules = NULL;
	out->n = 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[CLASSIFY_PATTERN_MAX + 64];

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0) {
			errf(err, errlen, "empty rule in match list");
			goto fail;
		}
		if (len >= sizeof(item)) {
			errf(err, errlen, "\"%.40s...\": rule too long", p);
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (out->n == cap) {
			int ncap = cap ? cap * 2 : 4;
			struct classify_rule *nr = realloc(out->rules, (size_t)ncap * sizeof(*nr));
			if (!nr) {
				errf(err, errlen, "out of memory");
				goto fail;
			}
			out->rules = nr;
			cap = ncap;
		}
		if (parse_rule(item, &out->rules[out->n], err, errlen) < 0)
			goto fail;
		out->n++;
		if (!end)
			return 0;
		p = end + 1;
	}
fail:
	classify_ruleset_free(out);
	return -1;
}

static int glob_match(const char *pattern, const char *s)
{
	return s && fnmatch(pattern, s, 0) == 0;
}

static int addr_match(const struct classify_rule *r, const struct sockaddr *sa)
{
	const unsigned char *a;
	int bits = r->prefix, full, rest;

	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		if (r->family != AF_INET)
			return 0;
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		a = (const unsigned char *)a6;
		if (r->family == AF_INET) {
			if (!IN6_IS_ADDR_V4MAPPED(a6))
				return 0;
			a += 12;
		}
	} else {
		return 0;
	}
	full = bits / 8;
	rest = bits % 8;
	if (memcmp(a, r->addr, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a[full] & mask) != (r->addr[full] & mask))
			return 0;
	}
	return 1;
}

int classify_rule_match(const struct classify_rule *r, const struct classify_facts *f)
{
	switch (r->kind) {
	case CLASSIFY_APPLICATION_NAME:
		return glob_match(r->pattern, f->application_name);
	case CLASSIFY_USER:
		return glob_match(r->pattern, f->user);
	case CLASSIFY_DATABASE:
		return glob_match(r->pattern, f->database);
	case CLASSIFY_ADDR:
		return addr_match(r, f->addr);
	case CLASSIFY_OPTION:
		return glob_match(r->pattern, f->option_class);
	case CLASSIFY_COMMENT:
		return glob_match(r->pattern, f->comment_class);
	}
	return 0;
}

int classify_match(const struct classify_ruleset *rs, const struct classify_facts *f)
{
	for (int i = 0; i < rs->n; i++)
		if (classify_rule_match(&rs->rules[i], f))
			return 1;
	return 0;
}

int classify_comment(const char *query, size_t len, char *out, size_t outlen)
{
	static const char tag[] = "sluice:class=";
	size_t lim = len < CLASSIFY_SCAN_MAX ? len : CLASSIFY_SCAN_MAX, i = 0, start, n;

	while (i < lim && isspace((unsigned char)query[i]))
		i++;
	if (i + 2 > lim || query[i] != '/' || query[i + 1] != '*')
		return 0;
	i += 2;
	while (i < lim && isspace((unsigned char)query[i]))
		i++;
	if (i + sizeof(tag) - 1 > lim || strncasecmp(query + i, tag, sizeof(tag) - 1) != 0)
		return 0;
	i += sizeof(tag) - 1;
	start = i;
	while (i < lim && name_char(query[i]))
		i++;
	n = i - start;
	if (n == 0 || n >= outlen || n >= CLASSIFY_NAME_MAX)
		return 0;
	while (i < lim && isspace((unsigned char)query[i]))
		i++;
	if (i + 2 > lim || query[i] != '*' || query[i + 1] != '/')
		return 0;
	memcpy(out, query + start, n);
	out[n] = '\0';
	return 1;
}

/* Next whitespace-separated argument of an options string (backslash escapes the next char). */
static int next_arg(const char **pp, const char **start, size_t *len)
{
	const char *p = *pp;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	*start = p;
	while (*p && !isspace((unsigned char)*p)) {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	*len = (size_t)(p - *start);
	*pp = p;
	return 1;
}

/* Unescaped copy of an argument into buf (truncated to bufsize - 1). */
static void unescape(const char *s, size_t len, char *buf, size_t bufsize)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < bufsize; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		buf[o++] = s[i];
	}
	buf[o] = '\0';
}

/* If the unescaped setting text is sluice.class=NAME, copy NAME; returns 1, -1 (bad name) or 0. */
static int class_setting(const char *s, size_t len, char *class_out, size_t class_len)
{
	static const char key[] = "sluice.class=";
	char buf[CLASSIFY_NAME_MAX + sizeof(key) + 1];

	unescape(s, len, buf, sizeof(buf));
	if (strncasecmp(buf, key, sizeof(key) - 1) != 0)
		return 0;
	if (len >= sizeof(buf) - 1 || !classify_valid_name(buf + sizeof(key) - 1))
		return -1;
	if (strlen(buf + sizeof(key) - 1) >= class_len)
		return -1;
	strcpy(class_out, buf + sizeof(key) - 1);
	return 1;
}

static int append_arg(char *rest, size_t rest_len, size_t *o, const char *s, size_t len)
{
	size_t need = len + (*o ? 1 : 0);

	if (*o + need + 1 > rest_len)
		return -1;
	if (*o)
		rest[(*o)++] = ' ';
	memcpy(rest + *o, s, len);
	*o += len;
	rest[*o] = '\0';
	return 0;
}

int classify_strip_option(const char *options, char *class_out, size_t class_len, char *rest_out,
                          size_t rest_len)
{
	const char *p = options ? options : "", *a, *b;
	size_t alen, blen, o = 0;
	int found = 0, bad = 0, full = 0, r;

	if (rest_len)
		rest_out[0] = '\0';
	else
		full = 1;
	if (class_len)
		class_out[0] = '\0';
	while (next_arg(&p, &a, &alen)) {
		if (alen == 2 && a[0] == '-' && a[1] == 'c') {
			const char *save = p;
			if (next_arg(&p, &b, &blen)) {
				r = class_setting(b, blen, class_out, class_len);
				if (r) {
					found = 1;
					bad |= r < 0;
					continue;
				}
			}
			p = save; /* "-c" followed by another setting: keep both */
		} else if (alen > 2 && a[0] == '-' && (a[1] == 'c' || a[1] == '-')) {
			r = class_setting(a + 2, alen - 2, class_out, class_len);
			if (r) {
				found = 1;
				bad |= r < 0;
				continue;
			}
		}
		if (!full && append_arg(rest_out, rest_len, &o, a, alen) < 0)
			full = 1;
	}
	if (bad || full)
		return -1;
	return found;
}
