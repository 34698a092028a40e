#!/bin/sh
# The OpenLDAP test image's entry point. The node's cn=config arrives as /lu/config.ldif (written by
# test/containers/cluster.ts from the sandbox's own slapd-config.ts); it is loaded once, so a
# stopped and started container comes back with its configuration and data.
set -e
if [ ! -e /var/lib/lu/slapd.d/cn=config.ldif ]; then
  mkdir -p /var/lib/lu/slapd.d /var/lib/lu/data
  slapadd -n0 -F /var/lib/lu/slapd.d -l /lu/config.ldif
fi
rm -f /var/lib/lu/slapd.pid
# The helper waits for this line (dscreate starts and stops the server once while it works).
echo 'lu-node: serving'
exec /usr/sbin/slapd -h ldap:/// -F /var/lib/lu/slapd.d -d none
