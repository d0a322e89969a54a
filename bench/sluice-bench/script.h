/* Transaction scripts of sluice-bench: SQL statements separated by ';' at the end of a line, and
 * pgbench-style `\set NAME EXPRESSION` lines whose integer results are substituted for `:NAME` in
 * later statements (as text with the simple protocol, as $n parameters with the extended one).
 * Built-in variables: :scale, :client_id (the client's number, from 0), :ledger_id (unique per
 * transaction, for commit ledgers). Expressions: integers, :variables, + - * / %, parentheses,
 * random(lo, hi), random_exponential(lo, hi, p), random_gaussian(lo, hi, p), abs(x),
 * least(a, b), greatest(a, b). */
#ifndef SLUICE_BENCH_SCRIPT_H
#define SLUICE_BENCH_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define SCRIPT_MAX_VARS   64
#define SCRIPT_VAR_SCALE  0
#define SCRIPT_VAR_CLIENT 1
#define SCRIPT_VAR_LEDGER 2
#define SCRIPT_N_BUILTIN  3

struct expr_node;

/* A run of literal SQL text, optionally followed by one variable. */
struct sql_piece {
	const char *text; /* points into the step's copy of the statement */
	size_t len;
	int var; /* -1: none */
};

struct script_step {
	int is_set; /* 1: \set, 0: SQL */
	int line;   /* where it starts, for messages */
	/* \set */
	int var;
	int root; /* index of the expression's root node */
	/* SQL */
	char *sql; /* the statement as written (without the final ';') */
	char *ext; /* the statement with $1..$n in place of the variables */
	struct sql_piece *pieces;
	int n_pieces;
	int params[SCRIPT_MAX_VARS]; /* variable of each $n, in order */
	int n_params;
};

struct script {
	char *path;
	char *names[SCRIPT_MAX_VARS];
	int n_vars;
	struct script_step *steps;
	int n_steps;
	int n_sql;
	struct expr_node *nodes;
	int n_nodes;
};

/* Parse the script text (path is for messages). Returns a new script, or NULL with
 * "path:line: reason" in err. */
struct script *script_parse(const char *path, const char *text, char *err, size_t errlen);
/* Read and parse a script file. */
struct script *script_load(const char *path, char *err, size_t errlen);
/* Free a script (NULL allowed). */
void script_free(struct script *s);
/* Evaluate every \set of the script in order into vars (builtins already filled). Returns 0, or
 * -1 with a SQLSTATE-like code in code (22012 division by zero, 22023 bad argument) and a message.
 */
int script_eval_sets(const struct script *s, int64_t *vars, struct rng *r, char code[6], char *msg,
                     size_t msglen);
/* Write the statement of step with variables substituted as text into *buf (grown as needed).
 * Returns 0, or -1 when out of memory. */
int script_render(const struct script_step *st, const int64_t *vars, char **buf, size_t *cap);
/* Replace each :scale in text by the value (for init scripts); returns a new string or NULL. */
char *script_subst_scale(const char *text, int64_t scale);
/* Read a whole file into a new NUL-terminated string, or NULL with errno set. */
char *script_read_file(const char *path);

#endif
