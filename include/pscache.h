/* Protocol-level prepared statements in transaction pooling: the data structures.
 *
 * - ps_registry (one per worker): every distinct Parse body (query text and parameter
 *   types) gets one ps_stmt with a numeric id; on servers it is prepared as
 *   "sluice_<id>", so clients preparing the same query share it.
 * - ps_names (one per client): the client's own statement names -> ps_stmt.
 * - ps_cache (one per server connection): which ids are prepared there, least recently
 *   used first out when it holds max_prepared_statements of them.
 * Allocation happens when a client names a new statement, never per relayed message. */
#ifndef SLUICE_PSCACHE_H
#define SLUICE_PSCACHE_H

#include <stddef.h>
#include <stdint.h>

#define PS_SERVER_PREFIX "sluice_"

struct ps_stmt {
	struct ps_stmt *next; /* hash chain */
	uint64_t hash;
	uint32_t id;
	uint32_t refs;  /* client names pointing here */
	uint32_t len;   /* body length */
	uint8_t body[]; /* Parse message after the statement name */
};

struct ps_registry {
	struct ps_stmt **tab;
	uint32_t mask, n, next_id;
};

struct ps_name {
	struct ps_name *next;
	struct ps_stmt *stmt;
	uint64_t hash;
	char name[];
};

struct ps_names {
	struct ps_name **tab;
	uint32_t mask, n;
};

struct ps_cache {
	uint32_t cap, n;
	uint32_t *ids;               /* slot -> statement id (0: free) */
	uint32_t *prev, *next;       /* LRU list over slots; head = least recently used */
	uint32_t head, tail, free;   /* slot indexes, PS_NIL when none */
	uint32_t *index, index_mask; /* open addressing: id -> slot + 1 (0: empty) */
};

#define PS_NIL UINT32_MAX

/* Find or add the statement for a Parse body and take a reference; NULL on out of memory. */
struct ps_stmt *ps_reg_get(struct ps_registry *r, const void *body, size_t len);
/* Drop a reference taken by ps_reg_get; the statement is freed with the last one. */
void ps_reg_put(struct ps_registry *r, struct ps_stmt *s);
/* Free the registry (every statement must have been put back, or is freed regardless). */
void ps_reg_free(struct ps_registry *r);

/* The statement a client name points to, or NULL. */
struct ps_stmt *ps_names_get(const struct ps_names *m, const char *name);
/* Point name at s (replacing an older binding, whose reference is put back); the reference
 * on s moves into the map. -1 on out of memory (the reference on s is put back). */
int ps_names_set(struct ps_names *m, struct ps_registry *r, const char *name, struct ps_stmt *s);
/* Forget name; returns 1 if it was there. */
int ps_names_del(struct ps_names *m, struct ps_registry *r, const char *name);
/* Forget every name and free the table. */
void ps_names_clear(struct ps_names *m, struct ps_registry *r);

/* Set up an empty cache holding at most cap ids; -1 on out of memory. */
int ps_cache_init(struct ps_cache *c, uint32_t cap);
/* Free the cache's storage. */
void ps_cache_free(struct ps_cache *c);
/* 1 if id is cached (and mark it most recently used), else 0. */
int ps_cache_touch(struct ps_cache *c, uint32_t id);
/* Add id as most recently used; if the cache was full, the least recently used id is
 * removed and returned (the caller closes it on the server), else 0. */
uint32_t ps_cache_add(struct ps_cache *c, uint32_t id);
/* Remove id if present. */
void ps_cache_del(struct ps_cache *c, uint32_t id);
/* Remove every id. */
void ps_cache_clear(struct ps_cache *c);

#endif
