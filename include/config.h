/* Configuration: PgBouncer-compatible ini (main section [sluice] or [pgbouncer],
 * [databases], [users], %include) parsed into one immutable snapshot.
 * Every main-section key is declared once in a table (config.c) from which
 * parsing, defaults, SHOW CONFIG and docs/config.md are all derived. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CFG_NAME_MAX   64  /* database / user names (PostgreSQL NAMEDATALEN) */
#define CFG_SECRET_MAX 256 /* passwords and auth_file secrets */

enum pin_policy { PIN_POLICY_PIN = 0, PIN_POLICY_ERROR };
enum pool_mode { POOL_MODE_UNSET = -1, POOL_SESSION = 0, POOL_TRANSACTION, POOL_STATEMENT };
enum auth_type {
	AUTH_TYPE_TRUST = 0,
	AUTH_TYPE_ANY,
	AUTH_TYPE_PLAIN,
	AUTH_TYPE_MD5,
	AUTH_TYPE_SCRAM,
	AUTH_TYPE_CERT, /* TLS client certificate, CN = user name */
	AUTH_TYPE_HBA   /* per-connection method from auth_hba_file */
};

/* client_tls_sslmode / server_tls_sslmode, in libpq's order of strictness. */
enum tls_mode {
	TLS_MODE_DISABLE = 0,
	TLS_MODE_ALLOW,
	TLS_MODE_PREFER,
	TLS_MODE_REQUIRE,
	TLS_MODE_VERIFY_CA,
	TLS_MODE_VERIFY_FULL
};

/* target_session_attrs of a [databases] line, with libpq's meanings. */
enum target_session_attrs {
	TSA_ANY = 0,        /* any host that accepts connections (the default) */
	TSA_READ_WRITE,     /* a host that accepts writes */
	TSA_PRIMARY,        /* a host not in recovery */
	TSA_STANDBY,        /* a host in recovery */
	TSA_PREFER_STANDBY, /* a standby if one is up, else any host */
};

#define CFG_HOST_MAX  256 /* one host name, address or unix socket directory */
#define CFG_MAX_HOSTS 16  /* hosts of one multi-host [databases] entry */

/* One host of a [databases] entry (libpq's `host=a,b port=1,2` lists, element by element). */
struct db_host {
	char host[CFG_HOST_MAX]; /* empty: unix socket in the default dir; "/dir": socket dir */
	int port;
};

/* One [databases] line. Integer fields are -1 when not given on the line. */
struct db_entry {
	char name[CFG_NAME_MAX]; /* client-facing name; "*" is the fallback entry */
	/* host/port: the first host of the list (the only one of a single-host entry); code
	 * that does not select hosts uses these. */
	char host[CFG_HOST_MAX]; /* empty: unix socket in the default dir; "/dir": socket dir */
	int port;                /* default 5432 */
	int n_hosts;             /* >= 1; > 1 for a multi-host entry */
	struct db_host hosts[CFG_MAX_HOSTS];
	int n_ports;               /* ports given on the line: 0 (default), 1, or n_hosts */
	int target_session_attrs;  /* enum target_session_attrs */
	char dbname[CFG_NAME_MAX]; /* server database; empty: same as the client's database name */
	char user[CFG_NAME_MAX];   /* forced server user; empty: the client's user */
	char password[CFG_SECRET_MAX];
	char auth_user[CFG_NAME_MAX];
	char client_encoding[64], datestyle[64], timezone[64], application_name[64];
	char connect_query[1024];
	int pool_size, min_pool_size, reserve_pool, max_db_connections;
	int pool_mode; /* enum pool_mode, POOL_MODE_UNSET when not given */
};

/* libpq's spelling of a target_session_attrs value ("read-write", ...). */
const char *config_tsa_name(int tsa);
/* Parse a target_session_attrs value (case-insensitive); -1 when invalid. */
int config_tsa_parse(const char *s);

/* One [users] line. */
struct user_entry {
	char name[CFG_NAME_MAX];
	int pool_mode;            /* POOL_MODE_UNSET when not given */
	int max_user_connections; /* -1 when not given */
};

/* One auth_file line: "user" "secret" (plaintext, md5<32 hex>, or SCRAM-SHA-256$...). */
struct userlist_entry {
	char name[CFG_NAME_MAX];
	char secret[CFG_SECRET_MAX];
};

/* One key = value line of a section sluice keeps verbatim (see struct cfg_section). */
struct cfg_kv {
	char *key;   /* as written (compare case-insensitively) */
	char *value; /* trimmed, otherwise as written */
	char *file;  /* file and line the pair came from, for error messages */
	int line;
};

/* A section other than the main one, [databases] and [users] ([tenant_defaults], [tenant.NAME],
 * [class.NAME], or unknown ones), kept raw for later parsers. Repeated sections with the same
 * name are merged into one, pairs in file order (so the last pair for a key wins). */
struct governor_conf;

struct cfg_section {
	char *name; /* as written between the brackets, trimmed */
	char *file; /* where the section first appeared */
	int line;
	struct cfg_kv *kv;
	int n_kv;
};

/* The immutable snapshot. Durations are seconds (double, 0 = disabled unless noted). */
struct sluice_config {
	char *path; /* the file it was loaded from */

	/* [sluice] / [pgbouncer] main section */
	char *listen_addr;
	int listen_port;
	char *unix_socket_dir;
	int unix_socket_mode;
	int auth_type; /* enum auth_type */
	char *auth_file;
	int pool_mode; /* enum pool_mode */
	int max_client_conn;
	int default_pool_size;
	int min_pool_size;
	int reserve_pool_size;
	double reserve_pool_timeout;
	int max_db_connections;
	int max_user_connections;
	char *server_reset_query;
	int server_reset_query_always;
	double server_check_delay;
	char *server_check_query;
	double server_lifetime;
	double server_idle_timeout;
	double server_connect_timeout;
	double server_login_retry;
	double client_login_timeout;
	double query_wait_timeout;
	double client_idle_timeout;
	double idle_transaction_timeout;
	double query_timeout;
	double shutdown_timeout;
	double failover_hold_timeout;
	char *failover_sqlstate;
	double health_check_period, health_check_timeout, max_replica_lag;
	int read_only_routing;    /* BEGIN ... READ ONLY goes to a standby (route.h) */
	int peer_id;              /* cancel peering: this process's id (0: off); peers.h */
	struct peer_entry *peers; /* the [peers] section */
	int n_peers;
	int server_connect_rate;    /* new server connections per second per host; 0: unlimited */
	int server_lifetime_jitter; /* percent of server_lifetime drawn off per connection */
	int max_host_connections;   /* server connections to one host:port; 0: unlimited */
	double dns_max_ttl, dns_nxdomain_ttl, dns_timeout, dns_zone_check_period;
	char *ignore_startup_parameters; /* comma-separated list */
	int max_packet_size;
	int pkt_buf;
	int listen_backlog;
	int tcp_keepalive;
	int so_reuseport;
	char *logfile;
	char *pidfile;
	char *admin_users;
	char *stats_users;
	int verbose;
	int log_connections;
	int log_disconnections;
	int log_pooler_errors;
	char *audit_log;
	double log_min_duration_transaction, log_min_duration_statement;
	int log_statement_max_length, log_parameters, log_sample_rate;
	int workers;
	int max_prepared_statements; /* 0: named statements untracked */
	int pin_policy;              /* enum pin_policy */
	int max_notify_queue;        /* notifications queued per client before it is closed */
	char *admin_socket;          /* unix socket for sluicectl; empty: none */
	int admin_socket_mode;       /* its file mode */
	char *http_listen;           /* host:port for /metrics, /healthz, /readyz; empty: none */
	double stats_period;         /* SHOW STATS averages window */

	/* TLS (tls.c): PgBouncer's keys and defaults */
	int client_tls_sslmode; /* enum tls_mode */
	char *client_tls_key_file, *client_tls_cert_file, *client_tls_ca_file;
	char *client_tls_protocols, *client_tls_ciphers, *client_tls_ecdhcurve;
	char *client_tls_dheparams;
	int server_tls_sslmode; /* enum tls_mode */
	char *server_tls_ca_file, *server_tls_key_file, *server_tls_cert_file;
	char *server_tls_protocols, *server_tls_ciphers;

	/* Access rules and hardening (authquery.c, hba.c, proxyproto.c) */
	char *auth_user, *auth_query, *auth_dbname;
	double auth_cache_ttl;
	char *auth_hba_file;
	int tenant_isolation;
	int client_conn_rate;
	int proxy_protocol;
	char *proxy_protocol_trusted;

	struct db_entry *dbs;
	int n_dbs;
	struct user_entry *users;
	int n_users;
	struct userlist_entry *userlist; /* parsed auth_file, sorted by name */
	int n_userlist;
	struct cfg_section *extra_sections; /* other sections, in order of first appearance */
	int n_extra;
	/* Parsed [tenant_defaults]/[tenant.*]/[class.*] sections; NULL when there are none (the
	 * governor is off and the pooler behaves as PgBouncer). */
	struct governor_conf *gov;
};

/* Warning sink used while loading: unknown keys and other non-fatal findings. */
typedef void (*config_warn_fn)(void *arg, const char *msg);

/* Load and validate path (following %include). On success returns 0 and a new snapshot in *out.
 * On failure returns -1 with "file:line: key: reason" in err. Warnings go to warn (may be NULL). */
int config_load(const char *path, struct sluice_config **out, char *err, size_t errlen,
                config_warn_fn warn, void *warn_arg);
/* Free a snapshot from config_load (NULL is allowed). */
void config_free(struct sluice_config *cfg);

/* Exact [databases] entry by client-facing name, or NULL (the caller decides on the "*" fallback).
 */
const struct db_entry *config_find_db(const struct sluice_config *cfg, const char *name);
/* 1 if name is an item of a comma- or blank-separated list such as admin_users (NULL: empty);
 * nocase compares without regard to case (parameter names), else exactly (role names). */
int config_list_has(const char *list, const char *name, int nocase);
/* [users] entry by name, or NULL. */
const struct user_entry *config_find_user(const struct sluice_config *cfg, const char *name);
/* auth_file secret for user, or NULL when the user is not listed. */
const char *config_find_secret(const struct sluice_config *cfg, const char *user);

/* Parse an auth_file (PgBouncer userlist.txt format) into a malloc'd array; returns count or -1
 * with err. */
int userlist_parse(const char *path, struct userlist_entry **out, char *err, size_t errlen);

/* Whether main-section key name is reloadable (SIGHUP / RELOAD); -1 if the key is unknown. */
int config_key_reloadable(const char *name);
/* Current value of a main-section key rendered as text (for SHOW CONFIG); returns 0 or -1 if
 * unknown. */
int config_key_value(const struct sluice_config *cfg, const char *name, char *buf, size_t len);
/* Change one reloadable main-section key of cfg at runtime (admin SET key = value). Returns 0,
 * or -1 with the reason in reason (unknown key, not changeable without a restart, bad value). */
int config_set_key(struct sluice_config *cfg, const char *key, const char *value, char *reason,
                   size_t rlen);
/* Table default of a main-section key as written in the file, or NULL if the key is unknown. */
const char *config_key_default(const char *name);
/* Iterate the key table: fills name/default/doc for index i; returns 0, or -1 past the end. */
int config_key_at(int i, const char **name, const char **def, const char **doc, int *reloadable);
/* Write docs/config.md (Markdown reference generated from the key table). */
void config_write_doc(FILE *out);

/* Extra section by exact name (e.g. "tenant.acme"), or NULL. */
const struct cfg_section *config_find_section(const struct sluice_config *cfg, const char *name);
/* Last value given for key (case-insensitive) in sec, or NULL; *kv_out (may be NULL) gets the pair.
 */
const char *cfg_section_get(const struct cfg_section *sec, const char *key,
                            const struct cfg_kv **kv_out);

/* Value parsers shared with the key table, for later section parsers. All return 0 or -1.
 * Integer: optional sign and decimal digits only. */
int config_parse_int(const char *s, long long *out);
/* Boolean: 0/1, yes/no, on/off, true/false (case-insensitive). */
int config_parse_bool(const char *s, int *out);
/* Duration in seconds: a plain (possibly fractional) number is seconds; units us, ms, s, min, h, d.
 */
int config_parse_duration(const char *s, double *out);
/* Size in bytes: plain number, or with a k/kB, M/MB, G/GB suffix (powers of 1024). */
int config_parse_size(const char *s, long long *out);

/* Names for enums (for logs and SHOW). */
const char *pool_mode_name(int mode);
const char *auth_type_name(int type);

#endif
