#!/usr/bin/env bash
# Builds the container images the test suite's container tier runs, from Debian's packages with no
# registry: a `debootstrap --variant=minbase` root file system per Debian release, the server's
# packages installed in a chroot, then `docker import`. An image is tagged with a hash of this
# folder (its recipe) and rebuilt only when that changes.
#
#   ldap-upgrade-test/openldap:bookworm-<hash>   OpenLDAP 2.5
#   ldap-upgrade-test/openldap:trixie-<hash>     OpenLDAP 2.6
#   ldap-upgrade-test/389ds:bookworm-<hash>      389 DS 2.3
#   ldap-upgrade-test/389ds:trixie-<hash>        389 DS 3.1
#
# Usage: build.sh [--print-tags]. Needs root, debootstrap and a running Docker engine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hash="$(cat "$here"/*.sh | sha256sum | cut -c1-12)"
mirror="${LDAP_UPGRADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
images=(openldap:bookworm openldap:trixie 389ds:bookworm 389ds:trixie)

tag() { echo "ldap-upgrade-test/${1%%:*}:${1##*:}-$hash"; }
if [ "${1:-}" = "--print-tags" ]; then
  for i in "${images[@]}"; do tag "$i"; done
  exit 0
fi

packages() {
  case "$1" in
    openldap) echo "slapd ldap-utils" ;;
    389ds) echo "389-ds-base python3-lib389" ;;
  esac
}

wanted=()
for i in "${images[@]}"; do docker image inspect "$(tag "$i")" >/dev/null 2>&1 || wanted+=("$i"); done
if [ ${#wanted[@]} -eq 0 ]; then
  echo "container images: up to date ($hash)" >&2
  exit 0
fi
work="$(mktemp -d /var/tmp/ldap-upgrade-images.XXXXXX)"
cleanup() {
  for m in "$work"/*/proc; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

# One root file system per release, made once (about a minute; both releases side by side).
releases=$(printf '%s\n' "${wanted[@]}" | sed 's/.*://' | sort -u)
for r in $releases; do
  ( debootstrap --variant=minbase "$r" "$work/base-$r" "$mirror" > "$work/debootstrap-$r.log" 2>&1 ||
      { tail -n 20 "$work/debootstrap-$r.log" >&2; exit 1; } ) &
done
wait_all() { local rc=0; for p in $(jobs -p); do wait "$p" || rc=1; done; return $rc; }
wait_all || { echo "debootstrap failed" >&2; exit 1; }

build_one() {
  local image="$1" server release root
  server="${1%%:*}"
  release="${1##*:}"
  root="$work/$server-$release"
  cp -a "$work/base-$release" "$root"
  # No service starts inside the chroot; the entry point starts the server in the container.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(packages "$server") > "$work/$server-$release.log" 2>&1 ||
    { tail -n 20 "$work/$server-$release.log" >&2; umount -l "$root/proc"; return 1; }
  umount -l "$root/proc"
  chroot "$root" apt-get clean
  rm -rf "$root/var/lib/apt/lists"/* "$root/usr/sbin/policy-rc.d" "$root/etc/ldap/slapd.d" "$root/var/lib/ldap"/*
  mkdir -p "$root/lu"
  install -m 755 "$here/$server-node.sh" "$root/usr/local/bin/lu-node"
  tar -C "$root" -c . | docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/lu-node"]' \
    --change "LABEL ldap-upgrade-test.recipe=$hash" - "$(tag "$image")" > /dev/null
  echo "container image $(tag "$image"): built" >&2
}
for i in "${wanted[@]}"; do build_one "$i" & done
wait_all || { echo "building the container images failed" >&2; exit 1; }
# Images of an older recipe are not used any more.
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep '^ldap-upgrade-test/' | grep -v -- "-$hash\$" | xargs -r docker image rm > /dev/null 2>&1 || true
