#!/usr/bin/env bash
# Debian packages the project needs, installed only when missing (CI and `make` run this).
#   postgresql  - the database our pods run (its bin directory is detected, not hard-coded)
#   pgbackrest  - backups, catalogue and restore inside the pods
#   redis-server - Celery's broker and result store in tests and the local stack
#   stunnel4    - TLS in front of the test S3 server (moto's own TLS breaks pgBackRest, see FACTS.md)
#   wrk         - the HTTP load generator of bench/api_bench.py
set -euo pipefail
need=()
for pkg in postgresql pgbackrest redis-server stunnel4 util-linux wrk; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-packages: missing ${need[*]}; run as root (apt-get install) or install them yourself" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "system-packages: installing ${need[*]}" >&2
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
}
# the packages start services of their own on a fresh machine; tests start their own instances
