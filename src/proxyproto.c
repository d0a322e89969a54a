/* PROXY protocol header parser (haproxy's specification, versions 1 and 2). */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -1;
}

/* A decimal port: 1..5 digits, no sign, no leading zero unless "0", at most 65535. */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_v1(const uint8_t *buf, size_t len, struct proxy_result *out, const char **why)
{
	const uint8_t *cr = NULL;
	size_t lim = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	for (size_t i = 0; i + 1 < lim; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			cr = buf + i;
			break;
		}
	if (!cr)
		return len >= PROXY_V1_MAX ? fail(why, "PROXY v1 line too long") : 0;
	char line[PROXY_V1_MAX + 1];
	size_t n = (size_t)(cr - buf);
	memcpy(line, buf, n);
	line[n] = '\0';
	if (strlen(line) != n)
		return fail(why, "NUL byte in PROXY v1 header");
	/* Fields separated by exactly one space. */
	char *f[7];
	int nf = 0;
	for (char *p = line; nf < 7;) {
		f[nf++] = p;
		char *sp = strchr(p, ' ');
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (strcmp(f[0], "PROXY") != 0 || nf < 2)
		return fail(why, "malformed PROXY v1 header");
	out->version = 1;
	out->have_addr = 0;
	if (!strcmp(f[1], "UNKNOWN"))
		return (int)(n + 2);
	int fam;
	if (!strcmp(f[1], "TCP4"))
		fam = AF_INET;
	else if (!strcmp(f[1], "TCP6"))
		fam = AF_INET6;
	else
		return fail(why, "PROXY v1: unknown protocol");
	if (nf != 6)
		return fail(why, "PROXY v1: wrong number of fields");
	uint16_t sport, dport;
	uint8_t dst[16];
	memset(&out->src, 0, sizeof(out->src));
	if (parse_port(f[4], strlen(f[4]), &sport) < 0 ||
	    parse_port(f[5], strlen(f[5]), &dport) < 0)
		return fail(why, "PROXY v1: invalid port");
	if (fam == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&out->src;
		if (inet_pton(AF_INET, f[2], &in->sin_addr) != 1 ||
		    inet_pton(AF_INET, f[3], dst) != 1)
			return fail(why, "PROXY v1: invalid IPv4 address");
		in->sin_family = AF_INET;
		in->sin_port = htons(sport);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->src;
		if (inet_pton(AF_INET6, f[2], &in6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, f[3], dst) != 1)
			return fail(why, "PROXY v1: invalid IPv6 address");
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(sport);
	}
	out->have_addr = 1;
	return (int)(n + 2);
}

static int parse_v2(const uint8_t *buf, size_t len, struct proxy_result *out, const char **why)
{
	if (len < 16)
		return 0;
	uint8_t ver = buf[12] >> 4, cmd = buf[12] & 0x0f, fam = buf[13] >> 4,
	        proto = buf[13] & 0x0f;
	size_t body = ((size_t)buf[14] << 8) | buf[15];
	if (ver != 2)
		return fail(why, "PROXY v2: unsupported version");
	if (cmd > 1)
		return fail(why, "PROXY v2: unknown command");
	if (16 + body > PROXY_V2_MAX)
		return fail(why, "PROXY v2 header too long");
	if (len < 16 + body)
		return 0;
	out->version = 2;
	out->have_addr = 0;
	memset(&out->src, 0, sizeof(out->src));
	if (cmd == 0) /* LOCAL: the proxy's own connection (health check) */
		return (int)(16 + body);
	if (proto != 1 && fam != 0)
		return fail(why, "PROXY v2: only TCP (STREAM) is supported");
	const uint8_t *a = buf + 16;
	if (fam == 1) {
		if (body < 12)
			return fail(why, "PROXY v2: address block too short");
		struct sockaddr_in *in = (struct sockaddr_in *)&out->src;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
		out->have_addr = 1;
	} else if (fam == 2) {
		if (body < 36)
			return fail(why, "PROXY v2: address block too short");
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->src;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		memcpy(&in6->sin6_port, a + 32, 2);
		out->have_addr = 1;
	} else if (fam != 0) {
		return fail(why, "PROXY v2: unsupported address family");
	}
	return (int)(16 + body);
}

int proxy_parse(const uint8_t *buf, size_t len, struct proxy_result *out, const char **why)
{
	if (why)
		*why = NULL;
	if (len == 0)
		return 0;
	size_t cmp = len < 12 ? len : 12;
	if (!memcmp(buf, v2_sig, cmp))
		return len < 12 ? 0 : parse_v2(buf, len, out, why);
	cmp = len < 6 ? len : 6;
	if (!memcmp(buf, "PROXY ", cmp))
		return len < 6 ? 0 : parse_v1(buf, len, out, why);
	return fail(why, "no PROXY protocol header");
}
