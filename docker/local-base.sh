#!/usr/bin/env bash
# Builds a stand-in for debian:bookworm-slim with debootstrap from Debian's own mirror and
# imports it as a local image, for machines that reach Debian's mirror but no container
# registry. Usage: docker/local-base.sh BUILDER IMAGE_NAME   (BUILDER: docker or podman)
#
# Like the official slim image: minbase variant, docs/man/locales excluded from dpkg, the
# security and updates suites enabled. Unlike it: the build machine's extra CA certificates
# (/usr/local/share/ca-certificates) are copied in, so a TLS-inspecting egress proxy that the
# host trusts is trusted by pip inside the build too.
set -euo pipefail
builder=${1:?builder (docker or podman)}
image=${2:?image name}
# The mirrors this machine's apt already uses (deb822 or one-line sources), unless given.
host_uri() {  # $1: suite to look for, e.g. bookworm or bookworm-security
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$1" '
    /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print uri; exit } }'
  grep -shE "^deb (\[[^]]*\] )?[a-z]+://[^ ]+ $1 " /etc/apt/sources.list | sed -E 's/^deb (\[[^]]*\] )?//' | cut -d' ' -f1
  true  # neither kind of file: the caller says so
}
mirror=${DEBIAN_MIRROR:-$(host_uri bookworm | head -1)}
security=${DEBIAN_SECURITY_MIRROR:-$(host_uri bookworm-security | head -1)}
[ -n "$mirror" ] || { echo "local-base: no Debian mirror found in /etc/apt; set DEBIAN_MIRROR" >&2; exit 1; }

command -v debootstrap >/dev/null || {
  echo "local-base: installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
work=$(mktemp -d /var/tmp/frigate-like-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "local-base: debootstrap bookworm (minbase) from $mirror into $root"
nice -n 10 debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log"; exit 1; }

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
${security:+deb $security bookworm-security main}
SOURCES
# What the official slim image leaves out of every later apt-get install.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EXCLUDES
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1
fi
chroot "$root" apt-get clean
# what the excludes above would have kept out of debootstrap's own packages
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find "$root"/usr/share/doc -type f ! -name copyright -delete
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/man/* "$root"/usr/share/info/*

tar -C "$root" --numeric-owner -c . | "$builder" import \
  --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$image" >"$work/import.log" 2>&1 || { cat "$work/import.log"; exit 1; }
echo "local-base: imported $image"
