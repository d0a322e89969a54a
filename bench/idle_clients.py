#!/usr/bin/python3
"""Memory per idle client of a pooler.

Opens one warm-up connection (runs SELECT 1 so the pool has a server
connection), reads the pooler's VmRSS from /proc/PID/status, then opens N more
client connections that each complete the StartupMessage + authentication
handshake and wait at ReadyForQuery, reads VmRSS again, and prints one JSON
object:

  {"n_ok": N, "rss_before_kib": A, "rss_after_kib": B, "kib_per_client": (B-A)/N,
   "elapsed_s": T, "error": null}

Authentication handled: trust, cleartext, md5, SCRAM-SHA-256 (no channel
binding). Only loopback addresses are accepted. Every connection is closed
with Terminate before exit. Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import resource
import socket
import struct
import sys
import time


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        buf += chunk
    return buf


def read_msg(sock):
    head = recv_exact(sock, 5)
    kind = head[:1]
    (length,) = struct.unpack("!I", head[1:])
    return kind, recv_exact(sock, length - 4)


def send_msg(sock, kind, payload):
    sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)


def error_text(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[part[:1].decode()] = part[1:].decode("utf-8", "replace")
    return "%s %s: %s" % (fields.get("S", "?"), fields.get("C", "?"), fields.get("M", "?"))


class Scram:
    def __init__(self, user, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=,r=" + self.nonce  # user is taken from the startup packet
        self.server_sig = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        attrs = dict(kv.split("=", 1) for kv in server_first.decode().split(","))
        rnonce, salt, iters = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        if not rnonce.startswith(self.nonce):
            raise RuntimeError("SCRAM: server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iters)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + rnonce
        auth_msg = ",".join([self.first_bare, server_first.decode(), without_proof]).encode()
        client_sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_sig = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha256).digest()).decode()
        return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def check(self, server_final):
        attrs = dict(kv.split("=", 1) for kv in server_final.decode().split(","))
        if attrs.get("v") != self.server_sig:
            raise RuntimeError("SCRAM: bad server signature")


def open_client(host, port, user, db, password, timeout):
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0"
        params += b"application_name\0sluice-bench-idle\0\0"
        body = struct.pack("!I", 196608) + params
        sock.sendall(struct.pack("!I", len(body) + 4) + body)
        scram = None
        while True:
            kind, payload = read_msg(sock)
            if kind == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code == 0:
                    continue
                if code == 3:
                    send_msg(sock, b"p", password.encode() + b"\0")
                elif code == 5:
                    salt = payload[4:8]
                    inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
                    outer = "md5" + hashlib.md5(inner + salt).hexdigest()
                    send_msg(sock, b"p", outer.encode() + b"\0")
                elif code == 10:
                    mechs = payload[4:].split(b"\0")
                    if b"SCRAM-SHA-256" not in mechs:
                        raise RuntimeError("no supported SASL mechanism in %r" % mechs)
                    scram = Scram(user, password)
                    first = scram.first()
                    send_msg(sock, b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
                elif code == 11:
                    send_msg(sock, b"p", scram.final(payload[4:]))
                elif code == 12:
                    scram.check(payload[4:])
                else:
                    raise RuntimeError("unsupported auth request %d" % code)
            elif kind == b"E":
                raise RuntimeError(error_text(payload))
            elif kind == b"Z":
                return sock
            # S (ParameterStatus), K (BackendKeyData), N (notice): ignore
    except BaseException:
        sock.close()
        raise


def simple_query(sock, sql):
    send_msg(sock, b"Q", sql.encode() + b"\0")
    while True:
        kind, payload = read_msg(sock)
        if kind == b"E":
            raise RuntimeError(error_text(payload))
        if kind == b"Z":
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="bench")
    ap.add_argument("--db", default="bench")
    ap.add_argument("--password", default="bench")
    ap.add_argument("--pid", type=int, required=True, help="pooler process whose VmRSS is measured")
    ap.add_argument("-n", type=int, default=2000, help="idle clients to open")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each RSS reading")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-connection timeout (s)")
    ap.add_argument("--deadline", type=float, default=120.0, help="give up opening clients after (s)")
    args = ap.parse_args()

    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        sys.exit("refusing non-loopback host %s" % args.host)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))

    result = {"n": args.n, "n_ok": 0, "rss_before_kib": None, "rss_after_kib": None,
              "kib_per_client": None, "elapsed_s": None, "error": None}
    socks = []
    try:
        warm = open_client(args.host, args.port, args.user, args.db, args.password, args.timeout)
        socks.append(warm)
        simple_query(warm, "SELECT 1")
        time.sleep(args.settle)
        before = vm_rss_kib(args.pid)
        result["rss_before_kib"] = before
        t0 = time.monotonic()
        for _ in range(args.n):
            if time.monotonic() - t0 > args.deadline:
                result["error"] = "deadline reached after %d clients" % result["n_ok"]
                break
            socks.append(open_client(args.host, args.port, args.user, args.db, args.password, args.timeout))
            result["n_ok"] += 1
        result["elapsed_s"] = round(time.monotonic() - t0, 2)
        time.sleep(args.settle)
        # the warm-up client must still work: the pooler is alive and serving
        simple_query(warm, "SELECT 1")
        after = vm_rss_kib(args.pid)
        result["rss_after_kib"] = after
        if result["n_ok"]:
            result["kib_per_client"] = round((after - before) / result["n_ok"], 3)
    except Exception as e:  # report, never hang
        result["error"] = "%s after %d clients: %s" % (type(e).__name__, result["n_ok"], e)
    finally:
        for s in socks:
            try:
                s.settimeout(1.0)
                send_msg(s, b"X", b"")
            except OSError:
                pass
            s.close()
    print(json.dumps(result))
    return 0 if result["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
