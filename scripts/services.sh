#!/usr/bin/env bash
# Starts the local Redis and PostgreSQL the integration tests use, when they are
# not already answering, and installs chromium for the browser tests when missing. Idempotent; commands from DEVELOPERS.md.
set -u

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting redis on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "services: starting postgresql on 127.0.0.1:5432" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start >&2
fi

# The console's browser tests drive Debian's chromium (never a downloaded browser build).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "services: installing chromium (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
      echo "services: could not install chromium; the browser tests will fail" >&2
  else
    echo "services: chromium is missing and apt-get is not available; the browser tests will fail" >&2
  fi
fi

for _ in $(seq 1 30); do
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    exit 0
  fi
  sleep 1
done
echo "services: redis or postgresql did not come up" >&2
exit 1
