/* See pscache.h. Chained hash tables that double when they reach one entry per bucket,
 * and an array-based LRU with an open-addressing index for the per-server cache. */
#include "pscache.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits: statement bodies and names are short and come from our own clients. */
static uint64_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Grow a chained table (tab/mask) to twice its size; next_off is the offset of the chain
 * pointer and hash_off that of the stored hash in an entry. */
static int grow(void ***tabp, uint32_t *mask, size_t next_off, size_t hash_off)
{
	uint32_t old = *tabp ? *mask + 1 : 0, nsz = old ? old * 2 : 16;
	void **nt = calloc(nsz, sizeof(*nt));
	if (!nt)
		return -1;
	for (uint32_t i = 0; i < old; i++) {
		void *e = (*tabp)[i];
		while (e) {
			void **nextp = (void **)((char *)e + next_off);
			void *nx = *nextp;
			uint64_t h = *(uint64_t *)((char *)e + hash_off);
			*nextp = nt[h & (nsz - 1)];
			nt[h & (nsz - 1)] = e;
			e = nx;
		}
	}
	free(*tabp);
	*tabp = nt;
	*mask = nsz - 1;
	return 0;
}

struct ps_stmt *ps_reg_get(struct ps_registry *r, const void *body, size_t len)
{
	uint64_t h = hash_bytes(body, len);
	if (r->tab) {
		for (struct ps_stmt *s = r->tab[h & r->mask]; s; s = s->next)
			if (s->hash == h && s->len == len && !memcmp(s->body, body, len)) {
				s->refs++;
				return s;
			}
	}
	if ((!r->tab || r->n > r->mask) &&
	    grow((void ***)&r->tab, &r->mask, offsetof(struct ps_stmt, next),
	         offsetof(struct ps_stmt, hash)) < 0)
		return NULL;
	struct ps_stmt *s = malloc(sizeof(*s) + len);
	if (!s)
		return NULL;
	s->hash = h;
	s->len = (uint32_t)len;
	s->refs = 1;
	s->id = ++r->next_id;
	if (!s->id) /* wrapped after 4 billion statements: 0 means "none" */
		s->id = ++r->next_id;
	memcpy(s->body, body, len);
	s->next = r->tab[h & r->mask];
	r->tab[h & r->mask] = s;
	r->n++;
	return s;
}

void ps_reg_put(struct ps_registry *r, struct ps_stmt *s)
{
	if (!s || --s->refs)
		return;
	struct ps_stmt **pp = &r->tab[s->hash & r->mask];
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	r->n--;
	free(s);
}

void ps_reg_free(struct ps_registry *r)
{
	if (r->tab) {
		for (uint32_t i = 0; i <= r->mask; i++) {
			struct ps_stmt *s = r->tab[i];
			while (s) {
				struct ps_stmt *nx = s->next;
				free(s);
				s = nx;
			}
		}
	}
	free(r->tab);
	memset(r, 0, sizeof(*r));
}

struct ps_stmt *ps_names_get(const struct ps_names *m, const char *name)
{
	if (!m->tab)
		return NULL;
	uint64_t h = hash_bytes(name, strlen(name));
	for (struct ps_name *e = m->tab[h & m->mask]; e; e = e->next)
		if (e->hash == h && !strcmp(e->name, name))
			return e->stmt;
	return NULL;
}

int ps_names_set(struct ps_names *m, struct ps_registry *r, const char *name, struct ps_stmt *s)
{
	size_t nl = strlen(name);
	uint64_t h = hash_bytes(name, nl);
	if (m->tab) {
		for (struct ps_name *e = m->tab[h & m->mask]; e; e = e->next)
			if (e->hash == h && !strcmp(e->name, name)) {
				ps_reg_put(r, e->stmt);
				e->stmt = s;
				return 0;
			}
	}
	if ((!m->tab || m->n > m->mask) &&
	    grow((void ***)&m->tab, &m->mask, offsetof(struct ps_name, next),
	         offsetof(struct ps_name, hash)) < 0) {
		ps_reg_put(r, s);
		return -1;
	}
	struct ps_name *e = malloc(sizeof(*e) + nl + 1);
	if (!e) {
		ps_reg_put(r, s);
		return -1;
	}
	memcpy(e->name, name, nl + 1);
	e->hash = h;
	e->stmt = s;
	e->next = m->tab[h & m->mask];
	m->tab[h & m->mask] = e;
	m->n++;
	return 0;
}

int ps_names_del(struct ps_names *m, struct ps_registry *r, const char *name)
{
	if (!m->tab)
		return 0;
	uint64_t h = hash_bytes(name, strlen(name));
	for (struct ps_name **pp = &m->tab[h & m->mask]; *pp; pp = &(*pp)->next) {
		struct ps_name *e = *pp;
		if (e->hash == h && !strcmp(e->name, name)) {
			*pp = e->next;
			ps_reg_put(r, e->stmt);
			free(e);
			m->n--;
			return 1;
		}
	}
	return 0;
}

void ps_names_clear(struct ps_names *m, struct ps_registry *r)
{
	if (m->tab) {
		for (uint32_t i = 0; i <= m->mask; i++) {
			struct ps_name *e = m->tab[i];
			while (e) {
				struct ps_name *nx = e->next;
				ps_reg_put(r, e->stmt);
				free(e);
				e = nx;
			}
		}
	}
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

/* --- per-server LRU --- */

static uint32_t id_hash(uint32_t id)
{
	return id * 2654435761u;
}

int ps_cache_init(struct ps_cache *c, uint32_t cap)
{
	memset(c, 0, sizeof(*c));
	if (!cap)
		cap = 1;
	uint32_t isz = 4;
	while (isz < cap * 2)
		isz *= 2;
	c->ids = calloc(cap, sizeof(uint32_t));
	c->prev = calloc(cap, sizeof(uint32_t));
	c->next = calloc(cap, sizeof(uint32_t));
	c->index = calloc(isz, sizeof(uint32_t));
	if (!c->ids || !c->prev || !c->next || !c->index) {
		ps_cache_free(c);
		return -1;
	}
	c->cap = cap;
	c->index_mask = isz - 1;
	ps_cache_clear(c);
	return 0;
}

void ps_cache_free(struct ps_cache *c)
{
	free(c->ids);
	free(c->prev);
	free(c->next);
	free(c->index);
	memset(c, 0, sizeof(*c));
}

void ps_cache_clear(struct ps_cache *c)
{
	if (!c->cap)
		return;
	memset(c->index, 0, (c->index_mask + 1) * sizeof(uint32_t));
	/* Free slots are chained through next[]. */
	for (uint32_t i = 0; i < c->cap; i++) {
		c->ids[i] = 0;
		c->next[i] = i + 1 < c->cap ? i + 1 : PS_NIL;
	}
	c->free = 0;
	c->head = c->tail = PS_NIL;
	c->n = 0;
}

/* Index position holding id, or PS_NIL. */
static uint32_t find_pos(const struct ps_cache *c, uint32_t id)
{
	for (uint32_t i = id_hash(id) & c->index_mask;; i = (i + 1) & c->index_mask) {
		uint32_t v = c->index[i];
		if (!v)
			return PS_NIL;
		if (c->ids[v - 1] == id)
			return i;
	}
}

static void lru_unlink(struct ps_cache *c, uint32_t s)
{
	if (c->prev[s] != PS_NIL)
		c->next[c->prev[s]] = c->next[s];
	else
		c->head = c->next[s];
	if (c->next[s] != PS_NIL)
		c->prev[c->next[s]] = c->prev[s];
	else
		c->tail = c->prev[s];
}

static void lru_append(struct ps_cache *c, uint32_t s)
{
	c->prev[s] = c->tail;
	c->next[s] = PS_NIL;
	if (c->tail != PS_NIL)
		c->next[c->tail] = s;
	else
		c->head = s;
	c->tail = s;
}

/* Remove the index entry at position i, shifting later entries of the probe run back. */
static void index_remove(struct ps_cache *c, uint32_t i)
{
	uint32_t j = i;
	c->index[i] = 0;
	for (;;) {
		j = (j + 1) & c->index_mask;
		uint32_t v = c->index[j];
		if (!v)
			return;
		uint32_t k = id_hash(c->ids[v - 1]) & c->index_mask;
		/* Move v back to the hole unless its home lies cyclically in (i, j]. */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			c->index[i] = v;
			c->index[j] = 0;
			i = j;
		}
	}
}

int ps_cache_touch(struct ps_cache *c, uint32_t id)
{
	if (!c->cap)
		return 0;
	uint32_t pos = find_pos(c, id);
	if (pos == PS_NIL)
		return 0;
	uint32_t s = c->index[pos] - 1;
	if (c->tail != s) {
		lru_unlink(c, s);
		lru_append(c, s);
	}
	return 1;
}

void ps_cache_del(struct ps_cache *c, uint32_t id)
{
	if (!c->cap)
		return;
	uint32_t pos = find_pos(c, id);
	if (pos == PS_NIL)
		return;
	uint32_t s = c->index[pos] - 1;
	index_remove(c, pos);
	lru_unlink(c, s);
	c->ids[s] = 0;
	c->next[s] = c->free;
	c->free = s;
	c->n--;
}

uint32_t ps_cache_add(struct ps_cache *c, uint32_t id)
{
	uint32_t evicted = 0;
	if (!c->cap || ps_cache_touch(c, id))
		return 0;
	if (c->free == PS_NIL) {
		evicted = c->ids[c->head];
		ps_cache_del(c, evicted);
	}
	uint32_t s = c->free;
	c->free = c->next[s];
	c->ids[s] = id;
	lru_append(c, s);
	uint32_t i = id_hash(id) & c->index_mask;
	while (c->index[i])
		i = (i + 1) & c->index_mask;
	c->index[i] = s + 1;
	c->n++;
	return evicted;
}
