/* Buffer cache: a free list in front of the allocator. */
#include "slab.h"

#include <stdlib.h>

void slab_init(struct slab *s, size_t obj_size, size_t max_free)
{
	s->obj_size = obj_size < sizeof(void *) ? sizeof(void *) : obj_size;
	s->free_list = NULL;
	s->n_free = s->n_total = 0;
	s->max_free = max_free;
}

void *slab_get(struct slab *s)
{
	void *obj = s->free_list;
	if (obj) {
		s->free_list = *(void **)obj;
		s->n_free--;
		return obj;
	}
	obj = malloc(s->obj_size);
	if (obj)
		s->n_total++;
	return obj;
}

void slab_put(struct slab *s, void *obj)
{
	if (!obj)
		return;
	/* Keep a bounded reserve: after a burst the memory goes back to the allocator. */
	if (s->n_free >= s->max_free) {
		free(obj);
		s->n_total--;
		return;
	}
	*(void **)obj = s->free_list;
	s->free_list = obj;
	s->n_free++;
}

void slab_destroy(struct slab *s)
{
	while (s->free_list) {
		void *next = *(void **)s->free_list;
		free(s->free_list);
		s->free_list = next;
		s->n_free--;
		s->n_total--;
	}
}
