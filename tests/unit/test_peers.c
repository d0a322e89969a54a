/* Unit tests for cancel peering: the peer id in cancel keys and [peers] parsing (src/peers.c). */
#include <criterion/criterion.h>

#include "config.h"
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(peers, pid_carries_the_peer_id)
{
	uint32_t randoms[] = {0, 1, 0x1ffff, 0xffffffff, 0x80000000, 0x12345678};
	int ids[] = {1, 2, 77, PEER_ID_MAX};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		for (size_t j = 0; j < sizeof(randoms) / sizeof(randoms[0]); j++) {
			uint32_t pid = peers_make_pid(ids[i], randoms[j]);
			cr_expect(pid <= 0x7fffffff, "pid %u is not positive", pid);
			cr_expect_eq(peers_pid_owner(ids[i], pid), ids[i]);
			/* any other peer reads the same owner */
			cr_expect_eq(peers_pid_owner(5, pid), ids[i]);
		}
	/* peering off: the pid is just random (positive), and nobody owns it */
	cr_expect_eq(peers_make_pid(0, 0xffffffff), 0x7fffffffu);
	cr_expect_eq(peers_pid_owner(0, 0x7fffffff), 0);
}

/* Load an ini with the given [peers] lines; returns the config (NULL on error, err filled). */
static struct sluice_config *load(const char *peers, char *err, size_t errlen)
{
	char path[] = "/tmp/sluice-test-peers-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "[pgbouncer]\npeer_id = 1\n[databases]\n* = host=127.0.0.1\n[peers]\n%s\n",
	        peers);
	fclose(f);
	struct sluice_config *cfg = NULL;
	int rc = config_load(path, &cfg, err, errlen, NULL, NULL);
	unlink(path);
	return rc == 0 ? cfg : NULL;
}

Test(peers, good_section)
{
	char err[512] = "";
	struct sluice_config *cfg =
	    load("1 = host=127.0.0.1 port=6432\n2 = host=127.0.0.1 port=6433\n"
	         "3 = host=/run/sluice-3 port=6432 pool_size=4",
	         err, sizeof(err));
	cr_assert_not_null(cfg, "%s", err);
	cr_expect_eq(cfg->peer_id, 1);
	cr_expect_eq(cfg->n_peers, 3);
	const struct peer_entry *p = peers_find(cfg, 2);
	cr_assert_not_null(p);
	cr_expect_str_eq(p->host, "127.0.0.1");
	cr_expect_eq(p->port, 6433);
	p = peers_find(cfg, 3);
	cr_assert_not_null(p);
	cr_expect_eq(p->addr.ss_family, AF_UNIX);
	cr_expect_null(peers_find(cfg, 4));
	config_free(cfg);
}

Test(peers, bad_entries_are_refused_with_a_reason)
{
	struct {
		const char *line, *want;
	} cases[] = {
	    {"x = host=127.0.0.1", "the key is a peer id"},
	    {"0 = host=127.0.0.1", "the key is a peer id"},
	    {"16384 = host=127.0.0.1", "the key is a peer id"},
	    {"2 = port=6432", "host= is missing"},
	    {"2 = host=127.0.0.1 port=0", "bad port"},
	    {"2 = host=127.0.0.1 dbname=x", "unknown parameter"},
	    {"2 = host127.0.0.1", "expected key=value"},
	    {"2 = host=127.0.0.1\n2 = host=127.0.0.2", "defined twice"},
	    {"1 = host=127.0.0.1 port=6432\n2 = host=127.0.0.1 port=6432", "same address"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct sluice_config *cfg = load(cases[i].line, err, sizeof(err));
		cr_expect_null(cfg, "accepted: %s", cases[i].line);
		cr_expect(strstr(err, cases[i].want) != NULL, "%s: got \"%s\"", cases[i].line, err);
		cr_expect(strstr(err, "[peers]") != NULL, "%s: the error names the section: %s",
		          cases[i].line, err);
		config_free(cfg);
	}
}
