#!/bin/sh
# The 389 DS test image's entry point. The instance is made at the first start from /lu/node.inf
# (written by test/containers/cluster.ts) with lib389's dscreate, systemd turned off as the sandbox
# does; ns-slapd then runs in the foreground (-d 0 keeps it from detaching). A stopped and started
# container keeps its instance.
set -e
if [ ! -d /etc/dirsrv/slapd-lu ]; then
  python3 - <<'PY'
import sys, runpy
import lib389.paths
lib389.paths.Paths.with_systemd = property(lambda self: False)
sys.argv = ['dscreate', 'from-file', '/lu/node.inf']
runpy.run_path('/usr/sbin/dscreate', run_name='__main__')
PY
fi
mkdir -p /run/dirsrv /run/lock/dirsrv/slapd-lu
chown dirsrv:dirsrv /run/dirsrv /run/lock/dirsrv /run/lock/dirsrv/slapd-lu
rm -f /run/dirsrv/slapd-lu.pid
# The helper waits for this line (dscreate starts and stops the server once while it works).
echo 'lu-node: serving'
exec /usr/sbin/ns-slapd -D /etc/dirsrv/slapd-lu -i /run/dirsrv/slapd-lu.pid -d 0
