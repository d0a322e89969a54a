#!/bin/bash
# Docker HEALTHCHECK for the sluice image: GET /healthz on the HTTP endpoint (http_listen,
# port 9127 by default; SLUICE_HEALTH_PORT overrides). Uses bash's /dev/tcp: the runtime image
# has no curl. Exit 0 on "HTTP/1.x 200", 1 otherwise.
port=${SLUICE_HEALTH_PORT:-9127}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 2 _ code _ <&3 || exit 1
[ "$code" = 200 ]
