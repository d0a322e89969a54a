/* Unit tests for the prepared-statement registry, client name map and per-server LRU
 * (src/pscache.c). */
#include <criterion/criterion.h>

#include "pscache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(pscache, registry_shares_bodies)
{
	struct ps_registry r = {0};
	struct ps_stmt *a = ps_reg_get(&r, "select 1\0\0\0", 11);
	struct ps_stmt *b = ps_reg_get(&r, "select 1\0\0\0", 11);
	struct ps_stmt *c = ps_reg_get(&r, "select 2\0\0\0", 11);
	cr_assert_eq(a, b);
	cr_assert_neq(a->id, c->id);
	cr_assert_eq(a->refs, 2);
	ps_reg_put(&r, a);
	ps_reg_put(&r, b);
	cr_assert_eq(r.n, 1);
	/* Many statements: the table grows and every one is still found. */
	struct ps_stmt *s[500];
	char q[32];
	for (int i = 0; i < 500; i++) {
		snprintf(q, sizeof(q), "select %d", i);
		s[i] = ps_reg_get(&r, q, strlen(q) + 1);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(q, sizeof(q), "select %d", i);
		struct ps_stmt *t = ps_reg_get(&r, q, strlen(q) + 1);
		cr_assert_eq(t, s[i]);
		ps_reg_put(&r, t);
	}
	for (int i = 0; i < 500; i++)
		ps_reg_put(&r, s[i]);
	ps_reg_put(&r, c);
	cr_assert_eq(r.n, 0);
	ps_reg_free(&r);
}

Test(pscache, names_bind_replace_forget)
{
	struct ps_registry r = {0};
	struct ps_names m = {0};
	struct ps_stmt *a = ps_reg_get(&r, "q1", 3);
	cr_assert_eq(ps_names_set(&m, &r, "S_1", a), 0);
	cr_assert_eq(ps_names_get(&m, "S_1"), a);
	cr_assert_null(ps_names_get(&m, "S_2"));
	/* Rebinding a name drops the old statement's reference. */
	struct ps_stmt *b = ps_reg_get(&r, "q2", 3);
	cr_assert_eq(ps_names_set(&m, &r, "S_1", b), 0);
	cr_assert_eq(r.n, 1);
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		cr_assert_eq(ps_names_set(&m, &r, name, ps_reg_get(&r, "q2", 3)), 0);
	}
	cr_assert_eq(b->refs, 301);
	cr_assert_eq(ps_names_del(&m, &r, "n7"), 1);
	cr_assert_eq(ps_names_del(&m, &r, "n7"), 0);
	cr_assert_eq(ps_names_get(&m, "n299"), b);
	ps_names_clear(&m, &r);
	cr_assert_eq(r.n, 0);
	ps_reg_free(&r);
}

Test(pscache, lru_evicts_least_recent)
{
	struct ps_cache c;
	cr_assert_eq(ps_cache_init(&c, 3), 0);
	cr_assert_eq(ps_cache_add(&c, 1), 0);
	cr_assert_eq(ps_cache_add(&c, 2), 0);
	cr_assert_eq(ps_cache_add(&c, 3), 0);
	cr_assert(ps_cache_touch(&c, 1));
	cr_assert_eq(ps_cache_add(&c, 4), 2); /* 2 is now the least recently used */
	cr_assert(!ps_cache_touch(&c, 2));
	ps_cache_del(&c, 3);
	cr_assert_eq(ps_cache_add(&c, 5), 0);
	cr_assert_eq(ps_cache_add(&c, 6), 1);
	ps_cache_clear(&c);
	cr_assert_eq(c.n, 0);
	cr_assert(!ps_cache_touch(&c, 4));
	ps_cache_free(&c);
}

/* Random operations against a reference model (an array ordered by recency). */
Test(pscache, lru_matches_model)
{
	enum { CAP = 17, IDS = 60 };
	struct ps_cache c;
	uint32_t model[CAP];
	int mn = 0;
	cr_assert_eq(ps_cache_init(&c, CAP), 0);
	srand(7);
	for (int step = 0; step < 200000; step++) {
		uint32_t id = (uint32_t)(rand() % IDS) + 1;
		int op = rand() % 4, at = -1;
		for (int i = 0; i < mn; i++)
			if (model[i] == id)
				at = i;
		if (op == 0) {
			ps_cache_del(&c, id);
			if (at >= 0) {
				memmove(model + at, model + at + 1, (size_t)(mn - at - 1) * 4);
				mn--;
			}
		} else if (op == 1) {
			cr_assert_eq(ps_cache_touch(&c, id), at >= 0);
			if (at >= 0) {
				memmove(model + at, model + at + 1, (size_t)(mn - at - 1) * 4);
				model[mn - 1] = id;
			}
		} else {
			uint32_t ev = ps_cache_add(&c, id), want = 0;
			if (at >= 0) {
				memmove(model + at, model + at + 1, (size_t)(mn - at - 1) * 4);
				model[mn - 1] = id;
			} else {
				if (mn == CAP) {
					want = model[0];
					memmove(model, model + 1, (CAP - 1) * 4);
					mn--;
				}
				model[mn++] = id;
			}
			cr_assert_eq(ev, want, "step %d", step);
		}
		cr_assert_eq(c.n, (uint32_t)mn);
	}
	ps_cache_free(&c);
}
