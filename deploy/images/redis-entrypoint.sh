#!/bin/sh
# redis-server as the redis user, reachable from the other containers (no protected mode, as
# in the official image), with whatever arguments the compose file adds.
set -eu
if [ "${1:-}" = "redis-server" ]; then
  shift
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no --bind '* -::*' "$@"
fi
exec "$@"
