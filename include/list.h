/* Intrusive circular doubly linked list: O(1) insert/remove, no allocation. */
#ifndef SLUICE_LIST_H
#define SLUICE_LIST_H

#include <stddef.h>

struct list {
	struct list *next, *prev;
};

#define LIST_INIT(name)                                                                            \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_entry(ptr, type, member)   container_of(ptr, type, member)
#define list_for_each_safe(pos, n, head)                                                           \
	for ((pos) = (head)->next, (n) = (pos)->next; (pos) != (head);                             \
	     (pos) = (n), (n) = (pos)->next)

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Make head an empty list (also marks a node as "in no list"). */
static inline void list_init(struct list *head)
{
	head->next = head->prev = head;
}
/* 1 if the list is empty (or the node is detached). */
static inline int list_empty(const struct list *head)
{
	return head->next == head;
}
/* Append node at the tail of head. */
static inline void list_append(struct list *head, struct list *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}
/* Unlink node and leave it detached (safe to call twice). */
static inline void list_del(struct list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	list_init(node);
}
/* First node or NULL. */
static inline struct list *list_first(const struct list *head)
{
	return list_empty(head) ? NULL : head->next;
}

#endif
