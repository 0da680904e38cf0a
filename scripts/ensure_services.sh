#!/usr/bin/env bash
# Make sure what the test suite talks to is here: PostgreSQL, Redis, and the Debian packages
# (Chromium for browser journeys, poppler for reading PDFs back, docker-compose to validate
# the compose file, fonts and harfbuzz for WeasyPrint). Idempotent and quiet when all is well.
set -euo pipefail

need_pkgs=()
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v pdftotext >/dev/null || need_pkgs+=(poppler-utils)
command -v docker-compose >/dev/null || need_pkgs+=(docker-compose)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v npm >/dev/null || need_pkgs+=(npm)
command -v wrk >/dev/null || need_pkgs+=(wrk)  # load generator of the benchmarks
[ -x /usr/bin/time ] || need_pkgs+=(time)   # peak memory in the benchmarks
command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
ldconfig -p | grep -q libharfbuzz-subset || need_pkgs+=(libharfbuzz-subset0)
ldconfig -p | grep -q libpango-1.0 || need_pkgs+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi dejavu || need_pkgs+=(fonts-dejavu-core)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "Starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
# axe-core for the browser accessibility checks (pinned in package.json).
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  echo "Installing axe-core from the npm registry"
  npm install --no-audit --no-fund --silent >/dev/null
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379"; exit 1; }
echo "services: PostgreSQL and Redis are up"
