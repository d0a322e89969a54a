/* auth_type = hba: the subset of pg_hba.conf that PgBouncer supports, evaluated first-match like
 * PostgreSQL. Pure code (no sockets, no globals): parsed once per config snapshot, matched per
 * login.
 *
 * Line format: TYPE DATABASE USER [ADDRESS [MASK]] METHOD [options ignored]
 *   TYPE     local | host | hostssl | hostnossl
 *   DATABASE all | sameuser | name[,name...]   (names may be "double quoted")
 *   USER     all | name[,name...]
 *   ADDRESS  all | IPv4/IPv6 CIDR | address followed by a netmask field (host* lines only)
 *   METHOD   trust | reject | md5 | password | scram-sha-256 | cert
 * `#` starts a comment outside quotes. Anything else (include files, @lists, +groups, host names,
 * samehost/samenet, other methods) is an error naming the file and line, so a rule is never
 * silently weaker than written. */
#ifndef SLUICE_HBA_H
#define SLUICE_HBA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum hba_conn_type { HBA_LOCAL, HBA_HOST, HBA_HOSTSSL, HBA_HOSTNOSSL };
/* Methods are enum auth_type values (config.h), plus reject. */
#define HBA_REJECT    100
#define HBA_NAMES_MAX 64 /* names in one DATABASE or USER list */

struct hba_rule {
	int type; /* enum hba_conn_type */
	int line;
	uint8_t db_all, db_sameuser, user_all, addr_all;
	int n_dbs, n_users;
	char **dbs, **users;
	int family; /* AF_INET or AF_INET6 when !addr_all (host lines) */
	uint8_t addr[16], mask[16];
	int method; /* AUTH_TYPE_* or HBA_REJECT */
};

struct hba_rules {
	struct hba_rule *v;
	int n;
};

/* Parse text (len bytes, need not be NUL-terminated) into out. 0, or -1 with "file:line: reason"
 * in err (nothing to free then). */
int hba_parse(const char *text, size_t len, const char *file, struct hba_rules *out, char *err,
              size_t errlen);
/* Read and parse a file. 0, or -1 with the reason in err. */
int hba_load(const char *path, struct hba_rules *out, char *err, size_t errlen);
/* Free what hba_parse allocated (safe on a zeroed struct). */
void hba_free(struct hba_rules *r);
/* The method of the first rule matching a login, or -1 if none matches (refuse). is_unix: the
 * client came over the Unix socket; tls: the connection is encrypted; sa: the client's address
 * (NULL for Unix). *line (may be NULL) gets the matching rule's line. */
int hba_match(const struct hba_rules *r, int is_unix, int tls, const char *db, const char *user,
              const struct sockaddr *sa, int *line);
/* Parse "addr/bits" or a bare address into family/addr/mask. 0, or -1. Also used for
 * proxy_protocol_trusted. */
int hba_parse_cidr(const char *s, int *family, uint8_t addr[16], uint8_t mask[16]);
/* 1 if sa lies inside family/addr/mask (IPv4-mapped IPv6 clients match IPv4 rules). */
int hba_addr_in(const struct sockaddr *sa, int family, const uint8_t addr[16],
                const uint8_t mask[16]);

#endif
