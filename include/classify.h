/* Traffic class match rules (the `match =` key of [class.NAME]) and the helpers that extract a
 * requested class from a startup `options` string or a leading SQL comment. Pure code. */
#ifndef SLUICE_CLASSIFY_H
#define SLUICE_CLASSIFY_H

#include <stddef.h>
#include <sys/socket.h>

#define CLASSIFY_NAME_MAX    64  /* class names (option/comment tags), incl. NUL */
#define CLASSIFY_PATTERN_MAX 128 /* glob patterns, incl. NUL */
#define CLASSIFY_SCAN_MAX    256 /* classify_comment looks at most at this many bytes */

enum classify_kind {
	CLASSIFY_APPLICATION_NAME,
	CLASSIFY_USER,
	CLASSIFY_DATABASE,
	CLASSIFY_ADDR,
	CLASSIFY_OPTION,
	CLASSIFY_COMMENT
};

struct classify_rule {
	enum classify_kind kind;
	char pattern[CLASSIFY_PATTERN_MAX]; /* glob (* and ?) for every kind but addr */
	int family;                         /* addr: AF_INET or AF_INET6 */
	unsigned char addr[16];             /* addr: network bytes (4 used for IPv4) */
	int prefix;                         /* addr: prefix length in bits */
};

/* A parsed `match =` value: rules joined by OR. */
struct classify_ruleset {
	struct classify_rule *rules; /* malloc'd */
	int n;
};

/* What is known about a client (and its current transaction); NULL fields never match. */
struct classify_facts {
	const char *application_name;
	const char *user;
	const char *database;
	const struct sockaddr *addr; /* AF_INET / AF_INET6; IPv4-mapped IPv6 matches IPv4 rules */
	const char *option_class;    /* from classify_strip_option */
	const char *comment_class; /* from classify_comment on the transaction's first statement */
};

/* Parse a comma-separated list of KIND:VALUE rules (application_name, user, database: glob;
 * addr: CIDR or plain IPv4/IPv6 address; option, comment: class name glob). Returns 0 and a
 * ruleset to free with classify_ruleset_free, or -1 with a reason in err. An empty value is
 * an error. */
int classify_parse(const char *value, struct classify_ruleset *out, char *err, size_t errlen);
/* Release a ruleset (safe on a zeroed or already freed one). */
void classify_ruleset_free(struct classify_ruleset *rs);
/* 1 if any rule of the set matches the facts, else 0. */
int classify_match(const struct classify_ruleset *rs, const struct classify_facts *f);
/* 1 if one rule matches. */
int classify_rule_match(const struct classify_rule *r, const struct classify_facts *f);

/* 1 and the class NAME in out if query (len bytes, NUL not required) starts, after optional
 * whitespace, with the comment tag slash-star sluice:class=NAME star-slash (whitespace allowed
 * inside the comment; NAME of [A-Za-z0-9_.-], shorter than outlen and CLASSIFY_NAME_MAX).
 * Looks at most at the first CLASSIFY_SCAN_MAX bytes; otherwise 0. */
int classify_comment(const char *query, size_t len, char *out, size_t outlen);
/* Find and remove `-c sluice.class=NAME` (also `-csluice.class=NAME`, `--sluice.class=NAME`)
 * from a startup options string. rest_out gets the other arguments (as written, single-space
 * separated); class_out the NAME (the last one wins). Returns 1 if found, 0 if not (rest_out is
 * then the input, trimmed), -1 if a NAME is invalid or an output buffer is too small (the option
 * is still removed from rest_out when it fits). */
int classify_strip_option(const char *options, char *class_out, size_t class_len, char *rest_out,
                          size_t rest_len);
/* 1 if s is a valid class name: 1..CLASSIFY_NAME_MAX-1 chars of [A-Za-z0-9_.-]. */
int classify_valid_name(const char *s);
/* Name of a rule kind as written in the config ("application_name", ...). */
const char *classify_kind_name(enum classify_kind k);

#endif
