#!/usr/bin/env bash
# Make the base image docker/Dockerfile builds FROM (debian:bookworm-slim) without an image
# registry: debootstrap a minimal Debian 12 from this machine's own apt source, then
# `docker import` it. For air-gapped builds and CI machines that reach Debian's archive only.
#
#   docker/make-base-image.sh [--force] [--tag NAME]
#
# Tags the result debian:bookworm-slim and sluice-base:bookworm (or NAME). Skips the work when
# debian:bookworm-slim already exists, unless --force. Needs root, debootstrap and a running
# Docker engine. The archive URL is read from /etc/apt at run time, never stored in the image
# metadata or this script, so the image uses the same mirror (or proxy) as the host.
set -euo pipefail

FORCE=0
TAG=sluice-base:bookworm
while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1 ;;
	--tag) TAG=$2; shift ;;
	-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "make-base-image.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

if [ "$FORCE" -eq 0 ] && docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
	echo "make-base-image.sh: debian:bookworm-slim exists; nothing to do (--force rebuilds it)"
	docker image inspect "$TAG" >/dev/null 2>&1 || docker tag debian:bookworm-slim "$TAG"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "make-base-image.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "make-base-image.sh: must run as root (debootstrap)" >&2; exit 1; }

URL=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	URL=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$URL" ] && [ -f /etc/apt/sources.list ]; then
	URL=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$URL" ] || { echo "make-base-image.sh: no Debian archive URL found in /etc/apt" >&2; exit 1; }

ROOTFS=$(mktemp -d /tmp/sluice-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "make-base-image.sh: debootstrap --variant=minbase bookworm from $URL"
debootstrap --variant=minbase bookworm "$ROOTFS" "$URL" >"$ROOTFS.log" 2>&1 || {
	tail -n 30 "$ROOTFS.log" >&2
	exit 1
}
rm -f "$ROOTFS.log"

# The image's apt uses the host's sources (same mirror, same security suite, same keyring).
rm -f "$ROOTFS/etc/apt/sources.list"
mkdir -p "$ROOTFS/etc/apt/sources.list.d"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	case "$f" in */debian.sources | */sources.list) ;; *) continue ;; esac
	cp "$f" "$ROOTFS$f"
done
# As the official slim images: no apt caches, no docs or man pages from later installs.
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
echo 'APT::Install-Recommends "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
	"$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* \
	"$ROOTFS"/usr/share/locale/*
: >"$ROOTFS/etc/machine-id"

echo "make-base-image.sh: docker import as $TAG"
tar -C "$ROOTFS" --numeric-owner -c . | docker import -c 'CMD ["bash"]' - "$TAG" >/dev/null
docker tag "$TAG" debian:bookworm-slim
echo "make-base-image.sh: made $TAG and debian:bookworm-slim ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
