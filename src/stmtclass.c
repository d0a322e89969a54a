/* See stmtclass.h. A small lexer that knows just enough SQL to find statement
 * boundaries (quotes, comments, dollar quotes) and read leading keywords; it never
 * parses expressions, so anything it does not recognise is SK_OTHER. */
#include "stmtclass.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct lex {
	const char *p, *end;
};

static int ident_start(int c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skip blanks and comments (nested block comments, as PostgreSQL allows). */
static void skip_space(struct lex *l)
{
	while (l->p < l->end) {
		unsigned char c = (unsigned char)*l->p;
		if (isspace(c)) {
			l->p++;
		} else if (c == '-' && l->p + 1 < l->end && l->p[1] == '-') {
			while (l->p < l->end && *l->p != '\n')
				l->p++;
		} else if (c == '/' && l->p + 1 < l->end && l->p[1] == '*') {
			int depth = 1;
			l->p += 2;
			while (l->p < l->end && depth) {
				if (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '*') {
					depth++;
					l->p += 2;
				} else if (*l->p == '*' && l->p + 1 < l->end && l->p[1] == '/') {
					depth--;
					l->p += 2;
				} else {
					l->p++;
				}
			}
		} else {
			return;
		}
	}
}

/* Next word: an unquoted identifier (lower-cased) or a "quoted" one (kept as is).
 * Returns 0 and an empty out when the next token is not a word. */
static int next_word(struct lex *l, char *out, size_t outlen)
{
	size_t n = 0;
	skip_space(l);
	out[0] = 0;
	if (l->p >= l->end)
		return 0;
	if (*l->p == '"') {
		l->p++;
		while (l->p < l->end) {
			if (*l->p == '"') {
				if (l->p + 1 < l->end && l->p[1] == '"') {
					l->p++;
				} else {
					l->p++;
					break;
				}
			}
			if (n + 1 < outlen)
				out[n++] = *l->p;
			l->p++;
		}
		out[n] = 0;
		return 1;
	}
	if (!ident_start((unsigned char)*l->p))
		return 0;
	while (l->p < l->end && ident_char((unsigned char)*l->p)) {
		if (n + 1 < outlen)
			out[n++] = (char)tolower((unsigned char)*l->p);
		l->p++;
	}
	out[n] = 0;
	return 1;
}

/* Next word if it equals kw (which is lower case); otherwise nothing is consumed. */
static int accept_word(struct lex *l, const char *kw)
{
	struct lex save = *l;
	char w[STMT_NAME_MAX];
	if (next_word(l, w, sizeof(w)) && !strcmp(w, kw))
		return 1;
	*l = save;
	return 0;
}

static int accept_char(struct lex *l, char c)
{
	skip_space(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return 1;
	}
	return 0;
}

/* A possibly dotted name (custom GUCs such as myapp.tenant). */
static int dotted_name(struct lex *l, char *out, size_t outlen)
{
	if (!next_word(l, out, outlen))
		return 0;
	while (l->p < l->end && *l->p == '.') {
		size_t n = strlen(out);
		char part[STMT_NAME_MAX];
		l->p++;
		if (!next_word(l, part, sizeof(part)))
			break;
		snprintf(out + n, outlen - n, ".%s", part);
	}
	return 1;
}

/* The rest of the statement, trimmed, as the value of a SET. */
static void rest_value(struct lex *l, struct stmt_item *it)
{
	skip_space(l);
	const char *e = l->end;
	while (e > l->p && isspace((unsigned char)e[-1]))
		e--;
	it->value = l->p;
	it->value_len = (size_t)(e - l->p);
}

static int value_is(const struct stmt_item *it, const char *kw)
{
	return it->value_len == strlen(kw) && !strncasecmp(it->value, kw, it->value_len);
}

static void set_name(struct stmt_item *it, const char *name)
{
	snprintf(it->name, sizeof(it->name), "%s", name);
}

static void classify_set(struct lex *l, struct stmt_item *it)
{
	char w[STMT_NAME_MAX];
	if (accept_word(l, "local") || accept_word(l, "transaction")) {
		it->kind = SK_SET_LOCAL;
		return;
	}
	if (accept_word(l, "session")) {
		if (accept_word(l, "characteristics")) {
			accept_word(l, "as");
			accept_word(l, "transaction");
			set_name(it, "session_characteristics");
			goto value;
		}
		if (accept_word(l, "authorization")) {
			set_name(it, "session_authorization");
			goto value;
		}
	}
	if (accept_word(l, "time")) {
		accept_word(l, "zone");
		set_name(it, "timezone");
		goto value;
	}
	if (accept_word(l, "names")) {
		set_name(it, "client_encoding");
		goto value;
	}
	if (accept_word(l, "role")) {
		set_name(it, "role");
		goto value;
	}
	if (accept_word(l, "schema")) {
		set_name(it, "search_path");
		goto value;
	}
	if (accept_word(l, "xml")) {
		accept_word(l, "option");
		set_name(it, "xmloption");
		goto value;
	}
	if (!dotted_name(l, w, sizeof(w)))
		return;
	set_name(it, w);
	if (!accept_word(l, "to") && !accept_char(l, '='))
		return;
value:
	rest_value(l, it);
	if (!it->value_len)
		return;
	it->kind = value_is(it, "default") ? SK_RESET : SK_SET;
}

static void classify_reset(struct lex *l, struct stmt_item *it)
{
	char w[STMT_NAME_MAX];
	if (accept_word(l, "all")) {
		it->kind = SK_RESET_ALL;
		return;
	}
	if (accept_word(l, "time")) {
		accept_word(l, "zone");
		set_name(it, "timezone");
	} else if (accept_word(l, "session")) {
		if (!accept_word(l, "authorization"))
			return;
		set_name(it, "session_authorization");
	} else if (dotted_name(l, w, sizeof(w))) {
		set_name(it, w);
	} else {
		return;
	}
	it->kind = SK_RESET;
}

/* Does the rest of the statement contain the word sequence a b c (lower case)? */
static int has_words(struct lex l, const char *a, const char *b, const char *c)
{
	char w[STMT_NAME_MAX];
	while (l.p < l.end) {
		struct lex save = l;
		if (next_word(&l, w, sizeof(w))) {
			if (!strcmp(w, a) && (!b || accept_word(&l, b)) &&
			    (!c || accept_word(&l, c)))
				return 1;
			l = save;
			next_word(&l, w, sizeof(w));
		} else {
			skip_space(&l);
			if (l.p < l.end)
				l.p++;
		}
	}
	return 0;
}

static void classify_create(struct lex *l, struct stmt_item *it)
{
	char w[STMT_NAME_MAX];
	if (accept_word(l, "database")) {
		next_word(l, w, sizeof(w)); /* the new database */
		while (l->p < l->end) {
			if (accept_word(l, "template")) {
				accept_char(l, '=');
				if (next_word(l, w, sizeof(w)))
					set_name(it, w);
				break;
			}
			if (!next_word(l, w, sizeof(w))) {
				skip_space(l);
				if (l->p < l->end)
					l->p++;
			}
		}
		it->kind = SK_CREATE_DATABASE;
		return;
	}
	if (!accept_word(l, "global"))
		accept_word(l, "local");
	if (!accept_word(l, "temp") && !accept_word(l, "temporary"))
		return;
	if (!accept_word(l, "table") && !accept_word(l, "view") && !accept_word(l, "sequence"))
		return;
	/* Dropped at commit: nothing outlives the transaction. */
	if (has_words(*l, "on", "commit", "drop"))
		return;
	it->kind = SK_CREATE_TEMP;
}

static void classify_one(const char *s, const char *e, struct stmt_item *it)
{
	struct lex l = {s, e};
	char w[STMT_NAME_MAX], w2[STMT_NAME_MAX];
	memset(it, 0, sizeof(*it));
	it->kind = SK_OTHER;
	if (!next_word(&l, w, sizeof(w)))
		return;
	if (!strcmp(w, "set")) {
		classify_set(&l, it);
	} else if (!strcmp(w, "reset")) {
		classify_reset(&l, it);
	} else if (!strcmp(w, "discard")) {
		if (accept_word(&l, "all"))
			it->kind = SK_DISCARD_ALL;
		else if (accept_word(&l, "temp") || accept_word(&l, "temporary"))
			it->kind = SK_DISCARD_TEMP;
	} else if (!strcmp(w, "deallocate")) {
		accept_word(&l, "prepare");
		if (accept_word(&l, "all"))
			it->kind = SK_DEALLOCATE_ALL;
		else if (next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_DEALLOCATE;
	} else if (!strcmp(w, "prepare")) {
		if (!accept_word(&l, "transaction") && next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_PREPARE;
	} else if (!strcmp(w, "declare")) {
		if (next_word(&l, it->name, sizeof(it->name))) {
			/* Options come before FOR: [BINARY] [INSENSITIVE] [NO SCROLL] CURSOR WITH
			 * HOLD */
			while (next_word(&l, w2, sizeof(w2)) && strcmp(w2, "for"))
				if (!strcmp(w2, "with") && accept_word(&l, "hold"))
					it->kind = SK_DECLARE_HOLD;
		}
	} else if (!strcmp(w, "close")) {
		if (accept_word(&l, "all"))
			it->kind = SK_CLOSE_ALL;
		else if (next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_CLOSE;
	} else if (!strcmp(w, "create")) {
		classify_create(&l, it);
	} else if (!strcmp(w, "drop")) {
		if (accept_word(&l, "database")) {
			if (accept_word(&l, "if"))
				accept_word(&l, "exists");
			if (next_word(&l, it->name, sizeof(it->name)))
				it->kind = SK_DROP_DATABASE;
		}
	} else if (!strcmp(w, "alter")) {
		if (accept_word(&l, "database") && next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_ALTER_DATABASE;
	} else if (!strcmp(w, "rollback") || !strcmp(w, "abort")) {
		if (!accept_word(&l, "work"))
			accept_word(&l, "transaction");
		skip_space(&l);
		if (l.p >= l.end || accept_word(&l, "and"))
			it->kind = SK_ROLLBACK;
	} else if (!strcmp(w, "listen")) {
		if (next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_LISTEN;
	} else if (!strcmp(w, "unlisten")) {
		if (accept_char(&l, '*'))
			it->kind = SK_UNLISTEN_ALL;
		else if (next_word(&l, it->name, sizeof(it->name)))
			it->kind = SK_UNLISTEN;
	}
}

/* Session-level advisory lock functions; the _xact_ ones end with the transaction. */
static void note_function(struct stmt_info *out, const char *w)
{
	if (!strcmp(w, "pg_advisory_lock") || !strcmp(w, "pg_advisory_lock_shared") ||
	    !strcmp(w, "pg_try_advisory_lock") || !strcmp(w, "pg_try_advisory_lock_shared"))
		out->advisory_lock++;
	else if (!strcmp(w, "pg_advisory_unlock") || !strcmp(w, "pg_advisory_unlock_shared"))
		out->advisory_unlock++;
	else if (!strcmp(w, "pg_advisory_unlock_all"))
		out->advisory_unlock_all++;
}

/* Skip a quoted literal or identifier starting at p (which is the quote); returns the byte
 * after it. E'' strings honour backslash escapes. */
static const char *skip_quoted(const char *p, const char *end, int backslash)
{
	char q = *p++;
	while (p < end) {
		if (backslash && *p == '\\' && p + 1 < end) {
			p += 2;
			continue;
		}
		if (*p == q) {
			if (p + 1 < end && p[1] == q) {
				p += 2;
				continue;
			}
			return p + 1;
		}
		p++;
	}
	return end;
}

/* $tag$ ... $tag$ starting at p; returns NULL if p does not start a dollar quote. */
static const char *skip_dollar(const char *p, const char *end)
{
	const char *t = p + 1;
	while (t < end && *t != '$' && (isalnum((unsigned char)*t) || *t == '_'))
		t++;
	if (t >= end || *t != '$')
		return NULL;
	size_t tl = (size_t)(t - p + 1);
	for (const char *q = t + 1; q + tl <= end; q++)
		if (*q == '$' && !memcmp(q, p, tl))
			return q + tl;
	return end;
}

int stmt_classify(const char *sql, size_t len, struct stmt_info *out)
{
	const char *p = sql, *end = sql + len, *start = sql;
	memset(out, 0, sizeof(*out));
	while (p <= end) {
		if (p == end || *p == ';') {
			struct lex l = {start, p};
			skip_space(&l);
			if (l.p < p) {
				if (out->n < STMT_MAX_ITEMS)
					classify_one(l.p, p, &out->item[out->n++]);
				else
					out->more = 1;
			}
			start = p + 1;
			p++;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		if (c == '\'') {
			int bs = p > sql && (p[-1] == 'E' || p[-1] == 'e');
			p = skip_quoted(p, end, bs);
		} else if (c == '"') {
			p = skip_quoted(p, end, 0);
		} else if (c == '-' || c == '/') {
			struct lex l = {p, end};
			skip_space(&l);
			p = l.p > p ? l.p : p + 1;
		} else if (c == '$' && (p == sql || !ident_char((unsigned char)p[-1]))) {
			const char *q = skip_dollar(p, end);
			p = q ? q : p + 1;
		} else if (ident_start(c) && (p == sql || !ident_char((unsigned char)p[-1]))) {
			char w[STMT_NAME_MAX];
			struct lex l = {p, end};
			next_word(&l, w, sizeof(w));
			p = l.p;
			struct lex a = {p, end};
			if (!strncmp(w, "pg_", 3) && accept_char(&a, '('))
				note_function(out, w);
		} else {
			p++;
		}
	}
	return out->n;
}

int stmt_is_single(const struct stmt_info *si, enum stmt_kind k)
{
	return si->n == 1 && !si->more && si->item[0].kind == k;
}

int stmt_set_sql(const char *name, const char *value, char *out, size_t outlen)
{
	int n;
	if (!strcmp(name, "role"))
		n = snprintf(out, outlen, "SET ROLE %s", value);
	else if (!strcmp(name, "session_authorization"))
		n = snprintf(out, outlen, "SET SESSION AUTHORIZATION %s", value);
	else if (!strcmp(name, "session_characteristics"))
		n = snprintf(out, outlen, "SET SESSION CHARACTERISTICS AS TRANSACTION %s", value);
	else
		n = snprintf(out, outlen, "SET \"%s\" TO %s", name, value);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int stmt_reset_sql(const char *name, char *out, size_t outlen)
{
	int n;
	if (!strcmp(name, "role"))
		n = snprintf(out, outlen, "RESET ROLE");
	else if (!strcmp(name, "session_authorization"))
		n = snprintf(out, outlen, "RESET SESSION AUTHORIZATION");
	else if (!strcmp(name, "session_characteristics"))
		n = snprintf(out, outlen,
		             "RESET default_transaction_isolation;RESET "
		             "default_transaction_read_only;RESET default_transaction_deferrable");
	else
		n = snprintf(out, outlen, "RESET \"%s\"", name);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}
