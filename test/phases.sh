#!/usr/bin/env bash
# `npm test`: the phases of test/vitest.config.ts. Phase 1's two lanes run at once (the 389 DS
# files one at a time, every other file one at a time); the second lane's output is kept in a file
# and printed when both have ended. Then phase 2 (the 389 DS client-load file alone).
set -uo pipefail
cd "$(dirname "$0")/.."
lane_b=$(mktemp)
trap 'rm -f "$lane_b"' EXIT
LDAP_UPGRADE_TEST_PHASE=1b npx vitest run --config test/vitest.config.ts > "$lane_b" 2>&1 &
b=$!
LDAP_UPGRADE_TEST_PHASE=1a npx vitest run --config test/vitest.config.ts
a_rc=$?
wait "$b"
b_rc=$?
echo "--- phase 1, the files without 389 DS (run beside the 389 DS ones above) ---"
cat "$lane_b"
[ "$a_rc" -eq 0 ] && [ "$b_rc" -eq 0 ] || { echo "phase 1 failed (389 DS lane: exit $a_rc, other lane: exit $b_rc)" >&2; exit 1; }
LDAP_UPGRADE_TEST_PHASE=2 npx vitest run --config test/vitest.config.ts
