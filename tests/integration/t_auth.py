"""Authentication, both sides of the pooler.

Client side (auth_type): trust, plain, md5, scram-sha-256 against auth_file secrets stored as plaintext,
md5 and SCRAM. With auth_type=md5 a SCRAM secret makes the pooler ask for SCRAM instead (PgBouncer's
documented rule); SCRAM cannot be done against an md5 secret, so that pair is not tested. Wrong passwords
give 28P01. With auth_type=trust the user must still be listed in auth_file.

Server side (pg_hba method): trust, password (cleartext), md5, scram-sha-256, with the password taken from
auth_file (plaintext, md5, or SCRAM pass-through of the client's own SCRAM proof) or from `[databases]`
`user=... password=...`.
"""

import hashlib
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import PgError, check_sqlstate, eq, test  # noqa: E402

AUTH_CLEARTEXT, AUTH_MD5, AUTH_SASL = 3, 5, 10
# PgBouncer 1.18 reports every client-side authentication failure as 08P01 (protocol_violation);
# sluice uses PostgreSQL's own 28P01 (invalid_password), which drivers and Odoo recognise.
PGB_AUTH_FAIL = '08P01'
_roles = []


def md5_secret(user, password):
    return 'md5' + hashlib.md5((password + user).encode()).hexdigest()


def server(hba):
    """The shared server with sc_user (SCRAM-stored) and md_user (md5-stored), pg_hba set to hba."""
    pg = harness.shared_pg()
    if not _roles:
        pg.create_role('sc_user', 'scpw', 'scram-sha-256')
        pg.create_role('md_user', 'mdpw', 'md5')
        _roles.append(True)
    assert pg.role_secret('sc_user').startswith('SCRAM-SHA-256$')
    assert pg.role_secret('md_user').startswith('md5')
    pg.set_hba(hba)
    return pg


def login(p, user, password, db='appdb'):
    """Log in with the raw client; returns (current_user, auth request codes)."""
    c = p.raw()
    c.startup(user, db, password)
    rows, err = c.query('SELECT current_user')
    if err:
        raise PgError(err)
    c.terminate()
    return rows[0][0], c.auth_requests


def login_fails(p, user, password, sqlstate='28P01', db='appdb', pgbouncer=PGB_AUTH_FAIL):
    c = p.raw()
    try:
        c.startup(user, db, password)
        rows, err = c.query('SELECT current_user')
        if err is None:
            raise AssertionError('login as %s with password %r succeeded' % (user, password))
        fields = err
    except PgError as e:
        fields = e.fields
    check_sqlstate(fields, sqlstate, pgbouncer=pgbouncer, what='login as %s' % user)
    if fields.get('S') not in ('FATAL', 'ERROR'):
        raise AssertionError('severity %r' % fields.get('S'))
    c.close()
    return fields


def psycopg2_login(p, user, password, db='appdb'):
    conn = p.connect(user=user, password=password, dbname=db, autocommit=True)
    with conn.cursor() as cur:
        cur.execute('SELECT current_user')
        u = cur.fetchone()[0]
    conn.close()
    return u


def psycopg2_wrong_password(p, user):
    try:
        p.connect(user=user, password='wrong-password').close()
    except psycopg2.OperationalError as e:
        # PgBouncer says "SASL authentication failed" for SCRAM; PostgreSQL and sluice "password ..."
        wording = 'authentication failed' if harness.is_pgbouncer() else 'password authentication failed'
        if wording not in str(e):
            raise AssertionError('unexpected error text: %s' % e)
        return
    raise AssertionError('psycopg2 login with a wrong password succeeded')


# -- client side -------------------------------------------------------------------------------

@test
def client_trust_requires_listed_user():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='trust', userlist={'sc_user': 'whatever'})
    user, reqs = login(p, 'sc_user', None)
    eq((user, reqs), ('sc_user', []), 'trust login')
    eq(psycopg2_login(p, 'sc_user', 'any password'), 'sc_user', 'trust with a password given')
    # md_user exists in PostgreSQL but not in auth_file: refused
    login_fails(p, 'md_user', None)


@test
def client_plain():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='plain', userlist={'sc_user': 'scpw'})
    eq(login(p, 'sc_user', 'scpw'), ('sc_user', [AUTH_CLEARTEXT]), 'cleartext login')
    login_fails(p, 'sc_user', 'nope')


@test
def client_md5_plaintext_secret():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='md5', userlist={'sc_user': 'scpw'})
    eq(login(p, 'sc_user', 'scpw'), ('sc_user', [AUTH_MD5]), 'md5 login')
    eq(psycopg2_login(p, 'sc_user', 'scpw'), 'sc_user')
    login_fails(p, 'sc_user', 'nope')
    psycopg2_wrong_password(p, 'sc_user')
    login_fails(p, 'nobody', 'nope')  # not in auth_file


@test
def client_md5_md5_secret():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='md5', userlist={'md_user': md5_secret('md_user', 'mdpw')})
    eq(login(p, 'md_user', 'mdpw'), ('md_user', [AUTH_MD5]), 'md5 login with md5 secret')
    eq(psycopg2_login(p, 'md_user', 'mdpw'), 'md_user')
    login_fails(p, 'md_user', 'nope')


@test
def client_md5_with_scram_secret_uses_scram():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='md5', userlist={'sc_user': pg.role_secret('sc_user')})
    eq(login(p, 'sc_user', 'scpw'), ('sc_user', [AUTH_SASL]), 'md5 setting with a SCRAM secret')
    login_fails(p, 'sc_user', 'nope')


@test
def client_scram_plaintext_secret():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='scram-sha-256', userlist={'sc_user': 'scpw'})
    eq(login(p, 'sc_user', 'scpw'), ('sc_user', [AUTH_SASL]), 'SCRAM login')
    eq(psycopg2_login(p, 'sc_user', 'scpw'), 'sc_user')
    login_fails(p, 'sc_user', 'nope')
    psycopg2_wrong_password(p, 'sc_user')
    login_fails(p, 'nobody', 'nope')


@test
def client_scram_scram_secret():
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='scram-sha-256', userlist={'sc_user': pg.role_secret('sc_user')})
    eq(login(p, 'sc_user', 'scpw'), ('sc_user', [AUTH_SASL]), 'SCRAM login with SCRAM secret')
    eq(psycopg2_login(p, 'sc_user', 'scpw'), 'sc_user')
    login_fails(p, 'sc_user', 'nope')


@test
def client_concurrent_logins_and_failures():
    """Failed logins do not disturb concurrent successful ones (each login has its own state)."""
    pg = server('trust')
    p = harness.Pooler(pg, auth_type='scram-sha-256', userlist={'sc_user': 'scpw'})
    results = {}

    def attempt(i):
        good = i % 2 == 0
        try:
            if good:
                results[i] = login(p, 'sc_user', 'scpw')[0]
            else:
                results[i] = login_fails(p, 'sc_user', 'wrong').get('C')
        except Exception as e:  # noqa: BLE001
            results[i] = repr(e)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(20):
        eq(results.get(i), 'sc_user' if i % 2 == 0 else
           (PGB_AUTH_FAIL if harness.is_pgbouncer() else '28P01'), 'attempt %d' % i)


# -- server side -------------------------------------------------------------------------------

@test
def server_cleartext_password():
    pg = server('password')
    p = harness.Pooler(pg, auth_type='md5', userlist={'sc_user': 'scpw', 'app': 'apppw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'forced': 'host=127.0.0.1 port=%d dbname=appdb user=md_user '
                                            'password=mdpw' % pg.port})
    eq(login(p, 'sc_user', 'scpw')[0], 'sc_user', 'password from auth_file')
    eq(login(p, 'app', 'apppw', db='forced')[0], 'md_user', 'password from [databases]')


@test
def server_md5():
    pg = server('md5')
    p = harness.Pooler(pg, auth_type='md5',
                       userlist={'md_user': md5_secret('md_user', 'mdpw'), 'app': 'apppw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'forced': 'host=127.0.0.1 port=%d dbname=appdb user=md_user '
                                            'password=mdpw' % pg.port})
    eq(login(p, 'md_user', 'mdpw')[0], 'md_user', 'md5 secret from auth_file')
    eq(login(p, 'app', 'apppw', db='forced')[0], 'md_user', 'password from [databases]')
    p.cleanup()
    p = harness.Pooler(pg, auth_type='md5', userlist={'md_user': 'mdpw'})
    eq(login(p, 'md_user', 'mdpw')[0], 'md_user', 'plaintext secret from auth_file')


@test
def server_scram():
    pg = server('scram-sha-256')
    # plaintext secret: the pooler computes its own SCRAM proof, whatever the client used
    p = harness.Pooler(pg, auth_type='md5', userlist={'sc_user': 'scpw', 'app': 'apppw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'forced': 'host=127.0.0.1 port=%d dbname=appdb user=sc_user '
                                            'password=scpw' % pg.port})
    eq(login(p, 'sc_user', 'scpw')[0], 'sc_user', 'plaintext secret, client md5')
    eq(login(p, 'app', 'apppw', db='forced')[0], 'sc_user', 'password from [databases]')
    p.cleanup()
    # SCRAM secret: only usable by passing through the client's own SCRAM proof
    p = harness.Pooler(pg, auth_type='scram-sha-256', userlist={'sc_user': pg.role_secret('sc_user')})
    eq(login(p, 'sc_user', 'scpw')[0], 'sc_user', 'SCRAM secret pass-through')
    eq(psycopg2_login(p, 'sc_user', 'scpw'), 'sc_user', 'SCRAM pass-through via psycopg2')
    p.cleanup()
    # client trust, server SCRAM with the password from [databases]
    p = harness.Pooler(pg, auth_type='trust', userlist={'app': ''},
                       databases={'forced': 'host=127.0.0.1 port=%d dbname=appdb user=sc_user '
                                            'password=scpw' % pg.port})
    eq(login(p, 'app', None, db='forced')[0], 'sc_user', 'client trust, [databases] password')


@test
def server_rejects_pooler_password():
    """A wrong server password gives the client an error (28P01) and leaves other pools working."""
    pg = server('scram-sha-256')
    p = harness.Pooler(pg, auth_type='md5', userlist={'app': 'apppw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'bad': 'host=127.0.0.1 port=%d dbname=appdb user=sc_user '
                                         'password=wrong' % pg.port},
                       query_wait_timeout=5)
    login_fails(p, 'app', 'apppw', db='bad')
    eq(login(p, 'app', 'apppw')[0], 'app', 'other database still works')


if __name__ == '__main__':
    harness.main()
