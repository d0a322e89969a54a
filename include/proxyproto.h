/* PROXY protocol v1 (text) and v2 (binary) header parsing, for listeners behind a TCP load
 * balancer: the header carries the real client address. Pure code, fed the bytes at the start of
 * a connection; it never reads past the header, so the startup packet that follows is untouched.
 */
#ifndef SLUICE_PROXYPROTO_H
#define SLUICE_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1_MAX 107  /* longest v1 line, CRLF included (the specification's limit) */
#define PROXY_V2_MAX 2064 /* 16-byte fixed part + up to 2048 bytes of addresses and TLVs */

struct proxy_result {
	int have_addr;               /* 0: LOCAL / UNKNOWN, keep the socket's own peer address */
	struct sockaddr_storage src; /* the real client (AF_INET or AF_INET6, port set) */
	int version;                 /* 1 or 2 */
};

/* Parse a header at the start of buf (len bytes available). Returns the header length (> 0) once
 * it is complete, 0 if more bytes are needed (never more than PROXY_V2_MAX in total), or -1 if
 * the bytes are not a valid header; *why (may be NULL) then says what is wrong. */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_result *out, const char **why);

#endif
