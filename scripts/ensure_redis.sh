#!/usr/bin/env sh
# The Redis store's tests need a real `redis-server` (tests/support/redis_server.py starts
# one per test). Install Debian's package when it is missing and this machine can (root with
# apt-get); otherwise say so in one line: the Redis tests then skip, except under CI=true,
# where they fail, so a CI run can never pass without them.
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y redis-server >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; } \
    || echo "ensure_redis: apt-get could not install redis-server" >&2
else
  echo "ensure_redis: redis-server is missing and this user cannot install it (root + apt-get);" \
    "the Redis store tests will skip (fail under CI=true)" >&2
fi
exit 0
