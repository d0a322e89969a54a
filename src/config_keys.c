/* The main-section key table: every [sluice]/[pgbouncer] key is declared exactly once here,
 * and defaults, parsing, SHOW CONFIG rendering and docs/config.md all derive from it. */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type {
	KT_INT,      /* int, decimal */
	KT_MODE,     /* int, file mode: octal with a leading 0 */
	KT_BOOL,     /* int 0/1 */
	KT_STRING,   /* char * */
	KT_PATH,     /* char *, relative values resolved against the config file's directory */
	KT_ENUM,     /* int, one of enum_names */
	KT_DURATION, /* double seconds */
	KT_SIZE,     /* int bytes */
};

static const char *const type_names[] = {"integer", "octal", "boolean",  "string",
                                         "path",    "enum",  "duration", "size"};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	const char *def; /* default, as it would be written in the file */
	double min, max; /* KT_INT, KT_MODE, KT_DURATION, KT_SIZE */
	int reloadable;
	const char *group;
	const char *const *enum_names;       /* KT_ENUM: value i is names[i] */
	const char *const *enum_unsupported; /* KT_ENUM: recognised but not implemented yet */
	const char *doc;
};

static const char *const pool_mode_names[] = {"session", "transaction", "statement", NULL};
static const char *const pin_policy_names[] = {"pin", "error", NULL};
static const char *const auth_type_names[] = {"trust",         "any",  "plain", "md5",
                                              "scram-sha-256", "cert", "hba",   NULL};
static const char *const auth_type_unsupported[] = {"peer", "pam", "ldap", NULL};
static const char *const tls_mode_names[] = {"disable",   "allow",       "prefer", "require",
                                             "verify-ca", "verify-full", NULL};

#define OFF(f)    offsetof(struct sluice_config, f)
#define G_LISTEN  "Listening"
#define G_AUTH    "Authentication and access"
#define G_TLS     "TLS"
#define G_POOL    "Pool sizing"
#define G_SERVER  "Server connections"
#define G_TIMEOUT "Client timeouts"
#define G_PROTO   "Protocol"
#define G_LOG     "Logging and process"
#define G_TXN     "Transaction pooling"
#define DUR_MAX   2147483647.0

static const struct key_def keys[] = {
    /* Listening */
    {"listen_addr", KT_STRING, OFF(listen_addr), "", 0, 0, 0, G_LISTEN, NULL, NULL,
     "TCP address(es) to listen on, comma-separated; `*` means all addresses. Empty: no TCP "
     "listener (the example config uses 127.0.0.1)."},
    {"listen_port", KT_INT, OFF(listen_port), "6432", 1, 65535, 0, G_LISTEN, NULL, NULL,
     "TCP port to listen on; also names the Unix socket `.s.PGSQL.<port>`."},
    {"unix_socket_dir", KT_STRING, OFF(unix_socket_dir), "/tmp", 0, 0, 0, G_LISTEN, NULL, NULL,
     "Directory for the Unix-domain socket. Empty: no Unix socket."},
    {"unix_socket_mode", KT_MODE, OFF(unix_socket_mode), "0777", 0, 0777, 0, G_LISTEN, NULL, NULL,
     "Permission bits of the Unix-domain socket (octal)."},
    {"listen_backlog", KT_INT, OFF(listen_backlog), "128", 1, 65535, 0, G_LISTEN, NULL, NULL,
     "Backlog passed to listen(2); the kernel caps it at net.core.somaxconn."},
    {"peer_id", KT_INT, OFF(peer_id), "0", 0, 16383, 0, G_LISTEN, NULL, NULL,
     "This process's id for cancel peering (PgBouncer's key): it goes into every cancel key "
     "sluice hands out, and a cancel request carrying another id listed in [peers] is passed "
     "to that peer. 0: peering off. Needs a restart."},
    {"so_reuseport", KT_BOOL, OFF(so_reuseport), "0", 0, 0, 0, G_LISTEN, NULL, NULL,
     "Set SO_REUSEPORT on TCP listeners so that several processes can listen on the same "
     "address. For a restart without refused connections sluice does more: a starting process "
     "takes the running one's listening sockets (see docs/failover.md)."},
    {"tcp_keepalive", KT_BOOL, OFF(tcp_keepalive), "1", 0, 0, 1, G_LISTEN, NULL, NULL,
     "Turn on TCP keepalive (operating-system default timings) on client and server sockets."},
    {"workers", KT_INT, OFF(workers), "1", 1, 64, 0, G_LISTEN, NULL, NULL,
     "Number of event-loop threads. Only 1 is accepted for now: sluice refuses to start with "
     "a higher value."},

    /* Authentication and access */
    {"auth_type", KT_ENUM, OFF(auth_type), "md5", 0, 0, 1, G_AUTH, auth_type_names,
     auth_type_unsupported,
     "How clients prove who they are: `trust` (no password; if auth_file lists users, the "
     "user must be one of them), `any` "
     "(no password, any user name), `plain`, `md5`, `scram-sha-256`, `cert` (TLS client "
     "certificate whose CN is the user name) or `hba` (the method comes from auth_hba_file). "
     "`peer`, `pam` and `ldap` are not supported."},
    {"auth_file", KT_PATH, OFF(auth_file), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "File of user names and secrets (userlist.txt format, see below). A relative path is "
     "resolved against the directory of the config file that sets it."},
    {"admin_users", KT_STRING, OFF(admin_users), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "Comma-separated users allowed every command on the admin console."},
    {"admin_socket", KT_PATH, OFF(admin_socket), "", 0, 0, 0, G_AUTH, NULL, NULL,
     "Unix socket for `sluicectl`: the admin command language, one command per line, answered "
     "in JSON lines. No password: access is the file's permission (admin_socket_mode). Empty: "
     "none (the usual path is /run/sluice/admin.sock)."},
    {"admin_socket_mode", KT_MODE, OFF(admin_socket_mode), "0600", 0, 0777, 0, G_AUTH, NULL, NULL,
     "Permission bits of admin_socket (octal)."},
    {"stats_users", KT_STRING, OFF(stats_users), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "Comma-separated users allowed the read-only SHOW commands on the admin console."},
    {"auth_hba_file", KT_PATH, OFF(auth_hba_file), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "pg_hba.conf-style rules for auth_type = hba (local/host/hostssl/hostnossl; methods trust, "
     "reject, md5, scram-sha-256, password, cert); first matching line wins, no match refuses."},
    {"auth_user", KT_STRING, OFF(auth_user), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "User that runs auth_query for users missing from auth_file (its secret must be in "
     "auth_file). Empty: no auth_query."},
    {"auth_query", KT_STRING, OFF(auth_query),
     "SELECT usename, passwd FROM pg_shadow WHERE usename=$1", 0, 0, 1, G_AUTH, NULL, NULL,
     "Query that returns (name, secret) of the user given as $1; run asynchronously."},
    {"auth_dbname", KT_STRING, OFF(auth_dbname), "", 0, 0, 1, G_AUTH, NULL, NULL,
     "Database auth_query runs in. Empty: the database the client asked for."},
    {"auth_cache_ttl", KT_DURATION, OFF(auth_cache_ttl), "10", 0, DUR_MAX, 1, G_AUTH, NULL, NULL,
     "How long an auth_query answer (found or not) is reused; 0: ask every time."},
    {"tenant_isolation", KT_BOOL, OFF(tenant_isolation), "0", 0, 0, 1, G_AUTH, NULL, NULL,
     "A user matched by a tenant's `users =` patterns may only reach that tenant's databases "
     "(refused with 28000)."},
    {"client_conn_rate", KT_INT, OFF(client_conn_rate), "0", 0, INT_MAX, 1, G_AUTH, NULL, NULL,
     "New connections per second accepted from one source address (refused with 53300); 0: "
     "no limit."},
    {"proxy_protocol", KT_BOOL, OFF(proxy_protocol), "0", 0, 0, 1, G_AUTH, NULL, NULL,
     "TCP clients start with a PROXY protocol v1 or v2 header giving the real client address."},
    {"proxy_protocol_trusted", KT_STRING, OFF(proxy_protocol_trusted), "", 0, 0, 1, G_AUTH, NULL,
     NULL,
     "Comma-separated CIDR networks allowed to send PROXY headers; others are refused. Empty: "
     "none (proxy_protocol then refuses every TCP client)."},

    /* TLS */
    {"client_tls_sslmode", KT_ENUM, OFF(client_tls_sslmode), "disable", 0, 0, 1, G_TLS,
     tls_mode_names, NULL,
     "TLS towards clients: `disable`, `allow`/`prefer` (TLS if the client asks), `require`, "
     "`verify-ca`/`verify-full` (also a client certificate signed by client_tls_ca_file)."},
    {"client_tls_key_file", KT_PATH, OFF(client_tls_key_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "Private key for the client side. Reloading reads it again."},
    {"client_tls_cert_file", KT_PATH, OFF(client_tls_cert_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "Certificate (chain) for the client side. Reloading reads it again."},
    {"client_tls_ca_file", KT_PATH, OFF(client_tls_ca_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "CA certificates that client certificates are checked against."},
    {"client_tls_protocols", KT_STRING, OFF(client_tls_protocols), "secure", 0, 0, 1, G_TLS, NULL,
     NULL,
     "Allowed versions: `tlsv1.0`..`tlsv1.3`, `all`, `secure` (TLS 1.2 and 1.3) or `legacy`."},
    {"client_tls_ciphers", KT_STRING, OFF(client_tls_ciphers), "default", 0, 0, 1, G_TLS, NULL,
     NULL,
     "TLS 1.2 cipher list: `default` (OpenSSL's), `secure`/`fast`/`normal`, or an OpenSSL "
     "cipher string."},
    {"client_tls_ecdhcurve", KT_STRING, OFF(client_tls_ecdhcurve), "auto", 0, 0, 1, G_TLS, NULL,
     NULL, "Elliptic-curve groups for key exchange; `auto`: OpenSSL's choice."},
    {"client_tls_dheparams", KT_STRING, OFF(client_tls_dheparams), "auto", 0, 0, 1, G_TLS, NULL,
     NULL, "DHE key exchange: `none`, `auto` (built-in groups) or `legacy` (same as auto)."},
    {"server_tls_sslmode", KT_ENUM, OFF(server_tls_sslmode), "prefer", 0, 0, 1, G_TLS,
     tls_mode_names, NULL,
     "TLS towards servers: `disable`, `allow` (plain), `prefer` (TLS if the server offers it), "
     "`require`, `verify-ca` (certificate checked against server_tls_ca_file), `verify-full` "
     "(and the host name)."},
    {"server_tls_ca_file", KT_PATH, OFF(server_tls_ca_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "CA certificates for server certificates. Empty: the system's trust store."},
    {"server_tls_key_file", KT_PATH, OFF(server_tls_key_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "Private key for a client certificate presented to servers."},
    {"server_tls_cert_file", KT_PATH, OFF(server_tls_cert_file), "", 0, 0, 1, G_TLS, NULL, NULL,
     "Client certificate presented to servers."},
    {"server_tls_protocols", KT_STRING, OFF(server_tls_protocols), "secure", 0, 0, 1, G_TLS, NULL,
     NULL, "Allowed TLS versions towards servers (as client_tls_protocols)."},
    {"server_tls_ciphers", KT_STRING, OFF(server_tls_ciphers), "default", 0, 0, 1, G_TLS, NULL,
     NULL, "Cipher list towards servers (as client_tls_ciphers)."},

    /* Pool sizing */
    {"pool_mode", KT_ENUM, OFF(pool_mode), "session", 0, 0, 1, G_POOL, pool_mode_names, NULL,
     "When a server connection goes back to the pool: `session` (client disconnects), "
     "`transaction` (transaction ends) or `statement` (each statement ends)."},
    {"max_client_conn", KT_INT, OFF(max_client_conn), "100", 1, INT_MAX, 1, G_POOL, NULL, NULL,
     "Most client connections accepted at once. Each one uses a file descriptor: raise "
     "`ulimit -n` to match."},
    {"default_pool_size", KT_INT, OFF(default_pool_size), "20", 1, INT_MAX, 1, G_POOL, NULL, NULL,
     "Server connections per (database, user) pool, unless the database sets pool_size."},
    {"min_pool_size", KT_INT, OFF(min_pool_size), "0", 0, INT_MAX, 1, G_POOL, NULL, NULL,
     "Keep at least this many server connections open in each pool; 0: none."},
    {"reserve_pool_size", KT_INT, OFF(reserve_pool_size), "0", 0, INT_MAX, 1, G_POOL, NULL, NULL,
     "Extra server connections a pool may open beyond its size once a client has waited "
     "reserve_pool_timeout; 0: no reserve."},
    {"reserve_pool_timeout", KT_DURATION, OFF(reserve_pool_timeout), "5", 0, DUR_MAX, 1, G_POOL,
     NULL, NULL, "How long a client waits before the reserve pool may be used."},
    {"max_db_connections", KT_INT, OFF(max_db_connections), "0", 0, INT_MAX, 1, G_POOL, NULL, NULL,
     "Most server connections per database, all users together; 0: unlimited."},
    {"max_user_connections", KT_INT, OFF(max_user_connections), "0", 0, INT_MAX, 1, G_POOL, NULL,
     NULL, "Most server connections per user, all databases together; 0: unlimited."},

    /* Server connections */
    {"server_reset_query", KT_STRING, OFF(server_reset_query), "DISCARD ALL", 0, 0, 1, G_SERVER,
     NULL, NULL,
     "Run on a server connection before another client gets it (session mode only, unless "
     "server_reset_query_always). Empty: none."},
    {"server_reset_query_always", KT_BOOL, OFF(server_reset_query_always), "0", 0, 0, 1, G_SERVER,
     NULL, NULL, "Run server_reset_query in transaction and statement modes too."},
    {"server_check_delay", KT_DURATION, OFF(server_check_delay), "30", 0, DUR_MAX, 1, G_SERVER,
     NULL, NULL,
     "A server connection idle for longer than this is checked with server_check_query before "
     "reuse; 0: check every time."},
    {"server_check_query", KT_STRING, OFF(server_check_query), "select 1", 0, 0, 1, G_SERVER, NULL,
     NULL, "Query that checks an idle server connection is alive. Empty: no check."},
    {"server_lifetime", KT_DURATION, OFF(server_lifetime), "3600", 0, DUR_MAX, 1, G_SERVER, NULL,
     NULL,
     "Close an unused server connection once it has been connected this long; 0: use each "
     "server connection for one client only."},
    {"server_lifetime_jitter", KT_INT, OFF(server_lifetime_jitter), "10", 0, 100, 1, G_SERVER, NULL,
     NULL,
     "Percent: each server connection's lifetime is server_lifetime minus a random part of up "
     "to this much of it, so connections opened together (after a restart or failover) are not "
     "all closed and reopened at the same moment."},
    {"server_connect_rate", KT_INT, OFF(server_connect_rate), "200", 0, INT_MAX, 1, G_SERVER, NULL,
     NULL,
     "New server connections per second to one host (across all pools; bursts of a quarter "
     "second's worth); transactions wait in their queue meanwhile. 200 ramps 1,000 connections "
     "after a failover in about 5 s. 0: unlimited."},
    {"max_host_connections", KT_INT, OFF(max_host_connections), "0", 0, INT_MAX, 1, G_POOL, NULL,
     NULL,
     "Most server connections to one host:port across all databases and users, to stay under "
     "the server's max_connections; pools at a full host take turns. 0: unlimited."},
    {"server_idle_timeout", KT_DURATION, OFF(server_idle_timeout), "600", 0, DUR_MAX, 1, G_SERVER,
     NULL, NULL, "Close a server connection left unused this long; 0: never."},
    {"server_connect_timeout", KT_DURATION, OFF(server_connect_timeout), "15", 0, DUR_MAX, 1,
     G_SERVER, NULL, NULL, "Give up on a server connect plus login that takes longer than this."},
    {"failover_hold_timeout", KT_DURATION, OFF(failover_hold_timeout), "30", 0, DUR_MAX, 1,
     G_SERVER, NULL, NULL,
     "While the server cannot be reached (restart, failover), hold new transactions this long "
     "instead of failing them, retrying every health_check_period; 0: fail at once "
     "(PgBouncer's behaviour)."},
    {"failover_sqlstate", KT_STRING, OFF(failover_sqlstate), "40001", 0, 0, 1, G_SERVER, NULL, NULL,
     "SQLSTATE a client gets when its transaction died with its server connection (transaction "
     "mode; the client stays connected). 40001 is retried by Odoo and most ORMs."},
    {"health_check_period", KT_DURATION, OFF(health_check_period), "1", 0.01, DUR_MAX, 1, G_SERVER,
     NULL, NULL,
     "How often the health checker probes each host of a multi-host [databases] entry, and how "
     "often an unreachable server is tried again while transactions are held for it."},
    {"health_check_timeout", KT_DURATION, OFF(health_check_timeout), "2", 0.01, DUR_MAX, 1,
     G_SERVER, NULL, NULL,
     "Longest a health check probe (connect, login, query) may take before its host counts as "
     "down."},
    {"max_replica_lag", KT_DURATION, OFF(max_replica_lag), "10", 0, DUR_MAX, 1, G_SERVER, NULL,
     NULL,
     "A standby whose replay lags more than this is \"lagging\": not chosen for "
     "target_session_attrs=standby/prefer-standby until it catches up."},
    {"read_only_routing", KT_BOOL, OFF(read_only_routing), "0", 0, 0, 1, G_SERVER, NULL, NULL,
     "In transaction pooling, a transaction that starts with BEGIN ... READ ONLY or START "
     "TRANSACTION ... READ ONLY runs on a standby of a multi-host entry whose lag is under "
     "max_replica_lag (the least busy one), and on the primary when none qualifies."},
    {"dns_max_ttl", KT_DURATION, OFF(dns_max_ttl), "15", 0, DUR_MAX, 1, G_SERVER, NULL, NULL,
     "Longest time a host name's addresses are cached (shorter when the record's TTL is); "
     "then the next connect resolves it again."},
    {"dns_nxdomain_ttl", KT_DURATION, OFF(dns_nxdomain_ttl), "15", 0, DUR_MAX, 1, G_SERVER, NULL,
     NULL, "How long a name that does not exist (NXDOMAIN, no address) is remembered."},
    {"dns_timeout", KT_DURATION, OFF(dns_timeout), "5", 0.01, DUR_MAX, 0, G_SERVER, NULL, NULL,
     "Longest one host name lookup may take, retries included (needs a restart)."},
    {"dns_zone_check_period", KT_DURATION, OFF(dns_zone_check_period), "0", 0, DUR_MAX, 1, G_SERVER,
     NULL, NULL,
     "PgBouncer's zone serial check: accepted, not implemented (a non-zero value logs a "
     "warning); names are resolved again by TTL and after a failed connect."},
    {"server_login_retry", KT_DURATION, OFF(server_login_retry), "15", 0, DUR_MAX, 1, G_SERVER,
     NULL, NULL, "After a failed server connect or login, wait this long before trying again."},

    /* Client timeouts */
    {"client_login_timeout", KT_DURATION, OFF(client_login_timeout), "60", 0, DUR_MAX, 1, G_TIMEOUT,
     NULL, NULL, "Drop a client that has not finished logging in after this long; 0: never."},
    {"shutdown_timeout", KT_DURATION, OFF(shutdown_timeout), "30", 0, DUR_MAX, 1, G_TIMEOUT, NULL,
     NULL,
     "Longest drain (SIGTERM, SHUTDOWN WAIT_FOR_CLIENTS): then running queries are cancelled "
     "and every client is closed with 57P01; 0: wait for every client."},
    {"query_wait_timeout", KT_DURATION, OFF(query_wait_timeout), "120", 0, DUR_MAX, 1, G_TIMEOUT,
     NULL, NULL, "Drop a client whose query waited this long for a server connection; 0: never."},
    {"client_idle_timeout", KT_DURATION, OFF(client_idle_timeout), "0", 0, DUR_MAX, 1, G_TIMEOUT,
     NULL, NULL, "Drop a client connection idle this long; 0: never."},
    {"idle_transaction_timeout", KT_DURATION, OFF(idle_transaction_timeout), "0", 0, DUR_MAX, 1,
     G_TIMEOUT, NULL, NULL, "Drop a client idle inside a transaction this long; 0: never."},
    {"query_timeout", KT_DURATION, OFF(query_timeout), "0", 0, DUR_MAX, 1, G_TIMEOUT, NULL, NULL,
     "Cancel a query that runs longer than this; 0: never."},

    /* Protocol */
    {"ignore_startup_parameters", KT_STRING, OFF(ignore_startup_parameters), "", 0, 0, 1, G_PROTO,
     NULL, NULL,
     "Comma-separated startup parameters accepted from clients and not passed on (for example "
     "`extra_float_digits`); other unknown ones make the login fail."},
    {"max_packet_size", KT_SIZE, OFF(max_packet_size), "2147483647", 1024, INT_MAX, 1, G_PROTO,
     NULL, NULL, "Largest protocol message accepted, in bytes."},
    {"pkt_buf", KT_SIZE, OFF(pkt_buf), "4096", 1024, 16777216, 0, G_PROTO, NULL, NULL,
     "Packet buffer size in bytes. The default 4096 is PgBouncer's and is kept for "
     "compatibility; sluice's own relay buffer is 16384 bytes by default."},

    /* Transaction pooling */
    {"max_prepared_statements", KT_INT, OFF(max_prepared_statements), "200", 0, 1000000, 0, G_TXN,
     NULL, NULL,
     "Protocol-level prepared statements in transaction and statement mode (PgBouncer 1.21+ "
     "meaning): clients' named statements are tracked and prepared on whichever server "
     "connection runs them, under sluice's own names, keeping at most this many per server "
     "connection (least recently used closed first). 0: named statements pass through "
     "untracked, as before PgBouncer 1.21. Needs a restart: clients keep the statements they "
     "named."},
    {"pin_policy", KT_ENUM, OFF(pin_policy), "pin", 0, 0, 1, G_TXN, pin_policy_names, NULL,
     "In transaction and statement mode, what to do with features that need one backend for "
     "the whole session (session advisory locks, CREATE TEMP TABLE, DECLARE ... WITH HOLD, SQL "
     "PREPARE): `pin` keeps the client on its server connection until the state is gone, "
     "`error` refuses the statement with SQLSTATE 0A000."},

    {"max_notify_queue", KT_INT, OFF(max_notify_queue), "1000", 1, 10000000, 1, G_TXN, NULL, NULL,
     "In transaction and statement mode LISTEN is served by one listener connection per pool "
     "and notifications are copied to the listening clients; a client with more than this many "
     "notifications waiting (its socket full, or its server in the middle of a message) is "
     "disconnected with SQLSTATE 53400 instead of growing memory."},

    /* Logging and process */
    {"logfile", KT_PATH, OFF(logfile), "", 0, 0, 1, G_LOG, NULL, NULL,
     "Also append the log to this file (relative: to the config file's directory). Empty: "
     "stderr only."},
    {"pidfile", KT_PATH, OFF(pidfile), "", 0, 0, 0, G_LOG, NULL, NULL,
     "Write the process id to this file (relative: to the config file's directory). Empty: "
     "none."},
    {"verbose", KT_INT, OFF(verbose), "0", 0, 2, 1, G_LOG, NULL, NULL,
     "More log detail: 1 adds debug lines, 2 adds noise."},
    {"log_connections", KT_BOOL, OFF(log_connections), "1", 0, 0, 1, G_LOG, NULL, NULL,
     "Log each accepted client login."},
    {"log_disconnections", KT_BOOL, OFF(log_disconnections), "1", 0, 0, 1, G_LOG, NULL, NULL,
     "Log each client disconnection, with the reason."},
    {"http_listen", KT_STRING, OFF(http_listen), "127.0.0.1:9127", 0, 0, 0, G_LOG, NULL, NULL,
     "Address (host:port) of the HTTP endpoint serving /metrics (Prometheus text format), "
     "/healthz and /readyz. Empty: no HTTP endpoint. If the address cannot be bound, sluice "
     "logs an error and runs without it."},
    {"stats_period", KT_DURATION, OFF(stats_period), "60", 1, 86400, 1, G_LOG, NULL, NULL,
     "Window of the averages in SHOW STATS, STATS_AVERAGES and TOTALS."},
    {"log_pooler_errors", KT_BOOL, OFF(log_pooler_errors), "1", 0, 0, 1, G_LOG, NULL, NULL,
     "Log the errors sluice sends to clients."},
    {"audit_log", KT_PATH, OFF(audit_log), "", 0, 0, 1, G_LOG, NULL, NULL,
     "Append one JSON line per login (accepted or refused: user, database, tenant, class, "
     "address, TLS version, reason) to this file (mode 0600); reopened on reload. Empty: off."},
    {"log_min_duration_transaction", KT_DURATION, OFF(log_min_duration_transaction), "0", 0,
     DUR_MAX, 1, G_LOG, NULL, NULL,
     "Log transactions that take longer (queue wait + server time, tenant, class, text); 0: off."},
    {"log_min_duration_statement", KT_DURATION, OFF(log_min_duration_statement), "0", 0, DUR_MAX, 1,
     G_LOG, NULL, NULL, "Log statements that take longer than this; 0: off."},
    {"log_statement_max_length", KT_INT, OFF(log_statement_max_length), "1024", 16, 8192, 1, G_LOG,
     NULL, NULL, "Statement text in slow-query lines is cut to this many bytes."},
    {"log_parameters", KT_BOOL, OFF(log_parameters), "0", 0, 0, 1, G_LOG, NULL, NULL,
     "Keep literals in slow-query text; 0 replaces them by `?` (bind values are never logged)."},
    {"log_sample_rate", KT_INT, OFF(log_sample_rate), "10", 0, INT_MAX, 1, G_LOG, NULL, NULL,
     "At most this many slow-query lines per second per client; 0: no cap."},
};

#define N_KEYS ((int)(sizeof(keys) / sizeof(keys[0])))

/* PgBouncer keys that sluice does not implement yet: accepted with a warning. */
static const char *const pgbouncer_only_keys[] = {"user",
                                                  "conffile",
                                                  "service_name",
                                                  "job_name",
                                                  "log_stats",
                                                  "autodb_idle_timeout",
                                                  "resolv_conf",
                                                  "auth_ident_file",
                                                  "unix_socket_group",
                                                  "peer_id",
                                                  "server_round_robin",
                                                  "disable_pqexec",
                                                  "application_name_add_host",
                                                  "track_extra_parameters",
                                                  "sbuf_loopcnt",
                                                  "suspend_timeout",
                                                  "server_fast_close",
                                                  "cancel_wait_timeout",
                                                  "max_db_client_connections",
                                                  "max_user_client_connections",

                                                  NULL};
static const char *const pgbouncer_only_prefixes[] = {"client_tls", "server_tls", "tcp_", "syslog",
                                                      "dns_",       "admin_",     NULL};

static const struct key_def *find_key(const char *name)
{
	for (int i = 0; i < N_KEYS; i++)
		if (strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int is_pgbouncer_only(const char *name)
{
	for (int i = 0; pgbouncer_only_keys[i]; i++)
		if (strcasecmp(pgbouncer_only_keys[i], name) == 0)
			return 1;
	for (int i = 0; pgbouncer_only_prefixes[i]; i++)
		if (strncasecmp(pgbouncer_only_prefixes[i], name,
		                strlen(pgbouncer_only_prefixes[i])) == 0)
			return 1;
	return 0;
}

/* ---- value parsers ---- */

int config_parse_int(const char *s, long long *out)
{
	const char *p = s;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "yes", "on", "true", NULL};
	static const char *const no[] = {"0", "no", "off", "false", NULL};

	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int config_parse_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {{"", 1},     {"us", 1e-6}, {"ms", 1e-3}, {"s", 1},
	             {"min", 60}, {"h", 3600},  {"d", 86400}};
	const char *p = s;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	/* Only plain decimal numbers: strtod would also take hex, inf and nan. */
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || !isfinite(v))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) == 0) {
			*out = v * units[i].secs;
			return 0;
		}
	}
	return -1;
}

int config_parse_size(const char *s, long long *out)
{
	static const struct {
		const char *suffix;
		long long mult;
	} sfx[] = {{"", 1},          {"b", 1},          {"k", 1LL << 10}, {"kb", 1LL << 10},
	           {"m", 1LL << 20}, {"mb", 1LL << 20}, {"g", 1LL << 30}, {"gb", 1LL << 30}};
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcasecmp(end, sfx[i].suffix) == 0) {
			if (v > LLONG_MAX / sfx[i].mult)
				return -1;
			*out = v * sfx[i].mult;
			return 0;
		}
	}
	return -1;
}

int config_pool_mode_parse(const char *s)
{
	for (int i = 0; pool_mode_names[i]; i++)
		if (strcasecmp(s, pool_mode_names[i]) == 0)
			return i;
	return -1;
}

const char *pool_mode_name(int mode)
{
	if (mode < 0 || mode > POOL_STATEMENT)
		return "unset";
	return pool_mode_names[mode];
}

const char *auth_type_name(int type)
{
	if (type < 0 || type > AUTH_TYPE_HBA)
		return "unknown";
	return auth_type_names[type];
}

/* ---- applying a value ---- */

static void join_names(const char *const *names, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", names[i]);
}

static int set_string(char **slot, const char *value, const char *basedir)
{
	char *copy;

	if (basedir && value[0] && value[0] != '/') {
		if (asprintf(&copy, "%s/%s", basedir, value) < 0)
			copy = NULL;
	} else {
		copy = strdup(value);
	}
	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static int apply(const struct key_def *k, struct sluice_config *cfg, const char *value,
                 const char *basedir, char *reason, size_t rlen)
{
	void *field = (char *)cfg + k->off;
	char names[256];
	long long iv;
	double dv;
	int bv;

	switch (k->type) {
	case KT_INT:
	case KT_MODE:
		if (k->type == KT_MODE) {
			char *end = NULL;
			errno = 0;
			iv = -1;
			if (isdigit((unsigned char)value[0]))
				iv = strtoll(value, &end, 0);
			if (iv < 0 || errno || *end) {
				cfg_errf(reason, rlen,
				         "invalid file mode \"%s\" (use octal, e.g. 0770)", value);
				return -1;
			}
		} else if (config_parse_int(value, &iv) < 0) {
			cfg_errf(reason, rlen, "invalid integer \"%s\"", value);
			return -1;
		}
		if (iv < (long long)k->min || iv > (long long)k->max) {
			if (k->type == KT_MODE)
				cfg_errf(reason, rlen, "value %s out of range 0..0%o", value,
				         (unsigned)k->max);
			else
				cfg_errf(reason, rlen, "value %s out of range %.0f..%.0f", value,
				         k->min, k->max);
			return -1;
		}
		*(int *)field = (int)iv;
		return 0;
	case KT_BOOL:
		if (config_parse_bool(value, &bv) < 0) {
			cfg_errf(reason, rlen,
			         "invalid boolean \"%s\" (use 0/1, yes/no, on/off or true/false)",
			         value);
			return -1;
		}
		*(int *)field = bv;
		return 0;
	case KT_STRING:
	case KT_PATH:
		if (set_string((char **)field, value, k->type == KT_PATH ? basedir : NULL) < 0) {
			cfg_errf(reason, rlen, "out of memory");
			return -1;
		}
		return 0;
	case KT_ENUM:
		for (int i = 0; k->enum_names[i]; i++) {
			if (strcasecmp(value, k->enum_names[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		join_names(k->enum_names, names, sizeof(names));
		for (int i = 0; k->enum_unsupported && k->enum_unsupported[i]; i++) {
			if (strcasecmp(value, k->enum_unsupported[i]) == 0) {
				cfg_errf(reason, rlen,
				         "\"%s\" is not supported yet (supported: %s)", value,
				         names);
				return -1;
			}
		}
		cfg_errf(reason, rlen, "invalid value \"%s\" (expected one of: %s)", value, names);
		return -1;
	case KT_DURATION:
		if (config_parse_duration(value, &dv) < 0) {
			cfg_errf(reason, rlen,
			         "invalid duration \"%s\" (seconds, or a number with unit us, ms, "
			         "s, min, h or d)",
			         value);
			return -1;
		}
		if (dv < k->min || dv > k->max) {
			cfg_errf(reason, rlen, "value %s out of range %.0f..%.0f seconds", value,
			         k->min, k->max);
			return -1;
		}
		*(double *)field = dv;
		return 0;
	case KT_SIZE:
		if (config_parse_size(value, &iv) < 0) {
			cfg_errf(
			    reason, rlen,
			    "invalid size \"%s\" (bytes, optionally with suffix k, kB, M, MB, G "
			    "or GB)",
			    value);
			return -1;
		}
		if (iv < (long long)k->min || iv > (long long)k->max) {
			cfg_errf(reason, rlen, "value %s out of range %.0f..%.0f bytes", value,
			         k->min, k->max);
			return -1;
		}
		*(int *)field = (int)iv;
		return 0;
	}
	cfg_errf(reason, rlen, "internal error: bad key type");
	return -1;
}

int config_keys_defaults(struct sluice_config *cfg, char *reason, size_t rlen)
{
	for (int i = 0; i < N_KEYS; i++) {
		char why[256];
		if (apply(&keys[i], cfg, keys[i].def, NULL, why, sizeof(why)) < 0) {
			cfg_errf(reason, rlen, "default of %s: %s", keys[i].name, why);
			return -1;
		}
	}
	return 0;
}

int config_key_set(struct sluice_config *cfg, const char *key, const char *value,
                   const char *basedir, char *reason, size_t rlen)
{
	const struct key_def *k = find_key(key);

	if (!k)
		return is_pgbouncer_only(key) ? CFG_SET_UNSUPPORTED : CFG_SET_UNKNOWN;
	return apply(k, cfg, value, basedir, reason, rlen) < 0 ? CFG_SET_ERROR : CFG_SET_OK;
}

int config_set_key(struct sluice_config *cfg, const char *key, const char *value, char *reason,
                   size_t rlen)
{
	const struct key_def *k = find_key(key);

	if (!k) {
		cfg_errf(reason, rlen, "%s: %s", key,
		         is_pgbouncer_only(key) ? "not supported by sluice yet"
		                                : "unknown configuration key");
		return -1;
	}
	if (!k->reloadable) {
		cfg_errf(reason, rlen, "%s cannot be changed without a restart", k->name);
		return -1;
	}
	return apply(k, cfg, value, NULL, reason, rlen);
}

const char *config_key_default(const char *name)
{
	const struct key_def *k = find_key(name);
	return k ? k->def : NULL;
}

void config_keys_free(struct sluice_config *cfg)
{
	for (int i = 0; i < N_KEYS; i++) {
		if (keys[i].type == KT_STRING || keys[i].type == KT_PATH) {
			char **slot = (char **)((char *)cfg + keys[i].off);
			free(*slot);
			*slot = NULL;
		}
	}
}

/* ---- introspection ---- */

int config_key_reloadable(const char *name)
{
	const struct key_def *k = find_key(name);
	return k ? k->reloadable : -1;
}

int config_key_value(const struct sluice_config *cfg, const char *name, char *buf, size_t len)
{
	const struct key_def *k = find_key(name);
	const void *field;
	int iv;

	if (!k || !cfg)
		return -1;
	field = (const char *)cfg + k->off;
	switch (k->type) {
	case KT_INT:
	case KT_BOOL:
	case KT_SIZE:
		snprintf(buf, len, "%d", *(const int *)field);
		break;
	case KT_MODE:
		snprintf(buf, len, "0%o", (unsigned)*(const int *)field);
		break;
	case KT_STRING:
	case KT_PATH:
		snprintf(buf, len, "%s", *(char *const *)field ? *(char *const *)field : "");
		break;
	case KT_ENUM:
		iv = *(const int *)field;
		snprintf(buf, len, "%s", iv >= 0 ? k->enum_names[iv] : "");
		break;
	case KT_DURATION:
		snprintf(buf, len, "%.15g", *(const double *)field);
		break;
	}
	return 0;
}

int config_key_at(int i, const char **name, const char **def, const char **doc, int *reloadable)
{
	if (i < 0 || i >= N_KEYS)
		return -1;
	if (name)
		*name = keys[i].name;
	if (def)
		*def = keys[i].def;
	if (doc)
		*doc = keys[i].doc;
	if (reloadable)
		*reloadable = keys[i].reloadable;
	return 0;
}

/* ---- docs/config.md ---- */

static void doc_type(FILE *out, const struct key_def *k)
{
	char names[256];

	switch (k->type) {
	case KT_INT:
		if (k->max >= INT_MAX)
			fprintf(out, "integer, %.0f or more", k->min);
		else
			fprintf(out, "integer, %.0f..%.0f", k->min, k->max);
		break;
	case KT_MODE:
		fprintf(out, "octal mode");
		break;
	case KT_SIZE:
		fprintf(out, "size, %.0f..%.0f bytes", k->min, k->max);
		break;
	case KT_ENUM:
		join_names(k->enum_names, names, sizeof(names));
		fprintf(out, "one of: %s", names);
		break;
	default:
		fprintf(out, "%s", type_names[k->type]);
		break;
	}
}

static const char doc_intro[] =
    "<!-- Generated by `sluice --config-doc` from the key table in src/config_keys.c; "
    "do not edit by hand. -->\n"
    "# sluice configuration reference\n"
    "\n"
    "This file is generated by `sluice --config-doc`.\n"
    "\n"
    "sluice reads a PgBouncer-style ini file given on its command line (`sluice FILE`). An "
    "existing `pgbouncer.ini` "
    "mostly works as is.\n"
    "\n"
    "## File format\n"
    "\n"
    "- The main section is `[sluice]`; `[pgbouncer]` is accepted as the same thing. Other "
    "sections are `[databases]` and `[users]`. Sections may appear more than once: the later "
    "value of a key wins.\n"
    "- `[tenant_defaults]`, `[tenant.NAME]` and `[class.NAME]` sections are for the "
    "tenant governor (kept as written); any other section is ignored with a warning.\n"
    "- A line starting with `;` or `#` is a comment. Lines are `key = value`; spaces around "
    "key and value are dropped. Key names are case-insensitive, and so are enumerated values "
    "such as `pool_mode`.\n"
    "- `%include FILE` on its own line reads another file in place. A relative FILE is looked "
    "up in the including file's directory first, then in the current directory. Includes nest "
    "up to 10 deep; a file that includes itself, directly or not, is an error. The current "
    "section carries into and out of an included file.\n"
    "- Relative paths in `auth_file`, `logfile` and `pidfile` are resolved against the "
    "directory of the config file that sets them (PgBouncer uses the current directory), and "
    "are stored and shown as absolute paths.\n"
    "- Durations are seconds; fractions are allowed (`0.5`), as are the units `us`, `ms`, "
    "`s`, `min`, `h` and `d` (`500ms`, `10min`). 0 usually means disabled.\n"
    "- Sizes are bytes, optionally with a suffix `k`/`kB`, `M`/`MB` or `G`/`GB` (powers of "
    "1024).\n"
    "- Booleans are `0`/`1`, `yes`/`no`, `on`/`off` or `true`/`false`.\n"
    "- An invalid value stops loading with `file:line: key: reason`. Unknown keys only warn "
    "(`file:line: key: unknown parameter, ignored`); PgBouncer keys that sluice does not "
    "implement yet warn with `not supported by sluice yet, ignored`.\n"
    "- At least one listener is needed: `listen_addr` and `unix_socket_dir` cannot both be "
    "empty.\n"
    "\n"
    "\"Reload\" tells whether a change takes effect on SIGHUP / `RELOAD`; the others need a "
    "restart.\n";

static const char doc_sections[] =
    "\n"
    "## [databases]\n"
    "\n"
    "Each line maps a database name that clients ask for to a server:\n"
    "\n"
    "```ini\n"
    "[databases]\n"
    "appdb = host=10.0.0.5 port=5432 dbname=app_production pool_size=30\n"
    "\"Mixed Case\" = host=/var/run/postgresql connect_query='SET search_path = ''app'''\n"
    "* = host=127.0.0.1 port=5432\n"
    "```\n"
    "\n"
    "The value is a list of `key=value` pairs separated by spaces, like a libpq connection "
    "string: a value with spaces is written in single quotes, and `''` inside quotes is one "
    "quote. The name may be written in double quotes. `*` is the fallback used for any "
    "database without its own line. An unknown key is an error.\n"
    "\n"
    "| Key | Meaning |\n"
    "| --- | --- |\n"
    "| `host` | Server host name or IP; a value starting with `/` is a Unix-socket directory. "
    "Empty: Unix socket in the default directory. libpq's multi-host form is accepted: "
    "`host=a,b,c` (up to 16 hosts): the health checker probes each host and new server "
    "connections go to one that fits `target_session_attrs` (docs/failover.md). |\n"
    "| `port` | Server port (default 5432); for a multi-host entry one port for all hosts or one "
    "per host (`port=5432,5433`). |\n"
    "| `target_session_attrs` | `any` (default), `read-write`, `primary`, `standby`, "
    "`prefer-standby`, with libpq's meanings, judged by the health checker (see "
    "docs/failover.md). |\n"
    "| `dbname` | Database name on the server (default: the name the client asked for). |\n"
    "| `user` | Connect to the server as this user, whatever the client's user. |\n"
    "| `password` | Password for `user`. |\n"
    "| `auth_user` | User that runs `auth_query` for this database (overrides the main "
    "`auth_user`). |\n"
    "| `pool_size` | Pool size for this database (default: `default_pool_size`). |\n"
    "| `min_pool_size` | Overrides `min_pool_size`. |\n"
    "| `reserve_pool` | Overrides `reserve_pool_size` (`reserve_pool_size` is accepted too). |\n"
    "| `max_db_connections` | Overrides `max_db_connections`. |\n"
    "| `pool_mode` | Overrides `pool_mode`. |\n"
    "| `connect_query` | Query run once on each new server connection. |\n"
    "| `client_encoding`, `datestyle`, `timezone`, `application_name` | Startup parameters "
    "sent to the server. |\n"
    "\n"
    "## [users]\n"
    "\n"
    "Per-user settings: `name = pool_mode=transaction max_user_connections=5`. Keys: "
    "`pool_mode`, `max_user_connections`.\n"
    "\n"
    "## auth_file\n"
    "\n"
    "PgBouncer's `userlist.txt` format: one user per line, `\"name\" \"secret\"`, both in "
    "double quotes (`\"\"` inside quotes is one quote); further fields are ignored; lines "
    "starting with `;` or `#` are comments. The secret is a plaintext password, `md5` "
    "followed by 32 hex digits (md5 of password + user name), or a SCRAM verifier "
    "`SCRAM-SHA-256$<iterations>:<salt>$<storedkey>:<serverkey>` as found in "
    "`SELECT rolname, rolpassword FROM pg_authid`.\n";

void config_write_doc(FILE *out)
{
	const char *group = NULL;

	fputs(doc_intro, out);
	for (int i = 0; i < N_KEYS; i++) {
		const struct key_def *k = &keys[i];
		if (!group || strcmp(group, k->group) != 0) {
			group = k->group;
			fprintf(out,
			        "\n## %s\n\n| Key | Type | Default | Reload | Description |\n"
			        "| --- | --- | --- | --- | --- |\n",
			        group);
		}
		fprintf(out, "| `%s` | ", k->name);
		doc_type(out, k);
		if (k->def[0])
			fprintf(out, " | `%s` | %s | %s |\n", k->def, k->reloadable ? "yes" : "no",
			        k->doc);
		else
			fprintf(out, " | (empty) | %s | %s |\n", k->reloadable ? "yes" : "no",
			        k->doc);
	}
	fputs(doc_sections, out);
	fputs("\n## PgBouncer keys not supported yet\n\nThese are accepted with a warning and "
	      "ignored:",
	      out);
	for (int i = 0; pgbouncer_only_keys[i]; i++)
		fprintf(out, "%s `%s`", i ? "," : "", pgbouncer_only_keys[i]);
	fputs(", and any key starting with", out);
	for (int i = 0; pgbouncer_only_prefixes[i]; i++)
		fprintf(out, "%s `%s`", i ? "," : "", pgbouncer_only_prefixes[i]);
	fputs(" (other than the keys listed above).\n", out);
}
