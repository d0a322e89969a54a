/* SCRAM-SHA-256: RFC 7677 vector on both sides, PostgreSQL secrets, the ClientKey relay path,
 * and malformed or hostile input. */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/evp.h>

#include "scram.h"

/* RFC 7677 section 3 */
#define RFC_CLIENT_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CLIENT_NONCE
#define RFC_SERVER_FIRST "r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                                                           \
	"c=biws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE                                              \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* StoredKey/ServerKey for "pencil" with the RFC salt, computed with Python's hashlib */
#define RFC_SECRET                                                                                 \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=" \
	":"                                                                                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
/* rolpassword written by PostgreSQL 15 for CREATE ROLE alice PASSWORD 'pencil' */
#define PG_SECRET                                                                                  \
	"SCRAM-SHA-256$4096:5Lo9SyTqJv1+BV8PpSAeWw==$bGLa6bc7ULobkcSAZGaGgjNKYTEe5km8ZK4C69c9vgg=" \
	":"                                                                                        \
	"PWEhDVINARENas655djrEKxewpTDazpQDeV19EJGxmc="

static const unsigned char rfc_salt[16] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                           0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
/* ClientKey for "pencil" with the RFC salt */
static const unsigned char rfc_client_key[32] = {
    0xa6, 0x0f, 0xc9, 0x23, 0xd6, 0x7e, 0x86, 0x44, 0xa9, 0x2d, 0x16, 0xb9, 0x6e, 0xda, 0x5e, 0xf4,
    0x65, 0x6b, 0x0c, 0x72, 0x5c, 0x48, 0x43, 0x74, 0xbe, 0x25, 0x53, 0x55, 0x76, 0x99, 0x6e, 0x8b};

static struct scram_secret rfc_secret(void)
{
	struct scram_secret s;

	cr_assert_eq(scram_parse_secret(RFC_SECRET, &s), 0);
	return s;
}

/* A server state that has answered client_first (a string). */
static void server_after_first(struct scram_server *st, const struct scram_secret *sec,
                               const char *snonce, const char *client_first)
{
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;

	cr_assert_eq(scram_server_init(st, sec, snonce), 0);
	cr_assert_gt(
	    scram_server_first(st, client_first, strlen(client_first), out, sizeof(out), &err), 0,
	    "server_first: %s", err ? err : "");
}

static int server_final_str(struct scram_server *st, const char *msg, const char **err)
{
	char out[SCRAM_MAX_MSG + 1];
	unsigned char ck[32];

	return scram_server_final(st, msg, strlen(msg), out, sizeof(out), ck, err);
}

/* A client state that has sent its first message with the RFC nonce. */
static void client_after_first(struct scram_client *st)
{
	char out[SCRAM_MAX_MSG + 1];

	cr_assert_eq(scram_client_init(st, "user", RFC_CLIENT_NONCE), 0);
	cr_assert_gt(scram_client_first(st, out, sizeof(out)), 0);
}

static int client_final_str(struct scram_client *st, const char *server_first, const char **err)
{
	char out[SCRAM_MAX_MSG + 1];

	return scram_client_final(st, server_first, strlen(server_first), "pencil", NULL, NULL, out,
	                          sizeof(out), err);
}

/* Full exchange between our client and our server. The client authenticates with password, or
 * with (client_key, client_secret) when password is NULL. Returns scram_server_final's result;
 * on success also checks the client accepts the server-final and stores the ClientKey. */
static int exchange(const struct scram_secret *server_secret, const char *password,
                    const unsigned char *client_key, const struct scram_secret *client_secret,
                    unsigned char recovered[32])
{
	struct scram_client cl;
	struct scram_server sv;
	char m1[SCRAM_MAX_MSG + 1], m2[SCRAM_MAX_MSG + 1], m3[SCRAM_MAX_MSG + 1],
	    m4[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	int n1, n2, n3, n4;

	cr_assert_eq(scram_client_init(&cl, NULL, NULL), 0);
	cr_assert_eq(scram_server_init(&sv, server_secret, NULL), 0);
	n1 = scram_client_first(&cl, m1, sizeof(m1));
	cr_assert_gt(n1, 0);
	cr_assert_eq(strncmp(m1, "n,,n=,r=", 8), 0, "PostgreSQL-style client-first: %s", m1);
	cr_assert_eq(strlen(m1), 8 + 24, "18 random bytes in base64: %s", m1);
	n2 = scram_server_first(&sv, m1, (size_t)n1, m2, sizeof(m2), &err);
	cr_assert_gt(n2, 0, "%s", err);
	n3 = scram_client_final(&cl, m2, (size_t)n2, password, client_key, client_secret, m3,
	                        sizeof(m3), &err);
	cr_assert_gt(n3, 0, "%s", err);
	n4 = scram_server_final(&sv, m3, (size_t)n3, m4, sizeof(m4), recovered, &err);
	if (n4 < 0)
		return n4;
	cr_assert_eq(scram_client_verify_final(&cl, m4, (size_t)n4, &err), 0, "%s", err);
	return n4;
}

Test(scram, rfc7677_server_side)
{
	struct scram_secret sec = rfc_secret();
	struct scram_server st;
	char out[SCRAM_MAX_MSG + 1];
	unsigned char ck[32];
	const char *err = NULL;
	int n;

	cr_assert_eq(scram_server_init(&st, &sec, RFC_SERVER_NONCE), 0);
	n = scram_server_first(&st, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), out, sizeof(out),
	                       &err);
	cr_assert_eq(n, (int)strlen(RFC_SERVER_FIRST), "%s", err);
	cr_assert_str_eq(out, RFC_SERVER_FIRST);
	n = scram_server_final(&st, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out, sizeof(out),
	                       ck, &err);
	cr_assert_eq(n, (int)strlen(RFC_SERVER_FINAL), "%s", err);
	cr_assert_str_eq(out, RFC_SERVER_FINAL);
	cr_assert_null(err);
	cr_assert_arr_eq(ck, rfc_client_key, 32);
	/* the exchange is over */
	cr_assert_eq(scram_server_final(&st, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), out,
	                                sizeof(out), ck, &err),
	             -2);
}

Test(scram, rfc7677_client_side)
{
	struct scram_client st;
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	int n;

	cr_assert_eq(scram_client_init(&st, "user", RFC_CLIENT_NONCE), 0);
	n = scram_client_first(&st, out, sizeof(out));
	cr_assert_eq(n, (int)strlen(RFC_CLIENT_FIRST));
	cr_assert_str_eq(out, RFC_CLIENT_FIRST);
	n = scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), "pencil", NULL,
	                       NULL, out, sizeof(out), &err);
	cr_assert_eq(n, (int)strlen(RFC_CLIENT_FINAL), "%s", err);
	cr_assert_str_eq(out, RFC_CLIENT_FINAL);
	cr_assert_eq(
	    scram_client_verify_final(&st, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL), &err), 0,
	    "%s", err);
}

Test(scram, rfc7677_client_side_from_client_key)
{
	struct scram_secret sec = rfc_secret();
	struct scram_client st;
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	int n;

	client_after_first(&st);
	n = scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), NULL,
	                       rfc_client_key, &sec, out, sizeof(out), &err);
	cr_assert_gt(n, 0, "%s", err);
	cr_assert_str_eq(out, RFC_CLIENT_FINAL);
	cr_assert_eq(
	    scram_client_verify_final(&st, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL), &err), 0,
	    "%s", err);
}

Test(scram, secret_from_password_rfc_salt)
{
	struct scram_secret s;
	char text[SCRAM_SECRET_MAX_LEN];

	cr_assert_eq(scram_secret_from_password("pencil", rfc_salt, 16, 4096, &s), 0);
	cr_assert_gt(scram_format_secret(&s, text, sizeof(text)), 0);
	cr_assert_str_eq(text, RFC_SECRET);
	/* iterations 0 means the default 4096 */
	cr_assert_eq(scram_secret_from_password("pencil", rfc_salt, 16, 0, &s), 0);
	cr_assert_eq(s.iterations, 4096);
	cr_assert_gt(scram_format_secret(&s, text, sizeof(text)), 0);
	cr_assert_str_eq(text, RFC_SECRET);
}

Test(scram, postgres_secret_round_trip)
{
	struct scram_secret s, d;
	char text[SCRAM_SECRET_MAX_LEN];
	int n;

	cr_assert(scram_is_secret(PG_SECRET));
	cr_assert_eq(scram_parse_secret(PG_SECRET, &s), 0);
	cr_assert_eq(s.iterations, 4096);
	cr_assert_eq(s.salt_len, 16);
	n = scram_format_secret(&s, text, sizeof(text));
	cr_assert_eq(n, (int)strlen(PG_SECRET));
	cr_assert_str_eq(text, PG_SECRET);
	/* PostgreSQL's keys are reproduced from the password, salt and iteration count */
	cr_assert_eq(scram_secret_from_password("pencil", s.salt, s.salt_len, s.iterations, &d), 0);
	cr_assert_arr_eq(d.stored_key, s.stored_key, 32);
	cr_assert_arr_eq(d.server_key, s.server_key, 32);
	/* exact-size buffer works, one byte less does not */
	cr_assert_eq(scram_format_secret(&s, text, (size_t)n + 1), n);
	cr_assert_eq(scram_format_secret(&s, text, (size_t)n), -1);
}

Test(scram, secret_from_password_defaults)
{
	struct scram_secret a, b;

	cr_assert_eq(scram_secret_from_password("pw", NULL, 0, 0, &a), 0);
	cr_assert_eq(scram_secret_from_password("pw", NULL, 0, 0, &b), 0);
	cr_assert_eq(a.salt_len, 16);
	cr_assert_eq(a.iterations, 4096);
	cr_assert(memcmp(a.salt, b.salt, 16) != 0, "random salts differ");
	cr_assert_eq(scram_secret_from_password("pw", rfc_salt, 0, 0, &a), -1, "salt_len 0");
	cr_assert_eq(scram_secret_from_password("pw", rfc_salt, SCRAM_SALT_MAX + 1, 0, &a), -1);
	cr_assert_eq(scram_secret_from_password("pw", NULL, 0, -1, &a), -1);
	cr_assert_eq(scram_secret_from_password("pw", NULL, 0, SCRAM_MAX_ITERATIONS + 1, &a), -1);
	cr_assert_eq(scram_secret_from_password(NULL, NULL, 0, 0, &a), -1);
}

Test(scram, parse_secret_rejects)
{
	static const char *const bad[] = {
	    "",
	    "md54d45974e13472b5a0be3533de4666414",
	    "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY"
	    "=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    /* iteration count 0, too high, signed, missing */
	    "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY"
	    "=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$10000001:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmt"
	    "bsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$+4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4"
	    "qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
	    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    /* salt: invalid base64, empty, non-canonical padding bits */
	    "SCRAM-SHA-256$4096:W22ZaJ0S*Y7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$4096:$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
	    "wfPLwcE6nTWhTAmQ7tl2Ke"
	    "oiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gR==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    /* StoredKey of 31 bytes; ServerKey missing; trailing garbage; missing separator */
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4g"
	    "==:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:",
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU= ",
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:AAAA",
	    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==:WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q"
	    "Y=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	};
	struct scram_secret s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(scram_parse_secret(bad[i], &s), -1, "accepted #%zu: %s", i, bad[i]);
		cr_assert_not(scram_is_secret(bad[i]));
	}
	cr_assert_eq(scram_parse_secret(NULL, &s), -1);
	cr_assert_not(scram_is_secret(NULL));
}

Test(scram, postgres_style_exchange)
{
	struct scram_secret sec;
	unsigned char ck[32], expect[32];
	struct scram_secret derived;

	cr_assert_eq(scram_parse_secret(PG_SECRET, &sec), 0);
	cr_assert_eq(exchange(&sec, "pencil", NULL, NULL, ck), 46);
	/* the recovered ClientKey is the real one: SHA-256(ClientKey) == StoredKey */
	cr_assert_eq(scram_secret_from_password("pencil", sec.salt, sec.salt_len, 4096, &derived),
	             0);
	unsigned int len = 0;
	cr_assert_eq(EVP_Digest(ck, 32, expect, &len, EVP_sha256(), NULL), 1);
	cr_assert_arr_eq(expect, sec.stored_key, 32);
}

Test(scram, non_ascii_password_round_trip)
{
	struct scram_secret sec;
	unsigned char ck[32];

	/* raw UTF-8 bytes are used on both sides */
	cr_assert_eq(scram_secret_from_password("p\xc3\xa4ssw\xc3\xb6rd", NULL, 0, 0, &sec), 0);
	cr_assert_gt(exchange(&sec, "p\xc3\xa4ssw\xc3\xb6rd", NULL, NULL, ck), 0);
	cr_assert_eq(exchange(&sec, "passwoerd", NULL, NULL, ck), -1);
}

Test(scram, client_key_relay)
{
	struct scram_secret sec;
	unsigned char ck[32], ck2[32];

	/* a client logs in to sluice; sluice recovers its ClientKey ... */
	cr_assert_eq(scram_parse_secret(PG_SECRET, &sec), 0);
	cr_assert_gt(exchange(&sec, "pencil", NULL, NULL, ck), 0);
	/* ... and logs in to the server (same secret) with only (ClientKey, secret) */
	cr_assert_gt(exchange(&sec, NULL, ck, &sec, ck2), 0);
	cr_assert_arr_eq(ck, ck2, 32);
}

Test(scram, client_key_relay_needs_matching_salt_and_iterations)
{
	struct scram_secret sec, other_salt, other_iter;
	struct scram_client cl;
	struct scram_server sv;
	char m1[SCRAM_MAX_MSG + 1], m2[SCRAM_MAX_MSG + 1], m3[SCRAM_MAX_MSG + 1];
	const char *err = NULL;
	unsigned char bogus[32];
	int n;

	cr_assert_eq(scram_parse_secret(PG_SECRET, &sec), 0);
	/* same password, different salt / iteration count on the real server */
	cr_assert_eq(scram_secret_from_password("pencil", rfc_salt, 16, 4096, &other_salt), 0);
	cr_assert_eq(
	    scram_secret_from_password("pencil", sec.salt, sec.salt_len, 4097, &other_iter), 0);
	const struct scram_secret *servers[] = {&other_salt, &other_iter};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(scram_client_init(&cl, NULL, NULL), 0);
		cr_assert_eq(scram_server_init(&sv, servers[i], NULL), 0);
		n = scram_client_first(&cl, m1, sizeof(m1));
		n = scram_server_first(&sv, m1, (size_t)n, m2, sizeof(m2), &err);
		cr_assert_gt(n, 0);
		cr_assert_eq(scram_client_final(&cl, m2, (size_t)n, NULL, rfc_client_key, &sec, m3,
		                                sizeof(m3), &err),
		             -1);
		cr_assert_not_null(strstr(err, "salt or iteration count"), "%s", err);
	}

	/* a ClientKey that does not belong to the secret is refused before anything is sent */
	memset(bogus, 0x42, sizeof(bogus));
	cr_assert_eq(scram_client_init(&cl, NULL, NULL), 0);
	cr_assert_eq(scram_server_init(&sv, &sec, NULL), 0);
	n = scram_client_first(&cl, m1, sizeof(m1));
	n = scram_server_first(&sv, m1, (size_t)n, m2, sizeof(m2), &err);
	cr_assert_eq(
	    scram_client_final(&cl, m2, (size_t)n, NULL, bogus, &sec, m3, sizeof(m3), &err), -1);
	cr_assert_not_null(strstr(err, "does not match"), "%s", err);
	/* neither password nor key */
	cr_assert_eq(scram_client_init(&cl, NULL, NULL), 0);
	n = scram_client_first(&cl, m1, sizeof(m1));
	cr_assert_eq(
	    scram_client_final(&cl, m2, strlen(m2), NULL, NULL, &sec, m3, sizeof(m3), &err), -1);
}

Test(scram, wrong_password)
{
	struct scram_secret sec;
	unsigned char ck[32];

	cr_assert_eq(scram_parse_secret(PG_SECRET, &sec), 0);
	cr_assert_eq(exchange(&sec, "pencil2", NULL, NULL, ck), -1);

	/* RFC message against a secret for another password */
	struct scram_secret other;
	struct scram_server st;
	const char *err = NULL;
	cr_assert_eq(scram_secret_from_password("crayon", rfc_salt, 16, 4096, &other), 0);
	server_after_first(&st, &other, RFC_SERVER_NONCE, RFC_CLIENT_FIRST);
	cr_assert_eq(server_final_str(&st, RFC_CLIENT_FINAL, &err), -1);
	cr_assert_str_eq(err, "password authentication failed");

	/* one flipped proof bit */
	struct scram_secret good = rfc_secret();
	server_after_first(&st, &good, RFC_SERVER_NONCE, RFC_CLIENT_FIRST);
	cr_assert_eq(server_final_str(&st,
	                              "c=biws,r=" RFC_CLIENT_NONCE RFC_SERVER_NONCE
	                              ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
	                              &err),
	             -1);
}

Test(scram, mock_secret)
{
	static const unsigned char key[16] = "0123456789abcdef";
	struct scram_secret a, b, c;
	unsigned char ck[32];

	cr_assert_eq(scram_mock_secret("ghost", key, sizeof(key), &a), 0);
	cr_assert_eq(scram_mock_secret("ghost", key, sizeof(key), &b), 0);
	cr_assert_eq(scram_mock_secret("phantom", key, sizeof(key), &c), 0);
	cr_assert_eq(a.salt_len, 16);
	cr_assert_arr_eq(a.salt, b.salt, 16, "stable salt per user");
	cr_assert(memcmp(a.salt, c.salt, 16) != 0);
	cr_assert_eq(exchange(&a, "", NULL, NULL, ck), -1);
	cr_assert_eq(exchange(&a, "pencil", NULL, NULL, ck), -1);
}

/* ---- server side: hostile client-first messages ---- */

Test(scram, server_first_rejects)
{
	static const char *const bad[] = {
	    "p=tls-server-end-point,,n=,r=abc", /* channel binding */
	    "n,a=bob,n=,r=abc",                 /* authzid */
	    "n,,m=ext,n=,r=abc",                /* mandatory extension */
	    "r=abc",
	    "x,,n=,r=abc",
	    "n,n=,r=abc",
	    "n,,",
	    "n,,n=",
	    "n,,r=abc,n=",        /* wrong order */
	    "n,,n=,r=",           /* empty nonce */
	    "n,,n=,r=ab c",       /* non-printable nonce */
	    "n,,n=,r=ab\x01",     /* control character */
	    "n,,n=,r=ab\xc3\xa4", /* non-ASCII */
	    "n,,n=,r=abc,",       /* trailing comma */
	    "n,,n=,r=abc,r=def",  /* repeated attribute */
	    "n,,n=,r=abc,p=def",  /* reserved letter as extension */
	    "n,,n=,r=abc,x",      /* extension without value */
	    "n,,n=,r=abc,=x",
	    "n,,n=a=b,r=abc", /* bad saslname escape */
	    "n,,n=a=2,r=abc",
	    "n,,n=,,r=abc",
	};
	struct scram_secret sec = rfc_secret();
	struct scram_server st;
	char out[SCRAM_MAX_MSG + 1];
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
		cr_assert_eq(
		    scram_server_first(&st, bad[i], strlen(bad[i]), out, sizeof(out), &err), -1,
		    "accepted #%zu: %s", i, bad[i]);
		cr_assert_not_null(err);
		/* and the exchange cannot continue */
		cr_assert_eq(server_final_str(&st, RFC_CLIENT_FINAL, &err), -2);
	}
}

Test(scram, server_first_accepts_variants)
{
	static const char *const good[] = {
	    "y,,n=,r=abc",           /* client supports channel binding, we do not offer it */
	    "n,,n=a=2Cb=3Dc,r=abc",  /* escaped username */
	    "n,,n=*,r=abc,x=ext",    /* optional extension */
	    "n,,n=\xc3\xa4,r=a~b!c", /* UTF-8 username, printable nonce */
	};
	struct scram_secret sec = rfc_secret();
	struct scram_server st;
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(scram_server_init(&st, &sec, "SRV"), 0);
		cr_assert_gt(
		    scram_server_first(&st, good[i], strlen(good[i]), out, sizeof(out), &err), 0,
		    "rejected #%zu: %s (%s)", i, good[i], err);
	}
	cr_assert_str_eq(out, "r=a~b!cSRV,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
}

Test(scram, server_message_limits)
{
	struct scram_secret sec = rfc_secret();
	struct scram_server st;
	char msg[2048], out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;

	/* embedded NUL */
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	cr_assert_eq(scram_server_first(&st, "n,,n=,r=ab\0c", 12, out, sizeof(out), &err), -1);
	/* over-long message */
	memset(msg, 'a', sizeof(msg));
	memcpy(msg, "n,,n=,r=", 8);
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	cr_assert_eq(scram_server_first(&st, msg, SCRAM_MAX_MSG + 1, out, sizeof(out), &err), -1);
	/* a valid message whose combined nonce would be too long */
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	cr_assert_eq(scram_server_first(&st, msg, 8 + SCRAM_NONCE_MAX, out, sizeof(out), &err), -1);
	/* zero length / NULL */
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	cr_assert_eq(scram_server_first(&st, msg, 0, out, sizeof(out), &err), -1);
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	cr_assert_eq(scram_server_first(&st, NULL, 5, out, sizeof(out), &err), -1);
	/* output buffer too small */
	cr_assert_eq(scram_server_init(&st, &sec, RFC_SERVER_NONCE), 0);
	cr_assert_eq(scram_server_first(&st, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), out,
	                                strlen(RFC_SERVER_FIRST), &err),
	             -1);
	cr_assert_str_eq(err, "output buffer too small");
	/* exact fit */
	cr_assert_eq(scram_server_init(&st, &sec, RFC_SERVER_NONCE), 0);
	cr_assert_eq(scram_server_first(&st, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), out,
	                                strlen(RFC_SERVER_FIRST) + 1, &err),
	             (int)strlen(RFC_SERVER_FIRST));
	/* out of order: second client-first, or final before first */
	cr_assert_eq(scram_server_first(&st, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), out,
	                                sizeof(out), &err),
	             -1);
	cr_assert_eq(scram_server_init(&st, &sec, RFC_SERVER_NONCE), 0);
	cr_assert_eq(server_final_str(&st, RFC_CLIENT_FINAL, &err), -2);
	/* bad server nonces and secrets at init */
	cr_assert_eq(scram_server_init(&st, &sec, ""), -1);
	cr_assert_eq(scram_server_init(&st, &sec, "a,b"), -1);
	cr_assert_eq(scram_server_init(&st, &sec, "a b"), -1);
	memset(msg, 'x', 200);
	msg[200] = '\0';
	cr_assert_eq(scram_server_init(&st, &sec, msg), -1);
	sec.iterations = 0;
	cr_assert_eq(scram_server_init(&st, &sec, NULL), -1);
	cr_assert_eq(scram_server_init(&st, NULL, NULL), -1);
}

/* ---- server side: hostile client-final messages ---- */

#define NONCE RFC_CLIENT_NONCE RFC_SERVER_NONCE
#define PROOF "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

Test(scram, server_final_rejects)
{
	static const char *const bad[] = {
	    "c=biws,r=" NONCE "X,p=" PROOF, /* nonce extended */
	    "c=biws,r=" RFC_CLIENT_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,p=" PROOF, /* tampered */
	    "c=biws,r=" RFC_CLIENT_NONCE ",p=" PROOF, /* client part only */
	    "c=biws,r=,p=" PROOF,                     /* empty nonce */
	    "c=eSws,r=" NONCE ",p=" PROOF,            /* "y,," echo for "n,," */
	    "c=cCws,r=" NONCE ",p=" PROOF,            /* "p,," */
	    "c=biwsAAAA,r=" NONCE ",p=" PROOF,        /* extra cbind data */
	    "c=bi*s,r=" NONCE ",p=" PROOF,            /* bad base64 */
	    "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",     /* no padding */
	    "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndV==",    /* bits left */
	    "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7A=",        /* 29 bytes */
	    "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQAAAA", /* 35 */
	    "c=biws,r=" NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjf!Hgsqmmiz7AndVQ=",
	    "r=" NONCE ",c=biws,p=" PROOF,             /* wrong order */
	    "c=biws,p=" PROOF ",r=" NONCE,             /* proof not last */
	    "c=biws,r=" NONCE ",p=" PROOF ",x=ext",    /* proof not last */
	    "c=biws,r=" NONCE,                         /* no proof */
	    "c=biws,r=" NONCE ",p=" PROOF ",",         /* trailing comma */
	    "c=biws,r=" NONCE ",r=" NONCE ",p=" PROOF, /* repeated attribute */
	    "c=biws,r=" NONCE ",p=",                   /* empty proof */
	    "c=biws,r=" NONCE ",p" PROOF,
	    "c=biws,,r=" NONCE ",p=" PROOF,
	};
	struct scram_secret sec = rfc_secret();
	struct scram_server st;
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		server_after_first(&st, &sec, RFC_SERVER_NONCE, RFC_CLIENT_FIRST);
		cr_assert_eq(server_final_str(&st, bad[i], &err), -2, "accepted #%zu: %s (%s)", i,
		             bad[i], err);
		cr_assert_not_null(err);
	}
	/* an extension before the proof is allowed (it is part of the AuthMessage, so the RFC
	 * proof no longer matches: this is a wrong password, not a protocol error) */
	server_after_first(&st, &sec, RFC_SERVER_NONCE, RFC_CLIENT_FIRST);
	cr_assert_eq(server_final_str(&st, "c=biws,r=" NONCE ",x=ext,p=" PROOF, &err), -1);
}

Test(scram, server_final_truncated_and_limits)
{
	static const char full[] = RFC_CLIENT_FINAL;
	struct scram_secret sec = rfc_secret();
	struct scram_server st, saved;
	char out[SCRAM_MAX_MSG + 1], big[SCRAM_MAX_MSG + 2];
	unsigned char ck[32];
	const char *err = NULL;

	server_after_first(&saved, &sec, RFC_SERVER_NONCE, RFC_CLIENT_FIRST);
	for (size_t n = 0; n < sizeof(full) - 1; n++) {
		st = saved;
		cr_assert_eq(scram_server_final(&st, full, n, out, sizeof(out), ck, &err), -2,
		             "accepted prefix of %zu bytes", n);
	}
	st = saved;
	cr_assert_eq(scram_server_final(&st, "c=biws\0r=", 9, out, sizeof(out), ck, &err), -2);
	memset(big, 'A', sizeof(big));
	st = saved;
	cr_assert_eq(scram_server_final(&st, big, SCRAM_MAX_MSG + 1, out, sizeof(out), ck, &err),
	             -2);
	/* out too small for "v=" + 44 */
	st = saved;
	cr_assert_eq(scram_server_final(&st, full, sizeof(full) - 1, out, 46, ck, &err), -2);
	st = saved;
	cr_assert_eq(scram_server_final(&st, full, sizeof(full) - 1, out, 47, ck, &err), 46);
	cr_assert_str_eq(out, RFC_SERVER_FINAL);
}

Test(scram, server_y_flag_echo)
{
	struct scram_secret sec;
	struct scram_server st;
	struct scram_client cl;
	char m2[SCRAM_MAX_MSG + 1], m3[SCRAM_MAX_MSG + 1], m4[SCRAM_MAX_MSG + 1],
	    cf[SCRAM_MAX_MSG + 1];
	unsigned char ck[32];
	const char *err = NULL;
	int n;

	/* our client always sends "n,,"; forge a "y,," exchange from its messages */
	cr_assert_eq(scram_secret_from_password("pencil", NULL, 0, 0, &sec), 0);
	cr_assert_eq(scram_client_init(&cl, NULL, "clientnonce"), 0);
	cr_assert_gt(scram_client_first(&cl, cf, sizeof(cf)), 0);
	cf[0] = 'y';
	cr_assert_eq(scram_server_init(&st, &sec, NULL), 0);
	n = scram_server_first(&st, cf, strlen(cf), m2, sizeof(m2), &err);
	cr_assert_gt(n, 0);
	n = scram_client_final(&cl, m2, (size_t)n, "pencil", NULL, NULL, m3, sizeof(m3), &err);
	cr_assert_gt(n, 0);
	/* "c=biws" must have been "c=eSws" for "y,,": rejected as a channel-binding mismatch */
	cr_assert_eq(scram_server_final(&st, m3, (size_t)n, m4, sizeof(m4), ck, &err), -2);
	cr_assert_not_null(strstr(err, "channel binding"), "%s", err);
}

/* ---- client side: hostile server messages ---- */

Test(scram, client_final_rejects)
{
	static const char *const bad[] = {
	    "r=XXprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
	    "i=4096",                                                         /* foreign nonce */
	    "r=" RFC_CLIENT_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",       /* no server part */
	    "r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",        /* shorter */
	    "r=,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                           /* empty nonce */
	    "r=" RFC_CLIENT_NONCE "ab\x7f,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* DEL */
	    "r=" RFC_CLIENT_NONCE "a b,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	    "r=" RFC_CLIENT_NONCE "\xff,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",  /* bad base64 length */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6g?==,i=4096", /* bad base64 char */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096", /* non-canonical */
	    "r=" NONCE ",s==W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", /* padding first */
	    "r=" NONCE ",s=,i=4096",                         /* empty salt */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",    /* iterations */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i= 4096",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==",               /* missing i */
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" NONCE ",i=4096",        /* wrong order */
	    "r=" NONCE ",i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",        /* wrong order */
	    "m=ext,r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  /* mandatory extension */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,i=4096", /* repeated */
	    "r=" NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",       /* trailing comma */
	    "e=other-error",                                        /* error instead */
	    "r=" NONCE ",s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAA==,i=4096", /* 67-byte salt */
	};
	struct scram_client st;
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		client_after_first(&st);
		cr_assert_eq(client_final_str(&st, bad[i], &err), -1, "accepted #%zu: %s", i,
		             bad[i]);
		cr_assert_not_null(err);
		/* and the exchange cannot continue */
		cr_assert_eq(scram_client_verify_final(&st, RFC_SERVER_FINAL,
		                                       strlen(RFC_SERVER_FINAL), &err),
		             -1);
	}
	/* an optional extension at the end is accepted */
	client_after_first(&st);
	cr_assert_gt(client_final_str(&st, RFC_SERVER_FIRST ",x=ext", &err), 0, "%s", err);
}

Test(scram, client_final_truncated_and_limits)
{
	static const char full[] = RFC_SERVER_FIRST;
	const size_t iter_at = sizeof(full) - 1 - strlen("4096");
	struct scram_client st, saved;
	char out[SCRAM_MAX_MSG + 1], big[SCRAM_MAX_MSG + 2];
	const char *err = NULL;

	client_after_first(&saved);
	/* every prefix that stops before the first digit of the iteration count is invalid */
	for (size_t n = 0; n <= iter_at; n++) {
		st = saved;
		cr_assert_eq(
		    scram_client_final(&st, full, n, "pencil", NULL, NULL, out, sizeof(out), &err),
		    -1, "accepted prefix of %zu bytes", n);
	}
	st = saved;
	cr_assert_eq(
	    scram_client_final(&st, "r=" NONCE "\0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	                       sizeof("r=" NONCE "\0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") - 1,
	                       "pencil", NULL, NULL, out, sizeof(out), &err),
	    -1);
	memset(big, 'A', sizeof(big));
	memcpy(big, "r=" RFC_CLIENT_NONCE, strlen("r=" RFC_CLIENT_NONCE));
	st = saved;
	cr_assert_eq(scram_client_final(&st, big, SCRAM_MAX_MSG + 1, "pencil", NULL, NULL, out,
	                                sizeof(out), &err),
	             -1);
	/* output buffer exactly one byte short, then exact */
	st = saved;
	cr_assert_eq(scram_client_final(&st, full, sizeof(full) - 1, "pencil", NULL, NULL, out,
	                                strlen(RFC_CLIENT_FINAL), &err),
	             -1);
	st = saved;
	cr_assert_eq(scram_client_final(&st, full, sizeof(full) - 1, "pencil", NULL, NULL, out,
	                                strlen(RFC_CLIENT_FINAL) + 1, &err),
	             (int)strlen(RFC_CLIENT_FINAL));
}

Test(scram, client_verify_final)
{
	static const char full[] = RFC_SERVER_FINAL;
	static const char *const bad[] = {
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", /* wrong (and non-canonical) */
	    "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", /* wrong signature */
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,v=x",
	    "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	    "v=",
	    "e=",
	};
	struct scram_client st, saved;
	char out[SCRAM_MAX_MSG + 1];
	const char *err = NULL;

	client_after_first(&saved);
	cr_assert_gt(scram_client_final(&saved, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST),
	                                "pencil", NULL, NULL, out, sizeof(out), &err),
	             0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = saved;
		cr_assert_eq(scram_client_verify_final(&st, bad[i], strlen(bad[i]), &err), -1,
		             "accepted #%zu: %s", i, bad[i]);
	}
	for (size_t n = 0; n < sizeof(full) - 1; n++) {
		st = saved;
		cr_assert_eq(scram_client_verify_final(&st, full, n, &err), -1,
		             "accepted prefix of %zu bytes", n);
	}
	/* server-reported error is passed on, sanitized */
	st = saved;
	cr_assert_eq(scram_client_verify_final(&st, "e=invalid-proof\x01", 16, &err), -1);
	cr_assert_str_eq(err, "SCRAM server error: invalid-proof?");
	/* extension after the verifier is fine */
	st = saved;
	cr_assert_eq(scram_client_verify_final(&st, RFC_SERVER_FINAL ",x=y",
	                                       strlen(RFC_SERVER_FINAL ",x=y"), &err),
	             0, "%s", err);
	/* and only once */
	cr_assert_eq(scram_client_verify_final(&st, full, sizeof(full) - 1, &err), -1);
}

Test(scram, client_init_and_first)
{
	struct scram_client st;
	char out[SCRAM_MAX_MSG + 1], longname[SCRAM_MAX_MSG];
	const char *err = NULL;

	cr_assert_eq(scram_client_init(&st, "a,b=c", "nonce"), 0);
	cr_assert_eq(scram_client_first(&st, out, sizeof(out)),
	             (int)strlen("n,,n=a=2Cb=3Dc,r=nonce"));
	cr_assert_str_eq(out, "n,,n=a=2Cb=3Dc,r=nonce");
	cr_assert_eq(scram_client_first(&st, out, sizeof(out)), -1, "only once");

	cr_assert_eq(scram_client_init(&st, "", "nonce"), 0);
	cr_assert_eq(scram_client_first(&st, out, 13), -1, "no room for the NUL");
	cr_assert_eq(scram_client_init(&st, "", "nonce"), 0);
	cr_assert_eq(scram_client_first(&st, out, 14), 13);
	cr_assert_str_eq(out, "n,,n=,r=nonce");

	cr_assert_eq(scram_client_init(&st, NULL, ""), -1);
	cr_assert_eq(scram_client_init(&st, NULL, "a,b"), -1);
	cr_assert_eq(scram_client_init(&st, NULL, "a\tb"), -1);
	memset(longname, ',', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(scram_client_init(&st, longname, NULL), -1, "escaped name too long");
	cr_assert_eq(scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), "pencil",
	                                NULL, NULL, out, sizeof(out), &err),
	             -1, "failed init cannot continue");

	/* final before first */
	cr_assert_eq(scram_client_init(&st, NULL, RFC_CLIENT_NONCE), 0);
	cr_assert_eq(scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), "pencil",
	                                NULL, NULL, out, sizeof(out), &err),
	             -1);
}
