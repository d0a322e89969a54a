/* md5 password authentication: known values and verify round trips. */
#include <criterion/criterion.h>
#include <string.h>

#include "md5auth.h"

static const unsigned char salt1[4] = {1, 2, 3, 4};
static const unsigned char salt2[4] = {0xde, 0xad, 0xbe, 0xef};

Test(md5, make_secret_known_values)
{
	char out[36];

	/* python3 -c "import hashlib;print('md5'+hashlib.md5(b'passworduser').hexdigest())" */
	md5_make_secret("password", "user", out);
	cr_assert_str_eq(out, "md54d45974e13472b5a0be3533de4666414");
	/* rolpassword written by PostgreSQL 15 for CREATE ROLE carol PASSWORD 'pencil' (md5) */
	md5_make_secret("pencil", "carol", out);
	cr_assert_str_eq(out, "md5bd9b2f028f0da30651d603cf780feee9");
	md5_make_secret("pencil", "postgres", out);
	cr_assert_str_eq(out, "md54c21b325d75177d5e9b9789a50ab0c9c");
	cr_assert(md5_is_secret(out));
}

Test(md5, client_response_known_value)
{
	char out[36];

	/* md5(hex(md5("passworduser")) || 01 02 03 04) */
	cr_assert_eq(md5_client_response("password", "user", salt1, out), 0);
	cr_assert_str_eq(out, "md5a3576f1ae039b8996bc4fc2720f9c71a");
	/* the same from the stored secret */
	cr_assert_eq(md5_client_response("md54d45974e13472b5a0be3533de4666414", "user", salt1, out),
	             0);
	cr_assert_str_eq(out, "md5a3576f1ae039b8996bc4fc2720f9c71a");
}

Test(md5, verify_round_trips)
{
	char secret[36], resp[36];

	md5_make_secret("s3cret", "alice", secret);
	/* client knows the plaintext; server holds plaintext or md5 */
	cr_assert_eq(md5_client_response("s3cret", "alice", salt2, resp), 0);
	cr_assert_eq(md5_verify("s3cret", "alice", salt2, resp), 1);
	cr_assert_eq(md5_verify(secret, "alice", salt2, resp), 1);
	/* client (e.g. sluice towards a server) only has the md5 secret */
	cr_assert_eq(md5_client_response(secret, "alice", salt2, resp), 0);
	cr_assert_eq(md5_verify("s3cret", "alice", salt2, resp), 1);
	cr_assert_eq(md5_verify(secret, "alice", salt2, resp), 1);
}

Test(md5, verify_rejects)
{
	char secret[36], resp[36], bad[40];

	md5_make_secret("s3cret", "alice", secret);
	cr_assert_eq(md5_client_response("wrong", "alice", salt2, resp), 0);
	cr_assert_eq(md5_verify(secret, "alice", salt2, resp), 0, "wrong password");
	cr_assert_eq(md5_verify("s3cret", "alice", salt2, resp), 0, "wrong password, plaintext");

	cr_assert_eq(md5_client_response("s3cret", "alice", salt2, resp), 0);
	cr_assert_eq(md5_verify(secret, "alice", salt1, resp), 0, "wrong salt");
	cr_assert_eq(md5_verify("s3cret", "bob", salt2, resp), 0, "wrong user");

	memcpy(bad, resp, 34);
	bad[34] = '\0';
	cr_assert_eq(md5_verify(secret, "alice", salt2, bad), 0, "truncated");
	memcpy(bad, resp, 36);
	bad[35] = '0';
	bad[36] = '\0';
	cr_assert_eq(md5_verify(secret, "alice", salt2, bad), 0, "too long");
	memcpy(bad, resp, 36);
	bad[10] = (char)(bad[10] == 'a' ? 'b' : 'a');
	cr_assert_eq(md5_verify(secret, "alice", salt2, bad), 0, "one digit changed");
	cr_assert_eq(md5_verify(secret, "alice", salt2, ""), 0);
	cr_assert_eq(md5_verify(secret, "alice", salt2, NULL), 0);
	cr_assert_eq(md5_verify(NULL, "alice", salt2, resp), 0);

	/* an empty stored password never authenticates, even with the matching response */
	cr_assert_eq(md5_client_response("", "alice", salt2, resp), 0);
	cr_assert_eq(md5_verify("", "alice", salt2, resp), 0);
}

Test(md5, is_secret)
{
	cr_assert(md5_is_secret("md54d45974e13472b5a0be3533de4666414"));
	cr_assert_not(md5_is_secret("md54D45974E13472B5A0BE3533DE4666414"), "uppercase hex");
	cr_assert_not(md5_is_secret("md54d45974e13472b5a0be3533de466641"), "short");
	cr_assert_not(md5_is_secret("md54d45974e13472b5a0be3533de46664140"), "long");
	cr_assert_not(md5_is_secret("md54d45974e13472b5a0be3533de466641g"), "non-hex");
	cr_assert_not(md5_is_secret("MD54d45974e13472b5a0be3533de4666414"), "prefix case");
	cr_assert_not(md5_is_secret("pencil"));
	cr_assert_not(md5_is_secret(""));
	cr_assert_not(md5_is_secret(NULL));
}
