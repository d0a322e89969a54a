/* Fixed-size buffer cache: relay buffers are taken when bytes arrive and given
 * back when drained, so an idle connection holds no buffer. One per worker, no locks. */
#ifndef SLUICE_SLAB_H
#define SLUICE_SLAB_H

#include <stddef.h>

struct slab {
	size_t obj_size;
	void *free_list; /* singly linked through the first word of each free object */
	size_t n_free, n_total, max_free;
};

/* Prepare a cache of objects of obj_size bytes keeping at most max_free spare objects. */
void slab_init(struct slab *s, size_t obj_size, size_t max_free);
/* Take one object (malloc only when the cache is empty); NULL on out of memory. */
void *slab_get(struct slab *s);
/* Return an object taken from this cache. */
void slab_put(struct slab *s, void *obj);
/* Free every cached object (objects still in use are the caller's). */
void slab_destroy(struct slab *s);

#endif
