/* Transaction script parser and \set expression evaluator (see script.h). Expressions are parsed
 * once into a node array (recursive descent) and evaluated per transaction without allocating;
 * statements are cut into literal pieces and variable references once, so running a transaction
 * only concatenates. */
#include "script.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_op { N_INT, N_DBL, N_VAR, N_ADD, N_SUB, N_MUL, N_DIV, N_MOD, N_NEG, N_FUNC };
enum func_id { F_RANDOM, F_REXP, F_RGAUSS, F_ABS, F_LEAST, F_GREATEST };

struct expr_node {
	int op;
	int64_t ival; /* N_INT; N_VAR: variable index; N_FUNC: enum func_id */
	double dval;  /* N_DBL (only as a distribution parameter) */
	int arg[3];
	int nargs;
};

static const struct {
	const char *name;
	int nargs;
} funcs[] = {
    [F_RANDOM] = {"random", 2},
    [F_REXP] = {"random_exponential", 3},
    [F_RGAUSS] = {"random_gaussian", 3},
    [F_ABS] = {"abs", 1},
    [F_LEAST] = {"least", 2},
    [F_GREATEST] = {"greatest", 2},
};

struct parser {
	struct script *s;
	const char *p;
	const char *path;
	int line;
	int cap_nodes;
	char *err;
	size_t errlen;
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, ps->line, msg);
}

static int var_find(const struct script *s, const char *name, size_t len)
{
	for (int i = 0; i < s->n_vars; i++)
		if (strlen(s->names[i]) == len && strncmp(s->names[i], name, len) == 0)
			return i;
	return -1;
}

static int var_add(struct script *s, const char *name, size_t len)
{
	int i = var_find(s, name, len);

	if (i >= 0 || s->n_vars >= SCRIPT_MAX_VARS)
		return i;
	s->names[s->n_vars] = strndup(name, len);
	if (!s->names[s->n_vars])
		return -1;
	return s->n_vars++;
}

static int new_node(struct parser *ps, int op)
{
	struct script *s = ps->s;

	if (s->n_nodes == ps->cap_nodes) {
		int ncap = ps->cap_nodes ? ps->cap_nodes * 2 : 32;
		struct expr_node *nn = realloc(s->nodes, (size_t)ncap * sizeof(*nn));
		if (!nn) {
			perr(ps, "out of memory");
			return -1;
		}
		s->nodes = nn;
		ps->cap_nodes = ncap;
	}
	memset(&s->nodes[s->n_nodes], 0, sizeof(s->nodes[0]));
	s->nodes[s->n_nodes].op = op;
	return s->n_nodes++;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static int is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int parse_sum(struct parser *ps);

static int parse_primary(struct parser *ps)
{
	const char *start;
	int n;

	skip_ws(ps);
	start = ps->p;
	if (*ps->p == '(') {
		ps->p++;
		n = parse_sum(ps);
		if (n < 0)
			return -1;
		skip_ws(ps);
		if (*ps->p != ')') {
			perr(ps, "expected \")\"");
			return -1;
		}
		ps->p++;
		return n;
	}
	if (isdigit((unsigned char)*ps->p)) {
		char *end;
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
		if (*ps->p == '.') { /* a decimal: only valid as a distribution parameter */
			n = new_node(ps, N_DBL);
			if (n < 0)
				return -1;
			ps->s->nodes[n].dval = strtod(start, &end);
			ps->p = end;
			return n;
		}
		errno = 0;
		long long v = strtoll(start, &end, 10);
		if (errno) {
			perr(ps, "integer out of range");
			return -1;
		}
		n = new_node(ps, N_INT);
		if (n < 0)
			return -1;
		ps->s->nodes[n].ival = v;
		ps->p = end;
		return n;
	}
	if (*ps->p == ':' && is_ident_start(ps->p[1])) {
		ps->p++;
		start = ps->p;
		while (is_ident(*ps->p))
			ps->p++;
		int v = var_find(ps->s, start, (size_t)(ps->p - start));
		if (v < 0) {
			perr(ps, "unknown variable :%.*s", (int)(ps->p - start), start);
			return -1;
		}
		n = new_node(ps, N_VAR);
		if (n < 0)
			return -1;
		ps->s->nodes[n].ival = v;
		return n;
	}
	if (is_ident_start(*ps->p)) {
		while (is_ident(*ps->p))
			ps->p++;
		size_t len = (size_t)(ps->p - start);
		int f = -1;
		for (int i = 0; i < (int)(sizeof(funcs) / sizeof(funcs[0])); i++)
			if (strlen(funcs[i].name) == len && strncmp(funcs[i].name, start, len) == 0)
				f = i;
		if (f < 0) {
			perr(ps, "unknown function %.*s", (int)len, start);
			return -1;
		}
		n = new_node(ps, N_FUNC);
		if (n < 0)
			return -1;
		ps->s->nodes[n].ival = f;
		skip_ws(ps);
		if (*ps->p != '(') {
			perr(ps, "expected \"(\" after %s", funcs[f].name);
			return -1;
		}
		ps->p++;
		for (int a = 0; a < funcs[f].nargs; a++) {
			if (a > 0) {
				skip_ws(ps);
				if (*ps->p != ',') {
					perr(ps, "%s takes %d arguments", funcs[f].name,
					     funcs[f].nargs);
					return -1;
				}
				ps->p++;
			}
			int arg = parse_sum(ps);
			if (arg < 0)
				return -1;
			ps->s->nodes[n].arg[a] = arg;
		}
		ps->s->nodes[n].nargs = funcs[f].nargs;
		skip_ws(ps);
		if (*ps->p != ')') {
			perr(ps, "%s takes %d arguments", funcs[f].name, funcs[f].nargs);
			return -1;
		}
		ps->p++;
		return n;
	}
	perr(ps, "syntax error in expression at \"%.20s\"", ps->p);
	return -1;
}

static int parse_unary(struct parser *ps)
{
	skip_ws(ps);
	if (*ps->p == '-') {
		ps->p++;
		int a = parse_unary(ps);
		if (a < 0)
			return -1;
		int n = new_node(ps, N_NEG);
		if (n < 0)
			return -1;
		ps->s->nodes[n].arg[0] = a;
		return n;
	}
	if (*ps->p == '+') {
		ps->p++;
		return parse_unary(ps);
	}
	return parse_primary(ps);
}

static int binary(struct parser *ps, int op, int a, int b)
{
	int n;

	if (a < 0 || b < 0)
		return -1;
	n = new_node(ps, op);
	if (n < 0)
		return -1;
	ps->s->nodes[n].arg[0] = a;
	ps->s->nodes[n].arg[1] = b;
	return n;
}

static int parse_product(struct parser *ps)
{
	int n = parse_unary(ps);

	for (;;) {
		skip_ws(ps);
		char c = *ps->p;
		if (n < 0 || (c != '*' && c != '/' && c != '%'))
			return n;
		ps->p++;
		n = binary(ps, c == '*' ? N_MUL : c == '/' ? N_DIV : N_MOD, n, parse_unary(ps));
	}
}

static int parse_sum(struct parser *ps)
{
	int n = parse_product(ps);

	for (;;) {
		skip_ws(ps);
		char c = *ps->p;
		if (n < 0 || (c != '+' && c != '-'))
			return n;
		ps->p++;
		n = binary(ps, c == '+' ? N_ADD : N_SUB, n, parse_product(ps));
	}
}

/* A decimal literal is only meaningful as the parameter of a distribution. */
static int check_decimals(struct parser *ps, int n, int allowed)
{
	const struct expr_node *e = &ps->s->nodes[n];

	if (e->op == N_DBL && !allowed) {
		perr(ps, "decimal numbers are only allowed as the parameter of a random_ function");
		return -1;
	}
	int nargs = e->op == N_FUNC ? e->nargs : e->op == N_NEG ? 1 : e->op >= N_ADD ? 2 : 0;
	for (int a = 0; a < nargs; a++) {
		int ok = e->op == N_FUNC && a == 2 && (e->ival == F_REXP || e->ival == F_RGAUSS);
		if (check_decimals(ps, e->arg[a], ok) < 0)
			return -1;
	}
	return 0;
}

/* ---- evaluation ---- */

struct evalctx {
	const struct script *s;
	int64_t *vars;
	struct rng *r;
	char *code;
	char *msg;
	size_t msglen;
};

static int eval_fail(struct evalctx *c, const char *code, const char *msg)
{
	memcpy(c->code, code, 6);
	snprintf(c->msg, c->msglen, "%s", msg);
	return -1;
}

static int eval(struct evalctx *c, int n, int64_t *out);

static int eval_param(struct evalctx *c, int n, double *out)
{
	const struct expr_node *e = &c->s->nodes[n];
	int64_t v;

	if (e->op == N_DBL) {
		*out = e->dval;
		return 0;
	}
	if (eval(c, n, &v) < 0)
		return -1;
	*out = (double)v;
	return 0;
}

static int eval_func(struct evalctx *c, const struct expr_node *e, int64_t *out)
{
	int64_t a = 0, b = 0;
	double p = 0, u;

	if (eval(c, e->arg[0], &a) < 0)
		return -1;
	if (e->nargs >= 2 && eval(c, e->arg[1], &b) < 0)
		return -1;
	if (e->nargs >= 3 && eval_param(c, e->arg[2], &p) < 0)
		return -1;
	switch (e->ival) {
	case F_ABS:
		*out = a < 0 ? -a : a;
		return 0;
	case F_LEAST:
		*out = a < b ? a : b;
		return 0;
	case F_GREATEST:
		*out = a > b ? a : b;
		return 0;
	default:
		break;
	}
	if (a > b)
		return eval_fail(c, "22023", "random: lower bound above upper bound");
	if (e->ival == F_RANDOM) {
		*out = rng_range(c->r, a, b);
		return 0;
	}
	double span = (double)b - (double)a + 1, x;
	if (e->ival == F_REXP) {
		if (p <= 0)
			return eval_fail(c, "22023", "random_exponential: parameter must be > 0");
		/* exponential truncated to [0, 1): small values (near lo) are the most likely */
		u = rng_unit(c->r);
		x = -log(1.0 - u * (1.0 - exp(-p))) / p;
	} else {
		if (p < 2.0)
			return eval_fail(c, "22023", "random_gaussian: parameter must be >= 2");
		/* normal draws beyond +-p standard deviations are drawn again */
		double z;
		do {
			double u1 = 1.0 - rng_unit(c->r), u2 = rng_unit(c->r);
			z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
		} while (z <= -p || z >= p);
		x = (z + p) / (2 * p);
	}
	int64_t off = (int64_t)(x * span);
	if (off >= (int64_t)span)
		off = (int64_t)span - 1;
	*out = a + off;
	return 0;
}

static int eval(struct evalctx *c, int n, int64_t *out)
{
	const struct expr_node *e = &c->s->nodes[n];
	int64_t a = 0, b = 0;

	switch (e->op) {
	case N_INT:
		*out = e->ival;
		return 0;
	case N_DBL:
		*out = (int64_t)e->dval;
		return 0;
	case N_VAR:
		*out = c->vars[e->ival];
		return 0;
	case N_FUNC:
		return eval_func(c, e, out);
	case N_NEG:
		if (eval(c, e->arg[0], &a) < 0)
			return -1;
		*out = (int64_t)(0 - (uint64_t)a);
		return 0;
	default:
		break;
	}
	if (eval(c, e->arg[0], &a) < 0 || eval(c, e->arg[1], &b) < 0)
		return -1;
	/* wrap-around arithmetic through unsigned: overflow is the script's problem, not UB */
	switch (e->op) {
	case N_ADD:
		*out = (int64_t)((uint64_t)a + (uint64_t)b);
		return 0;
	case N_SUB:
		*out = (int64_t)((uint64_t)a - (uint64_t)b);
		return 0;
	case N_MUL:
		*out = (int64_t)((uint64_t)a * (uint64_t)b);
		return 0;
	default:
		if (b == 0)
			return eval_fail(c, "22012", "division by zero in \\set");
		if (b == -1) { /* INT64_MIN / -1 would trap */
			*out = e->op == N_DIV ? (int64_t)(0 - (uint64_t)a) : 0;
			return 0;
		}
		*out = e->op == N_DIV ? a / b : a % b;
		return 0;
	}
}

int script_eval_sets(const struct script *s, int64_t *vars, struct rng *r, char code[6], char *msg,
                     size_t msglen)
{
	struct evalctx c = {s, vars, r, code, msg, msglen};

	for (int i = 0; i < s->n_steps; i++) {
		const struct script_step *st = &s->steps[i];
		if (st->is_set && eval(&c, st->root, &vars[st->var]) < 0)
			return -1;
	}
	return 0;
}

/* ---- statements ---- */

/* Cut a statement into literal pieces and :variable references (only names the script knows:
 * anything else, such as the "::" of a cast or a ":x" inside a string, stays literal text). */
static int compile_sql(struct parser *ps, struct script_step *st)
{
	const char *p = st->sql, *lit = p;
	size_t extcap = strlen(st->sql) * 2 + 16, extlen = 0;
	int cap = 4;

	st->pieces = calloc((size_t)cap, sizeof(*st->pieces));
	st->ext = malloc(extcap);
	if (!st->pieces || !st->ext)
		goto oom;
	for (;;) {
		int v = -1;
		const char *name = NULL;
		if (*p == ':' && p[1] == ':') {
			p += 2;
			continue;
		}
		if (*p == ':' && is_ident_start(p[1])) {
			name = p + 1;
			const char *e = name;
			while (is_ident(*e))
				e++;
			v = var_find(ps->s, name, (size_t)(e - name));
			if (v < 0) {
				p = e;
				continue;
			}
		} else if (*p) {
			p++;
			continue;
		}
		if (st->n_pieces == cap) {
			cap *= 2;
			struct sql_piece *np = realloc(st->pieces, (size_t)cap * sizeof(*np));
			if (!np)
				goto oom;
			st->pieces = np;
		}
		struct sql_piece *pc = &st->pieces[st->n_pieces++];
		pc->text = lit;
		pc->len = (size_t)(p - lit);
		pc->var = v;
		memcpy(st->ext + extlen, lit, pc->len);
		extlen += pc->len;
		if (v >= 0) {
			int k = -1;
			for (int i = 0; i < st->n_params; i++)
				if (st->params[i] == v)
					k = i;
			if (k < 0) {
				k = st->n_params++;
				st->params[k] = v;
			}
			extlen += (size_t)sprintf(st->ext + extlen, "$%d", k + 1);
			p = name + strlen(ps->s->names[v]);
			lit = p;
			continue;
		}
		break; /* end of text */
	}
	st->ext[extlen] = '\0';
	return 0;
oom:
	perr(ps, "out of memory");
	return -1;
}

static struct script_step *new_step(struct parser *ps, int *cap)
{
	struct script *s = ps->s;

	if (s->n_steps == *cap) {
		int ncap = *cap ? *cap * 2 : 8;
		struct script_step *ns = realloc(s->steps, (size_t)ncap * sizeof(*ns));
		if (!ns) {
			perr(ps, "out of memory");
			return NULL;
		}
		s->steps = ns;
		*cap = ncap;
	}
	memset(&s->steps[s->n_steps], 0, sizeof(s->steps[0]));
	return &s->steps[s->n_steps++];
}

static int parse_set(struct parser *ps, const char *line, int *cap)
{
	const char *name;
	struct script_step *st;
	int v, root;

	ps->p = line + 4; /* after "\set" */
	if (*ps->p != ' ' && *ps->p != '\t') {
		perr(ps, "unknown meta-command (only \\set is supported)");
		return -1;
	}
	skip_ws(ps);
	name = ps->p;
	if (!is_ident_start(*name)) {
		perr(ps, "\\set: expected a variable name");
		return -1;
	}
	while (is_ident(*ps->p))
		ps->p++;
	if (var_find(ps->s, name, (size_t)(ps->p - name)) >= 0 &&
	    var_find(ps->s, name, (size_t)(ps->p - name)) < SCRIPT_N_BUILTIN) {
		perr(ps, "\\set: :%.*s is a built-in variable", (int)(ps->p - name), name);
		return -1;
	}
	/* the expression may refer to the variable only if it was set before */
	const char *name_end = ps->p;
	root = parse_sum(ps);
	if (root < 0)
		return -1;
	skip_ws(ps);
	if (*ps->p && *ps->p != '\n' && *ps->p != '\r') {
		perr(ps, "\\set: unexpected text after the expression: \"%.20s\"", ps->p);
		return -1;
	}
	if (check_decimals(ps, root, 0) < 0)
		return -1;
	v = var_add(ps->s, name, (size_t)(name_end - name));
	if (v < 0) {
		perr(ps, "\\set: too many variables (at most %d)", SCRIPT_MAX_VARS);
		return -1;
	}
	st = new_step(ps, cap);
	if (!st)
		return -1;
	st->is_set = 1;
	st->line = ps->line;
	st->var = v;
	st->root = root;
	return 0;
}

static int end_sql(struct parser *ps, char *buf, size_t *len, int start_line, int *cap)
{
	struct script_step *st;
	size_t n = *len;

	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	if (n > 0 && buf[n - 1] == ';')
		n--;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	*len = 0;
	if (n == 0)
		return 0;
	st = new_step(ps, cap);
	if (!st)
		return -1;
	st->line = start_line;
	st->sql = strndup(buf, n);
	if (!st->sql) {
		perr(ps, "out of memory");
		return -1;
	}
	ps->s->n_sql++;
	return compile_sql(ps, st);
}

struct script *script_parse(const char *path, const char *text, char *err, size_t errlen)
{
	struct parser ps = {.path = path, .err = err, .errlen = errlen};
	static const char *const builtin[SCRIPT_N_BUILTIN] = {"scale", "client_id", "ledger_id"};
	size_t len = 0, cap = strlen(text) + 1;
	char *buf = malloc(cap);
	int step_cap = 0, start_line = 0, rc = -1;
	const char *p = text;

	ps.s = calloc(1, sizeof(*ps.s));
	if (!ps.s || !buf || !(ps.s->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (int i = 0; i < SCRIPT_N_BUILTIN; i++)
		if (var_add(ps.s, builtin[i], strlen(builtin[i])) < 0)
			goto out;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *t = p;
		ps.line++;
		while (t < p + n && isspace((unsigned char)*t))
			t++;
		if (len == 0 && *t == '\\') {
			char *line = strndup(t, (size_t)(p + n - t));
			if (!line || strncmp(line, "\\set", 4) != 0) {
				if (line)
					perr(&ps, "unknown meta-command (only \\set is supported)");
				free(line);
				goto out;
			}
			int r = parse_set(&ps, line, &step_cap);
			free(line);
			if (r < 0)
				goto out;
		} else if (len > 0 || (t < p + n && strncmp(t, "--", 2) != 0)) {
			if (len == 0)
				start_line = ps.line;
			memcpy(buf + len, p, n);
			len += n;
			buf[len++] = '\n';
			/* a line ending in ';' (trailing blanks aside) ends the statement */
			const char *e = p + n;
			while (e > p && isspace((unsigned char)e[-1]))
				e--;
			if (e > p && e[-1] == ';' &&
			    end_sql(&ps, buf, &len, start_line, &step_cap) < 0)
				goto out;
		}
		p += n + (eol ? 1 : 0);
	}
	if (end_sql(&ps, buf, &len, start_line, &step_cap) < 0)
		goto out;
	if (ps.s->n_sql == 0) {
		ps.line = 0;
		snprintf(err, errlen, "%s: no SQL statement in the script", path);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	if (rc < 0) {
		script_free(ps.s);
		return NULL;
	}
	return ps.s;
}

void script_free(struct script *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n_steps; i++) {
		free(s->steps[i].sql);
		free(s->steps[i].ext);
		free(s->steps[i].pieces);
	}
	for (int i = 0; i < s->n_vars; i++)
		free(s->names[i]);
	free(s->steps);
	free(s->nodes);
	free(s->path);
	free(s);
}
