#!/usr/bin/env bash
# `npm run storm -- --clients N`: the reconnect storm tool (scripts/storm/main.ts). Each client holds
# a socket in the tool and one in the msg_server, so the open-files soft limit is raised to the
# hard limit first (the cluster's processes inherit it); the tool prints both and refuses to run
# when they are too low. Build first: npx tsc -p .
set -euo pipefail
soft="$(ulimit -Sn)"
hard="$(ulimit -Hn)"
if [ "$soft" != "$hard" ]; then ulimit -Sn "$hard" || echo "storm: could not raise the open-files limit from $soft to $hard" >&2; fi
export FISHCHAT_STORM_FD_BEFORE="$soft"
exec node "$(dirname "$0")/../../dist/scripts/storm/main.js" "$@"
